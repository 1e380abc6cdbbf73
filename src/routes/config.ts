import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../app";

// What the fan app needs to know about this deployment: public keys and settings only. Nothing
// here is a secret (publishable key, site key, OIDC client id are all meant for browsers).

const PublicConfig = z
  .object({
    stripe_publishable_key: z
      .string()
      .nullable()
      .openapi({ description: "With it the app uses Stripe's Payment Element; without it, a test-card chooser" }),
    turnstile_site_key: z
      .string()
      .nullable()
      .openapi({ description: "With it the app shows the Turnstile widget on the waiting-room join" }),
    oidc: z
      .object({
        issuer: z.string(),
        client_id: z.string(),
        scope: z.string(),
        audience: z.string().nullable(),
      })
      .nullable()
      .openapi({ description: "OpenID Connect sign-in (authorization code + PKCE); null: none configured" }),
    dev_sign_in: z.boolean().openapi({ description: "Whether `POST /v1/dev/tokens` exists (development only)" }),
    test_payments: z
      .boolean()
      .openapi({ description: "Whether payments go to the local Stripe stand-in (test cards, 3-D Secure step)" }),
  })
  .openapi("PublicConfig");

export const publicConfig = createRouter();

publicConfig.openapi(
  createRoute({
    method: "get",
    path: "/",
    tags: ["fans"],
    summary: "Public settings of this deployment for the fan app (no secrets)",
    responses: { 200: { description: "Public settings", content: { "application/json": { schema: PublicConfig } } } },
  }),
  (c) => {
    const env = c.env;
    const development = env.ENVIRONMENT === "development" || env.ENVIRONMENT === "test";
    c.header("cache-control", "public, max-age=60");
    return c.json(
      {
        stripe_publishable_key: env.STRIPE_PUBLISHABLE_KEY || null,
        turnstile_site_key: env.TURNSTILE_SITE_KEY || null,
        oidc:
          env.OIDC_ISSUER && env.OIDC_CLIENT_ID
            ? {
                issuer: env.OIDC_ISSUER,
                client_id: env.OIDC_CLIENT_ID,
                scope: env.OIDC_SCOPE || "openid email",
                audience: env.OIDC_AUDIENCE || null,
              }
            : null,
        dev_sign_in: development,
        test_payments: development && Boolean(env.STRIPE_API_URL),
      },
      200,
    );
  },
);
