import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq, inArray, or, type SQL, sql } from "drizzle-orm";
import type { RoomOutcome, RoomStats } from "../../durable-objects/types";
import { createRouter } from "../app";
import { publishShow } from "../catalog/publish";
import { cursor, loadShow } from "../catalog/queries";
import { id, listOf, Show } from "../catalog/schemas";
import { recordShow } from "../catalog/show-directory";
import { events, orders, shows, tickets } from "../db/schema";
import { ApiError, notFound } from "../lib/problem";
import { organizerSecurity, problemResponses } from "../lib/schemas";
import { isWithin, SCHEDULE_RANGE } from "../lib/time";
import { database } from "../middleware/database";
import { organizerAuth } from "../middleware/organizer-auth";
import { flushOutbox } from "../middleware/outbox";
import { settleCancelledShow } from "../orders/cancellation";
import { lastReconciliation } from "../orders/reconcile";
import { loadOrderViews, OrderView } from "../orders/views";
import { verifyTicketBarcode } from "../tickets/barcode";
import { forgetRoomStatus } from "../waiting-room/edge-status";

const SeatCounts = z
  .object({
    available: z.number().int(),
    held: z.number().int(),
    sold: z.number().int(),
    blocked: z.number().int(),
    capacity: z.number().int(),
  })
  .openapi("SeatCounts");

const seatIdList = z
  .array(z.string().min(1).max(40))
  .min(1)
  .max(10_000)
  .refine((ids) => new Set(ids).size === ids.length, "seat ids must not repeat");

const BlockSeats = z
  .strictObject({
    seat_ids: seatIdList,
    reason: z.enum(["artist_hold", "accessibility_hold", "production_kill", "other"]),
  })
  .openapi("BlockSeats");
const UnblockSeats = z.strictObject({ seat_ids: seatIdList }).openapi("UnblockSeats");
const BlockChange = z
  .object({ changed: z.array(z.string()), unchanged: z.array(z.string()), counts: SeatCounts })
  .openapi("BlockChange");

const params = z.object({ show_id: id("shw") });

export const adminShows = createRouter();
adminShows.use("*", database(), organizerAuth());
// A cancel refunds and notifies fans: publish those notices now rather than at the next cron.
adminShows.use("/:show_id/cancel", flushOutbox());

/** Orders a cancel settles within its own request; the reconciliation cron does the rest. */
const CANCEL_BATCH = 25;

/** The show, if it belongs to the caller's organizer; any other id is simply not found. */
async function ownShow(db: NonNullable<Parameters<typeof loadShow>[0]>, showId: string, organizerId: string) {
  const [show] = await db
    .select({ id: shows.id, status: shows.status, eventId: shows.eventId })
    .from(shows)
    .innerJoin(events, eq(events.id, shows.eventId))
    .where(and(eq(shows.id, showId), eq(events.organizerId, organizerId)));
  if (!show) throw notFound("Show");
  return show;
}

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
      const body = c.req.valid("json") as z.infer<typeof BlockSeats>;
      const stub = c.env.SHOW.getByName(show.id);
      const result =
        action === "block" ? await stub.block(body.seat_ids, body.reason) : await stub.unblock(body.seat_ids);
      if (!result.ok) {
        const errors = result.seat_ids.map((seatId) => ({ path: `seat_ids.${seatId}`, message: result.code }));
        if (result.code === "show_not_published") {
          throw new ApiError(409, "show_not_published", "Publish the show before blocking seats");
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

const WaitingRoomStats = z
  .object({
    enabled: z.boolean(),
    paused: z.boolean(),
    admit_per_minute: z.number().int(),
    max_active: z.number().int(),
    checkout_window_s: z.number().int(),
    opens_at: z.string().nullable(),
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

adminShows.openapi(
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

adminShows.openapi(
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

const Sales = z
  .object({
    show_id: z.string(),
    counts: SeatCounts,
    confirmed_orders: z.number().int(),
    tickets_valid: z.number().int(),
    revenue_cents: z.number().int(),
    refunded_cents: z.number().int(),
    currency: z.string(),
    last_reconciliation: z.record(z.string(), z.unknown()).nullable(),
  })
  .openapi("Sales");

adminShows.openapi(
  createRoute({
    method: "get",
    path: "/{show_id}/sales",
    tags: ["organizers"],
    summary: "Sold, held, available and revenue, with the last reconciliation report",
    security: organizerSecurity,
    request: { params },
    responses: {
      200: { description: "The sales", content: { "application/json": { schema: Sales } } },
      ...problemResponses(400, 401, 404, 429),
    },
  }),
  async (c) => {
    const db = c.var.db!;
    const show = await ownShow(db, c.req.valid("param").show_id, c.var.organizer!.id);
    const [snapshot, [money], [ticketCount], report] = await Promise.all([
      c.env.SHOW.getByName(show.id).snapshot(),
      db
        .select({
          confirmed: sql<number>`count(*) filter (where ${orders.status} = 'confirmed')::int`,
          revenue: sql<number>`coalesce(sum(${orders.totalCents}) filter (where ${orders.status} = 'confirmed'), 0)::int`,
          // What fans really got back: settled refunds, partial ones included.
          refunded: sql<number>`coalesce((select sum(r.amount_cents) from refunds r inner join orders o on o.id = r.order_id where o.show_id = ${show.id} and r.status = 'succeeded'), 0)::int`,
        })
        .from(orders)
        .where(eq(orders.showId, show.id)),
      db
        .select({ n: sql<number>`count(*)::int` })
        .from(tickets)
        .where(and(eq(tickets.showId, show.id), inArray(tickets.status, ["valid", "checked_in"]))),
      lastReconciliation(c.env),
    ]);
    return c.json(
      {
        show_id: show.id,
        counts: snapshot?.counts ?? { available: 0, held: 0, sold: 0, blocked: 0, capacity: 0 },
        confirmed_orders: money!.confirmed,
        tickets_valid: ticketCount!.n,
        revenue_cents: money!.revenue,
        refunded_cents: money!.refunded,
        currency: snapshot?.currency ?? "USD",
        last_reconciliation: report as Record<string, unknown> | null,
      },
      200,
    );
  },
);

const CheckIn = z
  .object({
    result: z
      .enum(["valid", "already_checked_in", "void", "invalid", "wrong_show", "refund_pending"])
      .openapi({ description: "`refund_pending`: the ticket is being refunded and does not admit" }),
    ticket_id: z.string().nullable(),
    seat_id: z.string().nullable(),
    checked_in_at: z.string().nullable(),
  })
  .openapi("CheckIn");

adminShows.openapi(
  createRoute({
    method: "post",
    path: "/{show_id}/check-ins",
    tags: ["organizers"],
    summary: "Gate scan: valid, already checked in (with when), void, invalid or wrong show",
    description: "Every scan gets an answer; a ticket checks in once, even when two gates scan it at the same moment.",
    security: organizerSecurity,
    request: {
      params,
      body: {
        required: true,
        content: { "application/json": { schema: z.strictObject({ barcode: z.string().max(4096) }) } },
      },
    },
    responses: {
      200: { description: "The verdict", content: { "application/json": { schema: CheckIn } } },
      ...problemResponses(400, 401, 404, 415, 422, 429),
    },
  }),
  async (c) => {
    const db = c.var.db!;
    const show = await ownShow(db, c.req.valid("param").show_id, c.var.organizer!.id);
    const verdict = (result: z.infer<typeof CheckIn>["result"], ticket?: typeof tickets.$inferSelect) =>
      c.json(
        {
          result,
          ticket_id: ticket?.id ?? null,
          seat_id: ticket?.seatId ?? null,
          checked_in_at: ticket?.checkedInAt?.toISOString() ?? null,
        },
        200,
      );
    const scanned = await verifyTicketBarcode(c.env, c.req.valid("json").barcode);
    if (!scanned.valid) return verdict("invalid");
    const { claims } = scanned;
    if (claims.sid !== show.id) return verdict("wrong_show");
    // A ticket whose money is on its way back does not admit, even while it is still valid.
    const [refunding] = await db
      .select({ id: tickets.id })
      .from(tickets)
      .innerJoin(orders, eq(orders.id, tickets.orderId))
      .where(
        and(
          eq(tickets.id, claims.tid),
          eq(tickets.showId, show.id),
          or(
            eq(orders.status, "refund_pending"),
            sql`exists (select 1 from refunds r where r.order_id = ${tickets.orderId} and r.status = 'pending' and r.ticket_ids ? ${tickets.id})`,
          ),
        ),
      );
    if (refunding) {
      const [ticket] = await db.select().from(tickets).where(eq(tickets.id, refunding.id));
      return verdict("refund_pending", ticket);
    }
    // One conditional UPDATE: of two gates scanning at once, exactly one flips the ticket.
    const [admitted] = await db
      .update(tickets)
      .set({ status: "checked_in", checkedInAt: sql`now()` })
      .where(
        and(
          eq(tickets.id, claims.tid),
          eq(tickets.showId, show.id),
          eq(tickets.status, "valid"),
          eq(tickets.barcodeVersion, claims.v),
        ),
      )
      .returning();
    if (admitted) return verdict("valid", admitted);
    const [ticket] = await db
      .select()
      .from(tickets)
      .where(and(eq(tickets.id, claims.tid), eq(tickets.showId, show.id)));
    if (!ticket) return verdict("invalid");
    if (ticket.status === "checked_in" && ticket.barcodeVersion === claims.v)
      return verdict("already_checked_in", ticket);
    return verdict("void", ticket);
  },
);

// ── the console: sales per minute, the show's orders, seats in their true states ──────────────

const TimelineQuery = z.strictObject({
  minutes: z.coerce
    .number()
    .int()
    .min(1)
    .max(180)
    .default(15)
    .openapi({ description: "How many whole minutes back, the current one included" }),
});

const SalesTimeline = z
  .object({
    show_id: z.string(),
    currency: z.string(),
    minutes: z.array(
      z.object({
        minute: z.string().openapi({ description: "Start of the minute (UTC)" }),
        orders: z.number().int().openapi({ description: "Orders paid in that minute" }),
        revenue_cents: z.number().int().openapi({ description: "What they paid (before any later refund)" }),
      }),
    ),
    server_time_ms: z.number().int(),
  })
  .openapi("SalesTimeline");

adminShows.openapi(
  createRoute({
    method: "get",
    path: "/{show_id}/sales/timeline",
    tags: ["organizers"],
    summary: "Orders and revenue per minute (by payment time), oldest minute first, empty minutes included",
    security: organizerSecurity,
    request: { params, query: TimelineQuery },
    responses: {
      200: { description: "One entry per minute", content: { "application/json": { schema: SalesTimeline } } },
      ...problemResponses(400, 401, 404, 429),
    },
  }),
  async (c) => {
    const db = c.var.db!;
    const { minutes } = c.req.valid("query");
    const show = await ownShow(db, c.req.valid("param").show_id, c.var.organizer!.id);
    // One query: the minutes from generate_series, each joined to the orders paid in it.
    const result = await db.execute<{ minute: string; orders: number; revenue_cents: number; currency: string }>(sql`
      select to_char(m.minute at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as minute,
             count(o.id)::int as orders,
             coalesce(sum(o.total_cents), 0)::int as revenue_cents,
             (select currency from shows where id = ${show.id}) as currency
      from generate_series(date_trunc('minute', now()) - make_interval(mins => ${minutes - 1}),
                           date_trunc('minute', now()), interval '1 minute') as m(minute)
      left join orders o
        on o.show_id = ${show.id}
       and o.confirmed_at is not null
       and date_trunc('minute', o.confirmed_at) = m.minute
      group by m.minute
      order by m.minute`);
    const rows = result.rows;
    c.header("cache-control", "no-store");
    return c.json(
      {
        show_id: show.id,
        currency: rows[0]?.currency ?? "USD",
        minutes: rows.map(({ minute, orders, revenue_cents }) => ({ minute, orders, revenue_cents })),
        server_time_ms: Date.now(),
      },
      200,
    );
  },
);

const orderStatuses = [
  "pending_payment",
  "confirmed",
  "payment_failed",
  "cancelled",
  "refund_pending",
  "refunded",
] as const;

const ShowOrdersQuery = z.strictObject({
  status: z.enum(orderStatuses).optional(),
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

adminShows.openapi(
  createRoute({
    method: "get",
    path: "/{show_id}/orders",
    tags: ["organizers"],
    summary: "The show's orders, newest first, with totals, refunds, items and tickets",
    security: organizerSecurity,
    request: { params, query: ShowOrdersQuery },
    responses: {
      200: { description: "A page of orders", content: { "application/json": { schema: listOf(OrderView) } } },
      ...problemResponses(400, 401, 404, 429),
    },
  }),
  async (c) => {
    const db = c.var.db!;
    const query = c.req.valid("query");
    const show = await ownShow(db, c.req.valid("param").show_id, c.var.organizer!.id);
    const after = query.cursor ? cursor.decode(query.cursor) : undefined;
    if (after === null) throw new ApiError(400, "invalid_cursor", "The cursor is not one this API issued");
    const atMicros = sql<string>`(extract(epoch from ${orders.createdAt}) * 1000000)::bigint`;
    const filters: SQL[] = [eq(orders.showId, show.id)];
    if (query.status) filters.push(eq(orders.status, query.status));
    if (after) filters.push(sql`(${atMicros}, ${orders.id}) < (${after[0]}::bigint, ${after[1]})`);
    const rows = await db
      .select({ id: orders.id, at: sql<string>`${atMicros}::text` })
      .from(orders)
      .where(and(...filters))
      .orderBy(desc(atMicros), desc(orders.id))
      .limit(query.limit + 1);
    const page = rows.slice(0, query.limit);
    const data = await loadOrderViews(
      db,
      page.map((row) => row.id),
    );
    const last = page.at(-1);
    c.header("cache-control", "private, no-store");
    return c.json(
      { data, next_cursor: rows.length > query.limit && last ? cursor.encode(last.at, last.id) : null },
      200,
    );
  },
);

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
