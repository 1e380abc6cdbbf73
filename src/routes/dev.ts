import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../app";
import { signFanToken } from "../auth/fan-token";
import { seedDemo } from "../catalog/demo";
import { ApiError } from "../lib/problem";
import { problemResponses } from "../lib/schemas";
import { database } from "../middleware/database";
import { DevMailbox } from "../notifications/email";

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
