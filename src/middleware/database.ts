import type { MiddlewareHandler } from "hono";
import { type Database, openDatabase } from "../db/client";

export type DatabaseVariables = { db: Database };

/**
 * Opens a Postgres pool for the request and ends it before the response leaves, as a
 * WebSocket pool must not outlive its request in workerd. Mounted only on routes that need
 * Postgres, so the hot path (queue poll, hold) never opens a connection.
 */
export function database(): MiddlewareHandler<{ Bindings: Env; Variables: DatabaseVariables }> {
  return async function database(c, next) {
    const { db, close } = openDatabase(c.env);
    c.set("db", db);
    try {
      await next();
    } finally {
      await close();
    }
  };
}
