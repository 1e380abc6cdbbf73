import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import type { ShowDO } from "../durable-objects/show";
import type { HoldView } from "../durable-objects/types";
import { withDatabase } from "../src/db/client";
import { orders, refunds, tickets } from "../src/db/schema";
import { json } from "./fixtures";
import { api, bearer, fanToken, uniqueFan } from "./helpers";

export interface Fan {
  id: string;
  auth: Record<string, string>;
}

export interface OrderCreated {
  order_id: string;
  status: string;
  total_cents: number;
  currency: string;
  payment: { payment_id: string; client_secret: string | null; status: string };
  expires_at_ms: number;
}

export async function newFan(): Promise<Fan> {
  const id = uniqueFan();
  return { id, auth: bearer(await fanToken(id)) };
}

export const holdSeats = async (showId: string, fan: Fan, seatIds: string[]) =>
  json<HoldView>(
    await api(`/v1/shows/${showId}/holds`, {
      method: "POST",
      headers: { ...fan.auth, "idempotency-key": crypto.randomUUID() },
      json: { seat_ids: seatIds },
    }),
    201,
  );

export const placeOrder = (
  fan: Fan,
  holdId: string,
  key: string = crypto.randomUUID(),
  body: object = { hold_id: holdId },
) => api("/v1/orders", { method: "POST", headers: { ...fan.auth, "idempotency-key": key }, json: body });

export const confirmPayment = (fan: Fan, paymentId: string, body: object = {}, key: string = crypto.randomUUID()) =>
  api(`/v1/payments/${paymentId}/confirm`, {
    method: "POST",
    headers: { ...fan.auth, "idempotency-key": key },
    json: body,
  });

/** The local Stripe stand-in's test controls. */
export const standin = {
  async events(
    type?: string,
  ): Promise<{ id: string; type: string; data: { object: { id: string; metadata?: Record<string, string> } } }[]> {
    const response = await fetch(`${env.STRIPE_API_URL}/_standin/events${type ? `?type=${type}` : ""}`);
    return ((await response.json()) as { data: never[] }).data;
  },
  async eventFor(type: string, intentId: string) {
    const all = await standin.events(type);
    const event = all.find(
      (e) =>
        e.data.object.id === intentId || (e.data.object as { payment_intent?: string }).payment_intent === intentId,
    );
    if (!event) throw new Error(`no ${type} event for ${intentId}`);
    return event;
  },
  /** Delivers an event to the Worker under test, signed as Stripe would sign it now. */
  async deliver(eventId: string, tamper?: (body: string) => string) {
    const response = await fetch(`${env.STRIPE_API_URL}/_standin/events/${eventId}/webhook`);
    const request = (await response.json()) as { headers: Record<string, string>; body: string };
    return exports.default.fetch("http://onsale.test/v1/webhooks/stripe", {
      method: "POST",
      headers: request.headers,
      body: tamper ? tamper(request.body) : request.body,
    });
  },
  async succeedAsync(intentId: string) {
    await fetch(`${env.STRIPE_API_URL}/_standin/payment_intents/${intentId}/succeed`, { method: "POST" });
  },
  /** Cancels the PaymentIntent through the Stripe API, as a dashboard user or another system would. */
  async cancel(intentId: string) {
    await fetch(`${env.STRIPE_API_URL}/v1/payment_intents/${intentId}/cancel`, {
      method: "POST",
      headers: { authorization: `Bearer ${env.STRIPE_SECRET_KEY}` },
    });
  },
  /**
   * The fan pays in the browser (Stripe.js confirms with the client secret): the money moves
   * without our confirm route, and the webhook is what tells Onsale.
   */
  async payInBrowser(intentId: string, paymentMethod = "pm_card_visa") {
    const response = await fetch(`${env.STRIPE_API_URL}/v1/payment_intents/${intentId}/confirm`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${env.STRIPE_SECRET_KEY}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({ payment_method: paymentMethod }),
    });
    const intent = (await response.json()) as { status: string };
    if (intent.status !== "succeeded") throw new Error(`payment in the browser: ${JSON.stringify(intent)}`);
    return standin.deliver((await standin.eventFor("payment_intent.succeeded", intentId)).id);
  },
  async intent(intentId: string): Promise<{ id: string; amount: number; status: string; currency: string }> {
    const response = await fetch(`${env.STRIPE_API_URL}/v1/payment_intents/${intentId}`, {
      headers: { authorization: `Bearer ${env.STRIPE_SECRET_KEY}` },
    });
    return response.json();
  },
};

export async function intentOf(orderId: string): Promise<string> {
  return withDatabase(env, async (db) => {
    const rows = await db.execute(sql`select provider_payment_id from payments where order_id = ${orderId}`);
    return (rows.rows[0] as { provider_payment_id: string }).provider_payment_id;
  });
}

export async function orderRow(orderId: string) {
  return withDatabase(env, async (db) => (await db.select().from(orders).where(eq(orders.id, orderId)))[0]!);
}

export async function ticketsOf(orderId: string) {
  return withDatabase(env, (db) => db.select().from(tickets).where(eq(tickets.orderId, orderId)));
}

/**
 * The hold lapses under its order while the order is still within its payment window, as when
 * the stretch to that window was lost (the DO unreachable, the answer lost) and checkout's first
 * minute ran out: the Show DO's clock moves past any expiry the hold could have.
 */
export async function lapseCheckoutHold(showId: string) {
  await expireHoldsAt(showId, Date.now() + 20 * 60_000);
}

/** Moves the Show DO's clock (expiry is server time) and runs its alarm at that instant. */
export async function expireHoldsAt(showId: string, at: number) {
  const stub = env.SHOW.getByName(showId);
  await runInDurableObject(stub, (instance: ShowDO) => {
    instance.clock = () => at;
  });
  await runInDurableObject(stub, (instance: ShowDO) => instance.alarm());
  await runInDurableObject(stub, (instance: ShowDO) => {
    instance.clock = () => Date.now();
  });
}

/** Stand-in controls for the money tests. Every fault is scoped to one object: test files share one stand-in. */
export const stripeFaults = {
  async inject(fault: {
    operation: string;
    match: Record<string, string>;
    status?: number;
    count?: number;
    after?: boolean;
  }) {
    const response = await fetch(`${env.STRIPE_API_URL}/_standin/faults`, {
      method: "POST",
      body: JSON.stringify(fault),
    });
    if (!response.ok) throw new Error(`fault refused: ${await response.text()}`);
  },
  /** Stripe forgets an idempotency key after 24 h; the stand-in does when told. */
  async expireKey(key: string) {
    await fetch(`${env.STRIPE_API_URL}/_standin/idempotency/expire`, { method: "POST", body: JSON.stringify({ key }) });
  },
  async failRefund(refundId: string) {
    const response = await fetch(`${env.STRIPE_API_URL}/_standin/refunds/${refundId}/fail`, { method: "POST" });
    if (!response.ok) throw new Error(`refund fail refused: ${await response.text()}`);
  },
  /** The refunds Stripe holds for a PaymentIntent, newest first. */
  async refundsOf(
    intentId: string,
  ): Promise<{ id: string; amount: number; status: string; metadata: Record<string, string> }[]> {
    const response = await fetch(`${env.STRIPE_API_URL}/v1/refunds?payment_intent=${intentId}&limit=100`, {
      headers: { authorization: `Bearer ${env.STRIPE_SECRET_KEY}` },
    });
    return ((await response.json()) as { data: never[] }).data;
  },
};

export async function refundRows(orderId: string) {
  return withDatabase(env, (db) =>
    db.select().from(refunds).where(eq(refunds.orderId, orderId)).orderBy(refunds.createdAt),
  );
}

/** A fan who bought `seatIds` and paid by card: the confirmed order. */
export async function buy(showId: string, seatIds: string[], fan?: Fan) {
  const buyer = fan ?? (await newFan());
  const hold = await holdSeats(showId, buyer, seatIds);
  const order = await json<OrderCreated>(await placeOrder(buyer, hold.hold_id), 201);
  if (order.total_cents > 0) {
    await json(await confirmPayment(buyer, order.payment.payment_id, { payment_method: "pm_card_visa" }), 200);
  }
  return { fan: buyer, hold, order };
}
