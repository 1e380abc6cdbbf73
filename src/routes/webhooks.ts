import { createRoute, z } from "@hono/zod-openapi";
import { and, eq, isNull, sql } from "drizzle-orm";
import type Stripe from "stripe";
import { createRouter } from "../app";
import type { Database } from "../db/client";
import { payments, webhookEvents } from "../db/schema";
import { observeWebhook } from "../lib/observe";
import { ApiError } from "../lib/problem";
import { problemResponses } from "../lib/schemas";
import { database } from "../middleware/database";
import { flushOutbox } from "../middleware/outbox";
import { failOrder, finalizeOrder, recordDecline, syncPayment } from "../orders/lifecycle";
import { recordProviderRefund } from "../orders/refunds";
import { createStripe, stripeCrypto } from "../payments/stripe";

export const webhooks = createRouter();
webhooks.use("*", database(), flushOutbox());

async function orderOfIntent(db: Database, intentId: string | null | undefined): Promise<string | null> {
  if (!intentId) return null;
  const [payment] = await db
    .select({ orderId: payments.orderId })
    .from(payments)
    .where(and(eq(payments.provider, "stripe"), eq(payments.providerPaymentId, intentId)));
  return payment?.orderId ?? null;
}

const intentIdOf = (value: string | Stripe.PaymentIntent | null | undefined) =>
  typeof value === "string" ? value : (value?.id ?? null);

/** Applies one verified event. Everything it calls is idempotent and only moves forward. */
async function applyEvent(env: Env, db: Database, event: Stripe.Event) {
  switch (event.type) {
    case "payment_intent.succeeded": {
      const orderId = await orderOfIntent(db, event.data.object.id);
      if (!orderId) return "ignored";
      await syncPayment(db, orderId, event.data.object);
      return finalizeOrder(env, db, orderId);
    }
    case "payment_intent.payment_failed": {
      // A failed attempt (a decline, a failed 3-D Secure challenge) leaves the PaymentIntent
      // payable: the order keeps its hold for another card; the cron settles it if none comes.
      const intent = event.data.object;
      const orderId = await orderOfIntent(db, intent.id);
      if (!orderId) return "ignored";
      return recordDecline(
        db,
        orderId,
        intent.last_payment_error?.decline_code ?? intent.last_payment_error?.code ?? "failed",
      );
    }
    case "payment_intent.canceled": {
      const orderId = await orderOfIntent(db, event.data.object.id);
      if (!orderId) return "ignored";
      return failOrder(env, db, orderId, { orderStatus: "cancelled", paymentStatus: "canceled", reason: "canceled" });
    }
    case "charge.refunded": {
      const charge = event.data.object;
      const orderId = await orderOfIntent(db, intentIdOf(charge.payment_intent));
      if (!orderId) return "ignored";
      // Charges list their refunds only when expanded; the refund.* events always carry them.
      let status = "ignored";
      for (const refund of charge.refunds?.data ?? []) status = await recordProviderRefund(env, db, orderId, refund);
      return status;
    }
    case "refund.created":
    case "refund.updated":
    case "refund.failed": {
      const refund = event.data.object as Stripe.Refund;
      const orderId = await orderOfIntent(db, intentIdOf(refund.payment_intent));
      return orderId ? recordProviderRefund(env, db, orderId, refund) : "ignored";
    }
    default:
      return "ignored";
  }
}

webhooks.openapi(
  createRoute({
    method: "post",
    path: "/stripe",
    tags: ["operations"],
    summary: "Stripe events; the signature is verified and each event id is applied once",
    request: { headers: z.object({ "stripe-signature": z.string().min(1).max(2048) }) },
    responses: {
      200: {
        description: "Accepted (also for a duplicate)",
        content: { "application/json": { schema: z.object({ received: z.boolean(), duplicate: z.boolean() }) } },
      },
      ...problemResponses(400, 503),
    },
  }),
  async (c) => {
    const payload = await c.req.text();
    let event: Stripe.Event;
    try {
      event = await createStripe(c.env).webhooks.constructEventAsync(
        payload,
        c.req.valid("header")["stripe-signature"],
        c.env.STRIPE_WEBHOOK_SECRET,
        undefined,
        stripeCrypto,
      );
    } catch {
      throw new ApiError(400, "invalid_signature", "The Stripe-Signature does not match this payload");
    }
    const db = c.var.db!;
    const inserted = await db
      .insert(webhookEvents)
      .values({ providerEventId: event.id, type: event.type, payload: event })
      .onConflictDoNothing()
      .returning({ id: webhookEvents.providerEventId });
    // Stripe redelivers until it gets a 2xx: an event whose processing failed stays unprocessed
    // and is applied again then; one that was processed is acknowledged and skipped.
    if (inserted.length === 0) {
      const [stored] = await db
        .select({ processedAt: webhookEvents.processedAt })
        .from(webhookEvents)
        .where(and(eq(webhookEvents.provider, "stripe"), eq(webhookEvents.providerEventId, event.id)));
      if (stored?.processedAt) return c.json({ received: true, duplicate: true }, 200);
    }
    observeWebhook(c.env, event.type, event.created, String(await applyEvent(c.env, db, event)));
    await db
      .update(webhookEvents)
      .set({ processedAt: sql`now()` })
      .where(and(eq(webhookEvents.providerEventId, event.id), isNull(webhookEvents.processedAt)));
    return c.json({ received: true, duplicate: false }, 200);
  },
);
