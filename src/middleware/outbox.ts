import type { MiddlewareHandler } from "hono";
import { withDatabase } from "../db/client";
import { publishOutbox } from "../notifications/delivery";

/**
 * One publish at a time per isolate; a request that finds one running asks it to go round once
 * more (and does not await it: a promise must not cross from one request's context to another).
 */
let running: Promise<void> | null = null;
let again = false;

function publishSoon(env: Env): Promise<void> {
  if (running) {
    again = true;
    return Promise.resolve();
  }
  running = (async () => {
    try {
      do {
        again = false;
        await withDatabase(env, (db) => publishOutbox(env, db));
      } while (again);
    } catch (error) {
      console.warn("outbox publish failed; the cron will retry", error instanceof Error ? error.message : error);
    } finally {
      running = null;
    }
  })();
  return running;
}

/**
 * After a request that may have written notifications, publish the outbox in the background so
 * fans hear within seconds; the cron publishes whatever this misses. Under a flash crowd the
 * requests of one isolate share a single publisher instead of each opening a connection.
 * Only a 2xx can have written anything: a refused request (a forged webhook, a bad body)
 * must not buy a publish round with Postgres.
 */
export function flushOutbox(): MiddlewareHandler<{ Bindings: Env }> {
  return async function flushOutbox(c, next) {
    await next();
    if (c.res.status >= 200 && c.res.status < 300) c.executionCtx.waitUntil(publishSoon(c.env));
  };
}
