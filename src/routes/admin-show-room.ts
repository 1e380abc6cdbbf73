import { createRoute, z } from "@hono/zod-openapi";
import type { RoomOutcome, RoomStats } from "../../durable-objects/types";
import { createRouter } from "../app";
import { ApiError } from "../lib/problem";
import { organizerSecurity, problemResponses } from "../lib/schemas";
import { isWithin, SCHEDULE_RANGE } from "../lib/time";
import { forgetRoomStatus } from "../waiting-room/edge-status";

import { ownShow, showParams } from "./admin-show-shared";

// The organizer's view and controls of a show's waiting room, while the sale runs.

const params = showParams;

/** Mounted inside `adminShows`, whose middleware (database, organizer) serves it once. */
export const adminShowRoom = createRouter();

const WaitingRoomStats = z
  .object({
    enabled: z.boolean(),
    paused: z.boolean(),
    admit_per_minute: z.number().int(),
    max_active: z.number().int(),
    checkout_window_s: z.number().int(),
    opens_at: z.string().nullable(),
    max_active_per_available_seat: z.number().nullable().openapi({
      description: "Cap on active checkouts per seat still available (null: off, only `max_active` applies)",
    }),
    inventory: z.enum(["available", "all_held", "sold_out"]).openapi({
      description: "`all_held`: no seat available now, held seats may come back; `sold_out`: all sold or blocked",
    }),
    admission_held_back: z.enum(["paused_by_organizer", "nothing_available", "max_active"]).nullable().openapi({
      description: "Why fans are waiting but nobody is being admitted now; null when admission runs at the set rate",
    }),
    queued: z.number().int(),
    admitted_last_minute: z.number().int(),
    active_checkouts: z.number().int(),
    observed_admit_per_minute: z.number().int(),
    oldest_wait_s: z.number().int(),
    watermark: z.number().int(),
    server_time_ms: z.number().int(),
  })
  .openapi("WaitingRoomStats");

const RoomPatch = z
  .strictObject({
    enabled: z.boolean(),
    paused: z.boolean(),
    admit_per_minute: z.number().int().min(1).max(1_000_000),
    max_active: z.number().int().min(1).max(1_000_000),
    checkout_window_s: z.number().int().min(60).max(3600),
    opens_at: z.iso
      .datetime({ offset: true })
      .refine(
        (value) => isWithin(SCHEDULE_RANGE, Date.parse(value)),
        `from ${SCHEDULE_RANGE.from} to before ${SCHEDULE_RANGE.to}`,
      )
      .nullable(),
    max_active_per_available_seat: z.number().min(0.01).max(100).nullable().openapi({
      description:
        "Optional: at most ceil(seats available × this) active checkouts, e.g. 0.5 for groups of two (null: off, the default)",
    }),
  })
  .partial()
  .refine((patch) => Object.keys(patch).length > 0, "send at least one field")
  .openapi("WaitingRoomPatch");

function roomView(stats: RoomStats): z.infer<typeof WaitingRoomStats> {
  const { checkout_window_ms, opens_at_ms, ...rest } = stats;
  return {
    ...rest,
    checkout_window_s: Math.round(checkout_window_ms / 1000),
    opens_at: opens_at_ms === null ? null : new Date(opens_at_ms).toISOString(),
  };
}

function roomOutcome<T>(outcome: RoomOutcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw new ApiError(409, "show_not_published", "Publish the show before configuring its waiting room");
}

adminShowRoom.openapi(
  createRoute({
    method: "get",
    path: "/{show_id}/waiting-room",
    tags: ["organizers"],
    summary: "Live waiting-room stats: queued, admitted, active checkouts, rates, oldest wait",
    security: organizerSecurity,
    request: { params },
    responses: {
      200: { description: "The room", content: { "application/json": { schema: WaitingRoomStats } } },
      ...problemResponses(400, 401, 404, 409, 429),
    },
  }),
  async (c) => {
    const show = await ownShow(c.var.db!, c.req.valid("param").show_id, c.var.organizer!.id);
    c.header("cache-control", "no-store");
    return c.json(roomView(roomOutcome(await c.env.SHOW.getByName(show.id).roomStats())), 200);
  },
);

adminShowRoom.openapi(
  createRoute({
    method: "patch",
    path: "/{show_id}/waiting-room",
    tags: ["organizers"],
    summary: "Tune the waiting room while the sale runs (takes effect within a second)",
    security: organizerSecurity,
    request: { params, body: { required: true, content: { "application/json": { schema: RoomPatch } } } },
    responses: {
      200: { description: "The room after the change", content: { "application/json": { schema: WaitingRoomStats } } },
      ...problemResponses(400, 401, 404, 409, 415, 422, 429),
    },
  }),
  async (c) => {
    const show = await ownShow(c.var.db!, c.req.valid("param").show_id, c.var.organizer!.id);
    const { checkout_window_s, opens_at, ...patch } = c.req.valid("json");
    const stats = roomOutcome(
      await c.env.SHOW.getByName(show.id).configureRoom({
        ...patch,
        ...(checkout_window_s !== undefined ? { checkout_window_ms: checkout_window_s * 1000 } : {}),
        ...(opens_at !== undefined ? { opens_at_ms: opens_at === null ? null : Date.parse(opens_at) } : {}),
      }),
    );
    await forgetRoomStatus(show.id);
    return c.json(roomView(stats), 200);
  },
);
