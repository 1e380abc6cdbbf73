import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
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

const limiters = new Map<number, MiddlewareHandler>();

function limiter(maxSize: number): MiddlewareHandler {
  let limit = limiters.get(maxSize);
  if (!limit) {
    limit = bodyLimit({
      maxSize,
      onError: () => {
        throw tooLarge(maxSize);
      },
    });
    limiters.set(maxSize, limit);
  }
  return limit;
}

const tooLarge = (maxSize: number) =>
  new ApiError(413, "payload_too_large", `The request body is larger than ${maxSize} bytes`);

/**
 * Mounted before every route (and before authentication), so an oversized body is refused
 * before anything reads it: at once when its Content-Length says so, otherwise as soon as the
 * streamed bytes pass the limit.
 *
 * A Content-Length within the limit bounds the body only when the request was framed by it on
 * the wire: then HTTP/1.1 reads exactly that many bytes and HTTP/2 refuses a stream whose data
 * disagrees (RFC 9113 §8.1.1), so nothing needs counting and the body is read once, natively, by
 * the route. A request that came through Cloudflare's edge says so with `CF-Connecting-IP`
 * (set by Cloudflare, which a client cannot), as the rate limits also read it. A request without
 * it was built in code — by another Worker, a test — and may carry a body longer than its
 * Content-Length says, so its bytes are counted as they stream (as for a chunked body).
 */
export function limitBodySize(): MiddlewareHandler {
  return async function limitBodySize(c, next) {
    if (!c.req.raw.body) return next();
    const maxSize = maxBodyBytes(c.req.method, c.req.path);
    const declared = c.req.header("content-length");
    const framed = declared !== undefined && /^\d+$/.test(declared) && !c.req.header("transfer-encoding");
    if (framed && Number(declared) > maxSize) throw tooLarge(maxSize);
    if (framed && c.req.header("cf-connecting-ip")) return next();
    if (declared !== undefined) {
      const headers = new Headers(c.req.raw.headers);
      headers.delete("content-length");
      c.req.raw = new Request(c.req.raw, { headers });
    }
    return limiter(maxSize)(c, next);
  };
}
