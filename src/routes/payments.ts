import { createRoute, z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import Stripe from "stripe";
import { createRouter } from "../app";
import { orders, payments } from "../db/schema";
import { STRIPE_REQUEST_BUDGET_MS } from "../lib/deadline";
import { annotate } from "../lib/observe";
import { ApiError, notFound } from "../lib/problem";
import { fanSecurity, problemResponses } from "../lib/schemas";
import { database } from "../middleware/database";
import { fanAuth } from "../middleware/fan-auth";
import { flushOutbox } from "../middleware/outbox";
import { refuseCardOverLimit } from "../orders/card-limit";
import { keepHold } from "../orders/checkout-hold";
import { idempotent } from "../orders/idempotency";
import { failOrder, finalizeOrder, recordDecline, syncPayment } from "../orders/lifecycle";
import { createStripe } from "../payments/stripe";

const ConfirmRequest = z
  .strictObject({
    payment_method: z
      .string()
      .regex(/^pm_[A-Za-z0-9_]{1,120}$/)
      .optional()
      .openapi({ description: "Confirm server-side with this payment method; omit to refresh the status" }),
  })
  .openapi("ConfirmPayment");

const ConfirmResult = z
  .object({
    payment_id: z.string(),
    status: z.string(),
    order_status: z.string(),
    decline_code: z.string().optional(),
  })
  .openapi("PaymentConfirmation");

export const fanPayments = createRouter();
fanPayments.use("*", fanAuth(), database(), flushOutbox({ onlyAfterWrites: true }));

fanPayments.openapi(
  createRoute({
    method: "post",
    path: "/{payment_id}/confirm",
    tags: ["fans"],
    summary: "Confirm the payment (API clients) or refresh its status from Stripe; a success finalizes the order",
    description:
      "A card that has bought (or is paying for) the show's per-fan limit across all fans is refused with 409 " +
      "`card_limit_exceeded` before it is charged; paid by Stripe.js instead, the order is refunded " +
      "(`refund_pending`, reason `card_limit_exceeded`) and its seats go back on sale. A confirm for an order whose " +
      "hold is no longer held for it (lapsed, or past the payment window) is refused with 409 `hold_expired` before " +
      "any charge, and the order is cancelled.",
    security: fanSecurity,
    request: {
      params: z.object({ payment_id: z.string().max(80) }),
      headers: z.object({ "idempotency-key": z.string().min(1).max(255) }),
      body: { required: true, content: { "application/json": { schema: ConfirmRequest } } },
    },
    responses: {
      200: {
        description: "Where the payment and order stand",
        content: { "application/json": { schema: ConfirmResult } },
      },
      ...problemResponses(400, 401, 404, 409, 415, 422, 429, 503),
    },
  }),
  async (c) => {
    const { payment_id } = c.req.valid("param");
    const body = c.req.valid("json");
    const key = c.req.valid("header")["idempotency-key"];
    const db = c.var.db!;
    const [row] = await db
      .select({ payment: payments, order: orders })
      .from(payments)
      .innerJoin(orders, eq(orders.id, payments.orderId))
      .where(and(eq(payments.id, payment_id), eq(orders.fanId, c.var.fan!.id)));
    if (!row?.payment.providerPaymentId) throw notFound("Payment");
    const { payment, order } = row;
    annotate({ showId: order.showId });
    const intentId = payment.providerPaymentId!;

    const result = await idempotent(
      db,
      { scope: c.var.fan!.id, route: `POST /v1/payments/${payment_id}/confirm`, key, body },
      async () => {
        const stripe = createStripe(c.env, { budgetMs: STRIPE_REQUEST_BUDGET_MS });
        let intent: Stripe.PaymentIntent;
        let declineCode: string | undefined;
        if (body.payment_method && (order.status === "pending_payment" || order.status === "payment_failed")) {
          // No money moves for seats no longer held: a hold that lapsed (or an order past its
          // window) ends the checkout here, unless Stripe says it was paid meanwhile. An older
          // payment_failed order (a decline before declines kept the hold) has its seats back on
          // sale but its PaymentIntent still payable: it ends here too.
          const held = await keepHold(c.env, db, order.showId, order.holdId, {
            id: order.id,
            expiresAt: order.expiresAt,
            providerPaymentId: intentId,
          });
          if (held !== "kept" && held !== "confirmed") {
            throw new ApiError(409, "hold_expired", "The hold expired; hold the seats again");
          }
        }
        if (body.payment_method) await refuseCardOverLimit(stripe, db, order, body.payment_method);
        try {
          intent = body.payment_method
            ? await stripe.paymentIntents.confirm(
                intentId,
                { payment_method: body.payment_method },
                { idempotencyKey: `onsale:confirm:${payment_id}:${key}` },
              )
            : await stripe.paymentIntents.retrieve(intentId);
        } catch (error) {
          // A PaymentIntent that can no longer be confirmed (cancelled with its show, or already
          // paid) is answered with where it stands, not a 500.
          const unexpectedState =
            error instanceof Stripe.errors.StripeInvalidRequestError &&
            error.code === "payment_intent_unexpected_state";
          if (!(error instanceof Stripe.errors.StripeCardError) && !unexpectedState) throw error;
          if (error instanceof Stripe.errors.StripeCardError) {
            declineCode = error.decline_code ?? error.code ?? "card_declined";
          }
          intent = await stripe.paymentIntents.retrieve(intentId);
        }
        await syncPayment(db, order.id, intent);
        let orderStatus = order.status;
        if (intent.status === "succeeded") orderStatus = await finalizeOrder(c.env, db, order.id);
        else if (intent.status === "canceled") {
          orderStatus = await failOrder(c.env, db, order.id, {
            orderStatus: "cancelled",
            paymentStatus: "canceled",
            reason: declineCode ?? "canceled",
          });
        } else if (declineCode) {
          // Still payable with another card: the hold stays in checkout until the window ends.
          orderStatus = await recordDecline(db, order.id, declineCode);
        }
        const [current] = await db
          .select({ status: payments.status })
          .from(payments)
          .where(eq(payments.id, payment_id));
        return {
          status: 200,
          body: {
            payment_id,
            status: current!.status,
            order_status: orderStatus,
            ...(declineCode ? { decline_code: declineCode } : {}),
          },
        };
      },
    );
    if (result.replayed) c.header("idempotent-replayed", "true");
    return c.json(result.body as z.infer<typeof ConfirmResult>, 200);
  },
);
