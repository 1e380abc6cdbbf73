import { type CryptoKey, errors, importJWK, type JSONWebKeySet, type JWK, jwtVerify, SignJWT } from "jose";
import { ApiError } from "../lib/problem";

/**
 * The signed payload a venue gate verifies offline against /.well-known/jwks.json. Claim names
 * are short because every byte grows the QR code. There is no `exp`: a ticket stays valid until
 * it is voided or re-issued, and both bump `v`, which check-in compares with the ticket's current one.
 */
export interface TicketBarcodeClaims {
  /** Ticket id. */
  tid: string;
  /** Show id. */
  sid: string;
  /** Seat id within the show's seat map. */
  seat: string;
  /** Barcode version (`tickets.barcode_version`). */
  v: number;
  /** Issued at, epoch seconds. */
  iat: number;
}

export interface TicketBarcodeInput {
  ticketId: string;
  showId: string;
  /** The seat id, or the place `<section>#<number>` of a general-admission ticket. */
  seatId: string;
  version: number;
}

/**
 * `forged`: well-formed but not signed by a key we publish (bad signature, other algorithm,
 * unknown `kid`, or a token of another type). `malformed`: not a ticket barcode at all.
 */
export type TicketBarcodeVerification =
  | { valid: true; claims: TicketBarcodeClaims }
  | { valid: false; reason: "forged" | "malformed" };

type TicketSigningEnv = Pick<Env, "TICKET_SIGNING_JWK" | "TICKET_PREVIOUS_PUBLIC_JWKS">;

export const TICKET_BARCODE_TYP = "onsale-ticket+jwt";
const ALGORITHM = "EdDSA";
// Far above any real barcode (~300 characters); a longer input is rejected before parsing.
const MAX_BARCODE_LENGTH = 2048;

interface TicketSigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

// Imported keys are cached per isolate, keyed by the JWK string so a rotated secret is picked up.
const signingKeys = new Map<string, Promise<TicketSigningKey>>();

const notConfigured = (detail: string) => new ApiError(503, "ticket_signing_not_configured", detail);

function signingKey(env: TicketSigningEnv): Promise<TicketSigningKey> {
  const raw = env.TICKET_SIGNING_JWK;
  if (!raw) throw notConfigured("TICKET_SIGNING_JWK is not set");
  let key = signingKeys.get(raw);
  if (!key) {
    key = importSigningKey(raw);
    signingKeys.set(raw, key);
    key.catch(() => signingKeys.delete(raw));
  }
  return key;
}

async function importSigningKey(raw: string): Promise<TicketSigningKey> {
  let jwk: JWK;
  try {
    jwk = JSON.parse(raw);
  } catch {
    throw notConfigured("TICKET_SIGNING_JWK is not valid JSON");
  }
  const { kty, crv, x, d, kid } = jwk ?? {};
  if (kty !== "OKP" || crv !== "Ed25519" || !x || !d || !kid) {
    throw notConfigured("TICKET_SIGNING_JWK must be a private Ed25519 JWK with a kid");
  }
  // Built field by field so nothing private (`d`, or anything else in the secret) is ever published.
  const publicJwk: JWK = { kty, crv, x, kid, alg: ALGORITHM, use: "sig" };
  try {
    const [privateKey, publicKey] = await Promise.all([
      importJWK({ kty, crv, x, d }, ALGORITHM),
      importJWK({ kty, crv, x }, ALGORITHM),
    ]);
    return { kid, privateKey: privateKey as CryptoKey, publicKey: publicKey as CryptoKey, publicJwk };
  } catch {
    throw notConfigured("TICKET_SIGNING_JWK could not be imported as an Ed25519 key");
  }
}

export async function signTicketBarcode(env: TicketSigningEnv, ticket: TicketBarcodeInput): Promise<string> {
  const key = await signingKey(env);
  return new SignJWT({ tid: ticket.ticketId, sid: ticket.showId, seat: ticket.seatId, v: ticket.version })
    .setProtectedHeader({ alg: ALGORITHM, kid: key.kid, typ: TICKET_BARCODE_TYP })
    .setIssuedAt()
    .sign(key.privateKey);
}

// Public keys retired by a rotation: barcodes already issued under them keep verifying, and
// gates keep finding them in the JWKS, while new barcodes are signed with the current key.
const previousKeys = new Map<string, Promise<Map<string, { publicKey: CryptoKey; publicJwk: JWK }>>>();

function retiredKeys(env: TicketSigningEnv) {
  const raw = env.TICKET_PREVIOUS_PUBLIC_JWKS ?? "";
  let keys = previousKeys.get(raw);
  if (!keys) {
    keys = (async () => {
      const byKid = new Map<string, { publicKey: CryptoKey; publicJwk: JWK }>();
      if (!raw) return byKid;
      let set: JSONWebKeySet;
      try {
        set = JSON.parse(raw);
      } catch {
        throw notConfigured("TICKET_PREVIOUS_PUBLIC_JWKS is not valid JSON");
      }
      for (const { kty, crv, x, kid } of set.keys ?? []) {
        if (kty !== "OKP" || crv !== "Ed25519" || !x || !kid) continue;
        const publicKey = (await importJWK({ kty, crv, x }, ALGORITHM)) as CryptoKey;
        byKid.set(kid, { publicKey, publicJwk: { kty, crv, x, kid, alg: ALGORITHM, use: "sig" } });
      }
      return byKid;
    })();
    previousKeys.set(raw, keys);
  }
  return keys;
}

const forged = { valid: false, reason: "forged" } as const;
const malformed = { valid: false, reason: "malformed" } as const;

/** Never throws for bad input: every barcode a gate can scan gets an answer. */
export async function verifyTicketBarcode(env: TicketSigningEnv, barcode: string): Promise<TicketBarcodeVerification> {
  const [key, retired] = await Promise.all([signingKey(env), retiredKeys(env)]);
  if (barcode.length > MAX_BARCODE_LENGTH) return malformed;
  try {
    const { payload } = await jwtVerify(
      barcode,
      (header) => {
        if (header.kid === key.kid) return key.publicKey;
        const old = header.kid ? retired.get(header.kid) : undefined;
        if (!old) throw new errors.JWKSNoMatchingKey();
        return old.publicKey;
      },
      // Pinned: a token naming HS256 (or `none`) is refused before any key is consulted.
      { algorithms: [ALGORITHM], typ: TICKET_BARCODE_TYP },
    );
    const { tid, sid, seat, v, iat } = payload;
    if (
      typeof tid !== "string" ||
      typeof sid !== "string" ||
      typeof seat !== "string" ||
      typeof v !== "number" ||
      !Number.isInteger(v) ||
      v < 1 ||
      typeof iat !== "number"
    ) {
      return malformed;
    }
    return { valid: true, claims: { tid, sid, seat, v, iat } };
  } catch (error) {
    if (
      error instanceof errors.JWSSignatureVerificationFailed ||
      error instanceof errors.JOSEAlgNotAllowed ||
      error instanceof errors.JWKSNoMatchingKey ||
      // Only reached once the signature checked out: one of our tokens, but not a ticket.
      (error instanceof errors.JWTClaimValidationFailed && error.claim === "typ")
    ) {
      return forged;
    }
    return malformed;
  }
}

/** The public half of the signing key, and the retired ones still honoured, for /.well-known/jwks.json. */
export async function publicJwks(env: TicketSigningEnv): Promise<JSONWebKeySet> {
  const [key, retired] = await Promise.all([signingKey(env), retiredKeys(env)]);
  return { keys: [key.publicJwk, ...[...retired.values()].map((k) => k.publicJwk)] };
}
