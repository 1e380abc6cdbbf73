import { createRoute, z } from "@hono/zod-openapi";
import { eq, sql } from "drizzle-orm";
import { createRouter } from "../app";
import { publishShow } from "../catalog/publish";
import { loadShow } from "../catalog/queries";
import { Show } from "../catalog/schemas";
import { recordShow } from "../catalog/show-directory";
import { shows } from "../db/schema";
import { ApiError, notFound } from "../lib/problem";
import { organizerSecurity, problemResponses } from "../lib/schemas";
import { organizerDatabase } from "../middleware/database";
import { organizerAuth } from "../middleware/organizer-auth";
import { flushOutbox } from "../middleware/outbox";
import { settleCancelledShow } from "../orders/cancellation";

import { adminShowRoom } from "./admin-show-room";
import { adminShowSales } from "./admin-show-sales";
import { ownShow, SeatCounts, showParams } from "./admin-show-shared";
import { adminShowSlo } from "./admin-show-slo";

const seatIdList = z
  .array(z.string().min(1).max(40))
  .min(1)
  .max(10_000)
  .refine((ids) => new Set(ids).size === ids.length, "seat ids must not repeat");

const blockReason = z.enum(["artist_hold", "accessibility_hold", "production_kill", "other"]);
/** General admission is held back by quantity: the section's capacity, not its places. */
const gaCapacity = {
  section_id: z.string().regex(/^[A-Za-z0-9]{1,12}$/),
  quantity: z.number().int().min(1).max(100_000),
};
const BlockSeats = z
  .union([
    z.strictObject({ seat_ids: seatIdList, reason: blockReason }),
    z.strictObject({ ...gaCapacity, reason: blockReason }),
  ])
  .openapi("BlockSeats", { description: "Either seats, or a quantity of a general-admission section's capacity" });
const UnblockSeats = z
  .union([z.strictObject({ seat_ids: seatIdList }), z.strictObject(gaCapacity)])
  .openapi("UnblockSeats");
const BlockChange = z
  .object({ changed: z.array(z.string()), unchanged: z.array(z.string()), counts: SeatCounts })
  .openapi("BlockChange");

const params = showParams;

export const adminShows = createRouter();
adminShows.use("*", organizerDatabase(), organizerAuth());
// A cancel refunds and notifies fans: publish those notices now rather than at the next cron.
adminShows.use("/:show_id/cancel", flushOutbox());
adminShows.route("/", adminShowRoom);
adminShows.route("/", adminShowSales);
adminShows.route("/", adminShowSlo);

/** Orders a cancel settles within its own request; the reconciliation cron does the rest. */
const CANCEL_BATCH = 25;

adminShows.openapi(
  createRoute({
    method: "get",
    path: "/{show_id}",
    tags: ["organizers"],
    summary: "One of the organizer's shows, in any state",
    security: organizerSecurity,
    request: { params },
    responses: {
      200: { description: "The show", content: { "application/json": { schema: Show } } },
      ...problemResponses(400, 401, 404, 429),
    },
  }),
  async (c) =>
    c.json(await loadShow(c.var.db!, c.req.valid("param").show_id, { organizerId: c.var.organizer!.id }), 200),
);

adminShows.openapi(
  createRoute({
    method: "post",
    path: "/{show_id}/publish",
    tags: ["organizers"],
    summary: "Publish: load every seat, tier and price into the show's Durable Object (repeatable)",
    security: organizerSecurity,
    request: { params },
    responses: {
      200: {
        description: "The published show and its seat counts",
        content: { "application/json": { schema: Show.extend({ counts: SeatCounts }) } },
      },
      ...problemResponses(400, 401, 404, 409, 422, 429),
    },
  }),
  async (c) => {
    const organizerId = c.var.organizer!.id;
    const { show_id } = c.req.valid("param");
    const counts = await publishShow(c.var.db!, c.env, show_id, organizerId);
    return c.json({ ...(await loadShow(c.var.db!, show_id, { organizerId })), counts }, 200);
  },
);

adminShows.openapi(
  createRoute({
    method: "post",
    path: "/{show_id}/cancel",
    tags: ["organizers"],
    summary: "Cancel a show: selling stops, live holds are released, open payments cancelled, paid orders refunded",
    security: organizerSecurity,
    request: { params },
    responses: {
      200: { description: "The cancelled show", content: { "application/json": { schema: Show } } },
      ...problemResponses(400, 401, 404, 429),
    },
  }),
  async (c) => {
    const organizerId = c.var.organizer!.id;
    const show = await ownShow(c.var.db!, c.req.valid("param").show_id, organizerId);
    // The DO first: once it says cancelled, no new hold can start, whatever Postgres says.
    if (show.status === "published") await c.env.SHOW.getByName(show.id).cancel();
    await c.var
      .db!.update(shows)
      .set({ status: "cancelled", cancelledAt: sql`coalesce(${shows.cancelledAt}, now())`, updatedAt: sql`now()` })
      .where(eq(shows.id, show.id));
    if (show.status !== "draft") await recordShow(c.env, show.id, { status: "cancelled" });
    // Open payments are cancelled and paid orders refunded: a first batch now, the
    // reconciliation cron the rest. A Stripe hiccup here must not undo the cancel itself.
    if (show.status !== "draft") {
      await settleCancelledShow(c.env, c.var.db!, show.id, CANCEL_BATCH).catch((error) =>
        console.error("cancel: settling orders continues in the cron", show.id, error),
      );
    }
    return c.json(await loadShow(c.var.db!, show.id, { organizerId }), 200);
  },
);

for (const action of ["block", "unblock"] as const) {
  adminShows.openapi(
    createRoute({
      method: "post",
      path: `/{show_id}/seats/${action}`,
      tags: ["organizers"],
      summary:
        action === "block"
          ? "Hold seats back (artist or accessibility holds, production kills): never sellable until unblocked"
          : "Put blocked seats back on sale",
      security: organizerSecurity,
      request: {
        params,
        body: {
          required: true,
          content: { "application/json": { schema: action === "block" ? BlockSeats : UnblockSeats } },
        },
      },
      responses: {
        200: { description: "What changed", content: { "application/json": { schema: BlockChange } } },
        ...problemResponses(400, 401, 404, 409, 415, 422, 429),
      },
    }),
    async (c) => {
      const show = await ownShow(c.var.db!, c.req.valid("param").show_id, c.var.organizer!.id);
      const body = c.req.valid("json") as z.infer<typeof UnblockSeats> & { reason?: z.infer<typeof blockReason> };
      const stub = c.env.SHOW.getByName(show.id);
      const result =
        "seat_ids" in body
          ? action === "block"
            ? await stub.block(body.seat_ids, body.reason!)
            : await stub.unblock(body.seat_ids)
          : action === "block"
            ? await stub.blockCapacity(body.section_id, body.quantity, body.reason!)
            : await stub.unblockCapacity(body.section_id, body.quantity);
      if (!result.ok) {
        const errors = result.seat_ids.map((seatId) => ({ path: `seat_ids.${seatId}`, message: result.code }));
        if (result.code === "show_not_published") {
          throw new ApiError(409, "show_not_published", "Publish the show before blocking seats");
        }
        if (result.code === "unknown_section") {
          throw new ApiError(422, "unknown_section", "No general-admission section with this id in this show", [
            { path: "section_id", message: "not a general-admission section of this show" },
          ]);
        }
        if (result.code === "insufficient_availability") {
          throw new ApiError(
            409,
            "insufficient_availability",
            action === "block"
              ? "Fewer places of this section are free to block"
              : "Fewer places of this section are blocked",
          );
        }
        if (result.code === "unknown_seats") {
          throw new ApiError(422, "unknown_seats", "Some seats are not in this show", errors);
        }
        throw new ApiError(409, "seats_unavailable", "Some seats are held or sold and cannot be blocked", errors);
      }
      return c.json({ changed: result.changed, unchanged: result.unchanged, counts: result.counts }, 200);
    },
  );
}

const OrganizerSeats = z
  .object({
    show_id: z.string(),
    section_id: z.string(),
    seats: z.array(
      z.object({
        seat_id: z.string(),
        status: z.enum(["available", "held", "sold", "blocked"]),
        block_reason: z.string().nullable(),
        tier_id: z.string(),
        price_cents: z.number().int(),
        accessible: z.boolean(),
      }),
    ),
  })
  .openapi("OrganizerSeats");

adminShows.openapi(
  createRoute({
    method: "get",
    path: "/{show_id}/seats",
    tags: ["organizers"],
    summary: "One section's seats in their true states (held, sold, blocked with its reason): the console's map",
    security: organizerSecurity,
    request: {
      params,
      query: z.strictObject({ section: z.string().min(1).max(12).openapi({ description: "A section id" }) }),
    },
    responses: {
      200: { description: "The section's seats", content: { "application/json": { schema: OrganizerSeats } } },
      ...problemResponses(400, 401, 404, 409, 429),
    },
  }),
  async (c) => {
    const show = await ownShow(c.var.db!, c.req.valid("param").show_id, c.var.organizer!.id);
    const { section } = c.req.valid("query");
    const seats = await c.env.SHOW.getByName(show.id).seatStates(section);
    if (seats === null) throw new ApiError(409, "show_not_published", "Publish the show before managing its seats");
    if (seats.length === 0) throw notFound("Section");
    c.header("cache-control", "no-store");
    return c.json({ show_id: show.id, section_id: section, seats }, 200);
  },
);
