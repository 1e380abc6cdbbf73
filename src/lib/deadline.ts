import { type Dependency, dependencyUnavailable } from "./problem";

// Every call to the outside world has a deadline, so no request waits on a dependency for
// longer than it can usefully wait. The budgets are in one place (and in docs/failure-modes.md):
// a checkout must answer within the SLO's 800 ms p95 when things are well, and within a few
// seconds when they are not, never the 30 s a hung socket or a platform limit would give.

/**
 * Postgres: opening a connection (WebSocket + startup + authentication), and waiting for a free
 * connection of the request's pool. Long enough for a Neon compute waking from suspend (about
 * a second, a few at worst) and for a loaded pooler; a frozen server is known within it.
 */
export const PG_CONNECT_TIMEOUT_MS = 5_000;
/**
 * Postgres: one statement, measured at the client (a frozen server sends nothing back) as
 * silence — how long Postgres answered neither it nor any other statement of the isolate. A
 * frozen server fails a statement within this; a busy one that keeps answering does not.
 */
export const PG_STATEMENT_TIMEOUT_MS = 5_000;
/**
 * Postgres: one statement at most, however busy (a queue of statements under load, a lock
 * wait): past this it fails even while Postgres answers others.
 */
export const PG_BUSY_STATEMENT_TIMEOUT_MS = 20_000;
/**
 * Postgres: one statement of organizer work (publishing a 60,000-seat stadium, reports) and of
 * background jobs (cron, queue consumer): nobody in a crowd waits on these, and they are big.
 */
export const PG_LONG_STATEMENT_TIMEOUT_MS = 30_000;
/** Postgres: ending a request's pool; a connection that does not close in time is abandoned. */
export const PG_CLOSE_TIMEOUT_MS = 300;
/** Stripe: one HTTP attempt; the SDK retries once (same idempotency key) within the request. */
export const STRIPE_TIMEOUT_MS = 3_000;
export const STRIPE_MAX_RETRIES = 1;
/**
 * Stripe, in a fan's request (order, confirm, cancel): no attempt starts once the request has
 * waited this long on Stripe's answers (its own work in between does not count), so a hung
 * Stripe costs a request at most about two attempts (~6 s) however many calls it makes. Crons
 * and queue consumers have no such budget: they are not waited on.
 */
export const STRIPE_REQUEST_BUDGET_MS = STRIPE_TIMEOUT_MS;
/** Workers KV: one read or write. */
export const KV_TIMEOUT_MS = 1_000;
/** Queues: one send or sendBatch from the outbox publisher. */
export const QUEUE_TIMEOUT_MS = 2_000;
/** The email provider (Resend): one send from the queue consumer, which retries by itself. */
export const EMAIL_TIMEOUT_MS = 5_000;
/** /healthz: each probe, so the whole answer comes within a second whatever is down. */
export const HEALTH_PROBE_TIMEOUT_MS = 800;

/**
 * `work` bounded by `ms`: past it the caller gets the 503 problem for `dependency` (the work
 * itself is abandoned; it can be cancelled through `signal` where the API takes one).
 */
export async function withDeadline<T>(
  dependency: Dependency,
  ms: number,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const abort = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = dependencyUnavailable(dependency, 1, `did not answer within ${ms} ms`);
      abort.abort(error);
      reject(error);
    }, ms);
  });
  try {
    return await Promise.race([work(abort.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits for `promise` at most `ms`, then goes on without it (for clean-ups that may hang). */
export async function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    promise.catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
