const alphabet = "0123456789abcdefghijkmnopqrstuvwxyz";

export type IdPrefix = "org" | "key" | "ven" | "evt" | "shw" | "tir" | "hld" | "ord" | "pay" | "tkt" | "ref" | "wrs";

function randomPart(length = 20): string {
  let out = "";
  for (const byte of crypto.getRandomValues(new Uint8Array(length))) out += alphabet[byte % alphabet.length];
  return out;
}

/** Opaque ids with a type prefix (API.md): `evt_` + 20 random base-35 characters. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${randomPart()}`;
}

/**
 * A hold lives in its show's Durable Object, so its id carries the show id: `GET /v1/holds/{id}`
 * is routed to the right object with no lookup table on the hot path.
 */
export function newHoldId(showId: string): string {
  return `hld_${randomPart()}_${showId.slice("shw_".length)}`;
}

export function showIdOfHold(holdId: string): string | null {
  const match = /^hld_[0-9a-z]{20}_([0-9a-z_]{1,64})$/.exec(holdId);
  return match ? `shw_${match[1]}` : null;
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));
const encoder = new TextEncoder();

/** Every hold hashes its canonical body: a table lookup per byte, not a string format. */
export async function sha256Hex(input: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(input)));
  let hex = "";
  for (const byte of digest) hex += HEX[byte];
  return hex;
}
