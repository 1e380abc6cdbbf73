import { createRoute, z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { createRouter } from "../app";
import { signFanToken } from "../auth/fan-token";
import { seedDemo } from "../catalog/demo";
import { orders, payments } from "../db/schema";
import { ApiError, notFound } from "../lib/problem";
import { fanSecurity, problemResponses } from "../lib/schemas";
import { database } from "../middleware/database";
import { fanAuth } from "../middleware/fan-auth";
import { DevMailbox } from "../notifications/email";
import { createStripe } from "../payments/stripe";

const TokenRequest = z
  .strictObject({
    fan_id: z.string().regex(/^[A-Za-z0-9_.:@-]{1,128}$/, "1–128 letters, digits or _.:@-"),
    ttl_s: z.number().int().min(60).max(86_400).optional(),
  })
  .openapi("DevTokenRequest");
const TokenResponse = z
  .object({ token: z.string(), fan_id: z.string(), expires_at_ms: z.number() })
  .openapi("DevToken");

export const dev = createRouter();

// Everything under /v1/dev exists only in development; elsewhere it is an ordinary 404.
dev.use("*", async function developmentOnly(c, next) {
  if (c.env.ENVIRONMENT !== "development" && c.env.ENVIRONMENT !== "test") {
    throw new ApiError(404, "not_found", "No route matches this request");
  }
  await next();
});

dev.openapi(
  createRoute({
    method: "post",
    path: "/tokens",
    tags: ["development"],
    summary: "Mint a fan JWT for local testing (development only)",
    request: { body: { required: true, content: { "application/json": { schema: TokenRequest } } } },
    responses: {
      201: { description: "A signed fan token", content: { "application/json": { schema: TokenResponse } } },
      ...problemResponses(400, 404),
    },
  }),
  async (c) => {
    const { fan_id, ttl_s = 3600 } = c.req.valid("json");
    const token = await signFanToken(c.env, fan_id, ttl_s);
    return c.json({ token, fan_id, expires_at_ms: Date.now() + ttl_s * 1000 }, 201);
  },
);

const SeedRequest = z
  .strictObject({ organizer_api_key: z.string().regex(/^osk_[a-z]+_[0-9A-Za-z]{24,64}$/) })
  .openapi("DevSeedRequest");

dev.use("/seed", database());
dev.openapi(
  createRoute({
    method: "post",
    path: "/seed",
    tags: ["development"],
    summary: "Seed the demo organizer, venue, event and shows (development only; idempotent)",
    request: { body: { required: true, content: { "application/json": { schema: SeedRequest } } } },
    responses: {
      200: {
        description: "The demo ids",
        content: { "application/json": { schema: z.record(z.string(), z.string()) } },
      },
      ...problemResponses(400, 404),
    },
  }),
  async (c) => c.json({ ...(await seedDemo(c.var.db!, c.env, c.req.valid("json").organizer_api_key)) }, 200),
);

// Baselines for `npm run bench:holds`: the same stack with no work, and with a DO round trip
// that does nothing, so a hold's cost can be read as a ratio on a noisy machine.
dev.get("/noop", (c) => c.json({ ok: true }));
dev.get("/noop-do/:show_id", async (c) => c.json({ now: await c.env.SHOW.getByName(c.req.param("show_id")).noop() }));

dev.get("/mailbox", async (c) => c.json({ data: await new DevMailbox(c.env.MAILBOX).list() }));

// The 3-D Secure challenge of the local Stripe stand-in. With real Stripe, Stripe.js shows the
// bank's challenge; offline, the fan app shows a stand-in challenge and answers it here. Only a
// PaymentIntent of the caller's own order that is waiting for authentication can be answered,
// and only while payments go to the stand-in (STRIPE_API_URL): nothing here reaches Stripe.
const ChallengeRequest = z.strictObject({ outcome: z.enum(["succeed", "fail"]) }).openapi("DevThreeDSecureChallenge");

dev.use("/payments/*", fanAuth(), database());
dev.openapi(
  createRoute({
    method: "post",
    path: "/payments/{payment_id}/three-d-secure",
    tags: ["development"],
    summary: "Complete or fail the stand-in's 3-D Secure challenge (development with the Stripe stand-in only)",
    security: fanSecurity,
    request: {
      params: z.object({ payment_id: z.string().max(80) }),
      body: { required: true, content: { "application/json": { schema: ChallengeRequest } } },
    },
    responses: {
      204: { description: "Answered; refresh with POST /v1/payments/{id}/confirm" },
      ...problemResponses(400, 401, 404, 409),
    },
  }),
  async (c) => {
    if (!c.env.STRIPE_API_URL) throw new ApiError(404, "not_found", "No route matches this request");
    const { payment_id } = c.req.valid("param");
    const [row] = await c.var
      .db!.select({ intentId: payments.providerPaymentId })
      .from(payments)
      .innerJoin(orders, eq(orders.id, payments.orderId))
      .where(and(eq(payments.id, payment_id), eq(orders.fanId, c.var.fan!.id)));
    if (!row?.intentId) throw notFound("Payment");
    const intent = await createStripe(c.env).paymentIntents.retrieve(row.intentId);
    if (intent.status !== "requires_action") {
      throw new ApiError(409, "no_challenge", "This payment is not waiting for 3-D Secure");
    }
    const response = await fetch(
      `${c.env.STRIPE_API_URL}/_standin/payment_intents/${row.intentId}/${c.req.valid("json").outcome}`,
      { method: "POST" },
    );
    if (!response.ok) throw new ApiError(409, "no_challenge", "The stand-in refused the challenge answer");
    return c.body(null, 204);
  },
);
