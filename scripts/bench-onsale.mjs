// `npm run bench:onsale`: a stadium flash crowd end to end, beside the classic Postgres-row
// design. It starts its own stack on free ports (bench/lib/stack.mjs: embedded Postgres,
// migrations, the WebSocket tunnel, the Worker bundled once; plus the Stripe stand-in, which
// sends signed webhooks back to the Worker), creates a stadium through the organizer API,
// opens the waiting room, and lets the simulated crowd (bench/onsale/fans.mjs, a process of
// its own) buy it out through the real HTTP API. Then it verifies the sale against Postgres,
// the Show DO and the stand-in, runs the side-by-side hold race (bench/onsale/race.mjs against
// Onsale and against bench/onsale/baseline-worker.mjs), and writes
// bench-results/onsale-<timestamp>.{json,md,svg}. `--help` lists the options; bench/README.md
// explains what is measured, what is simulated, and how to read the report.
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { call } from "../bench/lib/api.mjs";
import { coreCount, startCpuWindow } from "../bench/lib/procs.mjs";
import {
  benchWorkerVars,
  buildBundle,
  nodeBin,
  root,
  startDatabase,
  startMiniflare,
  startWrangler,
  wranglerVars,
} from "../bench/lib/stack.mjs";
import { createBaselineTables, loadBaselineShow, verifyBaselineShow } from "../bench/onsale/baseline-db.mjs";
import { buildWorkers } from "../bench/onsale/build.mjs";
import { chaosSummary, runChaos } from "../bench/onsale/chaos.mjs";
import { postgresCpuSeconds } from "../bench/onsale/cpu.mjs";
import { createClient, fanTokenSigner, sleep } from "../bench/onsale/http.mjs";
import { queueTruth, queueTruthLine } from "../bench/onsale/queue-truth.mjs";
import { consoleSummary, markdownReport, svgChart } from "../bench/onsale/report.mjs";
import { configureWaitingRoom, createStadium } from "../bench/onsale/setup.mjs";
import { salesOf, verifySale, waitForHoldExpiry } from "../bench/onsale/verify.mjs";
import { startStripeStandin } from "./stripe-standin.mjs";

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    fans: { type: "string" },
    seats: { type: "string" },
    ga: { type: "string" },
    "blocked-share": { type: "string", default: "0.01" },
    "admit-per-minute": { type: "string" },
    "max-active": { type: "string" },
    "checkout-window": { type: "string", default: "60" },
    "hold-ttl": { type: "string", default: "60" },
    "arrival-s": { type: "string" },
    "max-sale-s": { type: "string" },
    "join-concurrency": { type: "string" },
    "poll-concurrency": { type: "string" },
    "poll-mode": { type: "string", default: "smart" },
    "race-seconds": { type: "string" },
    "race-rounds": { type: "string" },
    "race-connections": { type: "string", default: "32" },
    "no-race": { type: "boolean", default: false },
    target: { type: "string", default: "miniflare" },
    "pg-auth": { type: "string", default: "password" },
    "pg-pool": { type: "string", default: "transaction" },
    "max-minutes": { type: "string" },
    seed: { type: "string", default: "20261122" },
    keep: { type: "boolean", default: false },
    chaos: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});

if (args.help) {
  console.log(`npm run bench:onsale -- [options]
  --quick                  a smoke run: 360 seats, 3,000 fans, short race (< 2 minutes)
  --seats 50000            stadium capacity (sections of 25 rows × 40 seats)
  --ga 2000                general-admission floor sold by quantity (quick: 60; 0: none)
  --fans 100000            simulated fans
  --blocked-share 0.01     seats the organizer blocks before the sale (production kills)
  --admit-per-minute N     waiting-room admission rate (default sized to this machine, see README)
  --max-active N           waiting-room cap on active checkouts (default 2 × rate × window)
  --checkout-window 60     admission token lifetime, seconds (API minimum 60)
  --hold-ttl 60            hold TTL, seconds (API minimum 60)
  --arrival-s N            the crowd arrives over N seconds (half of it in the first fifth)
  --max-sale-s N           time bound of the sale (default 1,500 s, quick 90 s; a minute more with --chaos);
                           a sell-out lifts it until the line has been told
  --join-concurrency 32    joins in flight at once (the rest of the crowd waits at the door)
  --poll-concurrency 64    polls in flight at once (a due poll waiting for a slot is reported as lateness)
  --poll-mode smart        smart: poll_after_ms at the front, stretched far back (README);
                           server: exactly poll_after_ms for everyone
  --race-seconds N --race-rounds N --race-connections 32   the side-by-side hold race
  --no-race                skip the side-by-side
  --target miniflare       miniflare (workerd directly), split (the same, with the Durable Objects
                           in a workerd process of their own, as production runs them apart from
                           the Worker) or wrangler (wrangler dev)
  --pg-auth password       password: the embedded default (SCRAM, once per new backend);
                           trust: the bench's throwaway cluster trusts 127.0.0.1 (see README)
  --pg-pool transaction    transaction: the tunnel lends pooled backends per transaction, as
                           Neon's pooled endpoint does (README); off: a new backend per connection
  --max-minutes N          hard stop for the whole run (default 40, quick 6)
  --seed N                 the crowd's random choices
  --chaos                  mid-sale, Postgres frozen 10 s, then Stripe failing 10 s (bench/onsale/chaos.mjs);
                           prints the chaos line (requests during faults, p99, 503s, other 5xx, recovery)
  --keep                   keep .data/bench-onsale-<timestamp>/ (logs, state) afterwards`);
  process.exit(0);
}

const quick = args.quick;
const num = (value, fallback) => (value === undefined ? fallback : Number(value));
const seats = num(args.seats, quick ? 360 : 50_000);
// The general-admission floor, sold by quantity next to the seats (--ga 0: none).
const gaCapacity = num(args.ga, quick ? 60 : 2_000);
// --quick: four small sections (one per tier) so the smoke run can sell out in about a minute.
const layout = quick && args.seats === undefined ? { rows: 6, perRow: 15 } : { rows: 25, perRow: 40 };
const holdTtlS = num(args["hold-ttl"], 60);
const checkoutWindowS = num(args["checkout-window"], 60);
// Group sizes (ticket limit 8): families and friends, a few singles.
const quantities = { 1: 0.04, 2: 0.22, 3: 0.06, 4: 0.3, 5: 0.05, 6: 0.18, 8: 0.15 };
const meanQuantity = Object.entries(quantities).reduce((n, [q, w]) => n + Number(q) * w, 0);
const mix = { abandon: 0.05, decline: 0.1 };
const admitPerMinute = num(args["admit-per-minute"], quick ? 600 : 800);
const opts = {
  quick,
  target: args.target,
  seats,
  gaCapacity,
  gaShare: 0.15,
  layout,
  fans: num(args.fans, quick ? 3_000 : 100_000),
  blockedShare: Number(args["blocked-share"]),
  holdTtlS,
  checkoutWindowS,
  ticketLimit: 8,
  admitPerMinute,
  maxActive: num(args["max-active"], Math.ceil((2 * admitPerMinute * checkoutWindowS) / 60)),
  arrivalS: num(args["arrival-s"], quick ? 8 : 300),
  // --chaos spends 20 s of the sale with a dependency down: the bound grows by a minute.
  maxSaleS: num(args["max-sale-s"], (quick ? 90 : 1500) + (args.chaos ? 60 : 0)),
  joinConcurrency: num(args["join-concurrency"], 32),
  pollConcurrency: num(args["poll-concurrency"], 64),
  pollMode: args["poll-mode"],
  pollEtaFactor: 0.5,
  // Smart-mode fans far back poll at least this often (quick: a minute, so the run stays short).
  maxPollGapMs: quick ? 60_000 : 270_000,
  quantities,
  meanQuantity,
  mix,
  think: { pick: [300, 1500], order: [500, 2000], pay: [800, 2500] },
  explicitShare: 0.7,
  maxHoldConflicts: 4,
  refreshMs: 1000,
  graceS: 45,
  statsEveryMs: quick ? 1500 : 3000,
  // After the sell-out the crowd runs on until Onsale has told the line (fans leave when told);
  // this is only the bound for a build that never tells them: the longest a fan may go between
  // polls (smart-mode fans far back stretch theirs), plus a little.
  tellBoundMs: args["poll-mode"] === "server" ? 30_000 : (quick ? 60_000 : 270_000) + 15_000,
  progressEveryMs: quick ? 3000 : 5000,
  cronEveryMs: 60_000,
  race: !args["no-race"],
  raceSeconds: num(args["race-seconds"], quick ? 5 : 15),
  raceRounds: num(args["race-rounds"], quick ? 1 : 2),
  raceConnections: num(args["race-connections"], 32),
  raceLagMs: 1000,
  pgAuth: args["pg-auth"],
  pgPool: args["pg-pool"],
  maxMinutes: num(args["max-minutes"], quick ? 6 : 40),
  seed: Number(args.seed),
  // Mid-sale: Postgres frozen at postgresAtS, Stripe failing at stripeAtS, each for faultS.
  chaos: args.chaos ? { postgresAtS: quick ? 10 : 90, stripeAtS: quick ? 25 : 120, faultS: 10 } : null,
};
if (!["miniflare", "split", "wrangler"].includes(opts.target)) {
  throw new Error("--target is miniflare, split or wrangler");
}
if (!["smart", "server"].includes(opts.pollMode)) throw new Error("--poll-mode is smart or server");
if (!["transaction", "off"].includes(opts.pgPool)) throw new Error("--pg-pool is transaction or off");

const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
const workDir = path.join(root, ".data", `bench-onsale-${stamp}-${process.pid}`);
const resultsDir = path.join(root, "bench-results");
mkdirSync(workDir, { recursive: true });
mkdirSync(resultsDir, { recursive: true });
const t0 = performance.now();
const log = (message) =>
  console.log(`[onsale ${((performance.now() - t0) / 1000).toFixed(0).padStart(3)}s] ${message}`);
const fmt = (n) => (n === null || n === undefined ? "–" : Math.round(n).toLocaleString("en-US"));

// ── cleanup and the hard time limit ──────────────────────────────────────────────────────

const cleanups = [];
const children = new Set();
let finished = false;
async function cleanup() {
  for (const child of children) {
    try {
      child.kill("SIGKILL");
    } catch {}
  }
  for (const step of cleanups.splice(0).reverse()) {
    try {
      await step();
    } catch (error) {
      console.error(`[onsale] cleanup: ${error instanceof Error ? error.message : error}`);
    }
  }
  if (!args.keep) rmSync(workDir, { recursive: true, force: true });
}
async function abort(reason, code = 1) {
  if (finished) return;
  finished = true;
  console.error(`[onsale] ${reason}`);
  await cleanup();
  process.exit(code);
}
const hardStop = setTimeout(
  () => abort(`stopped: the run exceeded --max-minutes ${opts.maxMinutes}`, 2),
  opts.maxMinutes * 60_000,
);
process.on("SIGINT", () => abort("interrupted", 130));
process.on("SIGTERM", () => abort("terminated", 143));

// ── the load generator process ───────────────────────────────────────────────────────────

async function startLoadgen() {
  const child = fork(path.join(root, "bench", "onsale", "fans.mjs"), [], {
    cwd: root,
    execPath: nodeBin,
    execArgv: ["--max-old-space-size=4096"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  children.add(child);
  await new Promise((resolve, reject) => {
    child.once("message", (m) => (m?.type === "ready" ? resolve() : reject(new Error("load generator not ready"))));
    child.once("exit", (code) => reject(new Error(`load generator exited (${code})`)));
  });
  return child;
}

function runOnLoadgen(child, message, { onProgress, timeoutMs }) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the load generator did not finish in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onExit = (code) => {
      clearTimeout(timer);
      reject(new Error(`load generator exited (${code})`));
    };
    const onMessage = (m) => {
      if (m.type === "progress") onProgress?.(m.progress);
      else if (m.type === "result" || m.type === "error") {
        clearTimeout(timer);
        child.off("message", onMessage);
        child.off("exit", onExit);
        if (m.type === "result") resolve(m.result);
        else reject(new Error(m.message));
      }
    };
    child.on("message", onMessage);
    child.once("exit", onExit);
    child.send(message);
  });
}

// ── the stack ────────────────────────────────────────────────────────────────────────────

/** The bench's own throwaway cluster: trust 127.0.0.1 (see README, "Postgres connections"). */
async function trustLoopback(url, dataDir) {
  const hba = path.join(dataDir, "pg_hba.conf");
  writeFileSync(hba, readFileSync(hba, "utf8").replace(/\b(password|scram-sha-256|md5)\b/g, "trust"));
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query("SELECT pg_reload_conf()");
  await client.end();
}

function blockedSeats(stadium, share) {
  // Production kills: the back rows of the sections behind the stage (the last sections).
  const want = Math.round(stadium.seatCount * share);
  const out = [];
  for (let s = stadium.sections.length - 1; s >= 0 && out.length < want; s--) {
    const rows = stadium.sections[s].seats;
    for (let r = rows.length - 1; r >= 0 && out.length < want; r--) {
      for (const seat of rows[r]) if (out.length < want) out.push(seat);
    }
  }
  return out;
}

async function doCalls(base) {
  return (await call(base, "GET", "/__bench/do-calls", { expect: 200 })).body;
}

function diffCalls(before, after) {
  const out = {};
  for (const [route, methods] of Object.entries(after.calls)) {
    for (const [method, n] of Object.entries(methods)) {
      const d = n - (before.calls[route]?.[method] ?? 0);
      if (!d) continue;
      out[route] ??= {};
      out[route][method] = d;
    }
  }
  return out;
}

// ── the flash crowd ──────────────────────────────────────────────────────────────────────

async function flashCrowd({
  target,
  stadium,
  organizerKey,
  databaseUrl,
  tokenConfig,
  blocked,
  stripe,
  whileHoldsExpire,
}) {
  const base = target.url;
  const showId = stadium.flashShowId;
  const room = {
    enabled: true,
    admit_per_minute: opts.admitPerMinute,
    max_active: opts.maxActive,
    checkout_window_s: opts.checkoutWindowS,
    paused: false,
  };
  const roomAfter = await configureWaitingRoom(base, { organizerKey, showId, room });
  log(
    `waiting room on: ${fmt(roomAfter.admit_per_minute)} admissions a minute, max ${fmt(roomAfter.max_active)} active checkouts, ${roomAfter.checkout_window_s} s checkout window; hold TTL ${opts.holdTtlS} s`,
  );
  const sellable = stadium.seatCount + (stadium.ga?.capacity ?? 0) - blocked.length;
  const loadgen = await startLoadgen();
  const callsBefore = await doCalls(base);
  const timeline = [];
  let latest = null;
  let stopSent = null;
  let soldOutAt = null;
  const saleStart = Date.now();
  const chaos = opts.chaos
    ? runChaos({ loadgen, stripe, pgDataDir: path.join(workDir, "postgres"), saleStart, log, ...opts.chaos })
    : null;
  if (chaos) cleanups.push(chaos.thaw);
  const cpuWindow = startCpuWindow(target.processGroups(), "orchestrator (tunnel, Stripe stand-in)");
  const pg0 = postgresCpuSeconds();
  const crons = [];
  // What Postgres backends are doing, sampled with every stats read (one connection of our own).
  const pgWatch = new pg.Client({ connectionString: databaseUrl });
  pgWatch.on("error", () => {});
  await pgWatch.connect();
  const pgSamples = { samples: 0, backends: 0, by_state: {}, peak_backends: 0 };
  const samplePostgres = async () => {
    const { rows } = await pgWatch.query(
      `SELECT coalesce(state, '?') AS state, coalesce(wait_event_type, '') AS wtype, coalesce(wait_event, '') AS wevent,
              count(*)::int AS n
         FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
        GROUP BY 1, 2, 3`,
    );
    pgSamples.samples++;
    let total = 0;
    for (const r of rows) {
      const key = `${r.state}${r.wtype ? ` · ${r.wtype}:${r.wevent}` : ""}`;
      pgSamples.by_state[key] = (pgSamples.by_state[key] ?? 0) + r.n;
      total += r.n;
    }
    pgSamples.backends += total;
    pgSamples.peak_backends = Math.max(pgSamples.peak_backends, total);
  };

  const statsLoop = (async () => {
    let lastProgress = 0;
    let lastCron = Date.now();
    while (!stopSent || timeline.length === 0 || timeline.at(-1).t_s < (stopSent - saleStart) / 1000 + 1) {
      const [stats, sales] = await Promise.all([
        call(base, "GET", `/v1/admin/shows/${showId}/waiting-room`, { token: organizerKey }),
        call(base, "GET", `/v1/admin/shows/${showId}/sales`, { token: organizerKey }),
        samplePostgres().catch(() => {}),
      ]);
      const t = (Date.now() - saleStart) / 1000;
      if (stats.status === 200 && sales.status === 200) {
        const k = sales.body.counts;
        const point = {
          t_s: t,
          queued: stats.body.queued,
          watermark: stats.body.watermark,
          active_checkouts: stats.body.active_checkouts,
          admitted_last_minute: stats.body.admitted_last_minute,
          held: k.held,
          sold: k.sold,
          available: k.available,
          arrived: latest?.arrived ?? 0,
          joined: latest?.joined ?? 0,
          admitted: latest?.admitted ?? 0,
          paid: latest?.paid ?? 0,
          errors: latest?.errors ?? 0,
          join_backlog: latest?.join_backlog ?? 0,
        };
        timeline.push(point);
        if (!soldOutAt && k.available === 0 && k.held === 0) {
          soldOutAt = Date.now();
          loadgen.send({ type: "sold_out_seen" });
          log(`sold out: ${fmt(k.sold)} seats sold, ${fmt(k.blocked)} blocked, nothing held or available`);
        }
        if (!stopSent && soldOutAt && Date.now() - soldOutAt >= opts.tellBoundMs) {
          stopSent = Date.now();
          loadgen.send({ type: "stop", reason: "sold_out" });
        }
        if (Date.now() - lastProgress >= opts.progressEveryMs) {
          lastProgress = Date.now();
          log(
            `arrived ${fmt(point.arrived)} joined ${fmt(point.joined)} (door ${fmt(point.join_backlog)}) · queue ${fmt(point.queued)} · admitted ${fmt(point.admitted)} (active ${fmt(point.active_checkouts)}) · held ${fmt(k.held)} · sold ${fmt(k.sold)}/${fmt(sellable)} (${((k.sold / sellable) * 100).toFixed(1)}%) · paid orders ${fmt(point.paid)} · errors ${fmt(point.errors)}`,
          );
        }
      } else {
        log(`stats unavailable (${stats.status}, ${sales.status})`);
      }
      if (Date.now() - lastCron >= opts.cronEveryMs) {
        lastCron = Date.now();
        // The every-minute cron (reconciliation + outbox), as production runs it.
        crons.push(
          call(base, "POST", "/__bench/scheduled").then((r) => ({ at_s: (Date.now() - saleStart) / 1000, ...r.body })),
        );
      }
      await sleep(opts.statsEveryMs);
    }
  })();

  const fanConfig = {
    url: base,
    showId,
    fans: opts.fans,
    seed: opts.seed,
    token: tokenConfig,
    fanPrefix: `fan_${stamp}_`,
    sections: stadium.sections.map((s) => ({ id: s.id, seats: s.seats })),
    ga: stadium.ga,
    gaShare: opts.gaShare,
    blocked,
    arrival: { seconds: opts.arrivalS, frontShare: 0.5, frontWindow: 0.2 },
    joinConcurrency: opts.joinConcurrency,
    pollConcurrency: opts.pollConcurrency,
    pollMode: opts.pollMode,
    pollEtaFactor: opts.pollEtaFactor,
    maxPollGapMs: opts.maxPollGapMs,
    quantities: opts.quantities,
    explicitShare: opts.explicitShare,
    maxHoldConflicts: opts.maxHoldConflicts,
    mix: opts.mix,
    think: opts.think,
    refreshMs: opts.refreshMs,
    maxSaleS: opts.maxSaleS,
    graceS: opts.graceS,
    abandonUntilS: Math.max(0, opts.maxSaleS - opts.holdTtlS - 10),
    fetchTickets: true,
    checkoutWindowMs: roomAfter.checkout_window_s * 1000,
    requestTimeoutMs: 30_000,
  };
  log(
    `the crowd: ${fmt(opts.fans)} fans arriving over ${opts.arrivalS} s for ${fmt(sellable)} seats (mean group ${opts.meanQuantity.toFixed(2)}); sale bound ${opts.maxSaleS} s`,
  );
  const result = await runOnLoadgen(
    loadgen,
    { type: "flash", config: fanConfig },
    {
      timeoutMs: (opts.maxSaleS + opts.tellBoundMs / 1000 + opts.graceS + 120) * 1000,
      onProgress: (p) => {
        latest = p;
        if (p.stopping && !stopSent) stopSent = Date.now();
      },
    },
  );
  if (!stopSent) stopSent = Date.now();
  const saleEnd = Date.now();
  let chaosResult = null;
  if (chaos) {
    chaosResult = chaosSummary(await chaos.done, result.chaos_log);
    log(chaosResult.line);
  }
  delete result.chaos_log;
  // The organizer closes the room at the end of the sale: no more admissions ticking meanwhile.
  await configureWaitingRoom(base, { organizerKey, showId, room: { paused: true } }).catch(() => {});
  const cpu = cpuWindow.stop({ "load generator (fans)": result.cpu_s });
  if (cpu) {
    cpu.cores.postgres = (postgresCpuSeconds() - pg0) / cpu.wall_s;
    cpu.outside_cores = Math.max(0, cpu.machine_cores - Object.values(cpu.cores).reduce((a, b) => a + b, 0));
  }
  await statsLoop;
  await pgWatch.end();
  loadgen.kill("SIGKILL");
  children.delete(loadgen);
  log(
    `sale stopped (${result.stop_reason}) after ${result.sale_s.toFixed(0)} s: ${fmt(result.counters.paid)} orders paid, ${fmt(result.counters.seats_paid)} seats; fans in checkout at the stop: ${result.counters.in_checkout}`,
  );

  // Webhooks still in flight settle, then the DO must show no hold past its expiry.
  await sleep(3000);
  const callsAfter = await doCalls(base);
  const lastExpiryMs = Math.max(0, ...result.abandoned_holds.map((h) => h.expires_at_ms));
  // The side-by-side runs meanwhile: it touches other shows' DOs (and another Worker), so the
  // flash show's DO is left alone with its alarm while the last holds run out.
  const [expiry, sideBySide] = await Promise.all([
    waitForHoldExpiry({ base, organizerKey, databaseUrl, showId, lastExpiryMs, slackMs: 5000, log }),
    whileHoldsExpire?.() ?? null,
  ]);
  log("verifying the sale against Postgres, the Show DO and the Stripe stand-in");
  const verification = await verifySale({
    base,
    organizerKey,
    databaseUrl,
    showId,
    stadium,
    blocked,
    fanResult: result,
    stripeEvents: stripe.events(),
    signToken: fanTokenSigner(tokenConfig),
    log,
  });
  verification.checks.no_hold_past_expiry = expiry;
  verification.ok = verification.ok && expiry.ok;
  // One more cron pass after the sale: reconciliation must find nothing to repair.
  const cron = await call(base, "POST", "/__bench/scheduled");
  const reconciliation = (await salesOf(base, organizerKey, showId)).last_reconciliation;
  const cronRuns = await Promise.all(crons);

  // The last ticket's creation is the sell-out instant (Postgres clock = this machine's).
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const lastTicket = (
    await client.query(
      "SELECT max(created_at) AS at, count(*)::int AS n FROM tickets WHERE show_id = $1 AND status IN ('valid', 'checked_in')",
      [showId],
    )
  ).rows[0];
  await client.end();
  const soldOut = verification.checks.counts_add_up.available === 0 && verification.checks.counts_add_up.held === 0;
  const sellOutS = soldOut && lastTicket.at ? (new Date(lastTicket.at).getTime() - saleStart) / 1000 : null;
  const ratePerS = opts.admitPerMinute / 60;
  const successShare = 1 - opts.mix.abandon - opts.mix.decline;
  const ideal = {
    admit_per_s: ratePerS,
    mean_group: opts.meanQuantity,
    success_share: successShare,
    every_admitted_fan_buys_s: sellable / (ratePerS * opts.meanQuantity),
    with_the_mix_s: sellable / (ratePerS * opts.meanQuantity * successShare),
  };
  // The pace over the second half of the sale (the crowd is in, the room is admitting steadily).
  const half = timeline.filter((p) => p.t_s >= (saleEnd - saleStart) / 2000);
  const steady =
    half.length >= 2 ? (half.at(-1).sold - half[0].sold) / Math.max(1, half.at(-1).t_s - half[0].t_s) : null;
  const admissionPace = ratePerS * opts.meanQuantity * successShare;
  const firstSweep = timeline.find((p) => p.available === 0 && p.t_s > 0);
  const truth = queueTruth({
    fans: result,
    ticks: (await call(base, "GET", `/__bench/admissions?show=${showId}`, { expect: 200 })).body,
    sellOutAtMs: soldOut && lastTicket.at ? new Date(lastTicket.at).getTime() : soldOutAt,
  });
  log(queueTruthLine(truth));
  log(
    `  told at their first poll after the sell-out: ${truth.told_at_first_poll_after} of ${truth.polled_after_sell_out} who polled since; ${truth.told_at_join} arrivals told at the join; ${truth.admissions} admissions`,
  );
  return {
    show_id: showId,
    sellable,
    room: roomAfter,
    sale: {
      seats_per_s_second_half: steady,
      seats_per_s_admission_allows: admissionPace,
      pace_vs_admission: steady ? steady / admissionPace : null,
      projected_sell_out_s: !soldOut && steady ? sellable / steady : null,
      first_sweep_s: firstSweep?.t_s ?? null,
      stop_reason: result.stop_reason,
      sold_out: soldOut,
      sell_out_s: sellOutS,
      sale_s: (saleEnd - saleStart) / 1000,
      ideal,
      vs_ideal: sellOutS ? sellOutS / ideal.with_the_mix_s : null,
      seats_sold: verification.checks.counts_add_up.sold,
    },
    queue_truth: truth,
    fans: result,
    timeline,
    cpu,
    postgres_activity: {
      samples: pgSamples.samples,
      mean_backends: pgSamples.samples ? pgSamples.backends / pgSamples.samples : 0,
      peak_backends: pgSamples.peak_backends,
      mean_by_state: Object.fromEntries(
        Object.entries(pgSamples.by_state)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => [k, Math.round((v / Math.max(1, pgSamples.samples)) * 10) / 10]),
      ),
    },
    do_calls: diffCalls(callsBefore, callsAfter),
    standin_queue: callsAfter.standin_queue,
    verification,
    cron_runs: cronRuns,
    final_cron: cron.body,
    reconciliation,
    side_by_side: sideBySide,
    ...(chaosResult ? { chaos: chaosResult } : {}),
  };
}

// ── the side-by-side ─────────────────────────────────────────────────────────────────────

async function holdRace({ onsale, baseline, stadium, tokenConfig, databaseUrl, organizerKey }) {
  const loadgen = await startLoadgen();
  const rounds = [];
  try {
    for (let round = 0; round < opts.raceRounds; round++) {
      const designs = round % 2 === 0 ? ["onsale", "baseline"] : ["baseline", "onsale"];
      for (const design of designs) {
        const target = design === "onsale" ? onsale : baseline;
        const showId = design === "onsale" ? stadium.raceShowIds[round] : `race_${stamp}_${round}`;
        if (design === "baseline") await loadBaselineShow(databaseUrl, showId, stadium);
        const window = startCpuWindow(target.processGroups(), "orchestrator (tunnel)");
        const pg0 = postgresCpuSeconds();
        const result = await runOnLoadgen(
          loadgen,
          {
            type: "race",
            config: {
              url: target.url,
              design,
              showId,
              connections: opts.raceConnections,
              durationS: opts.raceSeconds,
              seed: opts.seed + round,
              lagMs: opts.raceLagMs,
              quantities: opts.quantities,
              sections: stadium.sections.map((s) => ({ id: s.id, seats: s.seats })),
              token: tokenConfig,
              fanPrefix: `racer_${stamp}_${design}_${round}_`,
              maxHoldConflicts: opts.maxHoldConflicts,
            },
          },
          { timeoutMs: (opts.raceSeconds + 60) * 1000 },
        );
        const cpu = window.stop({ "load generator": result.cpu_s });
        if (cpu) {
          cpu.cores.postgres = (postgresCpuSeconds() - pg0) / cpu.wall_s;
          cpu.outside_cores = Math.max(0, cpu.machine_cores - Object.values(cpu.cores).reduce((a, b) => a + b, 0));
        }
        const { held_seats: heldSeats, ...rest } = result;
        let check;
        if (design === "baseline") check = await verifyBaselineShow(databaseUrl, showId, heldSeats);
        else {
          const sales = await salesOf(onsale.url, organizerKey, showId);
          const twice = heldSeats.length - new Set(heldSeats).size;
          check = {
            show_id: showId,
            seats_held_in_do: sales.counts.held,
            seats_confirmed_to_clients: heldSeats.length,
            seats_confirmed_twice: twice,
            ok: twice === 0 && sales.counts.held === heldSeats.length,
          };
        }
        rounds.push({ round, ...rest, cpu, check });
        log(
          `race round ${round + 1} ${design.padEnd(8)}: ${result.holds_per_s.toFixed(0)} holds/s (${result.seats_per_s.toFixed(0)} seats/s), p95 ${result.latency_ms.p95?.toFixed(0)} ms, ${(result.conflict_share * 100).toFixed(0)}% 409, errors ${JSON.stringify(result.errors)} · check ${check.ok ? "OK" : "FAILED"}`,
        );
      }
    }
  } finally {
    loadgen.kill("SIGKILL");
    children.delete(loadgen);
  }
  const median = (values) => {
    const v = [...values].sort((a, b) => a - b);
    return v.length ? (v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2) : null;
  };
  const summary = (design) => {
    const rs = rounds.filter((r) => r.design === design);
    return {
      rounds: rs.length,
      holds_per_s: median(rs.map((r) => r.holds_per_s)),
      seats_per_s: median(rs.map((r) => r.seats_per_s)),
      requests_per_s: median(rs.map((r) => r.requests_per_s)),
      p50_ms: median(rs.map((r) => r.latency_ms.p50)),
      p95_ms: median(rs.map((r) => r.latency_ms.p95)),
      p99_ms: median(rs.map((r) => r.latency_ms.p99)),
      conflict_share: median(rs.map((r) => r.conflict_share)),
      errors: rs.reduce((n, r) => n + Object.values(r.errors).reduce((a, b) => a + b, 0), 0),
      cores: rs[0]?.cpu?.cores ?? null,
      machine_cores: median(rs.map((r) => r.cpu?.machine_cores ?? null).filter((x) => x !== null)),
      checks_ok: rs.every((r) => r.check.ok),
    };
  };
  const o = summary("onsale");
  const b = summary("baseline");
  return {
    connections: opts.raceConnections,
    seconds: opts.raceSeconds,
    lag_ms: opts.raceLagMs,
    onsale: o,
    baseline: b,
    ratio_holds_per_s: o.holds_per_s && b.holds_per_s ? o.holds_per_s / b.holds_per_s : null,
    ratio_p95: o.p95_ms && b.p95_ms ? b.p95_ms / o.p95_ms : null,
    rounds,
  };
}

/** This machine's ceiling for the Worker, measured before the sale: the no-op routes. */
async function calibrate(base) {
  const client = createClient(base);
  const seconds = opts.quick ? 1 : 2;
  const rate = async (path) => {
    const until = performance.now() + seconds * 1000;
    let done = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (performance.now() < until) if ((await client.request("GET", path)).status === 200) done++;
      }),
    );
    return done / seconds;
  };
  try {
    await rate("/v1/dev/noop");
    return { noop_per_s: await rate("/v1/dev/noop"), noop_do_per_s: await rate("/v1/dev/noop-do/shw_calibration") };
  } finally {
    client.close();
  }
}

// ── main ─────────────────────────────────────────────────────────────────────────────────

function version(pkg) {
  try {
    return JSON.parse(readFileSync(path.join(root, "node_modules", pkg, "package.json"), "utf8")).version;
  } catch {
    return null;
  }
}

const result = {
  started_at: new Date().toISOString(),
  command: `npm run bench:onsale${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
  options: opts,
  machine: {
    cores: coreCount,
    cpu: os.cpus()[0]?.model ?? "?",
    memory_gb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    workerd: version("@cloudflare/workerd-linux-64"),
    wrangler: version("wrangler"),
    load_average_at_start: os.loadavg(),
  },
};

try {
  if (process.env.DATABASE_URL) throw new Error("bench:onsale uses its own embedded Postgres; unset DATABASE_URL");
  const db = await startDatabase({ dir: workDir, log, pooling: opts.pgPool === "transaction" });
  cleanups.push(db.stop);
  if (opts.pgAuth === "trust") await trustLoopback(db.url, path.join(workDir, "postgres"));
  log(
    `Postgres connections: ${opts.pgAuth === "trust" ? "trust on 127.0.0.1 (no password hashing)" : "password (SCRAM)"}; ${opts.pgPool === "transaction" ? "the tunnel lends pooled backends per transaction, as Neon's pooler does" : "no pooling: a new backend per Worker connection"}`,
  );
  await createBaselineTables(db.url);
  log("bundling the Worker once (wrangler deploy --dry-run), then the bench wrapper and the baseline Worker");
  const bundle = await buildBundle({ dir: workDir });
  const workers = await buildWorkers({ dir: workDir, onsaleBundle: bundle });

  const webhookSecret = `whsec_${randomBytes(24).toString("hex")}`;
  const stripe = await startStripeStandin({ port: 0, webhookSecret });
  cleanups.push(() => stripe.close());
  const organizerKey = `osk_bench_${randomBytes(24).toString("hex")}`;
  const { vars, fanSecret } = benchWorkerVars({ db, stripe: { url: stripe.url, webhookSecret } });
  const targets = {
    miniflare: ["workerd directly (Miniflare)", startMiniflare],
    split: [
      "workerd directly, the Durable Objects in a process of their own",
      (o) => startMiniflare({ ...o, split: true }),
    ],
    wrangler: ["wrangler dev", startWrangler],
  };
  const [targetLabel, start] = targets[opts.target];
  log(`starting the Worker on ${targetLabel}`);
  const target = await start({ dir: workDir, bundle: workers.onsale, vars });
  cleanups.push(target.stop);
  stripe.setWebhookUrl(`${target.url}/v1/webhooks/stripe`);
  result.target = { name: target.name, label: target.label };
  for (const probe of ["/healthz", "/__bench/do-calls"]) await call(target.url, "GET", probe, { expect: 200 });
  result.calibration = await calibrate(target.url);
  log(
    `calibration (16 connections, ${opts.quick ? 1 : 2} s each, client in this process): no-op route ${fmt(result.calibration.noop_per_s)} req/s, Worker → DO no-op ${fmt(result.calibration.noop_do_per_s)} req/s`,
  );

  const stadium = await createStadium(target.url, {
    organizerKey,
    capacity: opts.seats,
    layout: opts.layout,
    gaCapacity: opts.gaCapacity,
    holdTtlS: opts.holdTtlS,
    ticketLimit: opts.ticketLimit,
    raceShows: opts.race ? opts.raceRounds : 0,
    log,
  });
  const blocked = blockedSeats(stadium, opts.blockedShare);
  if (blocked.length) {
    await call(target.url, "POST", `/v1/admin/shows/${stadium.flashShowId}/seats/block`, {
      token: organizerKey,
      json: { seat_ids: blocked, reason: "production_kill" },
      expect: 200,
    });
    log(`${fmt(blocked.length)} seats blocked by the organizer (production kills)`);
  }
  result.stadium = {
    seats: stadium.seatCount,
    sections: stadium.sections.length,
    ga_capacity: stadium.ga?.capacity ?? 0,
    tiers: stadium.tiers.map((t) => ({ name: t.name, price_cents: t.price_cents, sections: t.sections.length })),
    blocked: blocked.length,
  };
  const { FAN_JWT_ISSUER: issuer, FAN_JWT_AUDIENCE: audience } = wranglerVars();
  const tokenConfig = { secret: fanSecret, issuer, audience };

  const sideBySide = async () => {
    log("the side-by-side: starting the baseline Worker (classic Postgres rows) on workerd through Miniflare");
    const baselineDir = path.join(workDir, "baseline");
    mkdirSync(baselineDir, { recursive: true });
    const baseline = await startMiniflare({ dir: baselineDir, bundle: workers.baseline, vars });
    cleanups.push(baseline.stop);
    try {
      return await holdRace({ onsale: target, baseline, stadium, tokenConfig, databaseUrl: db.url, organizerKey });
    } finally {
      await baseline.stop();
    }
  };
  const flash = await flashCrowd({
    target,
    stadium,
    organizerKey,
    databaseUrl: db.url,
    tokenConfig,
    blocked,
    stripe,
    whileHoldsExpire: opts.race ? sideBySide : undefined,
  });
  const { side_by_side: race, ...flashRest } = flash;
  result.flash = flashRest;
  if (race) result.race = race;

  result.finished_at = new Date().toISOString();
  result.duration_s = (performance.now() - t0) / 1000;
  result.ok =
    result.flash.verification.ok && (!result.race || (result.race.onsale.checks_ok && result.race.baseline.checks_ok));
  const base = path.join(resultsDir, `onsale-${stamp}`);
  const { holds_created: _h, paid_orders: _p, abandoned_holds: abandoned, ...fansRest } = result.flash.fans;
  const saved = {
    ...result,
    flash: { ...result.flash, fans: { ...fansRest, abandoned_holds: abandoned.length } },
  };
  writeFileSync(`${base}.json`, `${JSON.stringify(saved, null, 2)}\n`);
  writeFileSync(`${base}.svg`, svgChart(saved));
  writeFileSync(`${base}.md`, markdownReport(saved, path.basename(`${base}.svg`)));
  console.log(`\n${consoleSummary(saved)}`);
  if (saved.flash.chaos) console.log(saved.flash.chaos.line);
  console.log(`\n${result.duration_s.toFixed(0)} s in all. Results: ${path.relative(root, base)}.{json,md,svg}`);
  finished = true;
  clearTimeout(hardStop);
  await cleanup();
  process.exit(result.ok ? 0 : 1);
} catch (error) {
  await abort(error instanceof Error ? (error.stack ?? error.message) : String(error), 1);
}
