// `npm run bench:waiting-room`: the waiting-room benchmark of issue 5, in one self-contained run.
//
//   1. Throughput: 10,000 fans (--fans) join one show's queue; then polls per second answered at
//      the edge, in a closed loop at each concurrency, interleaved with the no-op Worker route
//      (GET /v1/dev/noop) through the same client code, same stack, same run. Target: polls at
//      ≥ 80% of the no-op route's rate. (Plus the no-op route through autocannon,
//      bench/loadgen.mjs, as a check on the client.)
//   2. The share of polls that reached the Show DO, counted at the DO binding: the Worker bundle
//      is served with `env.SHOW` wrapped (bench/waiting-room/do-calls-entry.mjs), so every RPC
//      the edge makes to the show's DO (pollQueue, and whatever else the polls cause: watermark
//      reads, batched heartbeats, …) is counted by method and read back through
//      GET /__bench/do-calls. Target: < 5% of polls.
//   3. The join storm: the fans (--storm-fans, default --fans) join a fresh show's room as fast as
//      the closed loop allows (8 and 32 connections), interleaved with the no-op route, 3 rounds,
//      medians: joins/s against no-op req/s (target ≥ 0.8×) and every Worker → Show DO call made
//      during the storm ÷ joins (target ≤ 0.01: joins are answered at the edge, the DO learns of
//      them in batched `queueArrivals` calls). Printed as one line:
//      `joins: <joins/s> vs no-op <req/s> (<ratio>), DO calls per join <x>`.
//   4. Admission accuracy: with admit_per_minute (--admit-per-minute, 600), admitted per minute
//      observed — the DO's `admitted_last_minute` sampled every 5 s, and the exact admission
//      times the admitted fans' tokens carry — against the configured rate; FIFO order checked.
//      Twice: with every fan polling at its own cadence (the crowd phase, which also gives the DO
//      share, and runs until 200 s after the last join so a fan's first minutes are covered:
//      a ticket renewed three minutes in, say), then with only the front of the queue polling
//      (the server not saturated).
//
// Fans never poll before their ticket allows (no re-signing; a 429 is counted, never retried
// early): for the closed-loop throughput cells, the room is set so that every fan may poll once a
// second (admit_per_minute 600,000 with max_active 1: the watermark cannot move), which lets
// 10,000 fans offer up to 10,000 polls/s; the poll's work at the edge does not depend on the rate.
//
// It starts what it needs with bench/lib/stack.mjs (embedded Postgres, migrations, the tunnel,
// the Worker bundled once, workerd through Miniflare) on its own ports, with throwaway data under
// .data/bench-wr-<timestamp>/, stops everything at the end (and after --max-minutes in any case),
// and writes bench-results/waiting-room-<timestamp>.{json,md}. bench/README.md explains it.
import { execFileSync, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { call, createBenchShows, signFanTokens } from "../bench/lib/api.mjs";
import { coreCount, startCpuWindow } from "../bench/lib/procs.mjs";
import { startProfile, summarizeProfile } from "../bench/lib/profile.mjs";
import {
  benchWorkerVars,
  buildBundle,
  nodeBin,
  root,
  startDatabase,
  startMiniflare,
  wranglerVars,
} from "../bench/lib/stack.mjs";
import { writeCountingBundle } from "../bench/waiting-room/counting-bundle.mjs";
import { consoleLines, markdown, summarize } from "../bench/waiting-room/report.mjs";

const { values: args } = parseArgs({
  options: {
    fans: { type: "string", default: "10000" },
    connections: { type: "string", default: "8,32" },
    duration: { type: "string", default: "4" },
    rounds: { type: "string", default: "3" },
    "admit-per-minute": { type: "string", default: "600" },
    "paced-min": { type: "string", default: "120" },
    "paced-max": { type: "string", default: "200" },
    "front-s": { type: "string", default: "80" },
    "crowd-until": { type: "string", default: "200" },
    "join-concurrency": { type: "string", default: "64" },
    "storm-fans": { type: "string" },
    "no-storm": { type: "boolean", default: false },
    "max-in-flight": { type: "string", default: "512" },
    "max-minutes": { type: "string", default: "10" },
    "no-autocannon": { type: "boolean", default: false },
    "no-profile": { type: "boolean", default: false },
    quick: { type: "boolean", default: false },
    split: { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});

if (args.help) {
  console.log(`npm run bench:waiting-room -- [options]
  --fans 10000               fans queued (each joins once, then polls with its own ticket)
  --connections 8,32         closed-loop concurrency levels of the throughput cells
  --duration 4 --rounds 3    seconds per throughput cell, interleaved rounds (medians quoted)
  --admit-per-minute 600     the organizer's rate in the crowd and front-only phases
  --paced-min 120            the crowd phase lasts at least this many seconds …
  --paced-max 200            … and at most this many; in between it ends --crowd-until 200 s after
                             the last join (a fan's first minutes, with whatever they bring: a ticket
                             renewal three minutes in, heartbeats, …)
  --front-s 80               then a phase of this many seconds in which only the fans the admissions
                             can reach poll (the rest stay queued): admission accuracy with the
                             server not saturated (0 skips it)
  --join-concurrency 64      joins in flight while the fans take their places
  --storm-fans N             fans in each join-storm cell (default: --fans); each cell joins a fresh
                             show, at every --connections level, interleaved with the no-op route
  --no-storm                 skip the join storm
  --max-in-flight 512        polls in flight at most while fans poll at their own cadence
  --no-autocannon            skip the no-op reference cells through autocannon (bench/loadgen.mjs)
  --no-profile               skip the V8 CPU profile of the isolate (no-op vs poll) at the end
  --quick                    a smoke run: 2,000 fans, 2 rounds × 2 s at 32 connections, 30–40 s crowd
                             phase (a fan's first minute only), 65 s front-only phase
  --split                    the Worker and the Durable Objects in two workerd processes (as in
                             production: different isolates), the objects' CPU reported apart
  --max-minutes 10           hard stop for the whole run
  --keep                     keep .data/bench-wr-<timestamp>/ (logs, state) afterwards`);
  process.exit(0);
}

const opts = {
  fans: Number(args.quick ? 2000 : args.fans),
  levels: (args.quick ? "32" : args.connections).split(",").map(Number),
  durationS: Number(args.quick ? 2 : args.duration),
  rounds: Number(args.quick ? 2 : args.rounds),
  admitPerMinute: Number(args["admit-per-minute"]),
  pacedMinS: Number(args.quick ? 30 : args["paced-min"]),
  pacedMaxS: Number(args.quick ? 40 : args["paced-max"]),
  frontS: Number(args.quick ? 65 : args["front-s"]),
  crowdUntilS: Number(args["crowd-until"]),
  joinConcurrency: Number(args["join-concurrency"]),
  storm: !args["no-storm"],
  split: args.split,
  stormFans: Number(args["storm-fans"] ?? (args.quick ? 2000 : args.fans)),
  stormRatioTarget: 0.8,
  stormDoCallsTarget: 0.01,
  maxInFlight: Number(args["max-in-flight"]),
  maxMinutes: Number(args["max-minutes"]),
  autocannon: !args["no-autocannon"],
  profile: !args["no-profile"],
  // The room during the throughput cells: every fan may poll once a second, nobody is admitted
  // after the first fan (max_active 1, checkout window of an hour).
  throughputRoom: { admit_per_minute: 600_000, max_active: 1, checkout_window_s: 3600 },
  checkoutWindowS: 3600,
  ratioTarget: 0.8,
  doShareTarget: 0.05,
  statsEveryS: 5,
};

const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
const workDir = path.join(root, ".data", `bench-wr-${stamp}-${process.pid}`);
const resultsDir = path.join(root, "bench-results");
mkdirSync(workDir, { recursive: true });
mkdirSync(resultsDir, { recursive: true });
const t0 = performance.now();
const log = (message) =>
  console.log(`[bench-wr ${((performance.now() - t0) / 1000).toFixed(0).padStart(3)}s] ${message}`);

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
      console.error(`[bench-wr] cleanup: ${error instanceof Error ? error.message : error}`);
    }
  }
  if (!args.keep) rmSync(workDir, { recursive: true, force: true });
}
async function abort(reason, code = 1) {
  if (finished) return;
  finished = true;
  console.error(`[bench-wr] ${reason}`);
  await cleanup();
  process.exit(code);
}
const hardStop = setTimeout(
  () => abort(`stopped: the run exceeded --max-minutes ${opts.maxMinutes}`, 2),
  opts.maxMinutes * 60_000,
);
process.on("SIGINT", () => abort("interrupted", 130));
process.on("SIGTERM", () => abort("terminated", 143));

// ── the load generators ──────────────────────────────────────────────────────────────────

async function forkReady(file) {
  const child = fork(file, [], { cwd: root, execPath: nodeBin, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  children.add(child);
  await new Promise((resolve, reject) => {
    const onMessage = (m) => {
      if (m?.type !== "ready") return;
      child.off("message", onMessage);
      resolve();
    };
    child.on("message", onMessage);
    child.once("exit", (code) => reject(new Error(`${path.basename(file)} exited (${code})`)));
  });
  return child;
}

let nextId = 0;
/** One request to the fans process (bench/waiting-room/fans.mjs), with start/done hooks. */
function ask(child, type, requestArgs, { onStart, onDone, timeoutMs = 60_000 } = {}) {
  const id = ++nextId;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off("message", onMessage);
      reject(new Error(`the fans process did not finish "${type}" in ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message) => {
      if (message?.id !== id) return;
      if (message.type === "start") onStart?.();
      else if (message.type === "done") onDone?.();
      else {
        clearTimeout(timer);
        child.off("message", onMessage);
        if (message.type === "result") resolve(message.result);
        else reject(new Error(message.message));
      }
    };
    child.on("message", onMessage);
    child.send({ id, type, args: requestArgs });
  });
}

/** bench/loadgen.mjs (autocannon), the holds benchmark's load generator, for the no-op reference. */
function runAutocannon(child, cell, { onStart, onDone }) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("autocannon cell timed out")), (cell.durationS + 40) * 1000);
    const onMessage = (message) => {
      if (message.type === "start") onStart();
      else if (message.type === "done") onDone();
      else if (message.type === "result" || message.type === "error") {
        clearTimeout(timer);
        child.off("message", onMessage);
        if (message.type === "result") resolve(message.result);
        else reject(new Error(message.message));
      }
    };
    child.on("message", onMessage);
    child.send({ type: "run", cell });
  });
}

// ── the stack, the show, the room ────────────────────────────────────────────────────────

const ctx = { target: null, showId: null, organizerKey: null, fans: null, autocannon: null };

/** What the edge has sent to this show's DO so far, by method, and the DO's alarms (the entry's counters). */
const doCalls = async () => {
  const r = await call(ctx.target.url, "GET", `/__bench/do-calls?show=${ctx.showId}`, { expect: 200 });
  const counts = { alarm: r.body.alarms };
  const items = {};
  for (const [method, { calls, items: n }] of Object.entries(r.body.edge)) {
    counts[method] = calls;
    if (n) items[method] = n;
  }
  // Every show's calls: the join storm's shows are not ctx.showId.
  const all = {};
  for (const [method, { calls }] of Object.entries(r.body.edge_all ?? {})) all[method] = calls;
  const allItems = {};
  for (const [method, { items: n }] of Object.entries(r.body.edge_all ?? {})) if (n) allItems[method] = n;
  // What the Show DOs received, whoever called (the edge, or a Durable Object relaying for it).
  // `benchCounts` is this read itself; `roomStats` and `configureRoom` are the orchestrator's.
  const { benchCounts: _read, roomStats: _stats, configureRoom: _configure, ...received } = r.body.received_all ?? {};
  return { at_ms: Date.now(), isolate: r.body.isolate, counts, items, all, allItems, received };
};
/** Every RPC the Show DOs received (any show, any caller) between two reads of the counters. */
const diffReceived = (a, b) => {
  const byMethod = {};
  for (const k of new Set([...Object.keys(a.received), ...Object.keys(b.received)])) {
    const d = (b.received[k] ?? 0) - (a.received[k] ?? 0);
    if (d) byMethod[k] = d;
  }
  return byMethod;
};
/** Every edge → Show DO call (any show, any method) between two reads of the counters. */
const diffAll = (a, b) => {
  const byMethod = {};
  for (const k of new Set([...Object.keys(a.all), ...Object.keys(b.all)])) {
    const d = (b.all[k] ?? 0) - (a.all[k] ?? 0);
    if (d) byMethod[k] = d;
  }
  return byMethod;
};
const diffCalls = (a, b) => {
  const out = {};
  for (const k of new Set([...Object.keys(a.counts), ...Object.keys(b.counts)])) {
    out[k] = (b.counts[k] ?? 0) - (a.counts[k] ?? 0);
  }
  const items = {};
  for (const k of Object.keys(b.items)) items[k] = b.items[k] - (a.items[k] ?? 0);
  return { ...out, items, same_isolate: a.isolate === b.isolate };
};
const patchRoom = (json) =>
  call(ctx.target.url, "PATCH", `/v1/admin/shows/${ctx.showId}/waiting-room`, {
    token: ctx.organizerKey,
    json,
    expect: 200,
  }).then((r) => r.body);
const roomStats = (showId = ctx.showId) =>
  call(ctx.target.url, "GET", `/v1/admin/shows/${showId}/waiting-room`, {
    token: ctx.organizerKey,
    expect: 200,
  }).then((r) => ({ at_ms: Date.now(), ...r.body }));

/** A closed-loop cell (fans process, or autocannon) with the CPU of every process and the DO calls. */
async function runCell(kind, connections, durationS, hooks = {}) {
  const groups = ctx.target.processGroups();
  let window = null;
  let cpu = null;
  let started = Promise.resolve();
  let done = Promise.resolve();
  const before = await doCalls();
  const onStart = () => {
    window = startCpuWindow(groups, "orchestrator");
    started = hooks.onStart?.() ?? started;
  };
  const onDone = () => {
    cpu = window?.stop() ?? null;
    done = started.then(() => hooks.onDone?.());
  };
  let out;
  if (kind === "noop-autocannon") {
    const r = await runAutocannon(
      ctx.autocannon,
      { url: ctx.target.url, kind: "noop", connections, durationS, timeoutS: 10 },
      { onStart, onDone },
    );
    const { held: _held, ...rest } = r;
    out = { ...rest, kind, too_fast_429: 0 };
  } else {
    out = await ask(
      ctx.fans,
      "closed",
      { kind, connections, durationS, checkoutWindowMs: opts.checkoutWindowS * 1000 },
      { onStart, onDone, timeoutMs: (durationS + 60) * 1000 },
    );
  }
  await started;
  await done;
  const after = await doCalls();
  if (cpu) {
    cpu.cores["load generator"] = out.cpu_s / out.wall_s;
    cpu.outside_cores = Math.max(0, cpu.machine_cores - Object.values(cpu.cores).reduce((a, b) => a + b, 0));
  }
  const { admissions: _a, renewal_cycles: _c, ...rest } = out;
  return {
    ...rest,
    kind,
    connections,
    cpu,
    do_calls: diffCalls(before, after),
    admissions_seen: out.admissions?.length,
  };
}

async function throughput() {
  const kinds = ["noop", "poll", ...(opts.autocannon ? ["noop-autocannon"] : [])];
  log(`throughput: ${kinds.join(", ")} at ${opts.levels.join(", ")} connections, ${opts.rounds} × ${opts.durationS} s`);
  // Warm-up (not recorded): JIT, connections, the edge's cached watermark.
  for (const kind of kinds) await runCell(kind, opts.levels.at(-1), 1.5);
  const cells = [];
  const total = opts.rounds * opts.levels.length * kinds.length;
  for (let round = 0; round < opts.rounds; round++) {
    for (const [li, connections] of opts.levels.entries()) {
      const order = kinds.map((_, k) => kinds[(k + round + li) % kinds.length]);
      for (const kind of order) {
        const cell = { ...(await runCell(kind, connections, opts.durationS)), round };
        cells.push(cell);
        const bad = Object.entries(cell.statuses ?? {}).filter(([k]) => k !== "2xx");
        log(
          `${String(cells.length).padStart(2)}/${total} round ${round + 1} c=${String(connections).padStart(2)} ${kind.padEnd(15)} ${cell.ok_per_s.toFixed(0).padStart(5)}/s p50 ${cell.latency_ms.p50?.toFixed(1)} ms p95 ${cell.latency_ms.p95?.toFixed(1)} ms${kind === "poll" ? ` · DO pollQueue ${cell.do_calls.pollQueue}, roomStatus ${cell.do_calls.roomStatus}` : ""}${bad.length || cell.errors ? ` ⚠ ${JSON.stringify({ statuses: cell.statuses, refusals: cell.refusals, errors: cell.errors })}` : ""}`,
        );
      }
    }
  }
  return cells;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One join-storm cell: the fans join `showId` (fresh, room on and paused) as fast as
 * `connections` closed-loop connections allow. Every RPC a Show DO received meanwhile (any show,
 * any caller: the edge, or the location's door relaying its batches) is counted, until every
 * place reached the show's DO (or 10 s), beside what the edge sent to each binding.
 */
async function stormCell(showId, connections, hooks = {}) {
  const groups = ctx.target.processGroups();
  let window = null;
  let cpu = null;
  let started = Promise.resolve();
  let done = Promise.resolve();
  const before = await doCalls();
  const out = await ask(
    ctx.fans,
    "storm",
    { showId, connections, count: opts.stormFans },
    {
      onStart: () => {
        window = startCpuWindow(groups, "orchestrator");
        started = hooks.onStart?.() ?? started;
      },
      onDone: () => {
        cpu = window?.stop() ?? null;
        done = started.then(() => hooks.onDone?.());
      },
      timeoutMs: 240_000,
    },
  );
  await started;
  await done;
  // Arrivals leave the isolate in batches every 250 ms, and the location's door (if the code
  // has one) forwards them once a second: wait until they are all in.
  for (let i = 0; i < 20; i++) {
    await sleep(500);
    if (i >= 2 && (await roomStats(showId)).queued >= out.created) break;
  }
  const after = await doCalls();
  const room = await roomStats(showId);
  if (cpu) {
    cpu.cores["load generator"] = out.cpu_s / out.wall_s;
    cpu.outside_cores = Math.max(0, cpu.machine_cores - Object.values(cpu.cores).reduce((a, b) => a + b, 0));
  }
  // Every RPC any Show DO received meanwhile (counted in the DO), and what the edge sent (by binding).
  const doCallsByMethod = diffReceived(before, after);
  return {
    ...out,
    show_id: showId,
    cpu,
    do_calls_by_method: doCallsByMethod,
    edge_calls_by_method: diffAll(before, after),
    do_calls: Object.values(doCallsByMethod).reduce((a, b) => a + b, 0),
    arrival_items: diffItems(before, after, "queueArrivals"),
    queued_after: room.queued,
    same_isolate: before.isolate === after.isolate,
  };
}
const diffItems = (a, b, method) => (b.allItems?.[method] ?? 0) - (a.allItems?.[method] ?? 0);

/**
 * The join storm: per round and concurrency, a storm cell on a fresh show and a no-op cell
 * (`GET /v1/dev/noop`, the same client code), interleaved, the order alternating; medians.
 */
async function joinStorm(showIds) {
  const levels = opts.levels;
  log(
    `join storm: ${opts.stormFans} fans joining a fresh show per cell, at ${levels.join(", ")} connections, ${opts.rounds} rounds, beside the no-op route`,
  );
  const warm = await stormCell(showIds.shift(), levels.at(-1));
  log(`  warm-up storm: ${warm.ok_per_s.toFixed(0)} joins/s (not recorded)`);
  await runCell("noop", levels.at(-1), 1.5);
  const cells = [];
  const total = opts.rounds * levels.length * 2;
  for (let round = 0; round < opts.rounds; round++) {
    for (const [li, connections] of levels.entries()) {
      const order = (round + li) % 2 === 0 ? ["join", "noop"] : ["noop", "join"];
      for (const kind of order) {
        const cell =
          kind === "join"
            ? { ...(await stormCell(showIds.shift(), connections)), kind, round }
            : { ...(await runCell("noop", connections, opts.durationS)), round };
        cells.push(cell);
        const bad =
          kind === "join" &&
          (cell.created !== opts.stormFans ||
            cell.queued_after !== cell.created ||
            cell.distinct_keys !== cell.created ||
            cell.errors);
        log(
          `${String(cells.length).padStart(2)}/${total} round ${round + 1} c=${String(connections).padStart(2)} ${kind.padEnd(5)} ${cell.ok_per_s.toFixed(0).padStart(5)}/s p50 ${cell.latency_ms.p50?.toFixed(1)} ms p95 ${cell.latency_ms.p95?.toFixed(1)} ms${kind === "join" ? ` · DO calls ${JSON.stringify(cell.do_calls_by_method)}, queued ${cell.queued_after}` : ""}${bad ? ` ⚠ ${JSON.stringify({ created: cell.created, queued: cell.queued_after, keys: cell.distinct_keys, statuses: cell.statuses, refusals: cell.refusals, errors: cell.errors, samples: cell.refusal_samples?.map((x) => x.slice(0, 300)) })}` : ""}`,
        );
      }
    }
  }
  return { fans: opts.stormFans, cells };
}

/**
 * Fans poll at their own cadence while the DO admits at the organizer's rate: every fan (the
 * crowd phase, until the renewal wave has passed), or only the fans the admissions can reach
 * (`frontOnly`: the rest stay queued without polling, so the server is not saturated).
 */
async function pacedPhase({ label, joinedAtMs, frontOnly = false }) {
  await patchRoom({ paused: true });
  // Unpausing starts the token bucket empty: each phase starts clean.
  const config = await patchRoom({
    paused: false,
    admit_per_minute: opts.admitPerMinute,
    max_active: 1_000_000,
    checkout_window_s: opts.checkoutWindowS,
  });
  const startedAt = Date.now();
  const minS = frontOnly ? opts.frontS : opts.pacedMinS;
  const maxS = frontOnly ? opts.frontS : opts.pacedMaxS;
  // Front only: the places the admissions can reach during the phase, and a margin. The DO
  // admits in key order and `watermark` counts the admissions so far, so the fans it can reach
  // are those up to that rank (the fans' place in key order) plus the phase's admissions.
  const onlyRankUpTo = frontOnly
    ? config.watermark + Math.ceil((opts.admitPerMinute / 60) * (opts.frontS + 30)) + 100
    : null;
  log(
    `${label}: admit_per_minute ${config.admit_per_minute}, ${config.queued} queued, watermark ${config.watermark}; ${frontOnly ? `only fans up to rank ${onlyRankUpTo} in key order poll (the rest stay queued)` : "every fan polls"} at its own cadence (${((startedAt - joinedAtMs) / 1000).toFixed(0)} s after the joins)`,
  );
  const groups = ctx.target.processGroups();
  const samples = [];
  const calls = [await doCalls()];
  let window = null;
  let cpu = null;
  let sampling = true;
  const sampler = (async () => {
    for (let i = 0; sampling && i < 1000; i++) {
      await new Promise((resolve) => setTimeout(resolve, opts.statsEveryS * 1000));
      if (!sampling) break;
      try {
        samples.push(await roomStats());
        calls.push(await doCalls());
        const s = samples.at(-1);
        const elapsed = (s.at_ms - startedAt) / 1000;
        if (Math.round(elapsed) % 20 < opts.statsEveryS) {
          log(
            `  +${elapsed.toFixed(0)} s: watermark ${s.watermark}, admitted_last_minute ${s.admitted_last_minute}, queued ${s.queued}, DO pollQueue calls so far ${(calls.at(-1).counts.pollQueue ?? 0) - (calls[0].counts.pollQueue ?? 0)}`,
          );
        }
      } catch (error) {
        log(`  stats sample failed: ${error instanceof Error ? error.message : error}`);
      }
    }
  })();
  // The crowd phase runs until `--crowd-until` s after the last join (within its min and max):
  // long enough to see whatever a fan's first minutes bring (a ticket renewed three minutes in,
  // a place dropped after five), not only the first quiet minute.
  const endAtMs = Math.min(
    startedAt + maxS * 1000,
    Math.max(startedAt + minS * 1000, frontOnly ? 0 : joinedAtMs + opts.crowdUntilS * 1000),
  );
  const out = await ask(
    ctx.fans,
    "paced",
    {
      endAtMs,
      maxInFlight: opts.maxInFlight,
      checkoutWindowMs: opts.checkoutWindowS * 1000,
      onlyRankUpTo,
      // Spread the first polls over the cadence the fans are about to get (10 s at the back).
      spreadFirstS: frontOnly ? 1 : 10,
    },
    {
      onStart: () => {
        window = startCpuWindow(groups, "orchestrator");
      },
      onDone: () => {
        cpu = window?.stop() ?? null;
      },
      timeoutMs: endAtMs - Date.now() + 60_000,
    },
  );
  sampling = false;
  await sampler;
  samples.push(await roomStats());
  calls.push(await doCalls());
  if (cpu) {
    cpu.cores["load generator"] = out.cpu_s / out.wall_s;
    cpu.outside_cores = Math.max(0, cpu.machine_cores - Object.values(cpu.cores).reduce((a, b) => a + b, 0));
  }
  log(
    `${label} done: ${out.ok} polls in ${out.wall_s.toFixed(0)} s (${out.ok_per_s.toFixed(0)}/s, p50 ${out.latency_ms.p50?.toFixed(0)} ms, p99 ${out.latency_ms.p99?.toFixed(0)} ms), ${out.admissions.length} admissions seen, ${out.too_fast_429} × 429, DO pollQueue calls ${(calls.at(-1).counts.pollQueue ?? 0) - (calls[0].counts.pollQueue ?? 0)}`,
  );
  return {
    label,
    front_only: frontOnly,
    only_rank_up_to: onlyRankUpTo,
    config,
    started_at_ms: startedAt,
    joined_at_ms: joinedAtMs,
    samples,
    do_calls: calls,
    fans: out,
    cpu,
    state: await ask(ctx.fans, "state", {}),
  };
}

/** V8 CPU profile of the isolate: the no-op route, then polls (bench/lib/profile.mjs). */
async function profilePolls(vars, countedBundle, stormShowId) {
  await ctx.target.stop();
  log("restarting miniflare with the V8 inspector for the CPU profile (state kept)");
  ctx.target = await startMiniflare({ dir: workDir, bundle: countedBundle, vars, inspector: true, split: opts.split });
  cleanups.push(ctx.target.stop);
  await ask(ctx.fans, "retarget", { url: ctx.target.url });
  await patchRoom(opts.throughputRoom);
  const connections = opts.levels.at(-1);
  // Every fan back to a one-second cadence (up to 10 s for the last ones), not measured.
  await runCell("poll", connections, 8);
  const out = { connections, duration_s: 3 };
  for (const kind of ["noop", "poll", ...(stormShowId ? ["join"] : [])]) {
    let session = null;
    let raw = null;
    // Miniflare's own entry Worker (core:entry) takes every request first and hands it, body and
    // answer piped through, to the Worker: work of the local stack that production does natively.
    let entrySession = null;
    let entryRaw = null;
    // --split: the objects' isolate too, over the same window.
    let doSession = null;
    let doRaw = null;
    const hooks = {
      onStart: async () => {
        session = await startProfile(ctx.target.inspector);
        entrySession = await startProfile({ ...ctx.target.inspector, target: "core:entry" }).catch(() => null);
        if (ctx.target.doInspector) doSession = await startProfile(ctx.target.doInspector);
      },
      onDone: async () => {
        raw = await session?.stop();
        entryRaw = await entrySession?.stop();
        doRaw = await doSession?.stop();
      },
    };
    // Joins: a storm on a show of its own (every fan once), as long as it lasts.
    const cell =
      kind === "join" ? await stormCell(stormShowId, connections, hooks) : await runCell(kind, connections, 3, hooks);
    if (!raw) throw new Error("the CPU profile did not complete");
    out[kind] = {
      ok_per_s: cell.ok_per_s,
      ...summarizeProfile(raw, countedBundle, { requests: cell.ok }),
      entry: entryRaw ? summarizeProfile(entryRaw, countedBundle, { requests: cell.ok }) : null,
      objects: doRaw ? summarizeProfile(doRaw, countedBundle, { requests: cell.ok }) : null,
    };
    log(
      `profile ${kind} c=${connections}: ${cell.ok_per_s.toFixed(0)}/s, isolate busy ${(out[kind].busy_fraction * 100).toFixed(0)}%, ${out[kind].busy_us_per_request.toFixed(0)} µs busy per request (${out[kind].do_us_per_request.toFixed(0)} under durable-objects/); Miniflare's entry Worker ${out[kind].entry?.busy_us_per_request?.toFixed(0) ?? "–"} µs per request${out[kind].objects ? `; the objects' isolate ${out[kind].objects.busy_us_per_request.toFixed(0)} µs per request` : ""}`,
    );
  }
  return out;
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
  command: `npm run bench:waiting-room${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
  options: opts,
  machine: {
    cores: coreCount,
    cpu: os.cpus()[0]?.model ?? "?",
    memory_gb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    workerd: version("wrangler/node_modules/@cloudflare/workerd-linux-64") ?? version("@cloudflare/workerd-linux-64"),
    wrangler: version("wrangler"),
    undici: version("undici"),
    autocannon: version("autocannon"),
    load_average_at_start: os.loadavg(),
  },
};

/** The code under test: the commit, and whether src/ or durable-objects/ differ from it (others edit them). */
function codeState() {
  const git = (...argv) => execFileSync("git", argv, { cwd: root, encoding: "utf8" }).trim();
  try {
    return {
      commit: git("log", "-1", "--format=%h %s"),
      dirty: git("status", "--porcelain", "--", "src", "durable-objects")
        .split("\n")
        .filter(Boolean)
        .map((l) => l.slice(3)),
    };
  } catch {
    return null;
  }
}

try {
  const db = await startDatabase({ dir: workDir, log });
  cleanups.push(db.stop);
  log("bundling the Worker once (wrangler deploy --dry-run), then wrapping its env.SHOW to count the calls to the DO");
  result.code = codeState();
  const bundle = await buildBundle({ dir: workDir });
  const counted = { path: writeCountingBundle(bundle) };
  const { vars, fanSecret } = benchWorkerVars({ db });
  log("starting workerd through Miniflare (bench/miniflare-host.mjs)");
  ctx.target = await startMiniflare({ dir: workDir, bundle: counted.path, vars, split: opts.split });
  cleanups.push(() => ctx.target.stop());
  result.target = ctx.target.label;
  for (const probe of ["/v1/dev/noop", "/healthz"]) await call(ctx.target.url, "GET", probe, { expect: 200 });

  ctx.organizerKey = `osk_bench_${randomBytes(24).toString("hex")}`;
  // One show for the queue, and for the join storm a fresh one per cell (+ warm-up, + profile).
  const stormShows = opts.storm ? opts.rounds * opts.levels.length + 1 + (opts.profile ? 1 : 0) : 0;
  const [show, ...others] = await createBenchShows(ctx.target.url, {
    organizerKey: ctx.organizerKey,
    capacity: 1000,
    count: 1 + stormShows,
    log,
  });
  ctx.showId = show.showId;
  await patchRoom({ enabled: true, paused: true, ...opts.throughputRoom });
  const stormShowIds = others.map((o) => o.showId);
  for (const showId of stormShowIds) {
    await call(ctx.target.url, "PATCH", `/v1/admin/shows/${showId}/waiting-room`, {
      token: ctx.organizerKey,
      json: { enabled: true, paused: true },
      expect: 200,
    });
  }

  const fanIds = Array.from({ length: opts.fans }, (_, k) => `fan_wr_${stamp}_${k}`);
  const { FAN_JWT_ISSUER: issuer, FAN_JWT_AUDIENCE: audience } = wranglerVars();
  const tokensFile = path.join(workDir, "fan-tokens.json");
  writeFileSync(tokensFile, JSON.stringify(signFanTokens(fanIds, { secret: fanSecret, issuer, audience })));
  ctx.fans = await forkReady(path.join(root, "bench", "waiting-room", "fans.mjs"));
  await ask(ctx.fans, "init", { url: ctx.target.url, tokensFile, fanIds });
  if (opts.autocannon) ctx.autocannon = await forkReady(path.join(root, "bench", "loadgen.mjs"));

  // The join storm first, on shows of its own (the queue's show is untouched).
  if (opts.storm) result.storm = await joinStorm(stormShowIds);

  // Joins: every fan gets its place (a DO call each, by design), with the room paused.
  log(`${opts.fans} fans join show ${ctx.showId} (${opts.joinConcurrency} at a time)`);
  const beforeJoin = await doCalls();
  const groups = ctx.target.processGroups();
  let joinWindow = null;
  let joinCpu = null;
  const join = await ask(
    ctx.fans,
    "join",
    { showId: ctx.showId, concurrency: opts.joinConcurrency },
    {
      onStart: () => {
        joinWindow = startCpuWindow(groups, "orchestrator");
      },
      onDone: () => {
        joinCpu = joinWindow?.stop() ?? null;
      },
      timeoutMs: 240_000,
    },
  );
  // The isolate's last arrival batch goes out 250 ms after its first arrival (and a door, if
  // the code has one, forwards once a second).
  for (let i = 0; i < 20; i++) {
    await sleep(500);
    if (i >= 2 && (await roomStats()).queued >= join.created) break;
  }
  const afterJoin = await doCalls();
  const joinedStats = await roomStats();
  if (joinCpu) joinCpu.cores["load generator"] = join.cpu_s / join.wall_s;
  result.join = {
    ...join,
    cpu: joinCpu,
    do_calls: diffCalls(beforeJoin, afterJoin),
    do_calls_all: diffReceived(beforeJoin, afterJoin),
    room: joinedStats,
  };
  log(
    `joined: ${join.created} new places in ${join.wall_s.toFixed(1)} s (${join.ok_per_s.toFixed(0)}/s), ${joinedStats.queued} queued, ${join.distinct_keys} distinct queue keys (${join.pre_queue_keys} pre-queue, ${join.keys_outside_their_request} outside their request's time), edge → DO calls ${JSON.stringify(diffAll(beforeJoin, afterJoin))}, Show DO received ${JSON.stringify(diffReceived(beforeJoin, afterJoin))}, ticket TTL ${join.ticket_ttl_s} s${join.retried_5xx ? ` ⚠ ${join.retried_5xx} joins retried after a 5xx: ${JSON.stringify(join.refusal_samples.map((x) => x.slice(0, 200)))}` : ""}${Object.keys(join.refusals).length ? ` ⚠ ${JSON.stringify(join.refusals)}` : ""}`,
  );
  // A join that failed after its arrival was recorded is answered 200 (the same place) on retry.
  // Fans still refused after three tries hold a place they never learnt of: reported, and left
  // out of the fans (their places are admitted in turn like any other and never polled).
  if (join.ok !== opts.fans) {
    log(`⚠ ${opts.fans - join.ok} fans got no answer but a 5xx after three tries; the rest go on`);
  }
  if (joinedStats.queued < join.ok || join.distinct_keys !== join.ok) {
    throw new Error(
      `expected ${opts.fans} queued fans, the room has ${joinedStats.queued} (answered ${join.ok}, created ${join.created}, distinct keys ${join.distinct_keys})`,
    );
  }

  await patchRoom({ paused: false });
  result.throughput_room = await roomStats();
  result.cells = await throughput();
  result.admission = await pacedPhase({ label: "crowd phase", joinedAtMs: join.ended_at_ms });
  if (opts.frontS > 0) {
    result.front = await pacedPhase({ label: "front-only phase", joinedAtMs: join.ended_at_ms, frontOnly: true });
  }
  if (opts.profile) result.profile = await profilePolls(vars, counted.path, stormShowIds.shift());

  result.finished_at = new Date().toISOString();
  result.duration_s = (performance.now() - t0) / 1000;
  result.summary = summarize(result);
  const base = path.join(resultsDir, `waiting-room-${stamp}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(`${base}.md`, markdown(result));
  console.log("\n═══════════════════════ npm run bench:waiting-room — summary ═══════════════════════\n");
  console.log(consoleLines(result).join("\n"));
  console.log(`\n${result.duration_s.toFixed(0)} s in all. Results: ${path.relative(root, base)}.{json,md}`);
  finished = true;
  clearTimeout(hardStop);
  await cleanup();
  process.exit(0);
} catch (error) {
  await abort(error instanceof Error ? (error.stack ?? error.message) : String(error), 1);
}
