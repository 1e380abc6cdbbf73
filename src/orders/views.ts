import { z } from "@hono/zod-openapi";
import { and, asc, eq, inArray } from "drizzle-orm";
import type { Database } from "../db/client";
import { orderItems, orders, payments, tickets } from "../db/schema";
import { placeView } from "../tickets/place";
import { refundedCents } from "./refunds";

export const OrderView = z
  .object({
    order_id: z.string(),
    status: z.enum(["pending_payment", "confirmed", "payment_failed", "cancelled", "refund_pending", "refunded"]),
    show_id: z.string(),
    hold_id: z.string(),
    total_cents: z.number().int(),
    refunded_cents: z
      .number()
      .int()
      .openapi({ description: "Settled refunds; the order is `refunded` once this reaches `total_cents`" }),
    currency: z.string(),
    expires_at_ms: z.number().int(),
    created_at: z.string(),
    items: z.array(
      z.object({
        seat_id: z.string().nullable().openapi({ description: "Null for a general-admission ticket" }),
        section_id: z.string(),
        ga_number: z.number().int().nullable(),
        tier_id: z.string(),
        price_cents: z.number().int(),
      }),
    ),
    payment: z.object({ payment_id: z.string(), status: z.string() }),
    tickets: z.array(
      z.object({
        ticket_id: z.string(),
        seat_id: z.string().nullable(),
        section_id: z.string(),
        ga_number: z.number().int().nullable(),
        status: z.enum(["valid", "void", "checked_in"]),
        qr_url: z.string(),
        pdf_url: z.string(),
      }),
    ),
  })
  .openapi("Order");
export type OrderView = z.infer<typeof OrderView>;

/**
 * Orders with their items, payment and tickets, in the order of `orderIds`; with `fanId`, only
 * that fan's (another's order is left out, as if it did not exist).
 */
export async function loadOrderViews(
  db: Database,
  orderIds: string[],
  { fanId }: { fanId?: string } = {},
): Promise<OrderView[]> {
  if (orderIds.length === 0) return [];
  const [orderRows, itemRows, ticketRows, refunded] = await Promise.all([
    db
      .select({ order: orders, payment: payments })
      .from(orders)
      .innerJoin(payments, eq(payments.orderId, orders.id))
      .where(and(inArray(orders.id, orderIds), fanId === undefined ? undefined : eq(orders.fanId, fanId))),
    db.select().from(orderItems).where(inArray(orderItems.orderId, orderIds)).orderBy(asc(orderItems.seatId)),
    db.select().from(tickets).where(inArray(tickets.orderId, orderIds)).orderBy(asc(tickets.placeId)),
    refundedCents(db, orderIds),
  ]);
  const byId = new Map(orderRows.map((row) => [row.order.id, row]));
  return orderIds.flatMap((orderId) => {
    const row = byId.get(orderId);
    if (!row) return [];
    const { order, payment } = row;
    return [
      {
        order_id: order.id,
        status: order.status as OrderView["status"],
        show_id: order.showId,
        hold_id: order.holdId,
        total_cents: order.totalCents,
        refunded_cents: refunded.get(order.id) ?? 0,
        currency: order.currency,
        expires_at_ms: order.expiresAt.getTime(),
        created_at: order.createdAt.toISOString(),
        items: itemRows
          .filter((item) => item.orderId === order.id)
          .map((item) => ({ ...placeView(item.seatId), tier_id: item.tierId, price_cents: item.priceCents })),
        payment: { payment_id: payment.id, status: payment.status },
        tickets: ticketRows
          .filter((ticket) => ticket.orderId === order.id)
          .map((ticket) => ({
            ticket_id: ticket.id,
            ...placeView(ticket.placeId),
            status: ticket.status as "valid" | "void" | "checked_in",
            qr_url: `/v1/tickets/${ticket.id}/qr.svg`,
            pdf_url: `/v1/tickets/${ticket.id}/pdf`,
          })),
      },
    ];
  });
}
