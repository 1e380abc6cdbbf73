import { neonConfig, Pool } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/neon-serverless";
import { traceTransactions } from "../lib/observe";
import * as schema from "./schema";

export type Database = ReturnType<typeof drizzle<typeof schema>>;

/**
 * A Postgres handle for one request. The WebSocket Pool (not neon-http) is used because
 * orders and tickets need interactive transactions. Locally the driver dials through the
 * WebSocket→TCP tunnel in PG_WS_PROXY; in production it talks to Neon directly.
 */
export function openDatabase(env: Pick<Env, "DATABASE_URL" | "PG_WS_PROXY">) {
  const pool = openPool(env);
  return { db: traceTransactions(drizzle({ client: pool, schema })), close: () => pool.end() };
}

/** The driver's connection pool for one request (`max` connections at most). */
export function openPool(env: Pick<Env, "DATABASE_URL" | "PG_WS_PROXY">, max = 5) {
  if (env.PG_WS_PROXY) {
    const proxy = env.PG_WS_PROXY;
    neonConfig.wsProxy = (host, port) => `${proxy}/v1?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = false;
    // Pipelining skips round trips on Neon, but breaks SCRAM auth against a plain Postgres.
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
  }
  const pool = new Pool({ connectionString: env.DATABASE_URL, max });
  // pg-pool emits this for an idle client whose socket closed (it also discards a client after
  // a failed query, which workerd reports as "Network connection lost"). The pool replaces
  // such clients by itself; a query on a broken connection still fails loudly.
  pool.on("error", () => {});
  return pool;
}

/** Runs `work` with a database that is closed afterwards, for code outside a request. */
export async function withDatabase<T>(
  env: Pick<Env, "DATABASE_URL" | "PG_WS_PROXY">,
  work: (db: Database) => Promise<T>,
) {
  const { db, close } = openDatabase(env);
  try {
    return await work(db);
  } finally {
    await close();
  }
}

/** SQLSTATE of a Postgres error surfaced through drizzle (which wraps it in `cause`). */
export function pgErrorCode(error: unknown): string | undefined {
  for (let e: unknown = error; e && typeof e === "object"; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}
