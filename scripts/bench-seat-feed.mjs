// `npm run bench:seat-feed`: W fans watching one show's live seat map while holds run.
//
//   npm run bench:seat-feed -- [--watchers 5000] [--holds 40] [--skip-do-cost]
//
// 1. Update latency, end to end as fans see it: the Worker bundle served by workerd
//    (bench/miniflare-host.mjs, embedded Postgres behind it for the catalog), W WebSockets opened
//    from this Node process through the public route (`GET /v1/shows/{id}/seat-map/live`, the
//    Worker picks each socket's feed object), then holds placed one after another through
//    `POST /v1/shows/{id}/holds`. For each hold: from its response arriving here to the last of
//    the W sockets receiving the delta that names its seat. The clients are outside workerd, as
//    browsers are: workerd only sends. Target p95 < 1 s.
// 2. The Show DO's µs per change with W watchers vs with 0 (bench/seat-feed.inside-do.ts, timed
//    inside the object in @cloudflare/vitest-plugin's workerd; holds plus the publication they
//    cause). Target ratio ≤ 1.2.
// Prints one line: `watchers <W>, update p50/p95 <ms>, Show DO µs per change with W watchers vs
// with 0 watchers <ratio>`.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { call, createBenchShows, signFanTokens } from "../bench/lib/api.mjs";
import {
  benchWorkerVars,
  buildBundle,
  root,
  startDatabase,
  startMiniflare,
  wranglerVars,
} from "../bench/lib/stack.mjs";

const { values: args } = parseArgs({
  options: {
    watchers: { type: "string", default: "5000" },
    holds: { type: "string", default: "40" },
    "skip-do-cost": { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
  },
});
const W = Number(args.watchers);
const HOLDS = Number(args.holds);

const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
const workDir = path.join(root, ".data", `bench-feed-${stamp}-${process.pid}`);
mkdirSync(workDir, { recursive: true });
const t0 = performance.now();
const log = (message) =>
  console.log(`[bench-feed ${((performance.now() - t0) / 1000).toFixed(0).padStart(3)}s] ${message}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const sorted = (xs) => [...xs].sort((a, b) => a - b);
const pct = (xs, p) => sorted(xs)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];

const cleanups = [];
async function cleanup() {
  for (const step of cleanups.splice(0).reverse()) await step().catch(() => {});
  if (!args.keep) rmSync(workDir, { recursive: true, force: true });
}
process.on("SIGINT", () => cleanup().then(() => process.exit(130)));

/** Opens W sockets, 200 at a time; each arrival of a seat in a delta is tallied per seat. */
async function openWatchers(base, showId, section) {
  const url = `${base.replace(/^http/, "ws")}/v1/shows/${showId}/seat-map/live?sections=${section}`;
  /** seat → { count: sockets that have it, last: when the last of them got it (ms) } */
  const arrivals = new Map();
  const sockets = [];
  let closedEarly = 0;
  const openOne = () =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.on("message", (data) => {
        const message = JSON.parse(data.toString());
        if (message.type !== "delta" || !message.seats) return;
        const now = Date.now();
        for (const seat of Object.keys(message.seats)) {
          const seen = arrivals.get(seat) ?? { count: 0, last: 0 };
          seen.count++;
          seen.last = now;
          arrivals.set(seat, seen);
        }
      });
      ws.once("open", () => resolve(ws));
      ws.once("error", reject);
      ws.once("close", () => closedEarly++);
    });
  for (let i = 0; i < W; i += 200) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(200, W - i) }, openOne))));
  }
  return { arrivals, sockets, closedEarly: () => closedEarly };
}

/** The inside-DO figure: the Show DO's cost per change with W watchers vs 0 (vitest in workerd). */
function doCost() {
  return new Promise((resolve) => {
    const child = spawn(
      path.join(root, "node_modules", ".bin", "vitest"),
      ["run", "--config", "vitest.bench.config.ts", "bench/seat-feed.inside-do.ts"],
      { cwd: root, env: { ...process.env, BENCH_FEED_WATCHERS: String(W) }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    child.stderr.on("data", (chunk) => (out += chunk));
    child.on("close", () => {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: vitest colours its output
      const line = out.replace(/\x1b\[[0-9;]*m/g, "").match(/Show DO µs per change .*$/m)?.[0];
      resolve(line ?? null);
    });
  });
}

try {
  const db = await startDatabase({ dir: workDir, log });
  cleanups.push(db.stop);
  log("bundling the Worker (wrangler deploy --dry-run) and serving it with workerd (Miniflare)");
  const bundle = await buildBundle({ dir: workDir });
  const { vars, fanSecret } = benchWorkerVars({ db });
  const target = await startMiniflare({ dir: workDir, bundle, vars });
  cleanups.push(() => target.stop());
  const organizerKey = `osk_bench_${randomBytes(24).toString("hex")}`;
  const [show] = await createBenchShows(target.url, { organizerKey, capacity: 2000, count: 1, log });
  const section = show.seats[0].split("-")[0];
  const seats = show.seats.filter((seat) => seat.startsWith(`${section}-`)).slice(0, HOLDS);

  log(`opening ${W} WebSockets on show ${show.showId}, section ${section}`);
  const watch = await openWatchers(target.url, show.showId, section);
  log(`${watch.sockets.length} open`);

  const { FAN_JWT_ISSUER: issuer, FAN_JWT_AUDIENCE: audience } = wranglerVars();
  const tokens = signFanTokens(
    seats.map((_, i) => `fan_feed_${stamp}_${i}`),
    { secret: fanSecret, issuer, audience },
  );
  const latencies = [];
  let missing = 0;
  for (const [i, seat] of seats.entries()) {
    const held = await call(target.url, "POST", `/v1/shows/${show.showId}/holds`, {
      token: tokens[i],
      headers: { "idempotency-key": `feed-${i}` },
      json: { seat_ids: [seat] },
      expect: 201,
    });
    const answered = Date.now();
    if (!held) throw new Error("hold failed");
    const deadline = answered + 10_000;
    while ((watch.arrivals.get(seat)?.count ?? 0) < W && Date.now() < deadline) await sleep(5);
    const seen = watch.arrivals.get(seat);
    if (!seen || seen.count < W) missing += W - (seen?.count ?? 0);
    // A change after a quiet spell is published at once: the watchers may get it before the
    // holder's own answer is read here, which counts as 0.
    latencies.push(seen ? Math.max(0, seen.last - answered) : Number.POSITIVE_INFINITY);
  }
  const closedEarly = watch.closedEarly();
  for (const ws of watch.sockets) ws.terminate();
  const p50 = pct(latencies, 50);
  const p95 = pct(latencies, 95);
  log(
    `latency over ${HOLDS} holds: p50 ${p50} ms, p95 ${p95} ms, max ${Math.max(...latencies)} ms; deltas not received ${missing}; sockets closed early ${closedEarly}`,
  );
  await cleanup();

  if (!args["skip-do-cost"]) log("the Show DO's cost per change (inside workerd)");
  const cost = args["skip-do-cost"] ? null : await doCost();
  console.log(`watchers ${W}, update p50/p95 ${p50}/${p95} ms${cost ? `, ${cost.replace(/ \(feeds.*$/, "")}` : ""}`);
  process.exit(missing === 0 ? 0 : 1);
} catch (error) {
  console.error(error);
  await cleanup();
  process.exit(1);
}
