import { and, asc, eq, gt, gte, inArray, lt } from "drizzle-orm";
import type { Database } from "../db/client";
import { orders, payments, shows, tickets } from "../db/schema";
import { logEvent } from "../lib/observe";
import { createStripe } from "../payments/stripe";
import { settleCancelledShows } from "./cancellation";
import { abandonCheckout, failOrder, finalizeOrder, loadOrderWithPayment } from "./lifecycle";
import { openRefundIds, settleRefund, stuckRefunds } from "./refunds";

export interface ReconciliationReport {
  ran_at: string;
  pending_checked: number;
  settled_paid: number;
  settled_cancelled: number;
  sold_without_ticket_repaired: number;
  ticket_without_sold_repaired: number;
  /** Sold holds whose order was paid but not yet confirmed: finalized instead of freed. */
  sold_finalized: number;
  refunds_checked: number;
  refunds_settled: number;
  /** Refunds Onsale owes but stopped retrying (attempts or re-issues exhausted): for operators. */
  refunds_stuck: {
    refund_id: string;
    order_id: string;
    amount_cents: number;
    status: string;
    attempts: number;
    last_error: string | null;
  }[];
  cancelled_show_orders_settled: number;
  /** Pending orders whose hold lapsed under them (the fan gave up after a lost answer): cancelled early. */
  lapsed_checkouts_settled: number;
  conflicts: { show_id: string; seat_id: string }[];
  errors: string[];
}

const REPORT_KEY = "reconciliation:last";
/** A hold sold this recently may have a finalize whose Postgres confirm has not committed yet. */
export const SOLD_GRACE_MS = 5 * 60_000;
const BATCH = 100;
/** Pending orders checked against their holds per run: one Show DO call per show among them. */
const LAPSED_BATCH = 1_000;

/**
 * The cron's pass over Postgres ↔ Stripe ↔ Show DO (ARCHITECTURE.md, "Reconciliation"):
 * 1. pending orders past their payment window are settled against Stripe: paid ones are
 *    finalized, the rest cancelled and their seats released;
 * 2. seats a DO shows sold without a valid ticket, and valid tickets whose seat the DO does
 *    not show sold, are repaired; what cannot be repaired is reported.
 */
export async function reconcile(env: Env, db: Database, now = Date.now()): Promise<ReconciliationReport> {
  const report: ReconciliationReport = {
    ran_at: new Date(now).toISOString(),
    pending_checked: 0,
    settled_paid: 0,
    settled_cancelled: 0,
    sold_without_ticket_repaired: 0,
    ticket_without_sold_repaired: 0,
    sold_finalized: 0,
    refunds_checked: 0,
    refunds_settled: 0,
    refunds_stuck: [],
    cancelled_show_orders_settled: 0,
    lapsed_checkouts_settled: 0,
    conflicts: [],
    errors: [],
  };
  const stripe = createStripe(env);

  const stale = await db
    .select({ id: orders.id })
    .from(orders)
    .where(and(eq(orders.status, "pending_payment"), lt(orders.expiresAt, new Date(now))))
    .limit(BATCH);
  for (const { id } of stale) {
    report.pending_checked++;
    try {
      const { order, payment } = (await loadOrderWithPayment(db, id))!;
      if (!payment.providerPaymentId) {
        // No PaymentIntent to ask (a free order): its hold sold to it means its finalize got as
        // far as the Show DO and lost its Postgres confirm; it is finished, not cancelled.
        const hold = await env.SHOW.getByName(order.showId).getHold(order.fanId, order.holdId);
        if (hold?.status === "sold" && (await finalizeOrder(env, db, id)) === "confirmed") {
          report.settled_paid++;
          continue;
        }
      }
      let intent = payment.providerPaymentId ? await stripe.paymentIntents.retrieve(payment.providerPaymentId) : null;
      if (intent && intent.status !== "succeeded" && intent.status !== "canceled") {
        // Cancelling also closes the race with a late payment: a PaymentIntent that succeeded
        // meanwhile refuses to cancel, and is then finalized below.
        intent = await stripe.paymentIntents.cancel(intent.id).catch(() => stripe.paymentIntents.retrieve(intent!.id));
      }
      if (intent?.status === "succeeded") {
        await finalizeOrder(env, db, id);
        report.settled_paid++;
      } else {
        await failOrder(env, db, id, { orderStatus: "cancelled", paymentStatus: "canceled", reason: "expired_unpaid" });
        report.settled_cancelled++;
      }
    } catch (error) {
      report.errors.push(`order ${id}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  try {
    await settleLapsedCheckouts(env, db, report, now);
  } catch (error) {
    report.errors.push(`lapsed checkouts: ${error instanceof Error ? error.message : String(error)}`);
  }

  // Refunds Onsale owes: a Stripe call that failed, timed out, or a refund the bank sent back.
  for (const refundId of await openRefundIds(db, BATCH)) {
    report.refunds_checked++;
    try {
      if ((await settleRefund(env, db, refundId)) === "succeeded") report.refunds_settled++;
    } catch (error) {
      report.errors.push(`refund ${refundId}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  report.refunds_stuck = await stuckRefunds(db, BATCH);

  // A cancel settles a first batch of its show's orders in the request; the rest are done here.
  try {
    report.cancelled_show_orders_settled = await settleCancelledShows(env, db, BATCH, report.errors);
  } catch (error) {
    report.errors.push(`cancelled shows: ${error instanceof Error ? error.message : String(error)}`);
  }

  // Shows with recent sales are the ones whose DO and Postgres can have drifted apart.
  const active = await db
    .selectDistinct({ showId: orders.showId })
    .from(orders)
    .innerJoin(shows, eq(shows.id, orders.showId))
    .where(and(gt(orders.updatedAt, new Date(now - 7 * 86_400_000)), eq(shows.status, "published")))
    .limit(BATCH);
  for (const { showId } of active) {
    try {
      await reconcileShow(env, db, showId, report, now);
    } catch (error) {
      report.errors.push(`show ${showId}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  const { refunds_stuck, conflicts, errors, ran_at: _, ...counts } = report;
  const repaired = report.sold_without_ticket_repaired + report.ticket_without_sold_repaired + report.sold_finalized;
  logEvent(
    repaired ? "reconciliation.repaired" : "reconciliation",
    { ...counts, refunds_stuck: refunds_stuck.length, conflicts: conflicts.length, errors: errors.length },
    conflicts.length || errors.length || refunds_stuck.length ? "error" : repaired ? "warn" : "info",
  );
  await env.SEAT_MAPS.put(REPORT_KEY, JSON.stringify(report));
  return report;
}

/**
 * Pending orders still inside their window whose hold is no longer theirs: an attempt that wrote
 * the order and lost its answer (and the hold's stretch) leaves the hold on checkout's first
 * minute, and a fan who gave up never comes back to be told `hold_expired`. Nobody can pay for
 * such an order through Onsale any more, so it is ended now — its PaymentIntent cancelled (or,
 * if it was paid in the browser meanwhile, finalized: sold if the seats are free, else refunded)
 * — rather than at the end of its window, so Postgres and the Show DO agree on what is being
 * paid for. One Show DO call per show, oldest orders first.
 */
async function settleLapsedCheckouts(env: Env, db: Database, report: ReconciliationReport, now: number) {
  const pending = await db
    .select({
      id: orders.id,
      showId: orders.showId,
      holdId: orders.holdId,
      providerPaymentId: payments.providerPaymentId,
    })
    .from(orders)
    .innerJoin(payments, eq(payments.orderId, orders.id))
    // A cancelled show released its holds without any lapsing: its orders are the cancel's to
    // settle (reason show_cancelled, below), not this step's.
    .innerJoin(shows, eq(shows.id, orders.showId))
    .where(
      and(eq(orders.status, "pending_payment"), gte(orders.expiresAt, new Date(now)), eq(shows.status, "published")),
    )
    .orderBy(asc(orders.createdAt))
    .limit(LAPSED_BATCH);
  const byShow = new Map<string, typeof pending>();
  for (const order of pending) byShow.set(order.showId, [...(byShow.get(order.showId) ?? []), order]);
  for (const [showId, list] of byShow) {
    const lapsed = new Set(
      await env.SHOW.getByName(showId).lapsedCheckouts(list.map((o) => ({ hold_id: o.holdId, order_id: o.id }))),
    );
    for (const order of list.filter((o) => lapsed.has(o.holdId))) {
      try {
        await abandonCheckout(env, db, order.id, order.providerPaymentId, "hold_expired");
        report.lapsed_checkouts_settled++;
      } catch (error) {
        report.errors.push(`order ${order.id}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}

async function reconcileShow(env: Env, db: Database, showId: string, report: ReconciliationReport, now: number) {
  const stub = env.SHOW.getByName(showId);
  const sold = await stub.soldSeats();
  const valid = await db
    .select({ seatId: tickets.placeId, holdId: orders.holdId })
    .from(tickets)
    .innerJoin(orders, eq(orders.id, tickets.orderId))
    .where(and(eq(tickets.showId, showId), inArray(tickets.status, ["valid", "checked_in"])));
  const ticketed = new Set(valid.map((t) => t.seatId));
  const soldSeats = new Set(sold.map((s) => s.seat_id));

  // Sold in the DO, no valid ticket. Finalize sells in the DO before Postgres confirms, so a
  // recent sale, or one whose order was paid, is an order on its way to confirmed: freeing its
  // seats would let them be sold twice. Only what no payment backs is freed.
  const orphans = sold.filter((s) => !ticketed.has(s.seat_id));
  const orphanHolds = new Set(orphans.map((s) => s.hold_id));
  for (const holdId of orphanHolds) {
    const seats = orphans.filter((s) => s.hold_id === holdId);
    const soldAt = (seats[0] as { sold_at_ms?: number | null }).sold_at_ms;
    if (soldAt != null && now - soldAt < SOLD_GRACE_MS) continue;
    const [found] = await db
      .select({ order: orders, payment: payments })
      .from(orders)
      .innerJoin(payments, eq(payments.orderId, orders.id))
      .where(eq(orders.holdId, holdId));
    const status = found?.order.status;
    if (status === "pending_payment") continue;
    if (status === "confirmed") {
      // Seats of tickets an organizer refunded go back on sale; anything else is a real conflict.
      const refunded = await db
        .select({ seatId: tickets.placeId })
        .from(tickets)
        .where(
          and(
            eq(tickets.orderId, found!.order.id),
            eq(tickets.status, "void"),
            inArray(
              tickets.placeId,
              seats.map((s) => s.seat_id),
            ),
          ),
        );
      if (refunded.length) {
        await stub.refundSeats(
          holdId,
          refunded.map((t) => t.seatId),
        );
        report.sold_without_ticket_repaired += refunded.length;
      }
      const back = new Set(refunded.map((t) => t.seatId));
      report.conflicts.push(
        ...seats.filter((s) => !back.has(s.seat_id)).map((s) => ({ show_id: showId, seat_id: s.seat_id })),
      );
      continue;
    }
    if ((status === "payment_failed" || status === "cancelled") && found!.payment.providerPaymentId) {
      const intent = await createStripe(env).paymentIntents.retrieve(found!.payment.providerPaymentId);
      if (intent.status === "succeeded") {
        await finalizeOrder(env, db, found!.order.id);
        report.sold_finalized++;
        continue;
      }
    }
    await stub.refundHold(holdId);
    report.sold_without_ticket_repaired += seats.length;
  }

  // A valid ticket the DO does not show as sold: sell the seat to the ticket's hold again.
  const missing = new Map<string, string[]>();
  for (const ticket of valid.filter((t) => !soldSeats.has(t.seatId))) {
    missing.set(ticket.holdId, [...(missing.get(ticket.holdId) ?? []), ticket.seatId]);
  }
  for (const [holdId, seatIds] of missing) {
    const { repaired, conflicts } = await stub.repairSold(holdId, seatIds);
    report.ticket_without_sold_repaired += repaired.length;
    report.conflicts.push(...conflicts.map((seatId) => ({ show_id: showId, seat_id: seatId })));
  }
}

export async function lastReconciliation(env: Pick<Env, "SEAT_MAPS">): Promise<ReconciliationReport | null> {
  return env.SEAT_MAPS.get<ReconciliationReport>(REPORT_KEY, "json");
}
