import { and, eq, inArray, sql } from "drizzle-orm";
import type Stripe from "stripe";
import { type Database, pgErrorCode } from "../db/client";
import { orders, payments, shows, tickets } from "../db/schema";
import { STRIPE_REQUEST_BUDGET_MS } from "../lib/deadline";
import { newId } from "../lib/ids";
import { logEvent, span } from "../lib/observe";
import { enqueueNotification, notificationInsert } from "../notifications/outbox";
import { createStripe } from "../payments/stripe";
import { ticketPlaceColumns } from "../tickets/place";
import { cardOverLimit, fingerprintOf } from "./card-limit";
import { openRefund, type RefundReason, settleRefund } from "./refunds";

// Everything that moves an order after it was placed. Every function here is idempotent and
// only moves an order forward, so a webhook, a confirm call and the reconciliation cron can
// all run it, twice, in any order, and converge on the same final state:
//
//   pending_payment ─┬─► confirmed ──► refund_pending ◄─► refunded
//                    ├─► payment_failed ─► (confirmed | refund_pending)
//                    ├─► cancelled ─────► (confirmed | refund_pending)
//                    └─► refund_pending
//
// A declined card is not one of these moves: Stripe leaves the PaymentIntent in
// `requires_payment_method`, so the order stays `pending_payment` with its hold in checkout and
// the fan may pay with another card until the payment window ends; then the reconciliation
// cron cancels the PaymentIntent and the order (`cancelled`, reason `expired_unpaid`).
// `payment_failed` is only found on orders failed before that rule (older rows).
//
// A confirmed order stays confirmed through partial refunds; it is `refunded` only once settled
// refunds reach its total, and goes back to `refund_pending` if the bank returns a refund
// (src/orders/refunds.ts).

export type OrderStatus =
  | "pending_payment"
  | "confirmed"
  | "payment_failed"
  | "cancelled"
  | "refund_pending"
  | "refunded";

/** States a paid order can still be confirmed (or refunded) from. */
const UNSETTLED: OrderStatus[] = ["pending_payment", "payment_failed", "cancelled"];

type Order = typeof orders.$inferSelect;
type Payment = typeof payments.$inferSelect;

/** `sellHold` refusals that are not a lost seat, and the refund reason each becomes. */
const SELL_REFUSALS: Record<string, RefundReason> = {
  show_cancelled: "show_cancelled",
  limit_exceeded: "limit_exceeded",
};

export async function loadOrderWithPayment(db: Database, orderId: string) {
  const [row] = await db
    .select({ order: orders, payment: payments })
    .from(orders)
    .innerJoin(payments, eq(payments.orderId, orders.id))
    .where(eq(orders.id, orderId));
  return row;
}

/**
 * Finalize a paid order (ARCHITECTURE.md, "Order and payment"): the Show DO turns the hold
 * into sold seats, then one Postgres transaction confirms the order and payment and issues
 * the tickets, whose unique index is the last guard against a seat sold twice. If the seats
 * went to someone else meanwhile, the fan gets the money back instead.
 */
export function finalizeOrder(env: Env, db: Database, orderId: string): Promise<OrderStatus> {
  return span("order.finalize", { order_id: orderId }, async () => {
    const outcome = await finalize(env, db, orderId);
    logEvent("order.finalized", { order_id: orderId, outcome });
    return outcome;
  });
}

async function finalize(env: Env, db: Database, orderId: string): Promise<OrderStatus> {
  // The show's status comes with the order: Postgres' word is enough to refuse, since a cancel
  // may have reached it while the DO was unreachable.
  const [row] = await db
    .select({ order: orders, payment: payments, showStatus: shows.status })
    .from(orders)
    .innerJoin(payments, eq(payments.orderId, orders.id))
    .innerJoin(shows, eq(shows.id, orders.showId))
    .where(eq(orders.id, orderId));
  if (!row) throw new Error(`finalize: order ${orderId} not found`);
  const { order } = row;
  if (!UNSETTLED.includes(order.status as OrderStatus)) return order.status as OrderStatus;

  const stub = env.SHOW.getByName(order.showId);
  if (row.showStatus === "cancelled") {
    await stub.releaseForOrder(order.holdId);
    return refundOrder(env, db, order, "show_cancelled");
  }
  const card = await paidCard(env, db, row.payment, order);
  const sold = await stub.sellHold(order.holdId);
  if (!sold.ok && sold.code in SELL_REFUSALS) {
    // The seats were never the order's: what is still held for it goes back on sale.
    await stub.releaseForOrder(order.holdId);
    return refundOrder(env, db, order, SELL_REFUSALS[sold.code]!);
  }
  if (sold.ok) {
    try {
      const confirmed = await confirm(db, order, card);
      if (confirmed !== "card_limit_exceeded") return confirmed;
      // The card had bought its share already (another fan paid with it first): the seats just
      // sold to this order go back on sale and the money goes back to the card.
      await stub.refundHold(order.holdId);
      return refundOrder(env, db, order, "card_limit_exceeded");
    } catch (error) {
      // Another valid ticket owns one of the seats: the DO and Postgres disagreed. The paid
      // fan is refunded; reconciliation reports and repairs the DO.
      if (pgErrorCode(error) !== "23505") throw error;
      console.error("finalize: ticket unique index refused a seat", orderId);
    }
  }
  return refundOrder(env, db, order, "seat_conflict");
}

/**
 * The fingerprint of the card that paid, recorded on the payment so later orders of the card
 * count this one. Asked of Stripe, because a Stripe.js payment names its card only there.
 */
async function paidCard(env: Env, db: Database, payment: Payment, order: Order): Promise<string | null> {
  if (order.totalCents === 0 || !payment.providerPaymentId) return null;
  const intent = await createStripe(env).paymentIntents.retrieve(payment.providerPaymentId, {
    expand: ["payment_method"],
  });
  const fingerprint = fingerprintOf(intent);
  if (fingerprint && fingerprint !== payment.cardFingerprint) {
    await db
      .update(payments)
      .set({ cardFingerprint: fingerprint, updatedAt: sql`now()` })
      .where(eq(payments.id, payment.id));
  }
  return fingerprint;
}

async function confirm(db: Database, order: Order, card: string | null): Promise<OrderStatus | "card_limit_exceeded"> {
  return db.transaction(async (tx) => {
    if (await cardOverLimit(tx, order, card)) return "card_limit_exceeded";
    // One round trip: the order confirmed if it is still unsettled, its payment marked paid, and
    // its lines read for the tickets (none when another request settled the order first).
    const { rows: lines } = await tx.execute<{
      seat_id: string;
      show_id: string;
      tier_id: string;
      price_cents: number;
    }>(
      sql`WITH confirmed AS (
            UPDATE orders SET status = 'confirmed', confirmed_at = now(), updated_at = now()
            WHERE id = ${order.id} AND status IN (${sql.join(
              UNSETTLED.map((status) => sql`${status}`),
              sql`, `,
            )})
            RETURNING id
          ), paid AS (
            UPDATE payments SET status = 'succeeded', last_error = NULL, updated_at = now()
            WHERE order_id IN (SELECT id FROM confirmed)
          )
          SELECT seat_id, show_id, tier_id, price_cents FROM order_items
          WHERE order_id IN (SELECT id FROM confirmed)`,
    );
    if (lines.length === 0) {
      const [current] = await tx.select({ status: orders.status }).from(orders).where(eq(orders.id, order.id));
      return current!.status as OrderStatus;
    }
    const issued = lines.map((line) => ({
      id: newId("tkt"),
      orderId: order.id,
      showId: line.show_id,
      ...ticketPlaceColumns(line.seat_id),
      tierId: line.tier_id,
      priceCents: Number(line.price_cents),
      holderFanId: order.fanId,
    }));
    // The tickets and the fan's notice in one statement too: the ticket ids are made here.
    const notice = notificationInsert(tx, "order.confirmed", order.id, {
      fan_id: order.fanId,
      email: order.fanEmail,
      order_id: order.id,
      show_id: order.showId,
      tickets: issued.map((ticket, i) => ({
        ticket_id: ticket.id,
        seat_id: ticket.seatId,
        place_id: lines[i]!.seat_id,
      })),
    });
    await tx.execute(sql`WITH issued AS (${tx.insert(tickets).values(issued).getSQL()}) ${notice.getSQL()}`);
    return "confirmed";
  });
}

/**
 * The payment can no longer go through (the PaymentIntent was canceled, or the order lapsed
 * unpaid): the order fails and its seats go back on sale at once. A decline is not this: see
 * `recordDecline`.
 */
export async function failOrder(
  env: Env,
  db: Database,
  orderId: string,
  outcome: { orderStatus: "payment_failed" | "cancelled"; paymentStatus: "failed" | "canceled"; reason: string },
): Promise<OrderStatus> {
  const failed = await db.transaction(async (tx) => {
    const [order] = await tx
      .update(orders)
      .set({ status: outcome.orderStatus, updatedAt: sql`now()` })
      .where(and(eq(orders.id, orderId), inArray(orders.status, ["pending_payment", "payment_failed"])))
      .returning();
    if (!order) return null;
    await tx
      .update(payments)
      .set({ status: outcome.paymentStatus, lastError: outcome.reason, updatedAt: sql`now()` })
      .where(and(eq(payments.orderId, orderId), sql`${payments.status} <> 'succeeded'`));
    await enqueueNotification(tx, "order.payment_failed", orderId, {
      fan_id: order.fanId,
      email: order.fanEmail,
      order_id: orderId,
      show_id: order.showId,
      reason: outcome.reason,
    });
    return order;
  });
  if (!failed) {
    const [current] = await db.select({ status: orders.status }).from(orders).where(eq(orders.id, orderId));
    return current!.status as OrderStatus;
  }
  await env.SHOW.getByName(failed.showId).releaseForOrder(failed.holdId);
  return failed.status as OrderStatus;
}

/**
 * Ends a checkout that will not be paid for (the fan let it go, or its hold lapsed): the
 * PaymentIntent is cancelled first, which Stripe refuses once it succeeded; a paid order is
 * then finalized (its seats sold, or its money refunded) instead of failed. Returns the intent's
 * status when it can be neither (a payment still processing: its webhook or the cron settles it).
 */
export async function abandonCheckout(
  env: Env,
  db: Database,
  orderId: string,
  providerPaymentId: string | null,
  reason: "cancelled_by_fan" | "hold_expired",
): Promise<{ order: OrderStatus } | { processing: string }> {
  if (providerPaymentId) {
    const stripe = createStripe(env, { budgetMs: STRIPE_REQUEST_BUDGET_MS });
    const intent = await stripe.paymentIntents
      .cancel(providerPaymentId, { cancellation_reason: "abandoned" })
      .catch(() => stripe.paymentIntents.retrieve(providerPaymentId));
    if (intent.status === "succeeded") return { order: await finalizeOrder(env, db, orderId) };
    if (intent.status !== "canceled") return { processing: intent.status };
  }
  return {
    order: await failOrder(env, db, orderId, { orderStatus: "cancelled", paymentStatus: "canceled", reason }),
  };
}

/**
 * A card was declined. Stripe keeps the PaymentIntent payable (`requires_payment_method`), so
 * the order keeps its hold and stays `pending_payment`: the fan may try another card until the
 * payment window ends, when the reconciliation cron settles it like any unpaid order. Only the
 * payment row records the decline.
 */
export async function recordDecline(db: Database, orderId: string, reason: string): Promise<OrderStatus> {
  await db
    .update(payments)
    .set({ status: "requires_payment_method", lastError: reason, updatedAt: sql`now()` })
    .where(and(eq(payments.orderId, orderId), sql`${payments.status} not in ('succeeded', 'canceled')`));
  const [current] = await db.select({ status: orders.status }).from(orders).where(eq(orders.id, orderId));
  return current!.status as OrderStatus;
}

/**
 * Gives a paid fan the money back in full: a refund row first (the ledger the cron settles
 * should Stripe fail now), then the Stripe call. Used when the seats were lost to someone else,
 * the show was cancelled, or the payment would break the per-fan limit.
 */
export async function refundOrder(env: Env, db: Database, order: Order, reason: RefundReason): Promise<OrderStatus> {
  const refund = await openRefund(db, order.id, { reason });
  if (refund) await settleRefund(env, db, refund.id);
  const [current] = await db.select({ status: orders.status }).from(orders).where(eq(orders.id, order.id));
  return current!.status as OrderStatus;
}

/** Mirrors a PaymentIntent's status onto the payment row, without ever undoing a success. */
export async function syncPayment(
  db: Database,
  orderId: string,
  intent: Pick<Stripe.PaymentIntent, "status" | "last_payment_error">,
) {
  const status =
    intent.status === "requires_capture" ? "processing" : (intent.status as (typeof payments.$inferSelect)["status"]);
  await db
    .update(payments)
    .set({ status, lastError: intent.last_payment_error?.message ?? null, updatedAt: sql`now()` })
    .where(and(eq(payments.orderId, orderId), sql`${payments.status} <> 'succeeded'`));
}
