import { Client, neonConfig, Pool } from "@neondatabase/serverless";
import { DrizzleQueryError } from "drizzle-orm";
import { drizzle } from "drizzle-orm/neon-serverless";
import { type Breaker, breakerFor } from "../lib/breaker";
import {
  PG_BUSY_STATEMENT_TIMEOUT_MS,
  PG_CLOSE_TIMEOUT_MS,
  PG_CONNECT_TIMEOUT_MS,
  PG_STATEMENT_TIMEOUT_MS,
  settleWithin,
} from "../lib/deadline";
import { traceTransactions } from "../lib/observe";
import { apiErrorWithin, dependencyUnavailable } from "../lib/problem";
import * as schema from "./schema";

export type Database = ReturnType<typeof drizzle<typeof schema>>;

/**
 * A Postgres handle for one request. The WebSocket Pool (not neon-http) is used because
 * orders and tickets need interactive transactions. Locally the driver dials through the
 * WebSocket→TCP tunnel in PG_WS_PROXY; in production it talks to Neon directly.
 */
export function openDatabase(env: Pick<Env, "DATABASE_URL" | "PG_WS_PROXY">, options: DatabaseOptions = {}) {
  const pool = openPool(env, 5, options);
  // A frozen server never answers the Terminate either: the pool is abandoned, not awaited.
  return {
    db: traceTransactions(drizzle({ client: pool, schema })),
    close: () => settleWithin(pool.end(), PG_CLOSE_TIMEOUT_MS),
  };
}

export interface DatabaseOptions {
  /** Bound on one statement: PG_STATEMENT_TIMEOUT_MS for fans, PG_LONG_STATEMENT_TIMEOUT_MS for organizers and jobs. */
  statementTimeoutMs?: number;
}

/** The driver's connection pool for one request (`max` connections at most). */
export function openPool(
  env: Pick<Env, "DATABASE_URL" | "PG_WS_PROXY">,
  max = 5,
  { statementTimeoutMs = PG_STATEMENT_TIMEOUT_MS }: DatabaseOptions = {},
) {
  if (env.PG_WS_PROXY) {
    const proxy = env.PG_WS_PROXY;
    neonConfig.wsProxy = (host, port) => `${proxy}/v1?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = false;
    // Pipelining skips round trips on Neon, but breaks SCRAM auth against a plain Postgres.
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
  }
  const breaker = postgresBreaker(env);
  const pool = new Pool({
    connectionString: env.DATABASE_URL,
    max,
    connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS,
    // The hard bound; the statement deadline proper (silence) is the guarded client's.
    query_timeout: Math.max(statementTimeoutMs, PG_BUSY_STATEMENT_TIMEOUT_MS),
  });
  // The driver's Pool sets its own Client class after pg-pool reads `options.Client`.
  (pool as unknown as { Client: unknown }).Client = guardedClient(breaker, statementTimeoutMs);
  guardPoolWait(pool);
  // pg-pool emits this for an idle client whose socket closed (it also discards a client after
  // a failed query, which workerd reports as "Network connection lost"). The pool replaces
  // such clients by itself; a query on a broken connection still fails loudly.
  pool.on("error", () => {});
  return pool;
}

/** The isolate's Postgres breaker for this database (user, host, database, and tunnel if any). */
export function postgresBreaker(env: Pick<Env, "DATABASE_URL" | "PG_WS_PROXY">): Breaker {
  const url = new URL(env.DATABASE_URL);
  return breakerFor("postgres", `${env.PG_WS_PROXY ?? ""} ${url.username}@${url.host}${url.pathname}`);
}

/**
 * SQLSTATE classes that mean the server (or the way to it) is unwell rather than the statement
 * wrong: connection exceptions, insufficient resources, operator intervention (shutdown,
 * statement timeout).
 */
const OUTAGE_SQLSTATE = /^(08|53|57)/;

/** An error that says Postgres is unreachable or too slow, not that the query was refused. */
function isOutage(error: unknown) {
  const code = pgErrorCode(error);
  return code === undefined || OUTAGE_SQLSTATE.test(code);
}

/** Statements this isolate sent to Postgres (answered or not): what the catalog cache saves. */
export const postgresStats = { statements: 0 };

type Callback = (error: Error | null, result?: unknown) => void;

/**
 * The driver's Client behind the isolate's Postgres breaker: an open breaker refuses before any
 * socket is opened, and each connect and statement reports whether the server answered. An
 * outage surfaces as the `dependency_unavailable` problem (the driver's error as its cause), and
 * a connection that timed out once is not trusted with another statement.
 */
function guardedClient(breaker: Breaker, silenceMs: number) {
  return class GuardedClient extends Client {
    private broken = false;

    /**
     * Given up on: the socket is closed now, not when the pool is ended. Whoever holds this
     * client may never give it back — drizzle's transaction sends BEGIN outside its try, so a
     * BEGIN that met the deadline leaves the client checked out and the pool's end waiting on
     * it — and an open socket keeps its server session: behind a transaction pooler, a backend
     * left idle in that transaction for good (a bench:onsale --chaos run lost all 128 of its
     * pooled backends to BEGINs answered after a freeze, and every checkout after it).
     */
    private abandon() {
      this.broken = true;
      // Closing it makes the driver report "Connection terminated": nobody is listening any more.
      this.on("error", () => {});
      (this as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream?.destroy?.();
    }

    // biome-ignore lint/suspicious/noExplicitAny: the driver's overloads (promise and callback forms).
    override connect(callback?: (error?: Error) => void): any {
      // Opening a connection is not proof that Postgres answers queries (a pooler may accept
      // it): only statements take the half-open breaker's trial and close it again.
      const started = Date.now();
      const connecting = (async () => {
        breaker.refuseIfOpen();
        try {
          await super.connect();
        } catch (error) {
          this.abandon();
          // A refused login is an answer (and a configuration error), not an outage.
          if (!isOutage(error)) throw error;
          breaker.failed(started);
          throw asUnavailable(error);
        }
      })();
      if (!callback) return connecting;
      connecting.then(
        () => callback(),
        (error: Error) => callback(error),
      );
    }

    // biome-ignore lint/suspicious/noExplicitAny: the driver's overloads (promise and callback forms).
    override query(...args: any[]): any {
      const callback = typeof args.at(-1) === "function" ? (args.pop() as Callback) : undefined;
      const running = (async () => {
        if (this.broken) throw dependencyUnavailable("postgres", 1, "dropped the connection");
        breaker.admit();
        postgresStats.statements += 1;
        const started = Date.now();
        try {
          const result = await untilSilent(
            breaker,
            started,
            silenceMs,
            (super.query as (...a: unknown[]) => Promise<unknown>)(...args),
          );
          breaker.succeeded();
          return result;
        } catch (error) {
          if (!isOutage(error)) {
            breaker.succeeded();
            throw error;
          }
          breaker.failed(started);
          this.abandon();
          throw asUnavailable(error);
        }
      })();
      if (!callback) return running;
      running.then(
        (result) => callback(null, result),
        (error: Error) => callback(error),
      );
    }
  };
}

/**
 * The statement deadline: `work` fails once Postgres has been silent for `silenceMs` — it
 * answered neither this statement nor any other of the isolate's since this one started (or
 * for the last `silenceMs`). A frozen server is known within `silenceMs`, as with a plain
 * timeout; a busy one that keeps answering others is waited for, up to the driver's hard
 * `query_timeout` (PG_BUSY_STATEMENT_TIMEOUT_MS), so a queue under load is not an outage.
 */
function untilSilent<T>(breaker: Breaker, started: number, silenceMs: number, work: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout>;
    const check = () => {
      const silentFor = Date.now() - Math.max(started, breaker.lastAnswerAt);
      if (silentFor >= silenceMs) reject(new Error(`Postgres answered nothing for ${silentFor} ms`));
      else timer = setTimeout(check, silenceMs - silentFor);
    };
    timer = setTimeout(check, silenceMs);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

function asUnavailable(error: unknown) {
  return apiErrorWithin(error) ?? Object.assign(dependencyUnavailable("postgres", 1), { cause: error });
}

/**
 * A request whose pool stays full past the connect timeout (its own statements are all slow)
 * gets the 503 problem too. Not counted by the breaker: the wait is this request's, and the
 * statements it waited behind report for themselves.
 */
function guardPoolWait(pool: Pool) {
  type Connect = (callback?: (error: Error | undefined, ...rest: unknown[]) => void) => Promise<unknown> | undefined;
  const connect = pool.connect.bind(pool) as Connect;
  (pool as unknown as { connect: Connect }).connect = (callback) => {
    const mapped = <E>(error: E) => (error && isOutage(error) ? asUnavailable(error) : error);
    if (callback) return connect((error, ...rest) => callback(mapped(error), ...rest));
    return (connect() as Promise<unknown>).catch((error: unknown) => {
      throw mapped(error);
    });
  };
}

/**
 * The 503 problem for a failed query whose cause says Postgres is unreachable, for the paths
 * where the driver reports a dropped connection around the guarded client (pg-pool answers a
 * query with the connection's own error event).
 */
export function postgresOutage(error: unknown) {
  if (!(error instanceof DrizzleQueryError)) return undefined;
  const cause = error.cause as { message?: unknown; type?: unknown } | undefined;
  const code = pgErrorCode(cause);
  const lost =
    code === undefined
      ? /terminated|timeout|connect|socket|network|closed/i.test(String(cause?.message)) || cause?.type === "error"
      : OUTAGE_SQLSTATE.test(code);
  return lost ? asUnavailable(cause) : undefined;
}

/** Runs `work` with a database that is closed afterwards, for code outside a request. */
export async function withDatabase<T>(
  env: Pick<Env, "DATABASE_URL" | "PG_WS_PROXY">,
  work: (db: Database) => Promise<T>,
  options: DatabaseOptions = {},
) {
  const { db, close } = openDatabase(env, options);
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
