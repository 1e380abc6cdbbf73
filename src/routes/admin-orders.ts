import { createRoute, z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { createRouter } from "../app";
import { events, orders, shows } from "../db/schema";
import { notFound } from "../lib/problem";
import { organizerSecurity, problemResponses } from "../lib/schemas";
import { organizerDatabase } from "../middleware/database";
import { organizerAuth } from "../middleware/organizer-auth";
import { flushOutbox } from "../middleware/outbox";
import { idempotent } from "../orders/idempotency";
import { openRefund, openRefundIds, settleRefund } from "../orders/refunds";
import { loadOrderViews, OrderView } from "../orders/views";

export const adminOrders = createRouter();
adminOrders.use("*", organizerDatabase(), organizerAuth(), flushOutbox());

const RefundRequest = z
  .strictObject({
    amount_cents: z
      .number()
      .int()
      .min(1)
      .max(99_999_999)
      .optional()
      .openapi({ description: "Money back without tickets (goodwill), or less than the chosen tickets cost" }),
    ticket_ids: z
      .array(z.string().max(80))
      .min(1)
      .max(50)
      .optional()
      .openapi({ description: "These tickets are refunded, voided and their seats put back on sale" }),
    reason: z.string().max(500).optional().openapi({ description: "A note for the books; not shown to the fan" }),
  })
  .openapi("RefundRequest");

adminOrders.openapi(
  createRoute({
    method: "post",
    path: "/{order_id}/refund",
    tags: ["organizers"],
    summary: "Refund an order in full (no body), some of its tickets, or an amount of money",
    description:
      "Without a body, whatever has not been refunded yet is refunded and the order ends `refunded`. " +
      "`ticket_ids` refunds those tickets (their prices, or `amount_cents` if lower); once Stripe confirms, they are void " +
      "and their seats back on sale. `amount_cents` alone refunds money only, unless it reaches what remains. " +
      "A refund Stripe cannot make right now stays owed and is retried; the order shows it as pending.",
    security: organizerSecurity,
    request: {
      params: z.object({ order_id: z.string().max(80) }),
      headers: z.object({ "idempotency-key": z.string().min(1).max(255) }),
      body: { required: false, content: { "application/json": { schema: RefundRequest } } },
    },
    responses: {
      200: { description: "The order after the refund", content: { "application/json": { schema: OrderView } } },
      ...problemResponses(400, 401, 404, 409, 415, 422, 429),
    },
  }),
  async (c) => {
    const { order_id } = c.req.valid("param");
    const body = (c.req.valid("json") as z.infer<typeof RefundRequest> | undefined) ?? {};
    const db = c.var.db!;
    const organizerId = c.var.organizer!.id;
    const result = await idempotent(
      db,
      {
        scope: organizerId,
        route: "POST /v1/admin/orders/refund",
        key: c.req.valid("header")["idempotency-key"],
        // The body joins the hash only when sent, so keys used before bodies existed still replay.
        body: Object.keys(body).length ? { order_id, ...body } : { order_id },
      },
      async () => {
        const [row] = await db
          .select({ order: orders })
          .from(orders)
          .innerJoin(shows, eq(shows.id, orders.showId))
          .innerJoin(events, eq(events.id, shows.eventId))
          .where(and(eq(orders.id, order_id), eq(events.organizerId, organizerId)));
        if (!row) throw notFound("Order");
        const refund = await openRefund(db, order_id, {
          reason: "organizer_request",
          amountCents: body.amount_cents,
          ticketIds: body.ticket_ids,
          note: body.reason,
        });
        // No new refund: the order's refund is already owed, so push what is open once more.
        const pushing = refund ? [refund.id] : await openRefundIds(db, 10, order_id);
        for (const id of pushing) await settleRefund(c.env, db, id);
        const [view] = await loadOrderViews(db, [order_id]);
        return { status: 200, body: view! };
      },
    );
    if (result.replayed) c.header("idempotent-replayed", "true");
    return c.json(result.body as OrderView, 200);
  },
);

adminOrders.openapi(
  createRoute({
    method: "get",
    path: "/{order_id}",
    tags: ["organizers"],
    summary: "One order of the organizer's shows, with its refunds so far",
    security: organizerSecurity,
    request: { params: z.object({ order_id: z.string().max(80) }) },
    responses: {
      200: { description: "The order", content: { "application/json": { schema: OrderView } } },
      ...problemResponses(400, 401, 404, 429),
    },
  }),
  async (c) => {
    const { order_id } = c.req.valid("param");
    const db = c.var.db!;
    const [row] = await db
      .select({ id: orders.id })
      .from(orders)
      .innerJoin(shows, eq(shows.id, orders.showId))
      .innerJoin(events, eq(events.id, shows.eventId))
      .where(and(eq(orders.id, order_id), eq(events.organizerId, c.var.organizer!.id)));
    if (!row) throw notFound("Order");
    const [view] = await loadOrderViews(db, [row.id]);
    c.header("cache-control", "private, no-store");
    return c.json(view!, 200);
  },
);
