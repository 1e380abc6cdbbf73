import { env } from "cloudflare:workers";
import { afterEach, describe, expect, inject, it } from "vitest";
import type { HoldView } from "../durable-objects/types";
import { BREAKER_COOLDOWN_MS, BREAKER_FAILURES } from "../src/lib/breaker";
import { STRIPE_MAX_RETRIES, STRIPE_TIMEOUT_MS } from "../src/lib/deadline";
import { createStripe } from "../src/payments/stripe";
import { apiWith, expectUnavailable } from "./faults-helpers";
import { createShow, json } from "./fixtures";
import { api } from "./helpers";
import { type Fan, holdSeats, newFan, type OrderCreated, orderRow, ticketsOf } from "./payments-helpers";

// Stripe is a stand-in of this file's own (test/global-setup.ts): its outage switch makes every
// API call answer 503 or never answer, which would break any other file sharing it. The Worker
// is pointed at it per request; its breaker is the one for that address.

const stripeUrl = inject("stripeFaultyApiUrl");
const withStripe = (path: string, init: RequestInit & { json?: unknown } = {}) =>
  apiWith({ STRIPE_API_URL: stripeUrl }, path, init);

async function outage(mode: "5xx" | "hang" | "off") {
  const response = await fetch(`${stripeUrl}/_standin/outage`, { method: "POST", body: JSON.stringify({ mode }) });
  expect(response.status).toBe(200);
}

const order = (fan: Fan, holdId: string, key = crypto.randomUUID()) =>
  withStripe("/v1/orders", {
    method: "POST",
    headers: { ...fan.auth, "idempotency-key": key },
    json: { hold_id: holdId },
  });
const confirm = (fan: Fan, paymentId: string, key = crypto.randomUUID()) =>
  withStripe(`/v1/payments/${paymentId}/confirm`, {
    method: "POST",
    headers: { ...fan.auth, "idempotency-key": key },
    json: { payment_method: "pm_card_visa" },
  });
const holdOf = async (fan: Fan, holdId: string) =>
  json<HoldView>(await api(`/v1/holds/${holdId}`, { headers: fan.auth }), 200);
/** Refused calls that open the breaker: each makes STRIPE_MAX_RETRIES + 1 attempts. */
const CALLS_TO_OPEN = Math.ceil(BREAKER_FAILURES / (STRIPE_MAX_RETRIES + 1));
/** Past the breaker's cool-down, so the next call is its trial. */
const cooledDown = () => new Promise((resolve) => setTimeout(resolve, BREAKER_COOLDOWN_MS + 100));

afterEach(() => outage("off"));

describe("a request's Stripe budget", () => {
  it("counts only the time spent waiting on Stripe, not the request's own work between calls", async () => {
    // A confirm reads the card, checks the per-card cap in Postgres, then confirms: under load
    // that check can take longer than the budget, and Stripe was not what was slow.
    const stripe = createStripe(env, { budgetMs: 200 });
    await stripe.paymentMethods.retrieve("pm_card_visa");
    await new Promise((resolve) => setTimeout(resolve, 400));
    await expect(stripe.paymentMethods.retrieve("pm_card_visa")).resolves.toMatchObject({ object: "payment_method" });
  });

  it("refuses a call once the request has waited its budget on a hung Stripe", async () => {
    // First in the file: no earlier test has opened this stand-in's breaker.
    await outage("hang");
    const stripe = createStripe({ ...env, STRIPE_API_URL: stripeUrl }, { budgetMs: STRIPE_TIMEOUT_MS });
    const started = Date.now();
    await expect(stripe.paymentMethods.retrieve("pm_card_visa")).rejects.toThrow();
    // The first attempt waits out its timeout; the retry is refused by the budget, not waited.
    expect(Date.now() - started).toBeLessThan(2 * STRIPE_TIMEOUT_MS);
    await expect(stripe.paymentMethods.retrieve("pm_card_visa")).rejects.toMatchObject({
      detail: expect.objectContaining({ message: expect.stringContaining("too slow for this request") }),
    });
  });
});

describe("Stripe failing", () => {
  it("answering 5xx: orders are refused with 503 fast, holds kept; once it is back every sale completes", async () => {
    const { showId } = await createShow();
    const alice = await newFan();
    const bob = await newFan();
    const aliceHold = await holdSeats(showId, alice, ["B-1-1"]);
    const bobHold = await holdSeats(showId, bob, ["B-1-2"]);
    await outage("5xx");
    const key = crypto.randomUUID();
    // Each refused call tries twice (one SDK retry); CALLS_TO_OPEN of them open the breaker.
    for (let i = 0; i < CALLS_TO_OPEN; i++) {
      const refused = await order(alice, aliceHold.hold_id, key);
      await expectUnavailable(refused, "stripe");
      expect(refused.ms).toBeLessThan(2 * STRIPE_TIMEOUT_MS);
    }
    // Alice's hold went into checkout before Stripe was asked: it is kept, stretched, not lost.
    const kept = await holdOf(alice, aliceHold.hold_id);
    expect(kept.status).not.toMatch(/released|expired/);
    expect(kept.expires_at_ms).toBeGreaterThanOrEqual(aliceHold.expires_at_ms);
    // The breaker is open now: Bob is refused at once, before his hold is touched.
    const fast = await order(bob, bobHold.hold_id);
    await expectUnavailable(fast, "stripe");
    expect(fast.ms).toBeLessThan(200);
    expect(await holdOf(bob, bobHold.hold_id)).toMatchObject({
      status: bobHold.status,
      version: bobHold.version,
      expires_at_ms: bobHold.expires_at_ms,
    });

    await outage("off");
    await cooledDown();
    const aliceOrder = await json<OrderCreated>(await order(alice, aliceHold.hold_id, key), 201);
    const bobOrder = await json<OrderCreated>(await order(bob, bobHold.hold_id), 201);
    for (const [fan, placed] of [
      [alice, aliceOrder],
      [bob, bobOrder],
    ] as const) {
      await json(await confirm(fan, placed.payment.payment_id), 200);
      expect((await orderRow(placed.order_id)).status).toBe("confirmed");
      expect(await ticketsOf(placed.order_id)).toHaveLength(1);
    }
  });

  it("hanging: a confirm answers 503 within its timeouts; retried with its key once Stripe is back, it pays once", async () => {
    const { showId } = await createShow();
    const fan = await newFan();
    const hold = await holdSeats(showId, fan, ["B-2-1"]);
    const placed = await json<OrderCreated>(await order(fan, hold.hold_id), 201);
    await outage("hang");
    const key = crypto.randomUUID();
    const refused = await confirm(fan, placed.payment.payment_id, key);
    await expectUnavailable(refused, "stripe");
    // Each attempt is cut at STRIPE_TIMEOUT_MS; the SDK's backoff between them is under a second.
    expect(refused.ms).toBeLessThan((STRIPE_MAX_RETRIES + 1) * STRIPE_TIMEOUT_MS + 1_500);
    expect(refused.ms).toBeGreaterThanOrEqual(STRIPE_TIMEOUT_MS);
    expect((await orderRow(placed.order_id)).status).toBe("pending_payment");

    await outage("off");
    await cooledDown();
    const paid = await json<{ status: string; order_status: string }>(
      await confirm(fan, placed.payment.payment_id, key),
      200,
    );
    expect(paid).toMatchObject({ status: "succeeded", order_status: "confirmed" });
    expect(await ticketsOf(placed.order_id)).toHaveLength(1);
  });

  it("/healthz names Stripe while its breaker is open, and answers within a second", async () => {
    const { showId } = await createShow();
    const fan = await newFan();
    const hold = await holdSeats(showId, fan, ["B-3-1"]);
    await outage("5xx");
    for (let i = 0; i < CALLS_TO_OPEN; i++) await order(fan, hold.hold_id);
    const health = await withStripe("/healthz");
    expect(health.ms).toBeLessThan(1_000);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { degraded: string[] }).degraded).toEqual(["stripe"]);
  });
});
