import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import { createRouter } from "./app";
import { bumpCatalogVersion } from "./catalog/edge-cache";
import { pgErrorCode, postgresOutage, withDatabase } from "./db/client";
import { PG_LONG_STATEMENT_TIMEOUT_MS } from "./lib/deadline";
import { logEvent, observedEnv, observeRequests, span, withContext } from "./lib/observe";
import { ApiError, apiErrorWithin, problemResponse } from "./lib/problem";
import { limitBodySize } from "./middleware/body-limit";
import { rateLimit } from "./middleware/rate-limit";
import { consumeNotifications, publishOutbox, type QueueMessage, recordDeadLetters } from "./notifications/delivery";
import { reconcile } from "./orders/reconcile";
import { stripeOutage } from "./payments/stripe";
import { adminEvents } from "./routes/admin-events";
import { adminOrders } from "./routes/admin-orders";
import { adminShows } from "./routes/admin-shows";
import { adminVenues } from "./routes/admin-venues";
import { apiDocsPage } from "./routes/api-docs";
import { publicConfig } from "./routes/config";
import { dev } from "./routes/dev";
import { fanEvents } from "./routes/events";
import { health } from "./routes/health";
import { holds } from "./routes/holds";
import { me } from "./routes/me";
import { fanOrders } from "./routes/orders";
import { organizer } from "./routes/organizer";
import { fanPayments } from "./routes/payments";
import { seatMapLive } from "./routes/seat-map-live";
import { seatMaps } from "./routes/seat-maps";
import { fanShows } from "./routes/shows";
import { fanTickets } from "./routes/tickets";
import { waitingRoom } from "./routes/waiting-room";
import { waitlist } from "./routes/waitlist";
import { webhooks } from "./routes/webhooks";
import { publicJwks } from "./tickets/barcode";

export { DoorDO } from "../durable-objects/door";
export { FeedDO } from "../durable-objects/feed";
export { ShowDO } from "../durable-objects/show";

const app = createRouter();

app.use("*", requestId({ headerName: "Request-Id" }));
app.use("*", observeRequests());
app.use("*", rateLimit());
app.use("*", limitBodySize());
// An organizer write may change what fans read: the edge catalog cache moves to a new version.
app.use("/v1/admin/*", async (c, next) => {
  await next();
  if (c.req.method !== "GET" && c.res.status < 400) c.executionCtx.waitUntil(bumpCatalogVersion(c.env));
});

app.route("/healthz", health);
app.route("/v1/config", publicConfig);
app.route("/v1/me", me);
app.route("/v1/events", fanEvents);
app.route("/v1/shows", fanShows);
app.route("/v1/shows", seatMapLive);
app.route("/v1/seat-maps", seatMaps);
app.route("/v1", holds);
app.route("/v1", waitlist);
app.route("/v1/waiting-room", waitingRoom);
app.route("/v1/orders", fanOrders);
app.route("/v1/payments", fanPayments);
app.route("/v1/webhooks", webhooks);
app.route("/v1/tickets", fanTickets);
app.route("/v1/admin/organizer", organizer);
app.route("/v1/admin/venues", adminVenues);
app.route("/v1/admin/events", adminEvents);
app.route("/v1/admin/shows", adminShows);
app.route("/v1/admin/orders", adminOrders);
app.route("/v1/dev", dev);

app.openAPIRegistry.registerComponent("securitySchemes", "fanBearer", {
  type: "http",
  scheme: "bearer",
  bearerFormat: "JWT",
  description: "Fan JWT from the configured issuer (`sub` = fan id)",
});
app.openAPIRegistry.registerComponent("securitySchemes", "organizerKey", {
  type: "http",
  scheme: "bearer",
  description: "Organizer API key (`osk_…`)",
});
app.doc31("/openapi.json", {
  openapi: "3.1.0",
  info: {
    title: "Onsale API",
    version: "1.0.0",
    description: "Edge-first ticketing: browse, wait fairly, hold seats, pay, get tickets.",
  },
});
app.get("/docs", apiDocsPage);
app.get("/.well-known/jwks.json", async (c) => {
  c.header("cache-control", "public, max-age=300");
  return c.json(await publicJwks(c.env));
});

/** Hono's own HTTP errors (body parsing, media type) mapped to stable problem codes. */
function fromHttpException(error: HTTPException): ApiError {
  if (error.status === 400 && /json/i.test(error.message)) {
    return new ApiError(400, "malformed_json", "The request body is not valid JSON");
  }
  if (error.status === 415) {
    return new ApiError(415, "unsupported_media_type", "Send the body as application/json");
  }
  return new ApiError(error.status, `http_${error.status}`, error.message || "Request failed");
}

/**
 * Postgres refuses a NUL character in any text (SQLSTATE 22021, the one way a JavaScript string
 * is not valid for it), and zod has no single place to refuse it first: whatever field carried
 * it, the client sent it, and the statement that saw it changed nothing.
 */
const nulInText = () => new ApiError(400, "invalid_text", "Text must not contain NUL (U+0000) characters");

const TRANSPORT_CAUSE =
  /timeout|timed out|answered nothing|did not answer|connection (lost|terminated|refused|closed)|ECONNRESET|socket hang up|network/i;

app.onError((error, c) => {
  // A guard's problem may arrive wrapped by a driver or SDK (a dependency that is down is 503).
  const apiError =
    error instanceof HTTPException
      ? fromHttpException(error)
      : (apiErrorWithin(error) ??
        postgresOutage(error) ??
        stripeOutage(error) ??
        (pgErrorCode(error) === "22021"
          ? nulInText()
          : new ApiError(500, "internal_error", "Something went wrong on our side")));
  if (apiError.status >= 500) {
    // The error's name and message only: driver errors may quote a connection's user or host.
    const { name, message } = error instanceof Error ? error : { name: "unknown", message: String(error) };
    const dependency = apiError.extensions?.dependency;
    // The innermost cause says why (a connect timeout, a silent server, a reset socket): a
    // query builder's "Failed query" alone does not.
    let root: unknown = error;
    while (root instanceof Error && root.cause instanceof Error && root.cause !== root) root = root.cause;
    // Only transport causes are quoted in full; others by name (a login error may name a user).
    const cause =
      root !== error && root instanceof Error
        ? TRANSPORT_CAUSE.test(root.message)
          ? root.message.slice(0, 200)
          : root.name
        : undefined;
    logEvent(
      "request.failed",
      {
        error_name: name,
        error_message: message.slice(0, 300),
        // What the client was told, when a wrapped guard said more than the wrapper (Stripe's
        // SDK reports every refusal of its fetch as one "connection" error).
        ...(apiError.message !== message ? { problem: apiError.message.slice(0, 200) } : {}),
        ...(cause ? { error_cause: cause } : {}),
        ...(dependency ? { dependency: String(dependency) } : {}),
      },
      "error",
    );
  }
  return problemResponse(apiError, c.get("requestId"));
});

app.notFound((c) =>
  problemResponse(new ApiError(404, "not_found", "No route matches this request"), c.get("requestId")),
);

export default {
  // Every entry point sees the env with its Durable Object calls traced (src/lib/observe.ts).
  fetch: (request: Request, env: Env, ctx: ExecutionContext) => app.fetch(request, observedEnv(env), ctx),
  /** Cron: reconciliation of Postgres, Stripe and the Show DOs; then the outbox is published. */
  async scheduled(_controller, rawEnv, ctx) {
    const env = observedEnv(rawEnv);
    ctx.waitUntil(
      withContext({ route: "cron" }, () =>
        span("cron.reconcile", {}, () =>
          withDatabase(
            env,
            async (db) => {
              await reconcile(env, db);
              await publishOutbox(env, db);
            },
            { statementTimeoutMs: PG_LONG_STATEMENT_TIMEOUT_MS },
          ),
        ),
      ),
    );
  },
  /** Notifications from the outbox, and the dead letters they become after the last retry. */
  async queue(batch, rawEnv, _ctx) {
    const env = observedEnv(rawEnv);
    await withContext({ route: `queue:${batch.queue}` }, () =>
      span("queue.consume", { queue: batch.queue, messages: batch.messages.length }, () =>
        withDatabase(
          env,
          (db) =>
            batch.queue.endsWith("-dlq")
              ? recordDeadLetters(db, batch as MessageBatch<QueueMessage>)
              : consumeNotifications(env, db, batch as MessageBatch<QueueMessage>),
          { statementTimeoutMs: PG_LONG_STATEMENT_TIMEOUT_MS },
        ),
      ),
    );
  },
} satisfies ExportedHandler<Env>;
