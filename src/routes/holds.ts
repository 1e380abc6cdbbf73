import { createRoute, z } from "@hono/zod-openapi";
import type { HoldOutcome, HoldView } from "../../durable-objects/types";
import { createRouter } from "../app";
import { id } from "../catalog/schemas";
import { showStub } from "../catalog/show-directory";
import { sha256Hex, showIdOfHold } from "../lib/ids";
import { logEvent } from "../lib/observe";
import { ApiError, notFound } from "../lib/problem";
import { fanSecurity, problemResponses } from "../lib/schemas";
import { fanAuth } from "../middleware/fan-auth";
import { edgeRoomStatus } from "../waiting-room/edge-status";
import { requireAdmission } from "../waiting-room/tokens";

export const Hold = z
  .object({
    hold_id: z.string(),
    show_id: z.string(),
    seat_ids: z.array(z.string()).openapi({ description: "The hold's seats; empty for a general-admission hold" }),
    ga: z
      .object({ section_id: z.string(), quantity: z.number().int() })
      .nullable()
      .openapi({ description: "A general-admission hold: its section and how many places it takes; null for seats" }),
    status: z.enum(["active", "checkout", "sold", "released", "expired", "refunded"]),
    expires_at_ms: z.number().int(),
    server_time_ms: z.number().int(),
    price_cents: z.number().int(),
    currency: z.string(),
    version: z.number().int(),
  })
  .openapi("Hold");

const seatIds = z
  .array(z.string().min(1).max(40))
  .min(1)
  .max(50)
  .refine((ids) => new Set(ids).size === ids.length, "seat ids must not repeat");

const HoldRequest = z
  .union([
    z.strictObject({ seat_ids: seatIds }),
    z.strictObject({
      section_id: z.string().regex(/^[A-Za-z0-9]{1,12}$/),
      quantity: z.number().int().min(1).max(50),
      accessible: z.boolean().default(false),
    }),
  ])
  .openapi("HoldRequest", {
    description:
      "Either explicit seats, or a quantity in a section: best available seats, or capacity of a general-admission section (`accessible` does not apply there)",
  });

const holdHeaders = z.object({
  "idempotency-key": z
    .string()
    .min(1)
    .max(255)
    .openapi({ description: "Same key and body replay the same hold; keys are scoped to the fan" }),
  "admission-token": z
    .string()
    .max(2048)
    .optional()
    .openapi({ description: "Required while the show's waiting room is on" }),
});

/** Each refusal of the Show DO as the problem a client can act on. */
function holdRefused(outcome: Extract<HoldOutcome, { ok: false }>): ApiError {
  switch (outcome.code) {
    case "show_not_found":
      return notFound("Show");
    case "show_cancelled":
      return new ApiError(409, "show_cancelled", "This show is cancelled");
    case "show_not_on_sale":
      return new ApiError(409, "show_not_on_sale", "This show is not on sale yet", undefined, undefined, {
        on_sale_at_ms: outcome.on_sale_at_ms,
      });
    case "idempotency_key_reused":
      return new ApiError(422, "idempotency_key_reused", "This Idempotency-Key was used with a different request");
    case "limit_exceeded":
      return new ApiError(
        409,
        "limit_exceeded",
        `At most ${outcome.limit} tickets per fan for this show; ${outcome.already} already held or bought`,
        undefined,
        undefined,
        { limit: outcome.limit, already: outcome.already },
      );
    case "unknown_section":
      return new ApiError(422, "unknown_section", "This show has no such section");
    case "unknown_seats":
      return new ApiError(
        422,
        "unknown_seats",
        "Some seats are not part of this show",
        outcome.seat_ids.map((seatId) => ({ path: `seat_ids.${seatId}`, message: "no such seat in this show" })),
        undefined,
        { seat_ids: outcome.seat_ids },
      );
    case "seats_unavailable":
      return new ApiError(409, "seats_unavailable", "Some seats are no longer available", undefined, undefined, {
        seat_ids: outcome.seat_ids,
      });
    case "insufficient_availability":
      return new ApiError(409, "insufficient_availability", "Not enough seats left in this section");
  }
}

export const holds = createRouter();
// Mounted at /v1 beside public routes, so authentication is scoped to these paths only.
holds.use("/shows/:show_id/holds", fanAuth());
holds.use("/holds/*", fanAuth());

holds.openapi(
  createRoute({
    method: "post",
    path: "/shows/{show_id}/holds",
    tags: ["fans"],
    summary: "Hold seats for a few minutes: all of them or none",
    security: fanSecurity,
    request: {
      params: z.object({ show_id: id("shw") }),
      headers: holdHeaders,
      body: { required: true, content: { "application/json": { schema: HoldRequest } } },
    },
    responses: {
      201: {
        description: "The hold (a replay carries `Idempotent-Replayed: true`)",
        content: { "application/json": { schema: Hold } },
      },
      ...problemResponses(400, 401, 403, 404, 409, 415, 422, 429),
    },
  }),
  async (c) => {
    const { show_id } = c.req.valid("param");
    const body = c.req.valid("json");
    const { "idempotency-key": key, "admission-token": admission } = c.req.valid("header");
    const stub = await showStub(c.env, show_id);
    const room = await edgeRoomStatus(c.env, show_id);
    if (room?.enabled) await requireAdmission(c.env, admission, show_id, c.var.fan!.id);
    // The hash pins the key to this exact request (show and body, in a fixed key order).
    const canonical =
      "seat_ids" in body
        ? { show_id, seat_ids: body.seat_ids }
        : { show_id, section_id: body.section_id, quantity: body.quantity, accessible: body.accessible };
    const outcome = await stub.hold({
      ...("seat_ids" in body ? { seat_ids: body.seat_ids } : body),
      fan_id: c.var.fan!.id,
      idempotency_key: key,
      request_hash: await sha256Hex(JSON.stringify(canonical)),
    });
    logEvent(
      outcome.ok ? "hold.placed" : "hold.refused",
      outcome.ok ? { hold_id: outcome.hold.hold_id } : { code: outcome.code },
    );
    if (!outcome.ok) throw holdRefused(outcome);
    if (outcome.replayed) c.header("idempotent-replayed", "true");
    return c.json(outcome.hold, 201);
  },
);

const holdParams = z.object({ hold_id: z.string().min(1).max(120) });

/** The fan's own hold from its show's DO; anything else (another fan's, malformed) is 404. */
async function ownHold(env: Env, fanId: string, holdId: string, action: "get" | "release"): Promise<HoldView> {
  const showId = showIdOfHold(holdId);
  if (!showId) throw notFound("Hold");
  const stub = await showStub(env, showId);
  if (action === "get") {
    const hold = await stub.getHold(fanId, holdId);
    if (!hold) throw notFound("Hold");
    return hold;
  }
  const released = await stub.release(fanId, holdId);
  if (released.ok) return released.hold;
  if (released.code === "hold_in_checkout") {
    throw new ApiError(
      409,
      "hold_in_checkout",
      "This hold has an order awaiting payment: cancel the order (POST /v1/orders/{order_id}/cancel) to let the seats go",
    );
  }
  throw notFound("Hold");
}

holds.openapi(
  createRoute({
    method: "get",
    path: "/holds/{hold_id}",
    tags: ["fans"],
    summary: "One of the fan's holds",
    security: fanSecurity,
    request: { params: holdParams },
    responses: {
      200: { description: "The hold", content: { "application/json": { schema: Hold } } },
      ...problemResponses(401, 404),
    },
  }),
  async (c) => c.json(await ownHold(c.env, c.var.fan!.id, c.req.valid("param").hold_id, "get"), 200),
);

holds.openapi(
  createRoute({
    method: "delete",
    path: "/holds/{hold_id}",
    tags: ["fans"],
    summary: "Release a hold (releasing again is harmless; a hold in checkout is let go by cancelling its order)",
    security: fanSecurity,
    request: { params: holdParams },
    responses: {
      200: { description: "The released hold", content: { "application/json": { schema: Hold } } },
      ...problemResponses(401, 404, 409, 429),
    },
  }),
  async (c) => c.json(await ownHold(c.env, c.var.fan!.id, c.req.valid("param").hold_id, "release"), 200),
);
