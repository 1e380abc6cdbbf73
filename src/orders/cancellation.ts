import { and, asc, eq, inArray, type SQL } from "drizzle-orm";
import type { Database } from "../db/client";
import { orders, payments, shows } from "../db/schema";
import { createStripe } from "../payments/stripe";
import { failOrder, finalizeOrder, type OrderStatus, refundOrder } from "./lifecycle";

/** Orders a cancelled show still has to settle: open payments, and tickets paid for. */
const OPEN: OrderStatus[] = ["pending_payment", "payment_failed", "confirmed"];

/**
 * What a show's cancel owes its fans: every open PaymentIntent is cancelled (so nobody can pay
 * for a show that will not happen) and every paid order is refunded in full with reason
 * `show_cancelled`, its tickets void and its fan notified through the outbox. A PaymentIntent
 * that already succeeded cannot be cancelled; finalize then sees the cancelled show and refunds.
 * Idempotent; handles at most `limit` orders per call, oldest first.
 */
export async function settleCancelledShow(env: Env, db: Database, showId: string, limit: number): Promise<number> {
  const errors: string[] = [];
  const settled = await settle(env, db, and(eq(orders.showId, showId), inArray(orders.status, OPEN)), limit, errors);
  if (errors.length) console.error("cancel: orders left for the cron", showId, errors);
  return settled;
}

/** One order that cannot be settled now (Stripe down) never keeps the others from being settled. */
async function settle(env: Env, db: Database, where: SQL | undefined, limit: number, errors: string[]) {
  const open = await db
    .select({ order: orders, payment: payments })
    .from(orders)
    .innerJoin(payments, eq(payments.orderId, orders.id))
    .innerJoin(shows, eq(shows.id, orders.showId))
    .where(where)
    .orderBy(asc(orders.createdAt))
    .limit(limit);
  let settled = 0;
  for (const { order, payment } of open) {
    try {
      await settleOrder(env, db, order, payment);
      settled++;
    } catch (error) {
      errors.push(`order ${order.id}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return settled;
}

async function settleOrder(
  env: Env,
  db: Database,
  order: typeof orders.$inferSelect,
  payment: typeof payments.$inferSelect,
) {
  if (order.status === "confirmed") {
    await refundOrder(env, db, order, "show_cancelled");
    return;
  }
  if (payment.providerPaymentId) {
    const stripe = createStripe(env);
    const intent = await stripe.paymentIntents
      .cancel(payment.providerPaymentId)
      .catch(() => stripe.paymentIntents.retrieve(payment.providerPaymentId!));
    if (intent.status === "succeeded") {
      await finalizeOrder(env, db, order.id);
      return;
    }
    if (intent.status !== "canceled") throw new Error(`PaymentIntent ${intent.id} is ${intent.status}, not canceled`);
  }
  await failOrder(env, db, order.id, { orderStatus: "cancelled", paymentStatus: "canceled", reason: "show_cancelled" });
}

/** The cron's share: orders of cancelled shows the cancel request did not get to. */
export function settleCancelledShows(env: Env, db: Database, limit: number, errors: string[]): Promise<number> {
  return settle(env, db, and(eq(shows.status, "cancelled"), inArray(orders.status, OPEN)), limit, errors);
}
