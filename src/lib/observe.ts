import { tracing } from "cloudflare:workers";
import { AsyncLocalStorage } from "node:async_hooks";
import { createHmac } from "node:crypto";
import type { MiddlewareHandler } from "hono";

// Onsale's one place for logs, spans and SLO metrics (docs/operations.md, "Observability").
//
// - `logEvent(name, fields)`: one JSON line on the console, which Workers Logs indexes field by
//   field. Inside a request it carries the request id, trace id, route, show id and a keyed hash
//   of the fan id; nothing that looks like a token, a card, an email or a secret is ever written.
// - `span(name, attributes, work)`: a custom span (the runtime's own `tracing`), in the trace
//   Cloudflare starts for each invocation. Failures mark the span as an error and rethrow.
// - `metrics`: SLO points through a small interface. Analytics Engine in production (the
//   `METRICS` binding; nothing is stored locally), and always a bounded in-memory window of this
//   isolate, which answers the SLO endpoint in tests and `npm run dev` (one isolate there).

type Scalar = string | number | boolean;
export type Fields = Record<string, Scalar | null | undefined>;

/** What is known about the request being served; filled as the request goes through. */
interface RequestContext {
  requestId?: string;
  route?: string;
  method?: string;
  showId?: string;
  fanHash?: string;
  /** The invocation's trace id once read ("" when not traced). */
  traceId?: string;
  /** Key of the fan-id hash (from a secret the Worker has anyway; see `fanHash`). */
  hashKey?: string;
  /** Reads what the request has learned so far (its show, its fan), for event lines. */
  learn?: () => void;
}

const requests = new AsyncLocalStorage<RequestContext>();

/** Keys never written to a log line, whatever a caller passes. */
const FORBIDDEN = /token|secret|password|authorization|cookie|email|card|payment_method|client_secret|fingerprint/i;

/**
 * A stable, non-reversible id for a fan in logs: an HMAC of the fan id, so log readers can follow
 * one fan through a sale without learning who it is (fan ids are the identity provider's
 * subjects, which may be guessable or personal).
 */
export function fanHash(fanId: string, key = "onsale-logs"): string {
  const memoKey = `${key}\u0000${fanId}`;
  let hash = fanHashes.get(memoKey);
  if (hash === undefined) {
    hash = createHmac("sha256", `log-fan-id:${key}`).update(fanId).digest("hex").slice(0, 16);
    if (fanHashes.size >= MAX_FAN_HASHES) fanHashes.delete(fanHashes.keys().next().value!);
    fanHashes.set(memoKey, hash);
  }
  return hash;
}

// A fan polls, holds and orders many times with the same id, and node:crypto's HMAC (its key
// and input turned into buffers, then digested) cost ~100 µs of a hold's Worker CPU: computed
// once per fan and key in this isolate, oldest dropped first.
const fanHashes = new Map<string, string>();
const MAX_FAN_HASHES = 50_000;

/** The current trace id, when the runtime traces this invocation (not in the vitest pool). */
export function traceId(): string | undefined {
  const id = tracing.getActiveSpan()?.spanContext().traceId;
  return id && !/^0+$/.test(id) ? id : undefined;
}

/** Adds what a handler learns (the show of a payment, the fan) to the request's log fields. */
export function annotate(fields: { showId?: string; fanId?: string }) {
  const context = requests.getStore();
  if (!context) return;
  if (fields.showId) context.showId = fields.showId;
  if (fields.fanId) context.fanHash = fanHash(fields.fanId, context.hashKey);
}

/** One structured log line: the event, the request's fields, then the caller's (sanitized). */
export function logEvent(event: string, fields: Fields = {}, level: "info" | "warn" | "error" = "info") {
  const context = requests.getStore();
  context?.learn?.();
  const line: Record<string, Scalar> = { event };
  const add = (key: string, value: Scalar | null | undefined) => {
    if (value === undefined || value === null || FORBIDDEN.test(key)) return;
    line[key] = value;
  };
  add("request_id", context?.requestId);
  // One trace per invocation: read once per request (the runtime's span lookup is not free).
  if (context && context.traceId === undefined) context.traceId = traceId() ?? "";
  add("trace_id", context ? context.traceId || undefined : traceId());
  add("route", context?.route);
  add("show_id", context?.showId);
  add("fan", context?.fanHash);
  for (const [key, value] of Object.entries(fields)) {
    if (key === "fan_id" && typeof value === "string") add("fan", fanHash(value, context?.hashKey));
    else add(key, value);
  }
  const text = JSON.stringify(line);
  if (level === "error") console.error(text);
  else if (level === "warn") console.warn(text);
  else console.log(text);
}

/** Runs `work` in a custom span named `name`; a thrown error marks the span and is rethrown. */
export function span<T>(name: string, attributes: Fields, work: () => Promise<T>): Promise<T> {
  return tracing.enterSpan(name, async (s) => {
    for (const [key, value] of Object.entries(attributes)) {
      if (value !== undefined && value !== null && !FORBIDDEN.test(key)) s.setAttribute(key, value);
    }
    try {
      return await work();
    } catch (error) {
      s.setStatus({ code: "error", message: error instanceof Error ? error.message : String(error) });
      throw error;
    }
  });
}

// ─── SLO metrics ────────────────────────────────────────────────────────────────────────────

/** The service-level indicators Onsale records, one point per request or event. */
export type MetricKind = "hold" | "confirm" | "request" | "webhook" | "admission";

export interface MetricPoint {
  kind: MetricKind;
  showId?: string;
  route: string;
  /** held, refused, error (holds); ok, declined, error (confirm); ok, error (request) … */
  outcome: string;
  status: number;
  /** Latency of the request, or the lag of a webhook (event created → handled). */
  ms: number;
  /** Epoch ms; now unless given. */
  at?: number;
}

export interface Metrics {
  record(point: MetricPoint): void;
}

type Stored = Required<Pick<MetricPoint, "kind" | "outcome" | "status" | "ms" | "at">> & { showId?: string };

/** The last minutes of this isolate's points, bounded in time and count. */
export class MemoryMetrics implements Metrics {
  private points: Stored[] = [];
  constructor(
    private readonly keepMs = 15 * 60_000,
    private readonly maxPoints = 50_000,
  ) {}

  record(point: MetricPoint) {
    const at = point.at ?? Date.now();
    this.points.push({
      kind: point.kind,
      showId: point.showId,
      outcome: point.outcome,
      status: point.status,
      ms: point.ms,
      at,
    });
    if (this.points.length > this.maxPoints) this.points.splice(0, this.points.length - this.maxPoints);
    // Points arrive in time order, so the old ones are a prefix.
    const horizon = at - this.keepMs;
    let old = 0;
    while (old < this.points.length && this.points[old]!.at < horizon) old++;
    if (old) this.points.splice(0, old);
  }

  /** The points of one show (or every show) recorded in the last `windowMs`. */
  select(kind: MetricKind, showId: string | undefined, windowMs: number, now = Date.now()): Stored[] {
    return this.points.filter(
      (p) => p.kind === kind && p.at > now - windowMs && p.at <= now && (showId === undefined || p.showId === showId),
    );
  }

  clear() {
    this.points = [];
  }
}

/**
 * Analytics Engine: one data point per SLO point, indexed (sampled) by show. Layout, read by the
 * SQL in docs/operations.md: blob1 kind, blob2 show id, blob3 route, blob4 outcome;
 * double1 latency or lag in ms, double2 HTTP status.
 */
export class AnalyticsEngineMetrics implements Metrics {
  constructor(private readonly dataset: AnalyticsEngineDataset) {}
  record(point: MetricPoint) {
    this.dataset.writeDataPoint({
      indexes: [point.showId ?? ""],
      blobs: [point.kind, point.showId ?? "", point.route, point.outcome],
      doubles: [point.ms, point.status],
    });
  }
}

/** This isolate's window: the SLO endpoint's source in development and tests. */
export const isolateMetrics = new MemoryMetrics();

/** Where a point goes: this isolate's window, and Analytics Engine when bound. */
export function recordMetric(env: Partial<Pick<Env, "METRICS">>, point: MetricPoint) {
  isolateMetrics.record(point);
  if (env.METRICS) {
    try {
      new AnalyticsEngineMetrics(env.METRICS).record(point);
    } catch (error) {
      // A metrics outage must never fail a fan's request.
      console.warn("metrics: writeDataPoint failed", error instanceof Error ? error.message : error);
    }
  }
}

/** p-th percentile (nearest rank) of `values`; null for none. */
export function percentile(values: number[], p: number): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The SLI of each SLO-bearing route: which kind of point it records, and its outcome. */
function sliOf(method: string, route: string, status: number): { kind: MetricKind; outcome: string } {
  if (method === "POST" && route === "/v1/shows/:show_id/holds") {
    return { kind: "hold", outcome: status < 300 ? "held" : status >= 500 || status === 429 ? "error" : "refused" };
  }
  if (method === "POST" && (route === "/v1/orders" || route === "/v1/payments/:payment_id/confirm")) {
    return { kind: "confirm", outcome: status < 300 ? "ok" : status >= 500 ? "error" : "refused" };
  }
  return { kind: "request", outcome: status >= 500 ? "error" : "ok" };
}

/**
 * The first middleware: the request's context for every log line and span below it, then one
 * log line and one SLO point when the response is ready.
 */
export function observeRequests(): MiddlewareHandler<{
  Bindings: Env;
  Variables: { requestId: string; fan?: { id: string } };
}> {
  return async function observeRequests(c, next) {
    const started = performance.now();
    const context: RequestContext = {
      requestId: c.get("requestId"),
      method: c.req.method,
      hashKey: c.env.QUEUE_TICKET_SECRET,
      learn() {
        // Hono knows the matched route and its parameters only once routing happened.
        const route = c.req.routePath;
        if (route && route !== "*" && route !== "/*")
          context.route = route.length > 1 ? route.replace(/\/$/, "") : route;
        context.showId ??= c.req.param("show_id");
        const fanId = c.get("fan")?.id;
        if (fanId && !context.fanHash) context.fanHash = fanHash(fanId, context.hashKey);
      },
    };
    await requests.run(context, async () => {
      try {
        await next();
      } finally {
        context.learn!();
        // performance.now() advances only across I/O in workerd, which is what a request waits on.
        const ms = Math.round(performance.now() - started);
        const status = c.res.status;
        const route = context.route ?? "unmatched";
        const { kind, outcome } = sliOf(c.req.method, route, status);
        recordMetric(c.env, { kind, showId: context.showId, route, outcome, status, ms });
        logEvent(
          "request",
          { method: c.req.method, status, outcome, duration_ms: ms },
          status >= 500 ? "error" : "info",
        );
      }
    });
  };
}

/** Runs work outside a request (cron, queue) with a context for its log lines. */
export function withContext<T>(fields: { route: string }, work: () => Promise<T>): Promise<T> {
  return requests.run({ route: fields.route }, work);
}

// ─── Instrumented clients ───────────────────────────────────────────────────────────────────

/**
 * The Show DO namespace with every RPC call in a `show_do.<method>` span. Wrapped once per
 * invocation's env (see `observedEnv`), so call sites keep `env.SHOW.getByName(id).hold(…)`.
 */
// biome-ignore lint/suspicious/noExplicitAny: any namespace; the proxy keeps its exact type.
function observedNamespace<T extends DurableObjectNamespace<any>>(namespace: T, label: string): T {
  const wrapStub = (stub: object, name: string) =>
    new Proxy(stub, {
      get(target, prop) {
        const value = Reflect.get(target, prop);
        if (typeof prop !== "string" || typeof value !== "function" || prop === "then") return value;
        return (...args: unknown[]) =>
          // Reflect.apply: on an RPC method, `.apply` would itself be a remote call.
          span(`${label}.${prop}`, { "do.name": name }, async () => Reflect.apply(value, target, args));
      },
    });
  const observed = new Proxy(namespace, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (prop === "getByName") {
        const getByName = value as (name: string, options?: DurableObjectNamespaceGetDurableObjectOptions) => object;
        return (name: string, options?: DurableObjectNamespaceGetDurableObjectOptions) =>
          wrapStub(getByName.call(target, name, options), name);
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  plainNamespaces.set(observed, namespace);
  return observed;
}

const plainNamespaces = new WeakMap<object, object>();

/**
 * The namespace without spans, for calls whose promise several requests share (the edge's
 * room-status and overlay caches): a span belongs to the request that opened it, and another
 * request awaiting that call failed with "Cannot perform I/O on behalf of a different request".
 */
export function untraced<T extends object>(namespace: T): T {
  return (plainNamespaces.get(namespace) as T | undefined) ?? namespace;
}

const observedEnvs = new WeakMap<object, Env>();

/** The env with the Show DO and door namespaces instrumented (same object for the same env). */
export function observedEnv(env: Env): Env {
  const known = observedEnvs.get(env);
  if (known) return known;
  const observed: Env = {
    ...env,
    SHOW: observedNamespace(env.SHOW, "show_do"),
    DOOR: observedNamespace(env.DOOR, "door_do"),
  };
  observedEnvs.set(env, observed);
  return observed;
}

/** A `fetch` whose every call is a `<name> METHOD /path` span (the Stripe SDK's HTTP client). */
export function tracedFetch(name: string): typeof fetch {
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = init?.method ?? (input instanceof Request ? input.method : "GET");
    return span(
      `${name} ${method} ${url.pathname.replace(/\/(pi|re|ch|pm|cus|evt)_[A-Za-z0-9_]+/g, "/$1_…")}`,
      { "http.method": method },
      () => fetch(input, init),
    );
  };
}

/** A drizzle database whose every `transaction` is a `postgres.transaction` span. */
export function traceTransactions<D extends { transaction: (...args: never[]) => Promise<unknown> }>(db: D): D {
  const transaction = db.transaction.bind(db) as (...args: unknown[]) => Promise<unknown>;
  (db as { transaction: unknown }).transaction = (...args: unknown[]) =>
    span("postgres.transaction", {}, () => transaction(...args));
  return db;
}

// ─── Events with a metric ───────────────────────────────────────────────────────────────────

/** A fan admitted by the room, as the edge learns it from the Show DO (once per place). */
export function observeAdmission(env: Partial<Pick<Env, "METRICS">>, showId: string, waitedMs: number) {
  recordMetric(env, {
    kind: "admission",
    showId,
    route: "/v1/waiting-room/sessions/:session_id",
    outcome: "admitted",
    status: 200,
    ms: waitedMs,
  });
  logEvent("room.admitted", { show_id: showId, waited_ms: waitedMs });
}

/** A Stripe event applied: its lag is the time from Stripe creating it to Onsale applying it. */
export function observeWebhook(env: Partial<Pick<Env, "METRICS">>, type: string, createdS: number, outcome: string) {
  const lag = Math.max(0, Date.now() - createdS * 1000);
  recordMetric(env, { kind: "webhook", route: "/v1/webhooks/stripe", outcome, status: 200, ms: lag });
  logEvent("webhook.applied", { type, outcome, lag_ms: lag });
}
