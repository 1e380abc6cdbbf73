import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq, inArray, or, type SQL, sql } from "drizzle-orm";
import { createRouter } from "../app";
import { cursor } from "../catalog/queries";
import { listOf } from "../catalog/schemas";
import { orders, tickets } from "../db/schema";
import { ApiError } from "../lib/problem";
import { organizerSecurity, problemResponses } from "../lib/schemas";
import { lastReconciliation } from "../orders/reconcile";
import { loadOrderViews, OrderView } from "../orders/views";
import { verifyTicketBarcode } from "../tickets/barcode";
import { placeView } from "../tickets/place";

import { ownShow, SeatCounts, showParams } from "./admin-show-shared";

// What an organizer watches and does once a show sells: sales, orders per minute, the show's
// orders, and gate check-ins.

const params = showParams;

/** Mounted inside `adminShows`, whose middleware (database, organizer) serves it once. */
export const adminShowSales = createRouter();

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

adminShowSales.openapi(
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
    section_id: z.string().nullable(),
    ga_number: z.number().int().nullable().openapi({ description: "A general-admission ticket's number" }),
    checked_in_at: z.string().nullable(),
  })
  .openapi("CheckIn");

adminShowSales.openapi(
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
          section_id: ticket ? placeView(ticket.placeId).section_id : null,
          ga_number: ticket?.gaNumber ?? null,
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

adminShowSales.openapi(
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

adminShowSales.openapi(
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
