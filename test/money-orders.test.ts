import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../src/db/client";
import { idempotencyRecords, orders, outbox, payments, tickets } from "../src/db/schema";
import worker from "../src/index";
import { reconcile } from "../src/orders/reconcile";
import { createShow, json } from "./fixtures";
import { api, bearer, problem } from "./helpers";
import {
  buy,
  confirmPayment,
  expireHoldsAt,
  holdSeats,
  intentOf,
  lapseCheckoutHold,
  newFan,
  type OrderCreated,
  orderRow,
  placeOrder,
  refundRows,
  standin,
  stripeFaults,
  ticketsOf,
} from "./payments-helpers";

const PAYMENT_WINDOW_MS = 15 * 60_000;

const runCron = async () => {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: "* * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
};

describe("one order, one PaymentIntent per hold", () => {
  it("a new key after Stripe forgot the old one finds the same order and PaymentIntent; once paid, 409", async () => {
    const { showId } = await createShow();
    const fan = await newFan();
    const hold = await holdSeats(showId, fan, ["A-1-1"]);
    const first = await json<OrderCreated>(await placeOrder(fan, hold.hold_id, "k1"), 201);
    const intentId = await intentOf(first.order_id);
    // Days later: Stripe's 24 h idempotency window for the PaymentIntent create is over.
    await stripeFaults.expireKey(`onsale:payment-intent:${first.order_id}`);

    const again = await json<OrderCreated>(await placeOrder(fan, hold.hold_id, "k2"), 201);
    expect(again.order_id).toBe(first.order_id);
    expect(again.payment.payment_id).toBe(first.payment.payment_id);
    expect(again.payment.client_secret).toBe(first.payment.client_secret);
    expect(await intentOf(first.order_id)).toBe(intentId);
    expect(again.payment.client_secret).toMatch(new RegExp(`^${intentId}_secret_`));

    await json(await confirmPayment(fan, first.payment.payment_id, { payment_method: "pm_card_visa" }), 200);
    await stripeFaults.expireKey(`onsale:payment-intent:${first.order_id}`);
    const late = await placeOrder(fan, hold.hold_id, "k3");
    expect(late.status).toBe(409);
    expect(late.headers.get("content-type")).toContain("application/problem+json");
    expect(await late.json()).toMatchObject({ code: "order_exists", order_id: first.order_id });
    expect(await ticketsOf(first.order_id)).toHaveLength(1);
  });
});

describe("cancelling a show", () => {
  it("cancels open PaymentIntents, refunds paid orders (also one paid unseen), and the cron finishes the rest", async () => {
    const { organizer, showId } = await createShow();
    const paid = await buy(showId, ["A-1-1", "A-1-2"]);
    const openFan = await newFan();
    const openHold = await holdSeats(showId, openFan, ["A-2-1"]);
    const open = await json<OrderCreated>(await placeOrder(openFan, openHold.hold_id), 201);
    // Paid at Stripe, but the webhook has not arrived when the show is cancelled.
    const unseenFan = await newFan();
    const unseenHold = await holdSeats(showId, unseenFan, ["A-2-2"]);
    const unseen = await json<OrderCreated>(await placeOrder(unseenFan, unseenHold.hold_id), 201);
    await standin.succeedAsync(await intentOf(unseen.order_id));
    // Stripe is down for this one PaymentIntent during the cancel: the cron gets it later.
    const stuckFan = await newFan();
    const stuckHold = await holdSeats(showId, stuckFan, ["A-3-1"]);
    const stuck = await json<OrderCreated>(await placeOrder(stuckFan, stuckHold.hold_id), 201);
    const stuckIntent = await intentOf(stuck.order_id);
    await stripeFaults.inject({ operation: "cancelPaymentIntent", match: { id: stuckIntent } });

    await json(await api(`/v1/admin/shows/${showId}/cancel`, { method: "POST", headers: bearer(organizer.key) }), 200);

    expect((await orderRow(open.order_id)).status).toBe("cancelled");
    expect((await standin.intent(await intentOf(open.order_id))).status).toBe("canceled");
    expect((await orderRow(paid.order.order_id)).status).toBe("refunded");
    expect((await ticketsOf(paid.order.order_id)).map((t) => t.status)).toEqual(["void", "void"]);
    expect(await refundRows(paid.order.order_id)).toMatchObject([{ reason: "show_cancelled", status: "succeeded" }]);
    expect((await orderRow(unseen.order_id)).status).toBe("refunded");
    expect(await ticketsOf(unseen.order_id)).toHaveLength(0);
    expect(await refundRows(unseen.order_id)).toMatchObject([{ reason: "show_cancelled", status: "succeeded" }]);
    const notices = await withDatabase(env, (db) =>
      db
        .select({ topic: outbox.topic })
        .from(outbox)
        .where(and(eq(outbox.aggregateId, paid.order.order_id), eq(outbox.topic, "order.refunded"))),
    );
    expect(notices).toHaveLength(1);

    expect((await orderRow(stuck.order_id)).status).toBe("pending_payment");
    await runCron();
    expect((await orderRow(stuck.order_id)).status).toBe("cancelled");
    expect((await standin.intent(stuckIntent)).status).toBe("canceled");
    // Settled as what it is, a cancelled show's order (the fan is told so), not as a lapsed hold:
    // the cancel released its hold, but no hold lapsed.
    const [stuckPayment] = await withDatabase(env, (db) =>
      db.select({ lastError: payments.lastError }).from(payments).where(eq(payments.orderId, stuck.order_id)),
    );
    expect(stuckPayment!.lastError).toBe("show_cancelled");
    // Nobody can pay the cancelled show now.
    const tooLate = await confirmPayment(stuckFan, stuck.payment.payment_id, { payment_method: "pm_card_visa" });
    expect(tooLate.status).toBeLessThan(500);
    expect(await ticketsOf(stuck.order_id)).toHaveLength(0);
  });
});

describe("reconciliation and finalize", () => {
  async function paidAfterDecline() {
    const { showId } = await createShow();
    const fan = await newFan();
    const hold = await holdSeats(showId, fan, ["B-1-1", "B-1-2"]);
    const order = await json<OrderCreated>(await placeOrder(fan, hold.hold_id), 201);
    await json(await confirmPayment(fan, order.payment.payment_id, { payment_method: "pm_card_chargeDeclined" }), 200);
    // Declined: the order stays payable and keeps its hold in checkout.
    expect((await orderRow(order.order_id)).status).toBe("pending_payment");
    // A second card succeeds; finalize has sold the hold in the DO, its Postgres confirm is in flight.
    const intentId = await intentOf(order.order_id);
    await standin.succeedAsync(intentId);
    expect((await env.SHOW.getByName(showId).sellHold(hold.hold_id)).ok).toBe(true);
    return { showId, hold, order, intentId };
  }

  it("never frees a hold sold moments ago while its order's confirm is in flight", async () => {
    const { showId, order, intentId } = await paidAfterDecline();
    await runCron();
    expect((await env.SHOW.getByName(showId).soldSeats()).map((s) => s.seat_id)).toEqual(["B-1-1", "B-1-2"]);
    const event = await standin.eventFor("payment_intent.succeeded", intentId);
    expect((await standin.deliver(event.id)).status).toBe(200);
    expect((await orderRow(order.order_id)).status).toBe("confirmed");
    expect((await ticketsOf(order.order_id)).map((t) => t.status)).toEqual(["valid", "valid"]);
  });

  it("past the grace period, an order whose PaymentIntent succeeded is finalized, not freed", async () => {
    const { showId, order } = await paidAfterDecline();
    const report = await withDatabase(env, (db) => reconcile(env, db, Date.now() + 60 * 60_000));
    // The declined order stayed pending_payment, so the pass over lapsed orders settles it
    // against Stripe (paid) before the sold-seat pass could see an orphan.
    expect(report.settled_paid + report.sold_finalized).toBeGreaterThanOrEqual(1);
    expect((await orderRow(order.order_id)).status).toBe("confirmed");
    expect((await ticketsOf(order.order_id)).map((t) => t.status)).toEqual(["valid", "valid"]);
    expect((await env.SHOW.getByName(showId).soldSeats()).map((s) => s.seat_id)).toEqual(["B-1-1", "B-1-2"]);
  });

  it("a late payment that would break the per-fan limit is refunded with reason limit_exceeded", async () => {
    const { showId } = await createShow({ ticketLimit: 2 });
    const fan = await newFan();
    const lapsedHold = await holdSeats(showId, fan, ["B-2-1", "B-2-2"]);
    const lapsed = await json<OrderCreated>(await placeOrder(fan, lapsedHold.hold_id), 201);
    await expireHoldsAt(showId, Date.now() + PAYMENT_WINDOW_MS + 60_000);
    const bought = await buy(showId, ["B-3-1", "B-3-2"], fan);
    expect((await orderRow(bought.order.order_id)).status).toBe("confirmed");

    // Another card: the same card would be refused before the charge by the per-card cap
    // (test/abuse-card-limit.test.ts); this door is the per-fan limit's.
    // Paid in the browser: the confirm route refuses a lapsed hold before any charge (below).
    expect((await standin.payInBrowser(await intentOf(lapsed.order_id), "pm_card_mastercard")).status).toBe(200);
    expect((await orderRow(lapsed.order_id)).status).toBe("refunded");
    expect(await ticketsOf(lapsed.order_id)).toHaveLength(0);
    expect(await refundRows(lapsed.order_id)).toMatchObject([
      { reason: "limit_exceeded", status: "succeeded", amountCents: 10_000 },
    ]);
    expect((await env.SHOW.getByName(showId).soldSeats()).map((s) => s.seat_id)).toEqual(["B-3-1", "B-3-2"]);
  });

  it("refusals on a refund are problem+json with stable codes, never 500", async () => {
    const { organizer, showId } = await createShow();
    const fan = await newFan();
    const hold = await holdSeats(showId, fan, ["A-3-3"]);
    const order = await json<OrderCreated>(await placeOrder(fan, hold.hold_id), 201);
    const response = await api(`/v1/admin/orders/${order.order_id}/refund`, {
      method: "POST",
      headers: { ...bearer(organizer.key), "idempotency-key": "u1" },
    });
    expect((await problem(response)).code).toBe("order_not_refundable");
  });
});

describe("a free order whose confirm was lost", () => {
  it("the retry finds the seats sold to it and tickets it (409 order_exists), instead of cancelling it", async () => {
    const { showId } = await createShow({ tiers: [{ name: "Free", price_cents: 0, sections: ["A", "B"] }] });
    const fan = await newFan();
    const hold = await holdSeats(showId, fan, ["A-3-4"]);
    const placed = await json<OrderCreated>(await placeOrder(fan, hold.hold_id), 201);
    // As if finalize's Postgres confirm had failed after the Show DO sold the hold: the DO has the
    // seat sold to the order, Postgres still has the order pending and no ticket.
    await withDatabase(env, async (db) => {
      await db.delete(tickets).where(eq(tickets.orderId, placed.order_id));
      await db
        .update(orders)
        .set({ status: "pending_payment", confirmedAt: null })
        .where(eq(orders.id, placed.order_id));
    });
    expect(await env.SHOW.getByName(showId).counts()).toMatchObject({ sold: 1 });

    const retried = await placeOrder(fan, hold.hold_id);
    expect(await problem(retried)).toMatchObject({ status: 409, code: "order_exists", order_status: "confirmed" });
    expect((await orderRow(placed.order_id)).status).toBe("confirmed");
    expect((await ticketsOf(placed.order_id)).map((t) => t.status)).toEqual(["valid"]);
    expect(await env.SHOW.getByName(showId).counts()).toMatchObject({ sold: 1, held: 0 });
  });

  it("a fan who never retries: the cron tickets it at the end of its window, instead of cancelling it", async () => {
    const { showId } = await createShow({ tiers: [{ name: "Free", price_cents: 0, sections: ["A", "B"] }] });
    const fan = await newFan();
    const hold = await holdSeats(showId, fan, ["A-3-3"]);
    const placed = await json<OrderCreated>(await placeOrder(fan, hold.hold_id), 201);
    await withDatabase(env, async (db) => {
      await db.delete(tickets).where(eq(tickets.orderId, placed.order_id));
      await db
        .update(orders)
        .set({ status: "pending_payment", confirmedAt: null, expiresAt: new Date(Date.now() - 1_000) })
        .where(eq(orders.id, placed.order_id));
    });
    const report = await withDatabase(env, (db) => reconcile(env, db));
    expect(report.errors).toEqual([]);
    expect((await orderRow(placed.order_id)).status).toBe("confirmed");
    expect((await ticketsOf(placed.order_id)).map((t) => t.status)).toEqual(["valid"]);
    expect(await env.SHOW.getByName(showId).counts()).toMatchObject({ sold: 1, held: 0 });
  });
});

describe("a fan abandons a checkout", () => {
  it("cancelling the order cancels the PaymentIntent and frees the seats; idempotent; a paid order is 409", async () => {
    const { showId } = await createShow();
    const fan = await newFan();
    const hold = await holdSeats(showId, fan, ["A-1-3", "A-1-4"]);
    const order = await json<OrderCreated>(await placeOrder(fan, hold.hold_id), 201);
    const cancel = (orderId: string, who = fan) =>
      api(`/v1/orders/${orderId}/cancel`, { method: "POST", headers: who.auth });

    expect((await cancel(order.order_id, await newFan())).status).toBe(404);
    const cancelled = await json<{ status: string }>(await cancel(order.order_id), 200);
    expect(cancelled.status).toBe("cancelled");
    expect((await standin.intent(await intentOf(order.order_id))).status).toBe("canceled");
    const sold = await env.SHOW.getByName(showId).counts();
    expect(sold).toMatchObject({ held: 0, sold: 0 });
    expect((await json<{ status: string }>(await cancel(order.order_id), 200)).status).toBe("cancelled");

    const paid = await buy(showId, ["A-2-3"]);
    expect((await problem(await cancel(paid.order.order_id, paid.fan))).code).toBe("order_not_cancellable");
    expect((await ticketsOf(paid.order.order_id)).map((t) => t.status)).toEqual(["valid"]);
  });
});

describe("a hold that lapsed is never paid for", () => {
  // The known hole: an order's hold is stretched to its payment window only once the order is
  // written; an attempt that wrote the order and lost its answer (and its stretch) leaves the
  // hold on checkout's first minute, and a retry after that minute used to hand out a payable
  // PaymentIntent for seats no longer held.

  /** A placed order whose hold lapsed as if its stretch had been lost; its intent, not yet paid. */
  async function lapsedOrder(seats: string[]) {
    const { showId } = await createShow();
    const fan = await newFan();
    const hold = await holdSeats(showId, fan, seats);
    const order = await json<OrderCreated>(await placeOrder(fan, hold.hold_id, "first"), 201);
    await lapseCheckoutHold(showId);
    return { showId, fan, hold, order, intentId: await intentOf(order.order_id) };
  }

  async function expectNothingCharged(orderId: string, intentId: string) {
    expect((await standin.intent(intentId)).status).toBe("canceled");
    expect((await orderRow(orderId)).status).toBe("cancelled");
    expect(await ticketsOf(orderId)).toHaveLength(0);
    expect(await refundRows(orderId)).toHaveLength(0);
  }

  it("an older payment_failed order (a decline before the rule; its hold released): a confirm charges nothing", async () => {
    const { showId } = await createShow();
    const fan = await newFan();
    const hold = await holdSeats(showId, fan, ["A-3-3"]);
    const order = await json<OrderCreated>(await placeOrder(fan, hold.hold_id), 201);
    const intentId = await intentOf(order.order_id);
    // How a decline used to end: the order payment_failed, its seats back on sale, and the
    // PaymentIntent left payable (Stripe keeps a declined one in requires_payment_method).
    await withDatabase(env, (db) =>
      db.update(orders).set({ status: "payment_failed" }).where(eq(orders.id, order.order_id)),
    );
    await env.SHOW.getByName(showId).releaseForOrder(hold.hold_id);
    const confirm = await confirmPayment(fan, order.payment.payment_id, { payment_method: "pm_card_visa" });
    expect(await problem(confirm)).toMatchObject({ status: 409, code: "hold_expired" });
    await expectNothingCharged(order.order_id, intentId);
    expect(await env.SHOW.getByName(showId).counts()).toMatchObject({ held: 0, sold: 0 });
  });

  it("a retry with the same key, once its in-flight record is a minute old: 409 hold_expired, nothing payable", async () => {
    const { showId, fan, hold, order, intentId } = await lapsedOrder(["A-1-1"]);
    // The first attempt's answer was lost: its key is still in flight, from a minute ago.
    await withDatabase(env, (db) =>
      db
        .update(idempotencyRecords)
        .set({
          state: "in_flight",
          responseStatus: null,
          responseBody: null,
          completedAt: null,
          createdAt: sql`now() - interval '61 seconds'`,
        })
        .where(and(eq(idempotencyRecords.scope, fan.id), eq(idempotencyRecords.key, "first"))),
    );
    const retried = await placeOrder(fan, hold.hold_id, "first");
    expect(retried.headers.get("content-type")).toContain("application/problem+json");
    expect(await problem(retried)).toMatchObject({ status: 409, code: "hold_expired" });
    await expectNothingCharged(order.order_id, intentId);
    // Asked again, the answer is the same, and the seat is free for anyone.
    expect((await problem(await placeOrder(fan, hold.hold_id, "first"))).code).toBe("hold_expired");
    expect(await env.SHOW.getByName(showId).counts()).toMatchObject({ held: 0, sold: 0 });
  });

  it("a retry with a new key: 409 hold_expired, the PaymentIntent cancelled; a confirm then charges nothing", async () => {
    const { fan, hold, order, intentId } = await lapsedOrder(["A-1-2"]);
    expect((await problem(await placeOrder(fan, hold.hold_id, "second"))).code).toBe("hold_expired");
    await expectNothingCharged(order.order_id, intentId);
    const confirm = await confirmPayment(fan, order.payment.payment_id, { payment_method: "pm_card_visa" });
    expect(confirm.status).toBeLessThan(500);
    expect((await standin.intent(intentId)).status).toBe("canceled");
    expect(await ticketsOf(order.order_id)).toHaveLength(0);
  });

  it("a confirm after the hold lapsed: 409 hold_expired before the card is charged", async () => {
    const { showId, fan, order, intentId } = await lapsedOrder(["A-1-3"]);
    // Someone else holds the seat now.
    const other = await newFan();
    await holdSeats(showId, other, ["A-1-3"]);
    const confirm = await confirmPayment(fan, order.payment.payment_id, { payment_method: "pm_card_visa" });
    expect(confirm.headers.get("content-type")).toContain("application/problem+json");
    expect(await problem(confirm)).toMatchObject({ status: 409, code: "hold_expired" });
    await expectNothingCharged(order.order_id, intentId);
    expect(await env.SHOW.getByName(showId).counts()).toMatchObject({ held: 1, sold: 0 });
  });

  it("an order id handed out for a hold that lapsed before its order was written: 409, no order written", async () => {
    const { showId } = await createShow();
    const fan = await newFan();
    const hold = await holdSeats(showId, fan, ["A-1-4"]);
    // What POST /v1/orders does first; then the attempt died before Postgres had the order.
    await env.SHOW.getByName(showId).beginCheckout(fan.id, hold.hold_id, "ord_never_written_lapsed", 60_000);
    await lapseCheckoutHold(showId);
    const intentsBefore = (await standin.events()).length;
    expect((await problem(await placeOrder(fan, hold.hold_id))).code).toBe("hold_expired");
    const written = await withDatabase(env, (db) => db.select().from(orders).where(eq(orders.holdId, hold.hold_id)));
    expect(written).toHaveLength(0);
    expect((await standin.events()).length).toBe(intentsBefore);
  });

  it("a fan who walks away from a lapsed order: the cron's next run cancels it, long before its window ends; a live checkout is left alone", async () => {
    const { order, intentId } = await lapsedOrder(["A-3-1"]);
    const live = await createShow();
    const stayer = await newFan();
    const stayerHold = await holdSeats(live.showId, stayer, ["A-3-2"]);
    const stayerOrder = await json<OrderCreated>(await placeOrder(stayer, stayerHold.hold_id, "stays"), 201);
    const report = await withDatabase(env, (db) => reconcile(env, db));
    expect(report.lapsed_checkouts_settled).toBeGreaterThanOrEqual(1);
    await expectNothingCharged(order.order_id, intentId);
    expect((await orderRow(order.order_id)).status).toBe("cancelled");
    // The fan still in checkout keeps the order, the PaymentIntent and the seats.
    expect((await orderRow(stayerOrder.order_id)).status).toBe("pending_payment");
    expect((await standin.intent(await intentOf(stayerOrder.order_id))).status).not.toBe("canceled");
    expect(await env.SHOW.getByName(live.showId).counts()).toMatchObject({ held: 1 });
  });

  it("paid in the browser after the hold lapsed and the seat went to another fan: refunded, sold once", async () => {
    const { showId, order, intentId } = await lapsedOrder(["A-2-1"]);
    const other = await buy(showId, ["A-2-1"]);
    expect((await standin.payInBrowser(intentId)).status).toBe(200);
    expect((await orderRow(order.order_id)).status).toBe("refunded");
    expect(await refundRows(order.order_id)).toMatchObject([{ reason: "seat_conflict", status: "succeeded" }]);
    expect(await ticketsOf(order.order_id)).toHaveLength(0);
    expect((await ticketsOf(other.order.order_id)).map((t) => t.status)).toEqual(["valid"]);
    expect((await env.SHOW.getByName(showId).soldSeats()).map((s) => s.seat_id)).toEqual(["A-2-1"]);
  });
});
