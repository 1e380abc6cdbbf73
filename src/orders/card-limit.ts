import { eq, sql } from "drizzle-orm";
import type Stripe from "stripe";
import type { Database } from "../db/client";
import { orderItems, orders, payments, shows, tickets } from "../db/schema";
import { ApiError } from "../lib/problem";

// The per-card cap (docs/trust.md, "Bots and floods"): one payment card buys at most the show's
// per-fan limit, across every fan account that uses it, so a scalper's hundred accounts behind
// one card get no further than one fan. The card is Stripe's `card.fingerprint`, the same for
// every PaymentMethod of one card number. Counted in Postgres, where the money is: tickets of
// the card's confirmed orders, plus (before a charge) the seats of its orders still being paid.

type Executor = Pick<Database, "execute" | "select">;
type Order = typeof orders.$inferSelect;

/**
 * Decisions for one (show, card) are taken one at a time: two fans paying with the same card at
 * the same moment must not each see the other's seats as not yet bought.
 */
async function lockCard(tx: Executor, showId: string, fingerprint: string) {
  await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`card:${showId}:${fingerprint}`}, 0))`);
}

/**
 * In one statement: the show's per-fan limit, the order's own seats, and the seats of this show
 * the card paid for (valid tickets) — with `withInFlight`, also those it is paying for now
 * (pending, unexpired orders) — other than `order`'s.
 */
async function cardCounts(tx: Executor, order: Order, fingerprint: string, withInFlight: boolean) {
  const bought = sql<number>`(
    SELECT count(*)::int FROM ${tickets}
    INNER JOIN ${payments} ON ${payments.orderId} = ${tickets.orderId}
    WHERE ${tickets.showId} = ${order.showId} AND ${payments.cardFingerprint} = ${fingerprint}
      AND ${tickets.status} IN ('valid', 'checked_in') AND ${tickets.orderId} <> ${order.id})`;
  const paying = withInFlight
    ? sql<number>`(
    SELECT count(*)::int FROM ${orderItems}
    INNER JOIN ${orders} ON ${orders.id} = ${orderItems.orderId}
    INNER JOIN ${payments} ON ${payments.orderId} = ${orders.id}
    WHERE ${orders.showId} = ${order.showId} AND ${payments.cardFingerprint} = ${fingerprint}
      AND ${orders.status} = 'pending_payment' AND ${orders.expiresAt} > now() AND ${orders.id} <> ${order.id})`
    : sql<number>`0`;
  const [counts] = await tx
    .select({
      limit: shows.ticketLimit,
      seats: sql<number>`(SELECT count(*)::int FROM ${orderItems} WHERE ${orderItems.orderId} = ${order.id})`,
      already: sql<number>`${bought} + ${paying}`,
    })
    .from(shows)
    .where(eq(shows.id, order.showId));
  return { limit: counts!.limit, seats: Number(counts!.seats), already: Number(counts!.already) };
}

export const cardLimitExceeded = (limit: number, already: number) =>
  new ApiError(
    409,
    "card_limit_exceeded",
    `This card has already bought or is paying for ${already} of the ${limit} tickets one card may buy for this show; pay with another card`,
    undefined,
    undefined,
    { limit, already },
  );

/**
 * Before a server-side charge: refuses (409 card_limit_exceeded, nothing charged) a card that
 * would go over the cap counting what it is already paying for, else records the card on the
 * order's payment so the next order paid by it counts this one.
 */
export async function reserveCard(db: Database, order: Order, fingerprint: string) {
  await db.transaction(async (tx) => {
    await lockCard(tx, order.showId, fingerprint);
    const { limit, seats, already } = await cardCounts(tx, order, fingerprint, true);
    if (already + seats > limit) throw cardLimitExceeded(limit, already);
    await tx
      .update(payments)
      .set({ cardFingerprint: fingerprint, updatedAt: sql`now()` })
      .where(eq(payments.orderId, order.id));
  });
}

/**
 * Inside the transaction that confirms a paid order, under the card's lock: would its tickets put
 * the card over the cap? Only confirmed tickets count here: the money has moved, and whichever
 * order of the card confirms first keeps its seats.
 */
export async function cardOverLimit(tx: Executor, order: Order, fingerprint: string | null): Promise<boolean> {
  if (!fingerprint) return false;
  await lockCard(tx, order.showId, fingerprint);
  const { limit, seats, already } = await cardCounts(tx, order, fingerprint, false);
  return already + seats > limit;
}

/** The fingerprint of the card a PaymentIntent was paid with (its `payment_method` expanded). */
export function fingerprintOf(intent: Pick<Stripe.PaymentIntent, "payment_method">): string | null {
  const method = intent.payment_method;
  return method && typeof method === "object" ? (method.card?.fingerprint ?? null) : null;
}

/**
 * A server-side confirm names its card before the charge: a card over the cap is refused then,
 * and nothing is charged. A PaymentMethod Stripe cannot show is left to the confirm call itself
 * to refuse; finalize checks the card again either way.
 */
export async function refuseCardOverLimit(stripe: Stripe, db: Database, order: Order, paymentMethodId: string) {
  if (order.status !== "pending_payment" || order.totalCents === 0) return;
  let fingerprint: string | null | undefined;
  try {
    fingerprint = (await stripe.paymentMethods.retrieve(paymentMethodId)).card?.fingerprint;
  } catch {
    return;
  }
  if (fingerprint) await reserveCard(db, order, fingerprint);
}
