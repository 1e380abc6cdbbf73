import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../app";
import { organizerSecurity, problemResponses } from "../lib/schemas";
import { sloReport } from "../lib/slo";
import { ownShow, showParams } from "./admin-show-shared";

// A show's service levels during its sale: hold and confirm latency and outcomes, server errors,
// admission against the configured rate, webhook lag, each against its SLO target.

/** Mounted inside `adminShows`, whose middleware (database, organizer) serves it once. */
export const adminShowSlo = createRouter();

const Status = z.enum(["ok", "breached", "no_data"]);
const Ms = z.number().int().nullable();
const Latency = { p50_ms: Ms, p95_ms: Ms, p99_ms: Ms };

const SloReport = z
  .object({
    show_id: z.string(),
    window_minutes: z.number().int(),
    generated_at: z.string(),
    source: z.literal("isolate").openapi({
      description:
        "The Worker isolate that answered (exact in development and tests). In production use the Analytics Engine SQL in docs/operations.md for every isolate's points.",
    }),
    hold: z.object({
      count: z.number().int(),
      held: z.number().int(),
      refused: z.number().int(),
      errors: z.number().int(),
      ...Latency,
      availability: z.number().nullable(),
      target: z.object({ p95_ms: z.number(), availability: z.number() }),
      status: Status,
    }),
    confirm: z.object({
      count: z.number().int(),
      ok: z.number().int(),
      refused: z.number().int(),
      errors: z.number().int(),
      ...Latency,
      target: z.object({ p95_ms: z.number(), p99_ms: z.number() }),
      status: Status,
    }),
    server_errors: z.object({
      requests: z.number().int(),
      errors: z.number().int(),
      rate: z.number().nullable(),
      target: z.object({ max_rate: z.number() }),
      status: Status,
    }),
    admission: z.object({
      configured_per_minute: z.number().int().nullable(),
      observed_per_minute: z.number().int().nullable(),
      seen_at_edge_last_minute: z.number().int(),
      queued: z.number().int().nullable(),
      target: z.object({ min_ratio: z.number() }),
      status: Status,
    }),
    webhook_lag: z.object({
      count: z.number().int(),
      ...Latency,
      target: z.object({ p95_ms: z.number() }),
      status: Status,
    }),
  })
  .openapi("SloReport");

adminShowSlo.openapi(
  createRoute({
    method: "get",
    path: "/{show_id}/slo",
    tags: ["organizers"],
    summary: "The show's service levels over the last minutes, against the SLO targets",
    security: organizerSecurity,
    request: {
      params: showParams,
      query: z.object({ minutes: z.coerce.number().int().min(1).max(15).default(5) }),
    },
    responses: {
      200: { description: "The report", content: { "application/json": { schema: SloReport } } },
      ...problemResponses(400, 401, 404, 429),
    },
  }),
  async (c) => {
    const show = await ownShow(c.var.db!, c.req.valid("param").show_id, c.var.organizer!.id);
    let room: Parameters<typeof sloReport>[2] = null;
    if (show.status === "published") {
      const stats = await c.env.SHOW.getByName(show.id).roomStats();
      if (stats.ok && stats.value.enabled) room = stats.value;
    }
    return c.json(sloReport(show.id, c.req.valid("query").minutes, room), 200);
  },
);
