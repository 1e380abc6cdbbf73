import type { MiddlewareHandler } from "hono";
import { withDatabase } from "../db/client";
import { publishOutbox } from "../notifications/delivery";

/**
 * After a request that may have written notifications, publish the outbox in the background so
 * fans hear within seconds; the cron publishes whatever this misses.
 */
export function flushOutbox(): MiddlewareHandler<{ Bindings: Env }> {
  return async function flushOutbox(c, next) {
    await next();
    if (c.res.status >= 500) return;
    c.executionCtx.waitUntil(
      withDatabase(c.env, (db) => publishOutbox(c.env, db)).catch((error: unknown) =>
        console.warn("outbox publish failed; the cron will retry", error instanceof Error ? error.message : error),
      ),
    );
  };
}
