// The classic design, for the side-by-side of `npm run bench:onsale`: seats as Postgres rows
// and a hold as one conditional UPDATE in a transaction, reached from a Worker through the
// same driver Onsale uses (@neondatabase/serverless Pool over the local WebSocket tunnel, one
// pool per request, ended before the response, as src/db/client.ts does).
//
//   POST /baseline/shows/:show_id/holds  {seat_ids}   Bearer fan JWT (HS256, verified here)
//     BEGIN;
//     SELECT … WHERE show_id = $2 AND seat_id = ANY($3) ORDER BY seat_id FOR UPDATE;  -- lock order
//     UPDATE bench_seats SET status = 'held', hold_id = $1, held_until = now() + ttl
//      WHERE show_id = $2 AND seat_id = ANY($3)
//        AND (status = 'available' OR (status = 'held' AND held_until < now()));
//     -- fewer rows than seats asked for → ROLLBACK, 409 seats_unavailable (all or nothing)
//     INSERT INTO bench_holds (...); COMMIT;
//   GET  /v1/dev/noop                                   the host's readiness probe
//
// The tables are created and filled by the benchmark (bench/onsale/baseline-db.mjs).

import { DurableObject } from "cloudflare:workers";
import { neonConfig, Pool } from "@neondatabase/serverless";

/** Never used: the host binds the classes wrangler.toml names, so this Worker must export them. */
export class ShowDO extends DurableObject {}
export class DoorDO extends DurableObject {}

const HOLD_TTL_S = 3600;
const encoder = new TextEncoder();
let hmacKey = null;

function problem(status, code, extra = {}) {
  return Response.json(
    { type: "about:blank", title: code, status, code, ...extra },
    { status, headers: { "content-type": "application/problem+json" } },
  );
}

const fromBase64url = (text) =>
  Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

/** The fan's id from an HS256 bearer token signed with FAN_JWT_SECRET, or null. */
async function fanOf(request, env) {
  const match = /^Bearer (.+)$/.exec(request.headers.get("authorization") ?? "");
  if (!match) return null;
  const [header, payload, signature] = match[1].split(".");
  if (!signature) return null;
  hmacKey ??= await crypto.subtle.importKey(
    "raw",
    encoder.encode(env.FAN_JWT_SECRET),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  const ok = await crypto.subtle.verify(
    "HMAC",
    hmacKey,
    fromBase64url(signature),
    encoder.encode(`${header}.${payload}`),
  );
  if (!ok) return null;
  const claims = JSON.parse(new TextDecoder().decode(fromBase64url(payload)));
  if (typeof claims.sub !== "string" || (claims.exp && claims.exp * 1000 < Date.now())) return null;
  return claims.sub;
}

function openPool(env) {
  if (env.PG_WS_PROXY) {
    const proxy = env.PG_WS_PROXY;
    neonConfig.wsProxy = (host, port) => `${proxy}/v1?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
  }
  const pool = new Pool({ connectionString: env.DATABASE_URL, max: 5 });
  pool.on("error", () => {});
  return pool;
}

async function hold(request, env, showId) {
  const fanId = await fanOf(request, env);
  if (!fanId) return problem(401, "unauthorized");
  let body;
  try {
    body = await request.json();
  } catch {
    return problem(400, "invalid_json");
  }
  const seatIds = body?.seat_ids;
  if (
    !Array.isArray(seatIds) ||
    seatIds.length < 1 ||
    seatIds.length > 50 ||
    new Set(seatIds).size !== seatIds.length
  ) {
    return problem(422, "invalid_request");
  }
  const holdId = `bhl_${crypto.randomUUID().replace(/-/g, "")}`;
  const pool = openPool(env);
  try {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      // Row locks in one order (seat id), so two multi-seat holds cannot deadlock each other.
      await client.query(
        "SELECT 1 FROM bench_seats WHERE show_id = $1 AND seat_id = ANY($2::text[]) ORDER BY seat_id FOR UPDATE",
        [showId, seatIds],
      );
      const updated = await client.query(
        `UPDATE bench_seats SET status = 'held', hold_id = $1, held_until = now() + make_interval(secs => $4)
          WHERE show_id = $2 AND seat_id = ANY($3::text[])
            AND (status = 'available' OR (status = 'held' AND held_until < now()))
          RETURNING seat_id, price_cents`,
        [holdId, showId, seatIds, HOLD_TTL_S],
      );
      if (updated.rowCount !== seatIds.length) {
        await client.query("ROLLBACK");
        const won = new Set(updated.rows.map((r) => r.seat_id));
        return problem(409, "seats_unavailable", { seat_ids: seatIds.filter((id) => !won.has(id)) });
      }
      const price = updated.rows.reduce((sum, r) => sum + r.price_cents, 0);
      const expires = await client.query(
        `INSERT INTO bench_holds (hold_id, show_id, fan_id, seat_ids, price_cents, expires_at)
         VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6)) RETURNING expires_at`,
        [holdId, showId, fanId, seatIds, price, HOLD_TTL_S],
      );
      await client.query("COMMIT");
      return Response.json(
        {
          hold_id: holdId,
          show_id: showId,
          seat_ids: seatIds,
          status: "active",
          expires_at_ms: new Date(expires.rows[0].expires_at).getTime(),
          server_time_ms: Date.now(),
          price_cents: price,
        },
        { status: 201 },
      );
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  } finally {
    await pool.end();
  }
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === "/v1/dev/noop") return Response.json({ ok: true });
    const match = /^\/baseline\/shows\/([A-Za-z0-9_-]+)\/holds$/.exec(pathname);
    if (match && request.method === "POST") {
      try {
        return await hold(request, env, match[1]);
      } catch (error) {
        console.error("baseline hold failed", error);
        return problem(500, "internal_error", { detail: String(error?.message ?? error) });
      }
    }
    return problem(404, "not_found");
  },
};
