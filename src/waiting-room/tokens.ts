import { KEY_RANDOM_SPACE, type QueueKey } from "../../durable-objects/queue-key";
import { hmacKey } from "../auth/hmac-key";
import { fromBase64url, toBase64url } from "../lib/base64url";
import { ApiError } from "../lib/problem";

// Queue tickets and admission tokens are signed and checked by the Worker itself, at the
// edge, so HS256 with one secret is enough and the fastest. They are compact JWS (RFC 7515)
// signed with WebCrypto directly: on every join and poll, jose's generic machinery (header and
// claims builders and validators) cost more than the HMAC itself. The protected header must be
// exactly the one this code writes, so one comparison pins the algorithm and the `typ` that
// keeps the two kinds (and any other JWT) from standing in for each other.

const QUEUE_HEADER = toBase64url(JSON.stringify({ alg: "HS256", typ: "onsale-queue+jwt" }));
const ADMISSION_HEADER = toBase64url(JSON.stringify({ alg: "HS256", typ: "onsale-admission+jwt" }));
const encoder = new TextEncoder();
const decoder = new TextDecoder();

type Claims = Record<string, unknown> & { sub: string; exp: number };

export interface QueueTicket {
  fanId: string;
  showId: string;
  sessionId: string;
  /** The place's order, drawn at the edge when the fan arrived (the DO may correct it). */
  key: QueueKey;
  /** Earliest time the next poll is worth answering. */
  nextPollAtMs: number;
  expiresAtMs: number;
  /**
   * Set once the DO has settled the place, so later polls are answered at the edge: admitted
   * until this time (the admission's own expiry), or ended (expired or dropped).
   */
  admittedUntilMs?: number;
  ended?: boolean;
}

export interface AdmissionToken {
  fanId: string;
  showId: string;
  sessionId: string;
  expiresAtMs: number;
}

function secretKey(env: Pick<Env, "QUEUE_TICKET_SECRET">): Promise<CryptoKey> {
  const secret = env.QUEUE_TICKET_SECRET;
  if (!secret) throw new ApiError(503, "waiting_room_not_configured", "QUEUE_TICKET_SECRET is not set");
  return hmacKey(secret);
}

async function sign(env: Pick<Env, "QUEUE_TICKET_SECRET">, header: string, claims: Claims): Promise<string> {
  const input = `${header}.${toBase64url(JSON.stringify({ ...claims, iat: Math.floor(Date.now() / 1000) }))}`;
  const signature = await crypto.subtle.sign("HMAC", await secretKey(env), encoder.encode(input));
  return `${input}.${toBase64url(new Uint8Array(signature))}`;
}

export async function signQueueTicket(env: Pick<Env, "QUEUE_TICKET_SECRET">, ticket: QueueTicket): Promise<string> {
  return sign(env, QUEUE_HEADER, {
    show: ticket.showId,
    sid: ticket.sessionId,
    k: [ticket.key.ms, ticket.key.rnd],
    nxt: ticket.nextPollAtMs,
    ...(ticket.admittedUntilMs !== undefined ? { adm: ticket.admittedUntilMs } : {}),
    ...(ticket.ended ? { end: true } : {}),
    sub: ticket.fanId,
    exp: Math.floor(ticket.expiresAtMs / 1000),
  });
}

export async function signAdmissionToken(
  env: Pick<Env, "QUEUE_TICKET_SECRET">,
  token: AdmissionToken,
): Promise<string> {
  return sign(env, ADMISSION_HEADER, {
    show: token.showId,
    sid: token.sessionId,
    sub: token.fanId,
    exp: Math.floor(token.expiresAtMs / 1000),
  });
}

/** The claims of a token this code signed with this header, or null for anything else. */
async function verifiedClaims(env: Pick<Env, "QUEUE_TICKET_SECRET">, token: string, header: string) {
  const key = await secretKey(env);
  const end = token.lastIndexOf(".");
  if (end <= header.length || !token.startsWith(header) || token[header.length] !== ".") return null;
  try {
    const signature = fromBase64url(token.slice(end + 1));
    if (!(await crypto.subtle.verify("HMAC", key, signature, encoder.encode(token.slice(0, end))))) return null;
    const claims: unknown = JSON.parse(decoder.decode(fromBase64url(token.slice(header.length + 1, end))));
    if (typeof claims !== "object" || claims === null || Array.isArray(claims)) return null;
    return claims as Record<string, unknown>;
  } catch {
    return null;
  }
}

async function verify(
  env: Pick<Env, "QUEUE_TICKET_SECRET">,
  token: string,
  header: string,
  invalidCode: string,
): Promise<Claims | "expired"> {
  const claims = await verifiedClaims(env, token, header);
  if (!claims || typeof claims.sub !== "string" || !Number.isFinite(claims.exp)) {
    throw new ApiError(401, invalidCode, "The token is not one this waiting room issued");
  }
  // As JWT's `exp` is read (RFC 7519 §4.1.4; jose the same): expired at that second.
  if ((claims.exp as number) <= Math.floor(Date.now() / 1000)) return "expired";
  return claims as Claims;
}

export async function verifyQueueTicket(
  env: Pick<Env, "QUEUE_TICKET_SECRET">,
  token: string,
): Promise<QueueTicket | "expired"> {
  const payload = await verify(env, token, QUEUE_HEADER, "invalid_ticket");
  if (payload === "expired") return payload;
  const { sub, show, sid, k, nxt, exp, adm, end } = payload;
  if (
    typeof show !== "string" ||
    typeof sid !== "string" ||
    typeof nxt !== "number" ||
    !isKey(k) ||
    !(adm === undefined || typeof adm === "number") ||
    !(end === undefined || end === true)
  ) {
    throw new ApiError(401, "invalid_ticket", "The waiting-room ticket is malformed");
  }
  return {
    fanId: sub,
    showId: show,
    sessionId: sid,
    key: { ms: k[0], rnd: k[1] },
    nextPollAtMs: nxt,
    expiresAtMs: exp * 1000,
    ...(adm !== undefined ? { admittedUntilMs: adm } : {}),
    ...(end ? { ended: true } : {}),
  };
}

function isKey(value: unknown): value is [number, number] {
  return (
    Array.isArray(value) &&
    value.length === 2 &&
    Number.isSafeInteger(value[0]) &&
    value[0] >= 0 &&
    Number.isSafeInteger(value[1]) &&
    value[1] >= 0 &&
    value[1] < KEY_RANDOM_SPACE
  );
}

export async function verifyAdmissionToken(
  env: Pick<Env, "QUEUE_TICKET_SECRET">,
  token: string,
): Promise<AdmissionToken | "expired"> {
  const payload = await verify(env, token, ADMISSION_HEADER, "invalid_admission_token");
  if (payload === "expired") return payload;
  const { sub, show, sid, exp } = payload;
  if (typeof show !== "string" || typeof sid !== "string") {
    throw new ApiError(401, "invalid_admission_token", "The admission token is malformed");
  }
  return { fanId: sub, showId: show, sessionId: sid, expiresAtMs: exp * 1000 };
}

/**
 * While a show's waiting room is on, holding seats takes an admission token for that show and
 * that fan, checked here at the edge without asking the DO.
 */
export async function requireAdmission(
  env: Pick<Env, "QUEUE_TICKET_SECRET">,
  header: string | undefined,
  showId: string,
  fanId: string,
): Promise<AdmissionToken> {
  if (!header) throw new ApiError(401, "admission_required", "This show has a waiting room: send its Admission-Token");
  const token = await verifyAdmissionToken(env, header);
  if (token === "expired") throw new ApiError(401, "admission_expired", "The admission window has closed");
  if (token.showId !== showId)
    throw new ApiError(403, "admission_mismatch", "This admission token is for another show");
  if (token.fanId !== fanId) throw new ApiError(403, "admission_mismatch", "This admission token is for another fan");
  return token;
}
