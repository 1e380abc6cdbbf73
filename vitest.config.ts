import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export const testFanJwtSecret = "test-fan-jwt-secret-with-enough-entropy-0123456789";
// Test-only Ed25519 key for ticket barcodes (never used outside the test run).
export const testTicketSigningJwk = JSON.stringify({
  crv: "Ed25519",
  d: "ZRNfZUpinc0Uxlf-0ZLHMLe0CSeN5iLeN66l4nh-Ul8",
  x: "jq96vWudfuRkStJnFWIuw8CTZVBoaihEHj86fPaEhhE",
  kty: "OKP",
  kid: "test-2026-11",
  alg: "EdDSA",
  use: "sig",
});

export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        // wrangler.toml's per-address limit (20,000 per 10 s) would take 40,000 requests to trip
        // for certain; test/abuse-rate-limits.test.ts trips a smaller one. Other tests send no
        // CF-Connecting-IP, so no address limit applies to them. The organizer limit likewise:
        // 2 × 600 + 1 requests did not fit in one 10 s period on a loaded machine, so the burst
        // spanned three windows and was never refused; 2 × 200 + 1 do.
        ratelimits: {
          IP_LIMITER: { namespace_id: "1001", simple: { limit: 100, period: 10 } },
          ORGANIZER_LIMITER: { namespace_id: "1004", simple: { limit: 200, period: 10 } },
        },
        bindings: {
          ENVIRONMENT: "test",
          DATABASE_URL: inject("databaseUrl"),
          PG_WS_PROXY: inject("pgWsProxy"),
          FAN_JWT_SECRET: testFanJwtSecret,
          TICKET_SIGNING_JWK: testTicketSigningJwk,
          QUEUE_TICKET_SECRET: "test-queue-ticket-secret-0123456789abcdef",
          STRIPE_API_URL: inject("stripeApiUrl"),
          STRIPE_SECRET_KEY: "sk_test_onsale",
          STRIPE_WEBHOOK_SECRET: "whsec_test_onsale",
          // More than one feed per show, so fan-out and feed choice are exercised; few, so tests can evict them all.
          LIVE_FEEDS: "2",
          // Turnstile stays off (no secret) as in development; test/abuse-turnstile.test.ts turns
          // it on per request with each of Cloudflare's test secrets.
          TURNSTILE_VERIFY_URL: `${inject("turnstileUrl")}/turnstile/v0/siteverify`,
        },
      },
    })),
  ],
  test: {
    globalSetup: ["./test/global-setup.ts"],
    include: ["test/**/*.test.ts"],
    // The JSON report is what .ci/run counts; the console keeps the default reporter.
    reporters: ["default", ["json", { outputFile: ".data/test-results.json" }]],
    // The Worker's structured log lines (one per request) would bury the report; tests that
    // check them read them from a console spy, which this does not affect.
    onConsoleLog: (log) => !log.startsWith('{"event":'),
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
