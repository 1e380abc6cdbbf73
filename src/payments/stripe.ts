import Stripe from "stripe";
import { tracedFetch } from "../lib/observe";

/**
 * A Stripe client for the Worker: fetch-based (workerd has no Node http), retrying connection
 * failures, 409s and 5xxs twice with the SDK's own idempotency keys. When STRIPE_API_URL is set
 * (tests, `npm run dev`) it talks to the local stand-in in scripts/stripe-standin.mjs instead.
 */
export function createStripe(env: Pick<Env, "STRIPE_SECRET_KEY" | "STRIPE_API_URL">) {
  const standin = env.STRIPE_API_URL ? new URL(env.STRIPE_API_URL) : undefined;
  return new Stripe(env.STRIPE_SECRET_KEY, {
    httpClient: Stripe.createFetchHttpClient(tracedFetch("stripe")),
    maxNetworkRetries: 2,
    ...(standin && {
      host: standin.hostname,
      port: standin.port,
      protocol: standin.protocol === "https:" ? "https" : "http",
    }),
  });
}

/** Web Crypto for `webhooks.constructEventAsync`: workerd has no Node crypto HMAC for the SDK to use. */
export const stripeCrypto = Stripe.createSubtleCryptoProvider();
