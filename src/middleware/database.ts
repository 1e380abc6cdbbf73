import type { MiddlewareHandler } from "hono";
import { type Database, type DatabaseOptions, openDatabase } from "../db/client";
import { PG_LONG_STATEMENT_TIMEOUT_MS } from "../lib/deadline";

export type DatabaseVariables = { db: Database };

/**
 * Opens a Postgres pool for the request and ends it before the response leaves, as a
 * WebSocket pool must not outlive its request in workerd. Mounted only on routes that need
 * Postgres, so the hot path (queue poll, hold) never opens a connection.
 */
export function database(
  options: DatabaseOptions = {},
): MiddlewareHandler<{ Bindings: Env; Variables: DatabaseVariables }> {
  return async function database(c, next) {
    const { db, close } = openDatabase(c.env, options);
    c.set("db", db);
    try {
      await next();
    } finally {
      await close();
    }
  };
}

/** For organizer routes: their statements may be big (a stadium's seats) and no crowd waits on them. */
export const organizerDatabase = () => database({ statementTimeoutMs: PG_LONG_STATEMENT_TIMEOUT_MS });
