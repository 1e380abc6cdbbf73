import { env } from "cloudflare:workers";
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { createStripe, stripeCrypto } from "../src/payments/stripe";

// The real SDK, inside workerd, against scripts/stripe-standin.mjs (started by the global setup).
const stripe = createStripe(env);

async function standin<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(`${env.STRIPE_API_URL}/_standin${path}`, init);
  const body = await response.text();
  expect(response.status, body).toBe(200);
  return JSON.parse(body) as T;
}

/** Events about a PaymentIntent (its own, its charge's and its refunds'), oldest first. */
async function eventsFor(paymentIntentId: string, type: string) {
  const { data } = await standin<{ data: Stripe.Event[] }>(`/events?type=${type}`);
  return data.filter((event) => {
    const object = event.data.object as { id: string; payment_intent?: string };
    return object.id === paymentIntentId || object.payment_intent === paymentIntentId;
  });
}

const paidIntent = (amount: number) =>
  stripe.paymentIntents.create({ amount, currency: "usd", payment_method: "pm_card_visa", confirm: true });

describe("Stripe stand-in through the real SDK", () => {
  it("creates a PaymentIntent and confirms it with pm_card_visa", async () => {
    const created = await stripe.paymentIntents.create({
      amount: 4200,
      currency: "EUR",
      metadata: { order_id: "ord_standin_1" },
      automatic_payment_methods: { enabled: true },
    });
    expect(created).toMatchObject({
      object: "payment_intent",
      amount: 4200,
      amount_received: 0,
      currency: "eur",
      status: "requires_payment_method",
      metadata: { order_id: "ord_standin_1" },
      livemode: false,
      latest_charge: null,
      last_payment_error: null,
    });
    expect(created.id).toMatch(/^pi_/);
    expect(created.client_secret).toMatch(new RegExp(`^${created.id}_secret_\\w+$`));

    const confirmed = await stripe.paymentIntents.confirm(created.id, { payment_method: "pm_card_visa" });
    expect(confirmed).toMatchObject({ status: "succeeded", amount_received: 4200 });
    expect(confirmed.latest_charge).toMatch(/^ch_/);
    expect(confirmed.payment_method).toMatch(/^pm_/);
    expect((await stripe.paymentIntents.retrieve(created.id)).status).toBe("succeeded");

    const [succeeded, ...others] = await eventsFor(created.id, "payment_intent.succeeded");
    expect(others).toEqual([]);
    expect(succeeded).toMatchObject({
      object: "event",
      livemode: false,
      pending_webhooks: 1,
      data: { object: { id: created.id, status: "succeeded", metadata: { order_id: "ord_standin_1" } } },
    });
    expect(succeeded?.id).toMatch(/^evt_/);
    expect(succeeded?.request).toMatchObject({ id: expect.stringMatching(/^req_/) });
  });

  it("declines pm_card_visa_chargeDeclined with a 402 card_error and lets the fan retry", async () => {
    const intent = await stripe.paymentIntents.create({ amount: 4200, currency: "eur" });
    const error = await stripe.paymentIntents
      .confirm(intent.id, { payment_method: "pm_card_visa_chargeDeclined" })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error).toMatchObject({
      statusCode: 402,
      code: "card_declined",
      decline_code: "generic_decline",
      message: "Your card was declined.",
      payment_intent: { id: intent.id, status: "requires_payment_method" },
    });

    const declined = await stripe.paymentIntents.retrieve(intent.id);
    expect(declined.status).toBe("requires_payment_method");
    expect(declined.last_payment_error).toMatchObject({ type: "card_error", code: "card_declined" });
    expect(await eventsFor(intent.id, "payment_intent.payment_failed")).toHaveLength(1);

    await expect(
      stripe.paymentIntents.confirm(intent.id, { payment_method: "pm_card_chargeDeclinedInsufficientFunds" }),
    ).rejects.toMatchObject({ code: "card_declined", decline_code: "insufficient_funds" });
    const retried = await stripe.paymentIntents.confirm(intent.id, { payment_method: "pm_card_visa" });
    expect(retried).toMatchObject({ status: "succeeded", last_payment_error: null });
  });

  it("a test token with a __<name> suffix is that card with a number of its own: its own fingerprint", async () => {
    const print = async (token: string) => (await stripe.paymentMethods.retrieve(token)).card?.fingerprint;
    const visa = await print("pm_card_visa");
    expect(await print("pm_card_visa")).toBe(visa);
    const mine = await print("pm_card_visa__fan1");
    expect(mine).not.toBe(visa);
    expect(await print("pm_card_visa__fan1")).toBe(mine);
    expect(await print("pm_card_visa__fan2")).not.toBe(mine);
    const declined = await stripe.paymentIntents
      .create({ amount: 500, currency: "usd", payment_method: "pm_card_chargeDeclined__fan1", confirm: true })
      .catch((error: unknown) => error);
    expect(declined).toBeInstanceOf(Stripe.errors.StripeCardError);
  });

  it("replays an idempotent create and rejects the key with other parameters", async () => {
    const key = `order-${crypto.randomUUID()}`;
    const params = { amount: 5000, currency: "usd", metadata: { order_id: "ord_idempotent" } };
    const first = await stripe.paymentIntents.create(params, { idempotencyKey: key });
    const replayed = await stripe.paymentIntents.create(params, { idempotencyKey: key });
    expect(replayed.id).toBe(first.id);
    await expect(
      stripe.paymentIntents.create({ ...params, amount: 5001 }, { idempotencyKey: key }),
    ).rejects.toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
  });

  it("replays byte for byte, marked Idempotent-Replayed", async () => {
    const key = `raw-${crypto.randomUUID()}`;
    const send = () =>
      fetch(`${env.STRIPE_API_URL}/v1/payment_intents`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${env.STRIPE_SECRET_KEY}`,
          "content-type": "application/x-www-form-urlencoded",
          "idempotency-key": key,
        },
        body: "amount=1200&currency=usd&metadata[order_id]=ord_raw&payment_method_types[0]=card",
      });
    const first = await send();
    const second = await send();
    expect(second.status).toBe(first.status);
    expect(await second.text()).toBe(await first.text());
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(second.headers.get("request-id")).toMatch(/^req_/);
    expect(second.headers.get("content-type")).toBe("application/json");
  });

  it("refunds a charge up to its amount and emits charge.refunded", async () => {
    const paid = await paidIntent(3000);
    const partial = await stripe.refunds.create({
      payment_intent: paid.id,
      amount: 1000,
      reason: "requested_by_customer",
    });
    expect(partial).toMatchObject({ object: "refund", amount: 1000, status: "succeeded", charge: paid.latest_charge });
    await expect(stripe.refunds.create({ payment_intent: paid.id, amount: 2500 })).rejects.toMatchObject({
      type: "StripeInvalidRequestError",
      code: "amount_too_large",
      param: "amount",
    });

    const rest = await stripe.refunds.create({ payment_intent: paid.id });
    expect(rest.amount).toBe(2000);
    expect(await stripe.refunds.retrieve(rest.id)).toMatchObject({ id: rest.id, payment_intent: paid.id });
    await expect(stripe.refunds.create({ payment_intent: paid.id, amount: 1 })).rejects.toMatchObject({
      statusCode: 400,
      code: "charge_already_refunded",
    });

    const charges = (await eventsFor(paid.id, "charge.refunded")).map((event) => event.data.object);
    expect(charges).toMatchObject([
      { object: "charge", id: paid.latest_charge, payment_intent: paid.id, amount_refunded: 1000, refunded: false },
      { object: "charge", id: paid.latest_charge, payment_intent: paid.id, amount_refunded: 3000, refunded: true },
    ]);
    const refunds = (await eventsFor(paid.id, "refund.created")).map((event) => event.data.object);
    expect(refunds).toMatchObject([{ id: partial.id }, { id: rest.id }]);
  });

  it("refuses to refund a PaymentIntent that never succeeded", async () => {
    const unpaid = await stripe.paymentIntents.create({ amount: 900, currency: "usd" });
    await expect(stripe.refunds.create({ payment_intent: unpaid.id })).rejects.toMatchObject({
      type: "StripeInvalidRequestError",
      statusCode: 400,
      code: "payment_intent_unexpected_state",
    });
  });

  it("cancels only what can still be canceled, and confirms only what can still be confirmed", async () => {
    const open = await stripe.paymentIntents.create({ amount: 900, currency: "usd" });
    const canceled = await stripe.paymentIntents.cancel(open.id, { cancellation_reason: "abandoned" });
    expect(canceled).toMatchObject({ status: "canceled", cancellation_reason: "abandoned" });
    expect(await eventsFor(open.id, "payment_intent.canceled")).toHaveLength(1);
    await expect(stripe.paymentIntents.confirm(open.id, { payment_method: "pm_card_visa" })).rejects.toMatchObject({
      code: "payment_intent_unexpected_state",
    });

    const paid = await paidIntent(900);
    await expect(stripe.paymentIntents.cancel(paid.id)).rejects.toMatchObject({
      code: "payment_intent_unexpected_state",
    });
    await expect(stripe.paymentIntents.confirm(paid.id)).rejects.toMatchObject({
      code: "payment_intent_unexpected_state",
    });
  });

  it("holds pm_card_authenticationRequired in requires_action until the stand-in settles it", async () => {
    const intent = await stripe.paymentIntents.create({
      amount: 2500,
      currency: "eur",
      payment_method: "pm_card_authenticationRequired",
      confirm: true,
    });
    expect(intent.status).toBe("requires_action");
    expect(intent.next_action?.type).toBe("use_stripe_sdk");

    const settled = await standin<Stripe.PaymentIntent>(`/payment_intents/${intent.id}/succeed`, { method: "POST" });
    expect(settled).toMatchObject({ status: "succeeded", amount_received: 2500 });
    const [event] = await eventsFor(intent.id, "payment_intent.succeeded");
    expect(event?.request).toEqual({ id: null, idempotency_key: null });
  });

  it("answers with Stripe's error types for bad requests", async () => {
    await expect(stripe.paymentIntents.retrieve("pi_doesnotexist")).rejects.toMatchObject({
      type: "StripeInvalidRequestError",
      statusCode: 404,
      code: "resource_missing",
    });
    await expect(stripe.paymentIntents.create({ amount: 49, currency: "usd" })).rejects.toMatchObject({
      type: "StripeInvalidRequestError",
      code: "amount_too_small",
      param: "amount",
    });
    await expect(stripe.paymentIntents.create({ amount: 5000, currency: "dollars" })).rejects.toMatchObject({
      param: "currency",
    });
    const liveKey = createStripe({ ...env, STRIPE_SECRET_KEY: "sk_live_not_here" });
    await expect(liveKey.paymentIntents.create({ amount: 5000, currency: "usd" })).rejects.toBeInstanceOf(
      Stripe.errors.StripeAuthenticationError,
    );

    const anonymous = await fetch(`${env.STRIPE_API_URL}/v1/payment_intents`, { method: "POST" });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("request-id")).toMatch(/^req_/);
    expect(await anonymous.json()).toMatchObject({ error: { type: "invalid_request_error" } });
  });

  describe("webhooks", () => {
    const secret = env.STRIPE_WEBHOOK_SECRET;

    async function signedWebhook() {
      const paid = await paidIntent(1800);
      const [event] = await eventsFor(paid.id, "payment_intent.succeeded");
      const webhook = await standin<{ body: string; headers: Record<string, string> }>(`/events/${event?.id}/webhook`);
      return { event: event!, body: webhook.body, signature: webhook.headers["Stripe-Signature"]! };
    }

    it("signs event payloads so the SDK verifies them", async () => {
      const { event, body, signature } = await signedWebhook();
      expect(JSON.parse(body)).toEqual(event);
      const verified = await stripe.webhooks.constructEventAsync(body, signature, secret, undefined, stripeCrypto);
      expect(verified).toMatchObject({ id: event.id, type: "payment_intent.succeeded" });

      const timestamp = Number(/^t=(\d+),/.exec(signature)?.[1]);
      const sdkSignature = await stripe.webhooks.generateTestHeaderStringAsync({
        payload: body,
        secret,
        timestamp,
        cryptoProvider: stripeCrypto,
      });
      expect(sdkSignature).toBe(signature);
    });

    it("fails verification for a tampered body or another secret", async () => {
      const { body, signature } = await signedWebhook();
      const tampered = body.replace('"amount": 1800', '"amount": 18');
      expect(tampered).not.toBe(body);
      await expect(
        stripe.webhooks.constructEventAsync(tampered, signature, secret, undefined, stripeCrypto),
      ).rejects.toBeInstanceOf(Stripe.errors.StripeSignatureVerificationError);
      await expect(
        stripe.webhooks.constructEventAsync(body, signature, "whsec_other", undefined, stripeCrypto),
      ).rejects.toBeInstanceOf(Stripe.errors.StripeSignatureVerificationError);
    });
  });
});
