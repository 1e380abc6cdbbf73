// A small HTTP/1.1 client for the load generators of `npm run bench:onsale`: node:http with a
// keep-alive agent (cheaper per request than fetch, so the load generator takes less of the
// two cores from the server it measures). Every call resolves; failures are status 0.
import { createHmac } from "node:crypto";
import http from "node:http";

export function createClient(base, { maxSockets = 1024, timeoutMs = 30_000 } = {}) {
  const url = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: "lifo" });
  /**
   * @returns {Promise<{ status: number, body: any, ms: number, headers: object, error?: string }>}
   * `ms` runs from the moment the request is written to the end of the response body.
   */
  function request(method, path, { token, headers = {}, json } = {}) {
    return new Promise((resolve) => {
      const body = json === undefined ? undefined : JSON.stringify(json);
      const t0 = performance.now();
      let settled = false;
      const finish = (result) => {
        if (settled) return;
        settled = true;
        resolve({ ...result, ms: performance.now() - t0 });
      };
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          method,
          path,
          agent,
          headers: {
            ...(body !== undefined
              ? { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
              : {}),
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...headers,
          },
        },
        (res) => {
          const chunks = [];
          res.on("data", (chunk) => chunks.push(chunk));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed = null;
            try {
              parsed = text ? JSON.parse(text) : null;
            } catch {
              parsed = { raw: text.slice(0, 300) };
            }
            finish({ status: res.statusCode ?? 0, body: parsed, headers: res.headers });
          });
          res.on("error", (error) => finish({ status: 0, body: null, headers: {}, error: error.message }));
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
      req.on("error", (error) => finish({ status: 0, body: null, headers: {}, error: error.message }));
      if (body !== undefined) req.write(body);
      req.end();
    });
  }
  return { request, close: () => agent.destroy() };
}

/**
 * A counting semaphore: at most `limit` holders at once. Waiters are served by `priority`
 * (lowest first; equal priorities in arrival order), FIFO when none is given.
 */
export function semaphore(limit) {
  let active = 0;
  let order = 0;
  const waiting = [];
  return {
    get active() {
      return active;
    },
    get waiting() {
      return waiting.length;
    },
    async acquire(priority = 0) {
      if (active < limit) {
        active++;
        return;
      }
      await new Promise((resolve) => {
        const entry = { priority, seq: order++, resolve };
        let lo = 0;
        let hi = waiting.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          const w = waiting[mid];
          if (w.priority < priority || (w.priority === priority && w.seq < entry.seq)) lo = mid + 1;
          else hi = mid;
        }
        waiting.splice(lo, 0, entry);
      });
    },
    release() {
      const next = waiting.shift();
      if (next) next.resolve();
      else active--;
    },
    /** Drops every waiter (they never run): used when the run stops. */
    clear() {
      waiting.length = 0;
    },
  };
}

/** Latency samples of one kind of request, and the percentiles of them. */
export class Samples {
  values = [];
  add(ms) {
    this.values.push(ms);
  }
  summary() {
    const v = Float64Array.from(this.values.filter(Number.isFinite)).sort();
    const at = (p) => (v.length ? v[Math.min(v.length - 1, Math.floor(p * v.length))] : null);
    return {
      count: v.length,
      p50: at(0.5),
      p95: at(0.95),
      p99: at(0.99),
      max: v.length ? v[v.length - 1] : null,
      mean: v.length ? v.reduce((a, b) => a + b, 0) / v.length : null,
    };
  }
}

/** mulberry32: a small seeded generator, so two runs make the same choices. */
export function rng(seed) {
  let a = seed >>> 0 || 1;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Picks from `{ value: weight }` (or [[value, weight]]). */
export function weighted(random, entries) {
  const list = Array.isArray(entries) ? entries : Object.entries(entries);
  const total = list.reduce((n, [, w]) => n + w, 0);
  let x = random() * total;
  for (const [value, w] of list) {
    x -= w;
    if (x < 0) return value;
  }
  return list.at(-1)[0];
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

const b64url = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** An HS256 fan token exactly as POST /v1/dev/tokens makes them (the stack's secret is ours). */
export function fanTokenSigner({ secret, issuer, audience, ttlS = 7200 }) {
  const header = b64url({ alg: "HS256", typ: "JWT" });
  return (sub) => {
    const iat = Math.floor(Date.now() / 1000);
    const payload = b64url({ sub, iss: issuer, aud: audience, iat, exp: iat + ttlS });
    const signature = createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url");
    return `${header}.${payload}.${signature}`;
  };
}
