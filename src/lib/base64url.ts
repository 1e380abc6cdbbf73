// Base64url (RFC 4648 §5, no padding) with the runtime's own codec: workerd has
// `Uint8Array.fromBase64` and `toBase64` (TC39 "Uint8Array to/from base64"), which this
// TypeScript lib does not declare yet. On every join and poll a queue ticket is decoded and a new
// one encoded, and jose's JavaScript codec (atob plus a byte loop) was ~2 % of a poll's isolate time.

interface Base64Options {
  alphabet: "base64url";
  omitPadding?: boolean;
}

const codec = Uint8Array as unknown as { fromBase64(text: string, options: Base64Options): Uint8Array };
const encoder = new TextEncoder();

/** The bytes of a base64url text; throws a SyntaxError on any character outside the alphabet. */
export function fromBase64url(text: string): Uint8Array {
  return codec.fromBase64(text, { alphabet: "base64url" });
}

export function toBase64url(bytes: Uint8Array | string): string {
  const data = typeof bytes === "string" ? encoder.encode(bytes) : bytes;
  return (data as unknown as { toBase64(options: Base64Options): string }).toBase64({
    alphabet: "base64url",
    omitPadding: true,
  });
}
