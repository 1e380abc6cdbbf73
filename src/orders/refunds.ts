import { and, asc, eq, gte, inArray, isNull, lt, notInArray, or, sql } from "drizzle-orm";
import type Stripe from "stripe";
import type { Database } from "../db/client";
import { orders, payments, refunds, tickets } from "../db/schema";
import { newId } from "../lib/ids";
import { logEvent } from "../lib/observe";
import { ApiError } from "../lib/problem";
import { enqueueNotification } from "../notifications/outbox";
import { createStripe } from "../payments/stripe";

// The refund ledger (ARCHITECTURE.md, "Order and payment"). Every refund Onsale owes is a row
// written *before* Stripe is called, so a refund whose call failed, timed out or died with the
// Worker is still owed and the reconciliation cron settles it. Each Stripe call uses a key of
// its own, `onsale:refund:<refund_id>:<attempt>`: Stripe stores even a 500 under its key, so a
// retry with the same key would only replay the failure. Before a new attempt the refund is
// looked up at Stripe by `metadata.onsale_refund_id`, so a call that did reach Stripe is adopted
// instead of paid twice.

export type RefundReason =
  | "seat_conflict"
  | "organizer_request"
  | "show_cancelled"
  | "limit_exceeded"
  | "card_limit_exceeded"
  | "provider";
type RefundRow = typeof refunds.$inferSelect;
type RefundStatus = "pending" | "succeeded" | "failed" | "canceled";

/** Stripe calls per refund row before the cron stops and reports it to operators. */
export const MAX_REFUND_ATTEMPTS = 6;
/** A refund the bank sent back is owed again as a fresh row, this many times, then reported. */
export const MAX_REFUND_REISSUES = 3;
/** Longer than one Stripe call with the SDK's retries, so two workers never attempt one row at once. */
const LEASE_MS = 2 * 60_000;

/** States of a paid order that Onsale may still have to give the money back for. */
const REFUNDABLE_BY_SYSTEM = ["pending_payment", "payment_failed", "cancelled", "confirmed"];

export interface RefundRequest {
  reason: RefundReason;
  /** Money only, or a lower amount for the chosen tickets; omitted = what remains (or the tickets' prices). */
  amountCents?: number;
  ticketIds?: string[];
  note?: string;
}

const committedStatuses: RefundStatus[] = ["pending", "succeeded"];

/**
 * Writes the refund Onsale intends, checked against what is still refundable, under the order's
 * row lock so two refunds can never promise the same money or tickets. A refund that reaches the
 * order's remaining total is a full refund: the order becomes `refund_pending`. Returns null when
 * a system refund finds the order already being refunded (finalize run twice).
 */
export async function openRefund(db: Database, orderId: string, request: RefundRequest): Promise<RefundRow | null> {
  const opened = await openRefundRow(db, orderId, request);
  if (opened) {
    logEvent("refund.opened", {
      order_id: orderId,
      refund_id: opened.id,
      amount_cents: opened.amountCents,
      reason: opened.reason,
    });
  }
  return opened;
}

async function openRefundRow(db: Database, orderId: string, request: RefundRequest): Promise<RefundRow | null> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .select({ order: orders, payment: payments })
      .from(orders)
      .innerJoin(payments, eq(payments.orderId, orders.id))
      .where(eq(orders.id, orderId))
      .for("update", { of: orders });
    if (!row) throw new Error(`refund for unknown order ${orderId}`);
    const { order, payment } = row;
    const byOrganizer = request.reason === "organizer_request";
    if (
      byOrganizer
        ? !["confirmed", "refund_pending"].includes(order.status)
        : !REFUNDABLE_BY_SYSTEM.includes(order.status)
    ) {
      if (!byOrganizer) return null;
      throw new ApiError(
        409,
        "order_not_refundable",
        `An order that is ${order.status} cannot be refunded`,
        undefined,
        undefined,
        {
          order_id: order.id,
        },
      );
    }
    const committed = await tx
      .select()
      .from(refunds)
      .where(and(eq(refunds.orderId, orderId), inArray(refunds.status, committedStatuses)));
    const remaining = order.totalCents - committed.reduce((sum, refund) => sum + refund.amountCents, 0);

    let amount = request.amountCents ?? remaining;
    let ticketIds: string[] | null = null;
    if (request.ticketIds?.length) {
      ticketIds = [...new Set(request.ticketIds)].sort();
      const pendingTickets = new Set(
        committed.filter((refund) => refund.status === "pending").flatMap((refund) => refund.ticketIds ?? []),
      );
      const chosen = await tx
        .select()
        .from(tickets)
        .where(and(eq(tickets.orderId, orderId), inArray(tickets.id, ticketIds)));
      const refusable = ticketIds.filter((id) => {
        const ticket = chosen.find((t) => t.id === id);
        return ticket?.status !== "valid" || pendingTickets.has(id);
      });
      if (refusable.length) {
        throw new ApiError(
          409,
          "ticket_not_refundable",
          "Some tickets are not valid tickets of this order, or are already being refunded",
          undefined,
          undefined,
          { ticket_ids: refusable },
        );
      }
      const prices = chosen.reduce((sum, ticket) => sum + ticket.priceCents, 0);
      if (request.amountCents !== undefined && request.amountCents > prices) {
        throw new ApiError(
          409,
          "refund_exceeds_tickets",
          "The amount is more than these tickets cost",
          undefined,
          undefined,
          {
            tickets_cents: prices,
          },
        );
      }
      amount = Math.min(request.amountCents ?? prices, remaining);
    }
    if (amount > remaining) {
      throw new ApiError(
        409,
        "refund_exceeds_remaining",
        "The amount is more than is left to refund",
        undefined,
        undefined,
        {
          refundable_cents: remaining,
        },
      );
    }
    if (amount <= 0 && order.totalCents > 0) {
      // Everything is refunded or promised already: an organizer's retry re-drives what is open.
      if (byOrganizer && order.status === "refund_pending" && request.amountCents === undefined && !ticketIds)
        return null;
      throw new ApiError(409, "order_not_refundable", "Nothing is left to refund on this order", undefined, undefined, {
        order_id: order.id,
        refundable_cents: remaining,
      });
    }

    const full = amount >= remaining;
    if (full) {
      await tx
        .update(orders)
        .set({ status: "refund_pending", updatedAt: sql`now()` })
        .where(and(eq(orders.id, orderId), inArray(orders.status, REFUNDABLE_BY_SYSTEM)));
      // Only a paid order is ever refunded: whatever the webhook said last, the money arrived.
      await tx
        .update(payments)
        .set({ status: "succeeded", updatedAt: sql`now()` })
        .where(eq(payments.orderId, orderId));
    }
    const [refund] = await tx
      .insert(refunds)
      .values({
        id: newId("ref"),
        paymentId: payment.id,
        orderId,
        amountCents: amount,
        currency: order.currency,
        reason: request.reason,
        ticketIds,
        note: request.note ?? null,
      })
      .returning();
    return refund!;
  });
}

/**
 * One step towards settling a refund row: adopt or create it at Stripe (or, for a free order,
 * settle it without Stripe), or learn what Stripe decided about one it holds as pending.
 * Never throws for a Stripe failure: the row keeps the error and stays owed.
 */
export async function settleRefund(env: Env, db: Database, refundId: string): Promise<RefundStatus> {
  const outcome = await settleRefundOnce(env, db, refundId);
  logEvent("refund.settled", { refund_id: refundId, outcome }, outcome === "pending" ? "warn" : "info");
  return outcome;
}

async function settleRefundOnce(env: Env, db: Database, refundId: string): Promise<RefundStatus> {
  const [row] = await db
    .select({ refund: refunds, payment: payments })
    .from(refunds)
    .innerJoin(payments, eq(payments.id, refunds.paymentId))
    .where(eq(refunds.id, refundId));
  if (!row) throw new Error(`unknown refund ${refundId}`);
  const { refund, payment } = row;
  if (refund.status !== "pending") return refund.status as RefundStatus;
  if (refund.amountCents === 0) return applyRefundOutcome(env, db, refund.id, { id: null, status: "succeeded" });

  const stripe = createStripe(env);
  if (refund.providerRefundId) {
    try {
      return await applyRefundOutcome(env, db, refund.id, await stripe.refunds.retrieve(refund.providerRefundId));
    } catch (error) {
      await noteError(db, refund.id, error);
      return "pending";
    }
  }
  const [claimed] = await db
    .update(refunds)
    .set({
      attempts: sql`${refunds.attempts} + 1`,
      leaseUntil: sql`now() + make_interval(secs => ${LEASE_MS / 1000})`,
      updatedAt: sql`now()`,
    })
    .where(
      and(
        eq(refunds.id, refund.id),
        eq(refunds.status, "pending"),
        isNull(refunds.providerRefundId),
        lt(refunds.attempts, MAX_REFUND_ATTEMPTS),
        or(isNull(refunds.leaseUntil), lt(refunds.leaseUntil, sql`now()`)),
      ),
    )
    .returning();
  if (!claimed) return "pending";
  try {
    if (!payment.providerPaymentId) throw new Error("the order's payment has no PaymentIntent");
    if (claimed.attempts > 1) {
      // An earlier attempt may have reached Stripe and lost only its answer.
      const existing = await stripe.refunds.list({ payment_intent: payment.providerPaymentId, limit: 100 });
      const adopted = existing.data.find((candidate) => candidate.metadata?.onsale_refund_id === refund.id);
      if (adopted) return await applyRefundOutcome(env, db, refund.id, adopted);
    }
    const created = await stripe.refunds.create(
      {
        payment_intent: payment.providerPaymentId,
        amount: refund.amountCents,
        reason: refund.reason === "seat_conflict" ? "duplicate" : "requested_by_customer",
        metadata: { order_id: refund.orderId, onsale_refund_id: refund.id, reason: refund.reason },
      },
      { idempotencyKey: `onsale:refund:${refund.id}:${claimed.attempts}` },
    );
    return await applyRefundOutcome(env, db, refund.id, created);
  } catch (error) {
    await noteError(db, refund.id, error);
    return "pending";
  }
}

async function noteError(db: Database, refundId: string, error: unknown) {
  const message = error instanceof Error ? error.message : String(error);
  console.error("refund attempt failed", refundId, message);
  await db
    .update(refunds)
    .set({ lastError: message.slice(0, 500), leaseUntil: null, updatedAt: sql`now()` })
    .where(eq(refunds.id, refundId));
}

const statusOf = (stripeStatus: string | null | undefined): RefundStatus =>
  stripeStatus === "succeeded" || stripeStatus === "failed" || stripeStatus === "canceled" ? stripeStatus : "pending";

/**
 * Books what Stripe says about one refund row. Succeeded: the chosen tickets are void and their
 * seats go back on sale; once settled refunds reach the total the order is `refunded`. Failed
 * (even after it had succeeded — a bank can send a refund back): the refunded total drops and
 * the same obligation is owed again as a fresh row for the cron, a bounded number of times.
 */
export async function applyRefundOutcome(
  env: Env,
  db: Database,
  refundId: string,
  outcome: { id: string | null; status: string | null; failure_reason?: string | null },
): Promise<RefundStatus> {
  const next = statusOf(outcome.status);
  const effects = await db.transaction(async (tx) => {
    const [{ orderId }] = (await tx
      .select({ orderId: refunds.orderId })
      .from(refunds)
      .where(eq(refunds.id, refundId))) as [{ orderId: string }];
    const [order] = await tx.select().from(orders).where(eq(orders.id, orderId)).for("update");
    const [refund] = await tx.select().from(refunds).where(eq(refunds.id, refundId)).for("update");
    if (!order || !refund) throw new Error(`refund ${refundId} vanished`);
    const previous = refund.status as RefundStatus;
    const moves =
      (previous === "pending" && next !== "pending") ||
      (previous === "succeeded" && (next === "failed" || next === "canceled"));
    await tx
      .update(refunds)
      .set({
        providerRefundId: refund.providerRefundId ?? outcome.id,
        status: moves ? next : previous,
        leaseUntil: null,
        lastError: next === "failed" || next === "canceled" ? (outcome.failure_reason ?? next) : refund.lastError,
        updatedAt: sql`now()`,
      })
      .where(eq(refunds.id, refundId));
    if (!moves) return { status: previous, wholeHold: false, seats: [] as string[], order };

    const [{ settled }] = (await tx
      .select({ settled: sql<number>`coalesce(sum(${refunds.amountCents}), 0)::int` })
      .from(refunds)
      .where(and(eq(refunds.orderId, orderId), eq(refunds.status, "succeeded")))) as [{ settled: number }];

    if (next === "succeeded") {
      let seats: string[] = [];
      if (refund.ticketIds?.length) {
        const voided = await tx
          .update(tickets)
          .set({ status: "void", voidedAt: sql`now()`, barcodeVersion: sql`${tickets.barcodeVersion} + 1` })
          .where(
            and(
              eq(tickets.orderId, orderId),
              inArray(tickets.id, refund.ticketIds),
              inArray(tickets.status, ["valid", "checked_in"]),
            ),
          )
          .returning({ seatId: tickets.placeId });
        seats = voided.map((t) => t.seatId);
      }
      const whole = settled >= order.totalCents && order.status !== "refunded";
      if (whole) {
        await tx.update(orders).set({ status: "refunded", updatedAt: sql`now()` }).where(eq(orders.id, orderId));
        await tx
          .update(tickets)
          .set({ status: "void", voidedAt: sql`now()`, barcodeVersion: sql`${tickets.barcodeVersion} + 1` })
          .where(and(eq(tickets.orderId, orderId), inArray(tickets.status, ["valid", "checked_in"])));
      }
      await enqueueNotification(tx, "order.refunded", orderId, {
        fan_id: order.fanId,
        email: order.fanEmail,
        order_id: orderId,
        amount_cents: refund.amountCents,
        refunded_cents: settled,
        currency: refund.currency,
        reason: refund.reason,
        full: settled >= order.totalCents,
      });
      return { status: next, wholeHold: whole, seats, order };
    }

    // Failed or canceled: the money is the fan's again to be owed.
    if (order.status === "refunded" && settled < order.totalCents) {
      await tx.update(orders).set({ status: "refund_pending", updatedAt: sql`now()` }).where(eq(orders.id, orderId));
    }
    // A refund made in Stripe's dashboard was never Onsale's obligation to begin with.
    if (refund.reason !== "provider" && refund.generation < MAX_REFUND_REISSUES) {
      await tx
        .insert(refunds)
        .values({
          id: newId("ref"),
          paymentId: refund.paymentId,
          orderId,
          amountCents: refund.amountCents,
          currency: refund.currency,
          reason: refund.reason,
          ticketIds: refund.ticketIds,
          note: refund.note,
          reissueOf: refund.id,
          generation: refund.generation + 1,
        })
        .onConflictDoNothing();
    }
    return { status: next, wholeHold: false, seats: [], order };
  });

  // Seats the order really owned go back on sale; a conflicted order never owned any.
  const stub = env.SHOW.getByName(effects.order.showId);
  if (effects.wholeHold && effects.order.confirmedAt) await stub.refundHold(effects.order.holdId);
  else if (effects.seats.length) await stub.refundSeats(effects.order.holdId, effects.seats);
  return effects.status;
}

/**
 * A refund Stripe told us about by webhook: ours (found by id or by `metadata.onsale_refund_id`)
 * or one made in Stripe's dashboard, which is booked as a `provider` refund.
 */
export async function recordProviderRefund(
  env: Env,
  db: Database,
  orderId: string,
  refund: Pick<Stripe.Refund, "id" | "amount" | "currency" | "status" | "metadata"> & {
    failure_reason?: string | null;
  },
): Promise<RefundStatus> {
  const ours = refund.metadata?.onsale_refund_id;
  const [known] = await db
    .select({ id: refunds.id })
    .from(refunds)
    .where(
      and(
        eq(refunds.orderId, orderId),
        ours
          ? or(eq(refunds.providerRefundId, refund.id), eq(refunds.id, ours))
          : eq(refunds.providerRefundId, refund.id),
      ),
    );
  let refundId = known?.id;
  if (!refundId) {
    const [payment] = await db.select({ id: payments.id }).from(payments).where(eq(payments.orderId, orderId));
    const [inserted] = await db
      .insert(refunds)
      .values({
        id: newId("ref"),
        paymentId: payment!.id,
        orderId,
        providerRefundId: refund.id,
        amountCents: refund.amount,
        currency: refund.currency.toUpperCase(),
        reason: "provider",
        // Stripe's dashboard already made it: the cron has nothing to call for it.
        attempts: MAX_REFUND_ATTEMPTS,
      })
      .onConflictDoNothing()
      .returning({ id: refunds.id });
    refundId =
      inserted?.id ??
      (await db.select({ id: refunds.id }).from(refunds).where(eq(refunds.providerRefundId, refund.id)))[0]!.id;
  }
  return applyRefundOutcome(env, db, refundId, refund);
}

/** Refund rows the cron should push: owed, not leased by another worker, attempts left. */
export async function openRefundIds(db: Database, limit: number, orderId?: string): Promise<string[]> {
  const rows = await db
    .select({ id: refunds.id })
    .from(refunds)
    .where(
      and(
        eq(refunds.status, "pending"),
        orderId ? eq(refunds.orderId, orderId) : undefined,
        or(sql`${refunds.providerRefundId} IS NOT NULL`, lt(refunds.attempts, MAX_REFUND_ATTEMPTS)),
        or(isNull(refunds.leaseUntil), lt(refunds.leaseUntil, sql`now()`)),
      ),
    )
    .orderBy(asc(refunds.createdAt))
    .limit(limit);
  return rows.map((row) => row.id);
}

/** Refunds Onsale owes but has stopped trying to pay by itself: operators must act. */
export async function stuckRefunds(db: Database, limit: number) {
  const reissued = db.select({ id: refunds.reissueOf }).from(refunds).where(sql`${refunds.reissueOf} IS NOT NULL`);
  return db
    .select({
      refund_id: refunds.id,
      order_id: refunds.orderId,
      amount_cents: refunds.amountCents,
      status: refunds.status,
      attempts: refunds.attempts,
      last_error: refunds.lastError,
    })
    .from(refunds)
    .where(
      or(
        and(
          eq(refunds.status, "pending"),
          isNull(refunds.providerRefundId),
          gte(refunds.attempts, MAX_REFUND_ATTEMPTS),
        ),
        and(
          inArray(refunds.status, ["failed", "canceled"]),
          sql`${refunds.reason} <> 'provider'`,
          notInArray(refunds.id, reissued),
        ),
      ),
    )
    .limit(limit);
}

/** Sum of settled refunds per order: what the fan has really got back. */
export async function refundedCents(db: Database, orderIds: string[]): Promise<Map<string, number>> {
  if (orderIds.length === 0) return new Map();
  const rows = await db
    .select({ orderId: refunds.orderId, cents: sql<number>`coalesce(sum(${refunds.amountCents}), 0)::int` })
    .from(refunds)
    .where(and(inArray(refunds.orderId, orderIds), eq(refunds.status, "succeeded")))
    .groupBy(refunds.orderId);
  return new Map(rows.map((row) => [row.orderId, row.cents]));
}
