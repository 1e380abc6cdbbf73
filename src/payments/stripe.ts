import Stripe from "stripe";
import { breakerFor } from "../lib/breaker";
import { STRIPE_MAX_RETRIES, STRIPE_TIMEOUT_MS } from "../lib/deadline";
import { tracedFetch } from "../lib/observe";
import { type ApiError, dependencyUnavailable } from "../lib/problem";

/** The isolate's Stripe breaker (per API host: the stand-ins of a test run each have their own). */
export function stripeBreaker(env: Pick<Env, "STRIPE_API_URL">) {
  return breakerFor("stripe", env.STRIPE_API_URL ? new URL(env.STRIPE_API_URL).host : "api.stripe.com");
}

/**
 * A Stripe client for the Worker: fetch-based (workerd has no Node http), each attempt bounded
 * by STRIPE_TIMEOUT_MS, connection failures, 409s and 5xxs retried once with the SDK's own
 * idempotency keys, and every attempt behind the isolate's Stripe breaker. With `budgetMs` (fan
 * requests) no attempt starts once the client has spent that long waiting on Stripe. Only
 * Stripe's own time counts: the request's Postgres work between two calls (the per-card check
 * between reading the card and confirming) is bounded by Postgres' deadlines, and counting it
 * here refused, under load, confirms Stripe would have answered at once. When STRIPE_API_URL
 * is set (tests, `npm run dev`) it talks to the local stand-in in scripts/stripe-standin.mjs.
 */
export function createStripe(
  env: Pick<Env, "STRIPE_SECRET_KEY" | "STRIPE_API_URL">,
  { budgetMs }: { budgetMs?: number } = {},
) {
  const standin = env.STRIPE_API_URL ? new URL(env.STRIPE_API_URL) : undefined;
  const breaker = stripeBreaker(env);
  let waitedMs = 0;
  const traced = tracedFetch("stripe");
  // The SDK turns whatever this throws into a StripeConnectionError (the problem in `detail`).
  const guardedFetch: typeof fetch = async (input, init) => {
    if (budgetMs !== undefined && waitedMs >= budgetMs) {
      throw dependencyUnavailable("stripe", 5, "is too slow for this request");
    }
    breaker.admit();
    const now = Date.now();
    try {
      const response = await traced(input, init);
      if (response.status >= 500) breaker.failed(now);
      else breaker.succeeded();
      return response;
    } catch (error) {
      breaker.failed(now);
      throw error;
    } finally {
      waitedMs += Date.now() - now;
    }
  };
  return new Stripe(env.STRIPE_SECRET_KEY, {
    httpClient: Stripe.createFetchHttpClient(guardedFetch),
    maxNetworkRetries: STRIPE_MAX_RETRIES,
    timeout: STRIPE_TIMEOUT_MS,
    ...(standin && {
      host: standin.hostname,
      port: standin.port,
      protocol: standin.protocol === "https:" ? "https" : "http",
    }),
  });
}

/**
 * The 503 problem for a Stripe call that failed because Stripe is down, slow or behind the open
 * breaker (a connection error, a timeout, a 5xx after the retry), or undefined for any other
 * error (a decline, a bad request), which the caller handles as before.
 */
export function stripeOutage(error: unknown): ApiError | undefined {
  if (error instanceof Stripe.errors.StripeConnectionError) return dependencyUnavailable("stripe", 5);
  if (error instanceof Stripe.errors.StripeError && (error.statusCode ?? 0) >= 500) {
    return dependencyUnavailable("stripe", 5);
  }
  return undefined;
}

/** Web Crypto for `webhooks.constructEventAsync`: workerd has no Node crypto HMAC for the SDK to use. */
export const stripeCrypto = Stripe.createSubtleCryptoProvider();
