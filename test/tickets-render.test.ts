import { env } from "cloudflare:workers";
import {
  base64url,
  createLocalJWKSet,
  decodeProtectedHeader,
  generateKeyPair,
  importJWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from "jose";
import { decodePDFRawStream, PageSizes, PDFArray, PDFDocument, type PDFRawStream } from "pdf-lib";
import { describe, expect, it } from "vitest";
import { ApiError } from "../src/lib/problem";
import { publicJwks, signTicketBarcode, TICKET_BARCODE_TYP, verifyTicketBarcode } from "../src/tickets/barcode";
import { type TicketDocument, ticketPdf, ticketQrSvg } from "../src/tickets/render";

const ticket = {
  ticketId: "tkt_8k2m4n6p8q0r2s4t6v8w",
  showId: "shw_3h5j7k9m1n3p5q7r9s1t",
  seatId: "A-12-4",
  version: 3,
};
const kid = JSON.parse(env.TICKET_SIGNING_JWK!).kid as string;

/** A token over our claims with any header and key: what a forger (or a confused client) sends. */
function token(key: Parameters<SignJWT["sign"]>[0], header: { alg: string; kid?: string; typ?: string }) {
  return new SignJWT({ tid: ticket.ticketId, sid: ticket.showId, seat: ticket.seatId, v: ticket.version })
    .setProtectedHeader(header)
    .setIssuedAt()
    .sign(key);
}

/** Our real private key, to sign tokens that are authentic but not proper ticket barcodes. */
const ourKey = () => importJWK(JSON.parse(env.TICKET_SIGNING_JWK!), "EdDSA");

describe("ticket barcode", () => {
  it("sign → verify returns the claims; the header carries EdDSA, kid and typ, and there is no exp", async () => {
    const barcode = await signTicketBarcode(env, ticket);
    expect(barcode.split(".")).toHaveLength(3);
    expect(decodeProtectedHeader(barcode)).toEqual({ alg: "EdDSA", kid, typ: "onsale-ticket+jwt" });

    const result = await verifyTicketBarcode(env, barcode);
    expect(result).toEqual({
      valid: true,
      claims: { tid: ticket.ticketId, sid: ticket.showId, seat: "A-12-4", v: 3, iat: expect.any(Number) },
    });
    const payload = JSON.parse(new TextDecoder().decode(base64url.decode(barcode.split(".")[1]!))) as JWTPayload;
    expect(Object.keys(payload).sort()).toEqual(["iat", "seat", "sid", "tid", "v"]);
    expect(Math.abs(payload.iat! - Date.now() / 1000)).toBeLessThan(60);
  });

  it("a tampered payload (another seat, same signature) is forged", async () => {
    const [header, payload, signature] = (await signTicketBarcode(env, ticket)).split(".");
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload!)));
    const tampered = base64url.encode(JSON.stringify({ ...claims, seat: "A-1-1" }));
    expect(await verifyTicketBarcode(env, `${header}.${tampered}.${signature}`)).toEqual({
      valid: false,
      reason: "forged",
    });
  });

  it("a token signed by another Ed25519 key under our kid is forged", async () => {
    const { privateKey } = await generateKeyPair("EdDSA");
    const forgery = await token(privateKey, { alg: "EdDSA", kid, typ: TICKET_BARCODE_TYP });
    expect(await verifyTicketBarcode(env, forgery)).toEqual({ valid: false, reason: "forged" });
  });

  it("HS256 and unsigned (alg none) tokens are refused: the algorithm is pinned", async () => {
    const hs256 = await token(new TextEncoder().encode("x".repeat(32)), { alg: "HS256", kid, typ: TICKET_BARCODE_TYP });
    expect(await verifyTicketBarcode(env, hs256)).toEqual({ valid: false, reason: "forged" });

    const payload = hs256.split(".")[1];
    const none = `${base64url.encode(JSON.stringify({ alg: "none", kid, typ: TICKET_BARCODE_TYP }))}.${payload}.`;
    expect(await verifyTicketBarcode(env, none)).toEqual({ valid: false, reason: "forged" });
  });

  it("our own key under an unknown kid, or a token of another typ, is forged", async () => {
    const otherKid = await token(await ourKey(), { alg: "EdDSA", kid: "retired-2020-01", typ: TICKET_BARCODE_TYP });
    expect(await verifyTicketBarcode(env, otherKid)).toEqual({ valid: false, reason: "forged" });
    const noKid = await token(await ourKey(), { alg: "EdDSA", typ: TICKET_BARCODE_TYP });
    expect(await verifyTicketBarcode(env, noKid)).toEqual({ valid: false, reason: "forged" });
    const otherTyp = await token(await ourKey(), { alg: "EdDSA", kid, typ: "JWT" });
    expect(await verifyTicketBarcode(env, otherTyp)).toEqual({ valid: false, reason: "forged" });
  });

  it("authentic but without the ticket claims is malformed", async () => {
    const empty = await new SignJWT({ tid: ticket.ticketId, v: 0 })
      .setProtectedHeader({ alg: "EdDSA", kid, typ: TICKET_BARCODE_TYP })
      .setIssuedAt()
      .sign(await ourKey());
    expect(await verifyTicketBarcode(env, empty)).toEqual({ valid: false, reason: "malformed" });
  });

  it.each([
    ["empty", ""],
    ["plain text", "hello gate"],
    ["three dots", "a.b.c"],
    ["non-JSON segments", "eyJhbGciOi.eyJ0aWQiOi.c2ln"],
    ["emoji", "🎟️.🎟️.🎟️"],
    ["a JSON document", '{"tid":"tkt_1"}'],
    ["10 kB of base64url", `${"A".repeat(5000)}.${"B".repeat(5000)}.${"C".repeat(100)}`],
  ])("garbage (%s) is malformed, never an exception", async (_, garbage) => {
    expect(await verifyTicketBarcode(env, garbage)).toEqual({ valid: false, reason: "malformed" });
  });

  it("without TICKET_SIGNING_JWK (or with an unusable one): 503 ticket_signing_not_configured", async () => {
    const publicOnly = JSON.stringify({ ...JSON.parse(env.TICKET_SIGNING_JWK!), d: undefined });
    for (const broken of [
      {},
      { TICKET_SIGNING_JWK: "" },
      { TICKET_SIGNING_JWK: "{not json" },
      { TICKET_SIGNING_JWK: publicOnly },
    ]) {
      for (const attempt of [
        signTicketBarcode(broken, ticket),
        verifyTicketBarcode(broken, "a.b.c"),
        publicJwks(broken),
      ]) {
        const error = await attempt.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(ApiError);
        expect(error).toMatchObject({ status: 503, code: "ticket_signing_not_configured" });
      }
    }
  });

  it("publicJwks publishes the public key only, and plain jose verifies a barcode with it", async () => {
    const jwks = await publicJwks(env);
    expect(jwks.keys).toHaveLength(1);
    const [jwk] = jwks.keys;
    expect(jwk).toEqual({ kty: "OKP", crv: "Ed25519", x: expect.any(String), kid, alg: "EdDSA", use: "sig" });
    expect(jwk).not.toHaveProperty("d");
    expect(JSON.stringify(jwks)).not.toContain(JSON.parse(env.TICKET_SIGNING_JWK!).d);

    const barcode = await signTicketBarcode(env, ticket);
    const { payload, protectedHeader } = await jwtVerify(barcode, createLocalJWKSet(jwks), {
      algorithms: ["EdDSA"],
      typ: TICKET_BARCODE_TYP,
    });
    expect(protectedHeader.kid).toBe(kid);
    expect(payload).toMatchObject({ tid: ticket.ticketId, sid: ticket.showId, seat: ticket.seatId, v: 3 });

    // And a key that is not ours does not verify against it.
    const { privateKey } = await generateKeyPair("EdDSA");
    const forgery = await token(privateKey, { alg: "EdDSA", kid, typ: TICKET_BARCODE_TYP });
    await expect(jwtVerify(forgery, createLocalJWKSet(jwks), { algorithms: ["EdDSA"] })).rejects.toThrow();
  });
});

const sample: TicketDocument = {
  ticketId: ticket.ticketId,
  barcode: "",
  eventName: "The Midnight Echoes — World Tour 2026",
  performers: ["The Midnight Echoes", "Lune Rouge"],
  startsAt: new Date("2026-11-14T19:30:00Z"),
  timeZone: "Europe/Paris",
  venueName: "Accor Arena",
  venueCity: "Paris, France",
  section: "Floor A",
  row: "12",
  seat: "4",
  tierName: "Floor Standing",
  priceCents: 8950,
  currency: "EUR",
  holder: "Alice Martin",
};

/** The strings a page shows: pdf-lib writes each line as `<hex> Tj` in a Flate-encoded content stream. */
function pageStrings(doc: PDFDocument): string[] {
  const contents = doc.getPage(0).node.Contents();
  const streams = contents instanceof PDFArray ? contents.asArray().map((ref) => doc.context.lookup(ref)) : [contents];
  const source = streams
    .map((stream) => decodePDFRawStream(stream as PDFRawStream).decode())
    .map((bytes) => Array.from(bytes, (byte) => String.fromCharCode(byte)).join(""))
    .join("\n");
  return [...source.matchAll(/<([0-9A-Fa-f]*)>\s*Tj/g)].map(([, hex]) =>
    hex!.replace(/../g, (pair) => String.fromCharCode(Number.parseInt(pair, 16))),
  );
}

describe("ticket rendering", () => {
  it("the QR code is an SVG document", async () => {
    const svg = await ticketQrSvg(await signTicketBarcode(env, ticket));
    expect(svg.trimStart().startsWith("<svg")).toBe(true);
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
  });

  it("the PDF is one A6 page with the event, venue time, seat, price, holder and ticket id", async () => {
    const pdf = await ticketPdf({ ...sample, barcode: await signTicketBarcode(env, ticket) });
    expect(pdf).toBeInstanceOf(Uint8Array);
    expect(String.fromCharCode(...pdf.subarray(0, 5))).toBe("%PDF-");

    const doc = await PDFDocument.load(pdf);
    expect(doc.getPageCount()).toBe(1);
    const { width, height } = doc.getPage(0).getSize();
    expect([width, height]).toEqual(PageSizes.A6);
    expect(doc.getTitle()).toBe(`Ticket ${ticket.ticketId}`);
    expect(doc.getSubject()).toBe("The Midnight Echoes — World Tour 2026: section Floor A, row 12, seat 4");

    const strings = pageStrings(doc);
    // 19:30 UTC is 20:30 in Paris: the show time is the venue's wall clock.
    for (const expected of [
      ticket.ticketId,
      "Floor A",
      "12",
      "4",
      "Sat, Nov 14, 2026",
      "8:30 PM GMT+1",
      "Alice Martin",
    ]) {
      expect(strings).toContain(expected);
    }
    expect(strings).toContain("\x8089.50"); // € is 0x80 in WinAnsi
    expect(strings).toContain("Accor Arena");
    expect(strings).toContain("Floor Standing");
  });

  it("text the standard fonts cannot encode is folded instead of failing the render", async () => {
    const pdf = await ticketPdf({
      ...sample,
      barcode: await signTicketBarcode(env, ticket),
      eventName: "東京 Ｆｅｓｔｉｖａｌ",
      performers: ["Łukasz", "Björk"],
      timeZone: "Asia/Kolkata",
      priceCents: 150000,
      currency: "INR",
      locale: "en-IN",
    });
    const strings = pageStrings(await PDFDocument.load(pdf));
    expect(strings).toContain("?? Festival");
    expect(strings).toContain("?ukasz, Bj\xf6rk");
    expect(strings.some((s) => s.startsWith("INR") && s.endsWith("1,500.00"))).toBe(true);
    // 19:30 UTC is 01:00 the next day in Kolkata; ICU's narrow no-break space became a plain one.
    expect(strings.some((s) => s.startsWith("Sun, 15 Nov"))).toBe(true);
    expect(strings.some((s) => s.startsWith("1:00 am "))).toBe(true);
  });
});
