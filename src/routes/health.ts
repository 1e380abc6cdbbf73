import { createRoute, z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import { createRouter } from "../app";
import { withDatabase } from "../db/client";

const Check = z.object({ ok: z.boolean(), latency_ms: z.number(), error: z.string().optional() });
const Health = z
  .object({
    status: z.enum(["ok", "degraded"]),
    checks: z.object({ postgres: Check, kv: Check, show_do: Check }),
  })
  .openapi("Health");

async function timed(probe: () => Promise<unknown>): Promise<z.infer<typeof Check>> {
  const started = performance.now();
  try {
    await probe();
    return { ok: true, latency_ms: Math.round(performance.now() - started) };
  } catch (error) {
    return {
      ok: false,
      latency_ms: Math.round(performance.now() - started),
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

export const health = createRouter().openapi(
  createRoute({
    method: "get",
    path: "/",
    tags: ["operations"],
    summary: "Postgres, KV and the Show Durable Object are reachable",
    responses: {
      200: { description: "Everything answered", content: { "application/json": { schema: Health } } },
      503: { description: "Something did not answer", content: { "application/json": { schema: Health } } },
    },
  }),
  async (c) => {
    const [postgres, kv, show_do] = await Promise.all([
      timed(() => withDatabase(c.env, (db) => db.execute(sql`select 1`))),
      timed(() => c.env.SEAT_MAPS.get("healthz")),
      timed(() => c.env.SHOW.getByName("healthz").probe()),
    ]);
    const ok = postgres.ok && kv.ok && show_do.ok;
    c.header("cache-control", "no-store");
    return c.json({ status: ok ? "ok" : "degraded", checks: { postgres, kv, show_do } } as const, ok ? 200 : 503);
  },
);
