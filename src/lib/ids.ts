const alphabet = "0123456789abcdefghijkmnopqrstuvwxyz";

export type IdPrefix = "org" | "key" | "ven" | "evt" | "shw" | "tir" | "hld" | "ord" | "pay" | "tkt" | "ref" | "wrs";

/** Opaque ids with a type prefix (API.md): `evt_` + 20 random base-35 characters. */
export function newId(prefix: IdPrefix): string {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  let out = `${prefix}_`;
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  return out;
}

export async function sha256Hex(input: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(input));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
