import type { MiddlewareHandler } from "hono";
import { ApiError } from "../lib/problem";

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * The largest body each route takes, first match wins; every other route gets the fan limit.
 * Sizes are the largest valid payload with room to spare: a seat map of 150,000 seats (about
 * 35 MB pretty-printed; a Worker takes up to 100 MB), a show whose tiers list every seat, a
 * block list of 10,000 seat ids of up to 40 characters, one Stripe event.
 */
export const bodyLimits: { method: string; path: RegExp; maxBytes: number }[] = [
  { method: "POST", path: /^\/v1\/admin\/venues\/?$/, maxBytes: 48 * MiB },
  { method: "POST", path: /^\/v1\/admin\/venues\/[^/]+\/seat-maps\/?$/, maxBytes: 48 * MiB },
  { method: "POST", path: /^\/v1\/admin\/events\/[^/]+\/shows\/?$/, maxBytes: 8 * MiB },
  { method: "POST", path: /^\/v1\/admin\/shows\/[^/]+\/seats\/(block|unblock)\/?$/, maxBytes: 512 * KiB },
  { method: "*", path: /^\/v1\/admin\//, maxBytes: 128 * KiB },
  { method: "POST", path: /^\/v1\/webhooks\/stripe\/?$/, maxBytes: 256 * KiB },
];
/** A hold of 50 seats is about 2 KB of JSON; nothing a fan sends is larger. */
export const FAN_MAX_BYTES = 8 * KiB;

export function maxBodyBytes(method: string, path: string): number {
  return (
    bodyLimits.find((limit) => (limit.method === "*" || limit.method === method) && limit.path.test(path))?.maxBytes ??
    FAN_MAX_BYTES
  );
}

const tooLarge = (maxSize: number) =>
  new ApiError(413, "payload_too_large", `The request body is larger than ${maxSize} bytes`);

/** The body's bytes, refused as soon as they pass `maxSize`, whatever Content-Length said. */
async function readCapped(body: ReadableStream<Uint8Array>, maxSize: number, sizeHint: number): Promise<Uint8Array> {
  const reader = body.getReader();
  let buffer: Uint8Array = new Uint8Array(Math.min(maxSize, sizeHint));
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return buffer.subarray(0, size);
    if (size + value.length > maxSize) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxSize);
    }
    // A framed body usually arrives as one chunk of exactly the declared size: no copy then.
    if (size === 0 && value.length >= buffer.length && value.byteOffset === 0) {
      buffer = value;
    } else {
      if (size + value.length > buffer.length) {
        const grown = new Uint8Array(Math.min(maxSize, Math.max(size + value.length, buffer.length * 2)));
        grown.set(buffer.subarray(0, size));
        buffer = grown;
      }
      buffer.set(value, size);
    }
    size += value.length;
  }
}

/**
 * Mounted before every route (and before authentication), so an oversized body is refused
 * before anything parses it: at once when its Content-Length says so, otherwise as soon as the
 * streamed bytes pass the limit. A smaller Content-Length is not taken on trust (a request
 * handed in by another Worker or a test is not framed by it), so the bytes are counted as they
 * are read — once: the text is handed to the routes through Hono's body cache (`c.req.json()`,
 * `c.req.text()` and the validators read it from there), so no second Request or stream is made.
 */
export function limitBodySize(): MiddlewareHandler {
  return async function limitBodySize(c, next) {
    const body = c.req.raw.body;
    if (!body) return next();
    const maxSize = maxBodyBytes(c.req.method, c.req.path);
    const declared = Number(c.req.header("content-length") ?? Number.NaN);
    if (declared > maxSize) throw tooLarge(maxSize);
    const bytes = await readCapped(body, maxSize, Number.isSafeInteger(declared) && declared >= 0 ? declared : 4 * KiB);
    // Hono keeps the body's promise under each kind it was read as (its type says otherwise).
    (c.req.bodyCache as Record<string, unknown>).text = Promise.resolve(new TextDecoder().decode(bytes));
    return next();
  };
}
