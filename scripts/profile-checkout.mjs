// `npm run bench:checkout-profile`: where a checkout's CPU goes in the Worker + Show DO isolate.
// Starts the same stack as bench:onsale (embedded Postgres behind the pooled tunnel, the Stripe
// stand-in sending webhooks back, the Worker on workerd through Miniflare with its inspector
// on), then drives fans through hold → order → confirm (pm_card_visa) → order read with no
// waiting room, and takes a V8 CPU profile of the measured part. It prints checkouts/s, each
// step's p50 and the isolate's CPU per checkout by package and by function (through the
// bundle's source map). A checkout here is five requests: the four above and Stripe's webhook.
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { call } from "../bench/lib/api.mjs";
import { startProfile, summarizeProfile } from "../bench/lib/profile.mjs";
import {
  benchWorkerVars,
  buildBundle,
  root,
  startDatabase,
  startMiniflare,
  wranglerVars,
} from "../bench/lib/stack.mjs";
import { buildWorkers } from "../bench/onsale/build.mjs";
import { createClient, fanTokenSigner, Samples } from "../bench/onsale/http.mjs";
import { createStadium } from "../bench/onsale/setup.mjs";
import { startStripeStandin } from "./stripe-standin.mjs";

const { values: args } = parseArgs({
  options: {
    checkouts: { type: "string", default: "1000" },
    concurrency: { type: "string", default: "24" },
    "pg-pool": { type: "string", default: "transaction" },
  },
});
const checkouts = Number(args.checkouts);
const concurrency = Number(args.concurrency);

const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
const dir = path.join(root, ".data", `checkout-profile-${stamp}-${process.pid}`);
mkdirSync(dir, { recursive: true });
const log = (message) => console.log(`[checkout-profile] ${message}`);
const stops = [];

try {
  const db = await startDatabase({ dir, log, pooling: args["pg-pool"] === "transaction" });
  stops.push(db.stop);
  const workers = await buildWorkers({ dir, onsaleBundle: await buildBundle({ dir }) });
  const webhookSecret = `whsec_${randomBytes(24).toString("hex")}`;
  const stripe = await startStripeStandin({ port: 0, webhookSecret });
  stops.push(() => stripe.close());
  const organizerKey = `osk_bench_${randomBytes(24).toString("hex")}`;
  const { vars, fanSecret } = benchWorkerVars({ db, stripe: { url: stripe.url, webhookSecret } });
  const target = await startMiniflare({ dir, bundle: workers.onsale, inspector: true, vars });
  stops.push(target.stop);
  stripe.setWebhookUrl(`${target.url}/v1/webhooks/stripe`);
  await call(target.url, "GET", "/healthz", { expect: 200 });
  const warmup = 200;
  const stadium = await createStadium(target.url, {
    organizerKey,
    capacity: Math.ceil(((checkouts + warmup) * 4) / 1000) * 1000 + 1000,
    layout: { rows: 25, perRow: 40 },
    holdTtlS: 600,
    ticketLimit: 8,
    raceShows: 0,
    log,
  });
  const { FAN_JWT_ISSUER: issuer, FAN_JWT_AUDIENCE: audience } = wranglerVars();
  const sign = fanTokenSigner({ secret: fanSecret, issuer, audience });
  const client = createClient(target.url);
  stops.push(() => client.close());
  const latency = { hold: new Samples(), order: new Samples(), confirm: new Samples(), read: new Samples() };
  const failures = {};

  async function checkout(i) {
    const token = await sign(`profiled_${i}`);
    const step = async (name, method, url, options, ok) => {
      const response = await client.request(method, url, { token, ...options });
      if (response.status !== ok) {
        // A 503 names its dependency and why (breaker open, timed out, connection dropped).
        const why =
          response.status === 503 ? ` ${response.body?.dependency ?? ""}: ${response.body?.detail ?? ""}` : "";
        const key = `${name} ${response.status} ${response.body?.code ?? ""}${why}`.trim();
        failures[key] = (failures[key] ?? 0) + 1;
        return null;
      }
      latency[name].add(response.ms);
      return response.body;
    };
    const section = stadium.sections[i % stadium.sections.length].id;
    const hold = await step(
      "hold",
      "POST",
      `/v1/shows/${stadium.flashShowId}/holds`,
      {
        headers: { "idempotency-key": `h${i}` },
        json: { section_id: section, quantity: 4 },
      },
      201,
    );
    if (!hold) return;
    const order = await step(
      "order",
      "POST",
      "/v1/orders",
      {
        headers: { "idempotency-key": `o${i}` },
        json: { hold_id: hold.hold_id },
      },
      201,
    );
    if (!order) return;
    const paid = await step(
      "confirm",
      "POST",
      `/v1/payments/${order.payment.payment_id}/confirm`,
      {
        headers: { "idempotency-key": `p${i}` },
        // A card of the fan's own (the stand-in's `__suffix`): one card for everyone would
        // reach the per-card cap after eight tickets and refuse the rest.
        json: { payment_method: `pm_card_visa__profiled${i}` },
      },
      200,
    );
    if (paid) await step("read", "GET", `/v1/orders/${order.order_id}`, {}, 200);
  }

  let next = 0;
  const run = async (count) => {
    const end = next + count;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < end) await checkout(next++);
      }),
    );
  };
  log(`warming up with ${warmup} checkouts, then ${checkouts} profiled at ${concurrency} at once`);
  await run(warmup);
  for (const samples of Object.values(latency)) samples.values.length = 0;
  const profile = await startProfile(target.inspector);
  const statementsBefore = db.statements();
  const t0 = performance.now();
  await run(checkouts);
  const seconds = (performance.now() - t0) / 1000;
  // Every statement of the measured checkouts (webhooks included), as the pooler saw them.
  const statements = statementsBefore === null ? null : (db.statements() - statementsBefore) / checkouts;
  const raw = await profile.stop();
  const summary = summarizeProfile(raw, workers.onsale, { requests: checkouts });
  const result = {
    checkouts,
    concurrency,
    seconds,
    checkouts_per_s: checkouts / seconds,
    statements_per_checkout: statements,
    failures,
    latency_ms: Object.fromEntries(Object.entries(latency).map(([k, v]) => [k, v.summary()])),
    profile: summary,
  };
  const out = path.join(root, "bench-results", `checkout-profile-${stamp}.json`);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2));
  const ms = (us) => (us / 1000).toFixed(2).padStart(6);
  console.log(
    `\n${checkouts} checkouts in ${seconds.toFixed(1)} s = ${result.checkouts_per_s.toFixed(1)}/s; failures ${JSON.stringify(failures)}`,
  );
  console.log(
    `Postgres statements per checkout: ${statements === null ? "n/a (run with --pg-pool transaction)" : statements.toFixed(1)}`,
  );
  console.log(
    `p50 ms: ${Object.entries(result.latency_ms)
      .map(([k, v]) => `${k} ${v.p50?.toFixed(1)}`)
      .join(", ")}`,
  );
  console.log(
    `isolate busy ${(summary.busy_fraction * 100).toFixed(0)}% of the time: ${ms(summary.busy_us_per_request)} ms of CPU per checkout`,
  );
  for (const [title, rows] of [
    ["by package / source", summary.by_source],
    ["by function", summary.by_function],
  ]) {
    console.log(`\n${title} (ms per checkout, share):`);
    for (const row of rows.slice(0, 15)) {
      console.log(`  ${ms(row.us_per_request)}  ${(row.share * 100).toFixed(1).padStart(5)}%  ${row.name}`);
    }
  }
  console.log(`\n${path.relative(root, out)}`);
} finally {
  for (const stop of stops.reverse()) {
    try {
      await stop();
    } catch {}
  }
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
