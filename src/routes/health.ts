import { createRoute, z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import { createRouter } from "../app";
import { postgresBreaker, withDatabase } from "../db/client";
import { HEALTH_PROBE_TIMEOUT_MS } from "../lib/deadline";
import { stripeBreaker } from "../payments/stripe";

const Check = z.object({
  ok: z.boolean(),
  latency_ms: z.number(),
  error: z.enum(["unreachable", "timeout", "circuit_open"]).optional().openapi({
    description:
      "Why the check failed (`circuit_open`: this isolate stopped calling it after repeated failures); the details go to the logs, never to the caller",
  }),
});
const Health = z
  .object({
    status: z.enum(["ok", "degraded"]),
    degraded: z.array(z.string()).openapi({ description: "The dependencies that failed their check" }),
    checks: z.object({
      postgres: Check,
      kv: Check,
      show_do: Check,
      stripe: Check.openapi({ description: "Not probed (a call costs a Stripe request): the breaker's state" }),
    }),
  })
  .openapi("Health");

/** A dependency that has not answered in this long counts as down: the answer comes within a second. */
const CHECK_TIMEOUT_MS = HEALTH_PROBE_TIMEOUT_MS;
const timedOut = Symbol("timeout");

// Unauthenticated and public: a check says only whether a dependency answered and how fast.
// Error text (Postgres messages carry hosts, users, database names) stays in the logs.
async function timed(name: string, probe: () => Promise<unknown>): Promise<z.infer<typeof Check>> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<typeof timedOut>((resolve) => {
    timer = setTimeout(() => resolve(timedOut), CHECK_TIMEOUT_MS);
  });
  try {
    const outcome = await Promise.race([probe(), deadline]);
    const latency_ms = Math.round(performance.now() - started);
    if (outcome === timedOut) {
      console.error("healthz check timed out", name);
      return { ok: false, latency_ms, error: "timeout" };
    }
    return { ok: true, latency_ms };
  } catch (error) {
    console.error("healthz check failed", name, error);
    return { ok: false, latency_ms: Math.round(performance.now() - started), error: "unreachable" };
  } finally {
    clearTimeout(timer);
  }
}

export const health = createRouter().openapi(
  createRoute({
    method: "get",
    path: "/",
    tags: ["operations"],
    summary: "Postgres, KV and the Show Durable Object are reachable, and Stripe is not failing",
    responses: {
      200: { description: "Everything answered", content: { "application/json": { schema: Health } } },
      503: { description: "Something did not answer", content: { "application/json": { schema: Health } } },
    },
  }),
  async (c) => {
    const circuitOpen = { ok: false, latency_ms: 0, error: "circuit_open" } as const;
    const [postgres, kv, show_do] = await Promise.all([
      // An open breaker already knows: probing would only wait out the timeout again.
      postgresBreaker(c.env).state === "open"
        ? circuitOpen
        : timed("postgres", () => withDatabase(c.env, (db) => db.execute(sql`select 1`))),
      timed("kv", () => c.env.SEAT_MAPS.get("healthz")),
      // One fixed object, and `probe` only reads: polling /healthz writes nothing anywhere.
      timed("show_do", () => c.env.SHOW.getByName("healthz").probe()),
    ]);
    const stripe = stripeBreaker(c.env).state === "open" ? circuitOpen : { ok: true, latency_ms: 0 };
    const checks = { postgres, kv, show_do, stripe };
    const degraded = Object.entries(checks)
      .filter(([, check]) => !check.ok)
      .map(([name]) => name);
    c.header("cache-control", "no-store");
    return c.json(
      { status: degraded.length ? "degraded" : "ok", degraded, checks } as const,
      degraded.length ? 503 : 200,
    );
  },
);
