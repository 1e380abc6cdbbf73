import type { MiddlewareHandler } from "hono";
import { withDatabase } from "../db/client";
import { publishOutbox } from "../notifications/delivery";
import { outboxWritten } from "../notifications/outbox";

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
 * must not buy a publish round with Postgres. With `onlyAfterWrites` (the fans' checkout routes,
 * most of whose requests write no message) nor does a request during which none was written;
 * other routes (webhooks, organizers) still sweep up messages written elsewhere (crons, queue
 * consumers, other isolates), and the cron publishes whatever is left.
 */
export function flushOutbox({ onlyAfterWrites = false } = {}): MiddlewareHandler<{ Bindings: Env }> {
  return async function flushOutbox(c, next) {
    const started = Date.now();
    await next();
    // A message written during this request (by it, or by one running alongside) is committed
    // by now: the round this starts, or the one a running round goes on to, reads it.
    const wrote = outboxWritten.since >= started;
    if ((wrote || !onlyAfterWrites) && c.res.status >= 200 && c.res.status < 300) {
      c.executionCtx.waitUntil(publishSoon(c.env));
    }
  };
}
