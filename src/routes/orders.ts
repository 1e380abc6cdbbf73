import { createRoute, z } from "@hono/zod-openapi";
import { and, eq, isNull, or, sql } from "drizzle-orm";
import { createRouter } from "../app";
import { showStub } from "../catalog/show-directory";
import type { Database } from "../db/client";
import { orders, payments } from "../db/schema";
import { STRIPE_REQUEST_BUDGET_MS } from "../lib/deadline";
import { newId, showIdOfHold } from "../lib/ids";
import { annotate, logEvent } from "../lib/observe";
import { ApiError, notFound } from "../lib/problem";
import { fanSecurity, problemResponses } from "../lib/schemas";
import { database } from "../middleware/database";
import { fanAuth } from "../middleware/fan-auth";
import { flushOutbox } from "../middleware/outbox";
import { keepHold } from "../orders/checkout-hold";
import { idempotent } from "../orders/idempotency";
import { abandonCheckout, finalizeOrder, loadOrderWithPayment } from "../orders/lifecycle";
import { loadOrderViews, OrderView } from "../orders/views";
import { createStripe, stripeBreaker } from "../payments/stripe";

/** How long a fan has to pay once the order exists; the hold is stretched to cover it. */
export const PAYMENT_WINDOW_MS = 15 * 60_000;
/**
 * How long the hold is sure to last while its order is being written: the payment window is
 * granted only once the order is in Postgres, so a checkout cut off by an outage ties the seats
 * up for at most the hold's own TTL or this, not fifteen minutes.
 */
const CHECKOUT_START_MS = 60_000;

const OrderCreated = z
  .object({
    order_id: z.string(),
    status: OrderView.shape.status,
    total_cents: z.number().int(),
    currency: z.string(),
    payment: z.object({
      payment_id: z.string(),
      client_secret: z.string().nullable().openapi({ description: "For Stripe.js confirmCardPayment" }),
      status: z.string(),
    }),
    expires_at_ms: z.number().int(),
    server_time_ms: z.number().int(),
  })
  .openapi("OrderCreated");

const checkoutRefusals = {
  hold_not_found: () => notFound("Hold"),
  hold_expired: () => new ApiError(409, "hold_expired", "The hold expired; hold the seats again"),
  hold_released: () => new ApiError(409, "hold_released", "The hold was released"),
  show_cancelled: () => new ApiError(409, "show_cancelled", "This show is cancelled"),
};

/** The order may be paid only while its hold is kept for it; else 409 (nothing to pay is handed out). */
async function keepHoldForOrder(...args: Parameters<typeof keepHold>) {
  const outcome = await keepHold(...args);
  if (outcome === "confirmed") throw orderExists(args[4].id, outcome);
  if (outcome !== "kept") throw checkoutRefusals.hold_expired();
}

type OrderRow = typeof orders.$inferSelect;
type PaymentRow = typeof payments.$inferSelect;

/**
 * The order, its items and its payment in one statement (one round trip, atomic by itself);
 * false when the order id was written before (a retry, or a concurrent request for the hold).
 */
async function insertOrder(
  db: Database,
  order: OrderRow,
  seats: { seat_id: string; tier_id: string; price_cents: number }[],
  payment: PaymentRow,
): Promise<boolean> {
  const lines = sql.join(
    seats.map((seat) => sql`(${seat.seat_id}, ${seat.tier_id}, ${seat.price_cents}::int)`),
    sql`, `,
  );
  const inserted = await db.execute(sql`
    WITH new_order AS (
      INSERT INTO orders (id, show_id, fan_id, fan_email, hold_id, total_cents, currency, expires_at)
      VALUES (${order.id}, ${order.showId}, ${order.fanId}, ${order.fanEmail}, ${order.holdId}, ${order.totalCents},
              ${order.currency}, ${order.expiresAt.toISOString()}::timestamptz)
      ON CONFLICT DO NOTHING
      RETURNING id
    ), items AS (
      INSERT INTO order_items (order_id, show_id, seat_id, tier_id, price_cents)
      SELECT new_order.id, ${order.showId}, line.seat_id, line.tier_id, line.price_cents
      FROM new_order, (VALUES ${lines}) AS line (seat_id, tier_id, price_cents)
    ), payment AS (
      INSERT INTO payments (id, order_id, amount_cents, currency)
      SELECT ${payment.id}, new_order.id, ${payment.amountCents}, ${payment.currency} FROM new_order
    )
    SELECT id FROM new_order`);
  return inserted.rows.length > 0;
}

/**
 * A retry's order: answered like the first attempt while it is payable and its hold kept for it;
 * otherwise 409 (hold_expired for one ended because its hold lapsed, order_exists for the rest).
 */
async function existingOrder(
  env: Env,
  db: Database,
  showId: string,
  { order, payment }: { order: OrderRow; payment: PaymentRow },
) {
  if (order.status === "cancelled" && payment.lastError === "hold_expired") throw checkoutRefusals.hold_expired();
  if (order.status !== "pending_payment") throw orderExists(order.id, order.status);
  await keepHoldForOrder(env, db, showId, order.holdId, { ...order, providerPaymentId: payment.providerPaymentId });
}

const orderExists = (orderId: string, status: string) =>
  new ApiError(409, "order_exists", `This hold already has an order, which is ${status}`, undefined, undefined, {
    order_id: orderId,
    order_status: status,
  });

/**
 * The order as checkout shows it, with its PaymentIntent's client secret. The PaymentIntent is
 * created only while the payment row has none, under a key of the order's own; afterwards it is
 * retrieved, so however many requests reach here, the order has one PaymentIntent.
 */
async function orderCreated(
  env: Env,
  db: Database,
  orderId: string,
  /** The rows, when the caller has them; `fresh`: this request wrote them, nobody else knows the order yet. */
  known?: { order: OrderRow; payment: PaymentRow; fresh: boolean },
): Promise<z.infer<typeof OrderCreated>> {
  const { order, payment } = known ?? (await loadOrderWithPayment(db, orderId))!;
  let clientSecret: string | null = null;
  let paymentStatus = payment.status;
  if (order.totalCents > 0) {
    const stripe = createStripe(env, { budgetMs: STRIPE_REQUEST_BUDGET_MS });
    let intent = payment.providerPaymentId ? await stripe.paymentIntents.retrieve(payment.providerPaymentId) : null;
    if (!intent) {
      intent = await stripe.paymentIntents.create(
        {
          amount: order.totalCents,
          currency: order.currency.toLowerCase(),
          // Cards confirmed server-side need no redirect; Stripe.js clients work the same.
          automatic_payment_methods: { enabled: true, allow_redirects: "never" },
          description: `Onsale order ${orderId}`,
          metadata: { order_id: orderId, payment_id: payment.id, show_id: order.showId, hold_id: order.holdId },
        },
        { idempotencyKey: `onsale:payment-intent:${orderId}` },
      );
      const stored = await db
        .update(payments)
        .set({ providerPaymentId: intent.id, updatedAt: sql`now()` })
        .where(
          and(
            eq(payments.id, payment.id),
            or(isNull(payments.providerPaymentId), eq(payments.providerPaymentId, intent.id)),
          ),
        )
        .returning({ id: payments.id });
      if (stored.length === 0) {
        // Another request stored its PaymentIntent first: that one is the order's.
        const [winner] = await db.select().from(payments).where(eq(payments.id, payment.id));
        intent = await stripe.paymentIntents.retrieve(winner!.providerPaymentId!);
      }
    }
    clientSecret = intent.client_secret;
    paymentStatus = intent.status === "succeeded" ? "succeeded" : payment.status;
  }
  // An order others know of may have moved meanwhile (a retry's fan paid, or cancelled).
  const [current] = known?.fresh
    ? [order]
    : await db.select({ status: orders.status }).from(orders).where(eq(orders.id, orderId));
  return {
    order_id: orderId,
    status: current!.status as z.infer<typeof OrderCreated>["status"],
    total_cents: order.totalCents,
    currency: order.currency,
    payment: { payment_id: payment.id, client_secret: clientSecret, status: paymentStatus },
    expires_at_ms: order.expiresAt.getTime(),
    server_time_ms: Date.now(),
  };
}

export const fanOrders = createRouter();
fanOrders.use("*", fanAuth(), database(), flushOutbox({ onlyAfterWrites: true }));

fanOrders.openapi(
  createRoute({
    method: "post",
    path: "/",
    tags: ["fans"],
    summary: "Order the seats of a hold; the amount comes from the show's prices, never the client",
    security: fanSecurity,
    request: {
      headers: z.object({ "idempotency-key": z.string().min(1).max(255) }),
      body: {
        required: true,
        content: { "application/json": { schema: z.strictObject({ hold_id: z.string().max(120) }) } },
      },
    },
    responses: {
      201: { description: "The order, awaiting payment", content: { "application/json": { schema: OrderCreated } } },
      ...problemResponses(400, 401, 404, 409, 415, 422, 429, 503),
    },
  }),
  async (c) => {
    const { hold_id } = c.req.valid("json");
    const fanId = c.var.fan!.id;
    const db = c.var.db!;
    const showId = showIdOfHold(hold_id);
    if (!showId) throw notFound("Hold");
    annotate({ showId });
    const result = await idempotent(
      db,
      { scope: fanId, route: "POST /v1/orders", key: c.req.valid("header")["idempotency-key"], body: { hold_id } },
      async () => {
        // While Stripe is known to be down, refuse before the hold moves into checkout: the fan
        // keeps the hold as it was and retries after Retry-After.
        stripeBreaker(c.env).refuseIfOpen();
        // A hold backs one order, whatever the key: the Show DO hands out the order id the hold
        // first went into checkout with, so a retry (a new key days later, once Stripe's own 24 h
        // key window is over) lands on that order and its PaymentIntent, never a second.
        const checkout = await (await showStub(c.env, showId)).beginCheckout(
          fanId,
          hold_id,
          newId("ord"),
          CHECKOUT_START_MS,
        );
        if (!checkout.ok) throw checkoutRefusals[checkout.code]();
        const orderId = checkout.order_id;
        if (checkout.hold.status !== "checkout" && checkout.hold.status !== "sold") {
          // The hold is no longer held (it lapsed, or was let go): no order is written for it, and
          // one an earlier attempt wrote (whose answer and stretch were lost) ends here.
          const written = await loadOrderWithPayment(db, orderId);
          if (written) await existingOrder(c.env, db, showId, written);
          throw checkout.hold.status === "expired" ? checkoutRefusals.hold_expired() : checkoutRefusals.hold_released();
        }
        const total = checkout.seats.reduce((sum, seat) => sum + seat.price_cents, 0);
        const currency = checkout.hold.currency;
        const orderExpiresAt = new Date(Math.max(checkout.hold.expires_at_ms, Date.now() + PAYMENT_WINDOW_MS));
        const order: OrderRow = {
          id: orderId,
          showId,
          fanId,
          fanEmail: c.var.fan!.email ?? null,
          holdId: hold_id,
          status: "pending_payment",
          totalCents: total,
          currency,
          expiresAt: orderExpiresAt,
          confirmedAt: null,
          createdAt: new Date(),
          updatedAt: new Date(),
        };
        const payment: PaymentRow = {
          id: newId("pay"),
          orderId,
          provider: "stripe",
          providerPaymentId: null,
          status: "requires_payment_method",
          amountCents: total,
          currency,
          lastError: null,
          cardFingerprint: null,
          createdAt: new Date(),
          updatedAt: new Date(),
        };
        if (!(await insertOrder(db, order, checkout.seats, payment))) {
          // An earlier attempt, or a concurrent request for the same hold, wrote the order.
          const written = (await loadOrderWithPayment(db, orderId))!;
          await existingOrder(c.env, db, showId, written);
          return { status: 201, body: await orderCreated(c.env, db, orderId, { ...written, fresh: false }) };
        }
        logEvent("order.created", { order_id: orderId, total_cents: total, currency });
        // The order exists: now the hold lasts the payment window, a moment past the order's own
        // expiry, so the order never outlives its hold.
        await keepHoldForOrder(c.env, db, showId, hold_id, { ...order, providerPaymentId: null });
        if (total === 0) order.status = await finalizeOrder(c.env, db, orderId);
        return { status: 201, body: await orderCreated(c.env, db, orderId, { order, payment, fresh: true }) };
      },
    );
    if (result.replayed) c.header("idempotent-replayed", "true");
    return c.json(result.body as z.infer<typeof OrderCreated>, 201);
  },
);

fanOrders.openapi(
  createRoute({
    method: "get",
    path: "/{order_id}",
    tags: ["fans"],
    summary: "One of the fan's orders, with items, payment and tickets",
    security: fanSecurity,
    request: { params: z.object({ order_id: z.string().max(80) }) },
    responses: {
      200: { description: "The order", content: { "application/json": { schema: OrderView } } },
      ...problemResponses(401, 404),
    },
  }),
  async (c) => {
    const { order_id } = c.req.valid("param");
    const [view] = await loadOrderViews(c.var.db!, [order_id], { fanId: c.var.fan!.id });
    if (!view) throw notFound("Order");
    return c.json(view, 200);
  },
);

fanOrders.openapi(
  createRoute({
    method: "post",
    path: "/{order_id}/cancel",
    tags: ["fans"],
    summary: "Abandon a checkout: the PaymentIntent is cancelled and the seats go back on sale",
    description:
      "Idempotent. A hold in checkout cannot be released directly; this is how a fan lets it go. If the payment " +
      "already went through, the order is finalized instead and its state is returned. A settled order is 409.",
    security: fanSecurity,
    request: { params: z.object({ order_id: z.string().max(80) }) },
    responses: {
      200: { description: "The order", content: { "application/json": { schema: OrderView } } },
      ...problemResponses(401, 404, 409, 429),
    },
  }),
  async (c) => {
    const { order_id } = c.req.valid("param");
    const db = c.var.db!;
    const row = await loadOrderWithPayment(db, order_id);
    if (!row || row.order.fanId !== c.var.fan!.id) throw notFound("Order");
    const { order, payment } = row;
    if (order.status !== "cancelled") {
      if (order.status !== "pending_payment" && order.status !== "payment_failed") {
        throw new ApiError(409, "order_not_cancellable", `An order that is ${order.status} cannot be cancelled`);
      }
      const ended = await abandonCheckout(c.env, db, order_id, payment.providerPaymentId, "cancelled_by_fan");
      if ("processing" in ended) {
        throw new ApiError(409, "order_not_cancellable", `The payment is ${ended.processing}; try again shortly`);
      }
    }
    const [view] = await loadOrderViews(db, [order_id]);
    return c.json(view!, 200);
  },
);
