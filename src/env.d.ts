// Secrets and local-only settings that wrangler.toml cannot declare (set with
// `wrangler secret put` in production and with `--var` by `npm run dev` and the tests).
// Declaration-merged into the Env that `wrangler types` generates.
interface OnsaleSecrets {
  /** Postgres connection string: Neon in production, the embedded server locally. */
  DATABASE_URL: string;
  /** `host:port` of the local WebSocket→TCP tunnel; unset in production. */
  PG_WS_PROXY?: string;
  /** "development" (or "test") enables /v1/dev/*; anything else hides it. */
  ENVIRONMENT: string;
  /** HS256 secret for fan JWTs (development, tests, or an issuer that shares a secret). */
  FAN_JWT_SECRET?: string;
  /** JWKS of the fan identity provider; when set, RS256/ES256/EdDSA tokens are verified with it. */
  FAN_JWT_JWKS_URL?: string;
  /** Private Ed25519 JWK (with `kid`) that signs ticket barcodes; its public half is in /.well-known/jwks.json. */
  TICKET_SIGNING_JWK?: string;
  /** Stripe secret API key: `sk_live_…` in production, `sk_test_…` in development and tests. */
  STRIPE_SECRET_KEY: string;
  /** Signing secret (`whsec_…`) of the Stripe webhook endpoint; verifies `Stripe-Signature`. */
  STRIPE_WEBHOOK_SECRET: string;
  /** Base URL of the local Stripe stand-in (scripts/stripe-standin.mjs); unset in production. */
  STRIPE_API_URL?: string;
}

interface OnsaleSecrets {
  /** HS256 secret for waiting-room queue tickets and admission tokens (signed and checked by the Worker). */
  QUEUE_TICKET_SECRET?: string;
  /** JWKS ({"keys": [...]}) of retired ticket-signing public keys, still accepted and published after a rotation. */
  TICKET_PREVIOUS_PUBLIC_JWKS?: string;
  /** Resend API key: with it, notifications are emailed; without it they go to the dev mailbox (KV). */
  RESEND_API_KEY?: string;
  /** Override of Resend's API origin (tests point it at an unreachable address to make sending fail). */
  RESEND_API_URL?: string;
  /** Sender of notification emails, e.g. "Onsale <tickets@example.com>". */
  EMAIL_FROM?: string;
}

interface Env extends OnsaleSecrets {}
declare namespace Cloudflare {
  interface Env extends OnsaleSecrets {}
}

interface OnsaleSecrets {
  /** Turnstile secret key; unset = no bot check on joins (the development default). */
  TURNSTILE_SECRET_KEY?: string;
  /** siteverify endpoint; unset = Cloudflare's. `npm run dev` and the tests point it at scripts/turnstile-standin.mjs. */
  TURNSTILE_VERIFY_URL?: string;
}

interface OnsaleSecrets {
  /** Stripe publishable key (`pk_…`): the fan app mounts Stripe's Payment Element with it. Public. */
  STRIPE_PUBLISHABLE_KEY?: string;
  /** Turnstile site key: the fan app shows the widget on the waiting-room join. Public. */
  TURNSTILE_SITE_KEY?: string;
  /** OpenID Connect issuer the fan app signs in with (authorization code + PKCE). Public. */
  OIDC_ISSUER?: string;
  /** The fan app's public OIDC client id (no client secret: a browser keeps none). */
  OIDC_CLIENT_ID?: string;
  /** Scopes asked for (default "openid email"). */
  OIDC_SCOPE?: string;
  /** `audience`/`resource` parameter some issuers need to mint an access token for this API. */
  OIDC_AUDIENCE?: string;
}

interface OnsaleSecrets {
  /** Feed objects per show for the live seat map (1–256, default 16: ~3,000 sockets each at 50,000 watchers). */
  LIVE_FEEDS?: string;
}
