// `npm run bench:holds`: the two figures of the holds issue, in one self-contained run.
//
//   1. The Show DO's own cost: one request drives 20,000 single-seat holds inside the DO
//      (vitest + @cloudflare/vitest-plugin, `runInDurableObject`; see
//      bench/show-do-cost.inside-do.ts), against a same-run baseline of a bare conditional
//      UPDATE + INSERT per hold. Target ≤ 30 µs a hold.
//   2. End to end through HTTP at rising concurrency (autocannon in its own process): holds/s,
//      p50/p95/p99, errors and 409s, beside the no-op Worker route and the no-op Worker → DO
//      round trip measured in the same run, at the same concurrency, through the same stack;
//      then zero double holds proven from the seat-map overlay. Run against `wrangler dev`
//      (what `npm run dev` serves) and against workerd directly (Miniflare, no proxy), with
//      the CPU each process used, so the report can say what bounds the figures.
//
// It starts what it needs on its own ports (embedded Postgres, the tunnel, wrangler dev,
// Miniflare) with throwaway data under .data/bench-<timestamp>/, stops everything at the end,
// and writes bench-results/holds-<timestamp>.{json,md}. `--url` reuses a running stack
// instead. `--help` lists the options; bench/README.md explains how to read the results.
import { fork, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { call, createBenchShows, mintFanTokens, overlay, signFanTokens, verifyShow } from "../bench/lib/api.mjs";
import { coreCount, startCpuWindow } from "../bench/lib/procs.mjs";
import { startProfile, summarizeProfile } from "../bench/lib/profile.mjs";
import {
  doCostLines,
  httpLines,
  markdown,
  median,
  profileDiff,
  summarizeDoCost,
  summarizeHttp,
} from "../bench/lib/report.mjs";
import {
  buildBundle,
  externalTarget,
  nodeBin,
  root,
  startDatabase,
  startMiniflare,
  startWrangler,
  wranglerVars,
} from "../bench/lib/stack.mjs";
import { writeCountingBundle } from "../bench/waiting-room/counting-bundle.mjs";

const { values: args } = parseArgs({
  options: {
    url: { type: "string" },
    targets: { type: "string", default: "wrangler,miniflare" },
    connections: { type: "string", default: "1,4,16,64" },
    duration: { type: "string", default: "2" },
    rounds: { type: "string", default: "3" },
    "do-holds": { type: "string", default: "20000" },
    "do-reps": { type: "string", default: "5" },
    capacity: { type: "string", default: "20000" },
    "holds-per-fan": { type: "string", default: "4" },
    "max-minutes": { type: "string", default: "10" },
    "organizer-key": { type: "string" },
    "fan-secret": { type: "string" },
    "skip-do": { type: "boolean", default: false },
    "skip-http": { type: "boolean", default: false },
    "no-profile": { type: "boolean", default: false },
    quick: { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});

if (args.help) {
  console.log(`npm run bench:holds -- [options]
  --targets wrangler,miniflare  stacks to drive (default both; started and stopped here); \`split\`:
                                workerd directly with the Worker and the Durable Objects in two
                                processes (the DO's own CPU per hold, the holds/s ceiling per show)
  --url URL                     drive a running stack instead (needs its organizer key:
                                --organizer-key, ONSALE_DEV_ORGANIZER_KEY or .data/dev-organizer-key;
                                fan tokens: --fan-secret, FAN_JWT_SECRET, .data/dev-fan-jwt-secret,
                                else POST /v1/dev/tokens)
  --connections 1,4,16,64       concurrency levels
  --duration 2                  seconds per measured cell
  --rounds 3                    repetitions of every cell (medians are quoted)
  --do-holds 20000 --do-reps 5  figure 1: holds per request, repetitions
  --capacity 20000              seats per benchmark show (one show per round)
  --holds-per-fan 4             holds per fan (the per-fan limit is 8)
  --skip-do / --skip-http       only one figure
  --no-profile                  skip the V8 CPU profiles of the Worker + DO isolate (after the measured cells)
  --quick                       a short smoke run (2 rounds × 1.5 s, 3 DO repetitions)
  --max-minutes 10              hard stop for the whole run
  --keep                        keep .data/bench-<timestamp>/ (logs, state) afterwards`);
  process.exit(0);
}

const opts = {
  targets: args.url ? ["external"] : args.targets.split(",").map((t) => t.trim()),
  levels: args.connections.split(",").map(Number),
  durationS: Number(args.quick ? 1.5 : args.duration),
  rounds: Number(args.quick ? 2 : args.rounds),
  doHolds: Number(args["do-holds"]),
  doReps: Number(args.quick ? 3 : args["do-reps"]),
  capacity: Number(args.capacity),
  holdsPerFan: Number(args["holds-per-fan"]),
  maxMinutes: Number(args["max-minutes"]),
  targetUs: 30,
  ratioTarget: 0.8,
  p95TargetMs: 20,
};

const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
const workDir = path.join(root, ".data", `bench-${stamp}-${process.pid}`);
const resultsDir = path.join(root, "bench-results");
mkdirSync(workDir, { recursive: true });
mkdirSync(resultsDir, { recursive: true });
const t0 = performance.now();
const log = (message) => console.log(`[bench ${((performance.now() - t0) / 1000).toFixed(0).padStart(3)}s] ${message}`);

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
      console.error(`[bench] cleanup: ${error instanceof Error ? error.message : error}`);
    }
  }
  if (!args.keep) rmSync(workDir, { recursive: true, force: true });
}
async function abort(reason, code = 1) {
  if (finished) return;
  finished = true;
  console.error(`[bench] ${reason}`);
  await cleanup();
  process.exit(code);
}
const hardStop = setTimeout(
  () => abort(`stopped: the run exceeded --max-minutes ${opts.maxMinutes}`, 2),
  opts.maxMinutes * 60_000,
);
process.on("SIGINT", () => abort("interrupted", 130));
process.on("SIGTERM", () => abort("terminated", 143));

/** A child process with a time limit; resolves with its stdout, rejects on failure. */
function runChild(command, argv, { env, timeoutMs, onLine }) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.add(child);
    let stdout = "";
    let stderr = "";
    let pending = "";
    child.stdout.on("data", (data) => {
      stdout += data;
      pending += data;
      let newline = pending.indexOf("\n");
      while (newline >= 0) {
        onLine?.(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        newline = pending.indexOf("\n");
      }
    });
    child.stderr.on("data", (data) => {
      stderr += data;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      if (code === 0) resolve(stdout);
      else
        reject(new Error(`${path.basename(argv[0])} failed (${signal ?? code}):\n${(stderr || stdout).slice(-4000)}`));
    });
  });
}

// ── figure 1: inside the DO ──────────────────────────────────────────────────────────────

async function measureDoCost() {
  log(`figure 1: ${opts.doHolds} holds per request inside the Show DO × ${opts.doReps} (vitest, workerd)`);
  const machine = startCpuWindow({});
  const stdout = await runChild(
    nodeBin,
    [path.join(root, "node_modules", "vitest", "vitest.mjs"), "run", "--config", "vitest.bench.config.ts"],
    {
      env: {
        BENCH_DO_HOLDS: String(opts.doHolds),
        BENCH_DO_REPS: String(opts.doReps),
        NO_COLOR: "1",
        FORCE_COLOR: "0",
      },
      timeoutMs: 6 * 60_000,
    },
  );
  const line = stdout.split("\n").find((l) => l.includes("BENCH_DO_RESULT "));
  if (!line) throw new Error(`no BENCH_DO_RESULT in the vitest output:\n${stdout.slice(-3000)}`);
  const raw = JSON.parse(line.slice(line.indexOf("BENCH_DO_RESULT ") + "BENCH_DO_RESULT ".length));
  const summary = summarizeDoCost(raw, opts.targetUs);
  summary.machine_cores_busy = machine.stop()?.machine_cores ?? null;
  summary.raw = raw;
  for (const l of doCostLines(summary)) log(l);
  return summary;
}

// ── figure 2: through HTTP ───────────────────────────────────────────────────────────────

const kinds = ["noop", "noop-do", "hold"];

/** The load generator: one forked process for the whole run (bench/loadgen.mjs). */
let loadgen = null;
async function loadgenProcess() {
  if (loadgen && loadgen.exitCode === null) return loadgen;
  loadgen = fork(path.join(root, "bench", "loadgen.mjs"), [], {
    cwd: root,
    execPath: nodeBin,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  children.add(loadgen);
  await new Promise((resolve, reject) => {
    loadgen.once("message", (m) => (m?.type === "ready" ? resolve() : reject(new Error("load generator not ready"))));
    loadgen.once("exit", (code) => reject(new Error(`load generator exited (${code})`)));
  });
  return loadgen;
}

function runOnLoadgen(child, cell, { onStart, onDone, timeoutMs }) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the load generator did not finish a ${cell.durationS} s cell in ${timeoutMs} ms`));
    }, timeoutMs);
    const onExit = (code) => {
      clearTimeout(timer);
      reject(new Error(`load generator exited (${code})`));
    };
    const onMessage = (message) => {
      if (message.type === "start") onStart();
      else if (message.type === "done") onDone();
      else if (message.type === "result" || message.type === "error") {
        clearTimeout(timer);
        child.off("message", onMessage);
        child.off("exit", onExit);
        if (message.type === "result") resolve(message.result);
        else reject(new Error(message.message));
      }
    };
    child.on("message", onMessage);
    child.once("exit", onExit);
    child.send({ type: "run", cell });
  });
}

async function runCell(target, show, kind, connections, durationS, hooks = {}) {
  const child = await loadgenProcess();
  const cell = {
    url: target.url,
    kind,
    showId: show.showId,
    connections,
    durationS,
    timeoutS: 10,
    seatsFile: show.seatsFile,
    tokensFile: target.tokensFile,
    startIndex: show.next,
    holdsPerFan: opts.holdsPerFan,
    keyPrefix: `bench-${stamp}-${target.name}`,
  };
  const groups = target.processGroups();
  let window = null;
  let cpu = null;
  let started = Promise.resolve();
  let done = Promise.resolve();
  const out = await runOnLoadgen(child, cell, {
    timeoutMs: (durationS + 40) * 1000,
    onStart: () => {
      window = startCpuWindow(groups, "orchestrator");
      started = hooks.onStart?.() ?? started;
    },
    onDone: () => {
      cpu = window?.stop() ?? null;
      done = started.then(() => hooks.onDone?.());
    },
  });
  await started;
  await done;
  if (cpu) {
    // The load generator measured itself over the same run.
    cpu.cores["load generator"] = out.cpu_s / out.wall_s;
    cpu.outside_cores = Math.max(0, cpu.machine_cores - Object.values(cpu.cores).reduce((a, b) => a + b, 0));
    cpu.us_per_ok = Object.fromEntries(
      Object.entries(cpu.cores).map(([label, cores]) => [label, out.ok_per_s ? (cores / out.ok_per_s) * 1e6 : null]),
    );
  }
  if (kind === "hold") {
    show.next += out.sent;
    show.held.push(...out.held);
    show.unanswered += Math.max(0, out.sent - out.responses);
  }
  const { held: _held, ...rest } = out;
  return { ...rest, target: target.name, show_id: show.showId, cpu };
}

async function fanTokens(target, { fanSecret }) {
  const fans = Array.from({ length: Math.ceil(opts.capacity / opts.holdsPerFan) }, (_, k) => `fan_bench_${stamp}_${k}`);
  const { FAN_JWT_ISSUER: issuer, FAN_JWT_AUDIENCE: audience } = wranglerVars();
  if (fanSecret) {
    const tokens = signFanTokens(fans, { secret: fanSecret, issuer, audience });
    const me = await call(target.url, "GET", "/v1/me", { token: tokens[0] });
    if (me.status === 200) return tokens;
    log(`locally signed tokens refused (${me.status}); minting through POST /v1/dev/tokens`);
  }
  log(`minting ${fans.length} fan tokens through POST /v1/dev/tokens`);
  return mintFanTokens(target.url, fans);
}

async function benchTarget(target, { organizerKey, fanSecret, restartWithInspector }) {
  log(`[${target.name}] ${target.label} at ${target.url}`);
  // Refuse to measure a broken stack: both baselines must answer 200 first.
  for (const probe of ["/v1/dev/noop", "/healthz"]) await call(target.url, "GET", probe, { expect: 200 });
  const shows = await createBenchShows(target.url, { organizerKey, capacity: opts.capacity, count: opts.rounds, log });
  const tokens = await fanTokens(target, { fanSecret });
  target.tokensFile = path.join(workDir, `${target.name}-tokens.json`);
  writeFileSync(target.tokensFile, JSON.stringify(tokens));
  shows.forEach((show, i) => {
    show.seatsFile = path.join(workDir, `${target.name}-seats-${i}.json`);
    writeFileSync(show.seatsFile, JSON.stringify(show.seats));
    Object.assign(show, { next: 0, held: [], unanswered: 0 });
  });
  await call(target.url, "GET", `/v1/dev/noop-do/${shows[0].showId}`, { expect: 200 });

  // One real hold through fetch, so a broken hold path fails here with its problem document.
  const first = shows[0];
  const sanity = await call(target.url, "POST", `/v1/shows/${first.showId}/holds`, {
    token: tokens[0],
    headers: { "idempotency-key": `bench-${stamp}-${target.name}-0` },
    json: { seat_ids: [first.seats[0]] },
  });
  if (sanity.status !== 201) throw new Error(`a single hold failed: ${sanity.status} ${JSON.stringify(sanity.body)}`);
  first.held.push([sanity.body.hold_id, sanity.body.seat_ids]);
  first.next = 1;

  // Warm-up (not recorded): JIT, connection pools, the DO in memory, for every kind.
  const warmConnections = opts.levels.includes(16) ? 16 : opts.levels.at(-1);
  for (const kind of kinds) await runCell(target, first, kind, warmConnections, 1);

  const cells = [];
  const total = opts.rounds * opts.levels.length * kinds.length;
  for (let round = 0; round < opts.rounds; round++) {
    const show = shows[round];
    for (const [li, connections] of opts.levels.entries()) {
      // Rotate the order of the three kinds so none always runs first after a pause.
      const order = kinds.map((_, k) => kinds[(k + round + li) % kinds.length]);
      for (const kind of order) {
        const cell = await runCell(target, show, kind, connections, opts.durationS);
        cells.push({ ...cell, round });
        const bad = cell.errors + cell.timeouts + Object.entries(cell.statuses).filter(([k]) => k !== "2xx").length;
        log(
          `[${target.name}] ${String(cells.length).padStart(2)}/${total} round ${round + 1} c=${String(connections).padStart(2)} ${kind.padEnd(7)} ${cell.ok_per_s.toFixed(0).padStart(5)}/s p95 ${cell.latency_ms.p95?.toFixed(1) ?? "–"} ms${bad ? ` ⚠ ${JSON.stringify({ statuses: cell.statuses, refusals: cell.refusals, errors: cell.errors, timeouts: cell.timeouts })}` : ""}`,
        );
      }
    }
  }

  // The profiles run after the measured cells: Miniflare is restarted with the inspector on (its
  // measured cells never had one); wrangler dev always runs with its DevTools proxy. The
  // profiled holds are verified like the others.
  const summary = summarizeHttp(target, cells, opts.levels, opts);
  let profile = null;
  if (!args["no-profile"]) {
    if (restartWithInspector) Object.assign(target, await restartWithInspector(target));
    if (target.inspector) profile = await profileTarget(target, shows.at(-1), summary.knee.connections);
  }

  log(`[${target.name}] verifying zero double holds from the seat-map overlay`);
  const verification = [];
  for (const show of shows) {
    const view = await overlay(target.url, show.showId);
    const check = verifyShow({
      showId: show.showId,
      seats: show.seats,
      attempted: show.next,
      held: show.held,
      unanswered: show.unanswered,
      view,
    });
    verification.push({ target: target.name, ...check });
    log(
      `[${target.name}] ${show.showId}: ${check.ok ? "OK" : "FAILED"} — ${check.holds_confirmed} holds confirmed, ${check.seats_unavailable_in_overlay} seats unavailable, ${check.seats_held_twice} held twice`,
    );
  }
  summary.profile = profile;
  for (const l of httpLines(summary, opts)) log(l);
  return { summary, cells, verification };
}

/** V8 CPU profile of the Worker + DO isolate while it serves no-op DO round trips, then holds. */
async function profileTarget(target, show, connections) {
  const durationS = Math.max(2, opts.durationS);
  const out = { connections, duration_s: durationS };
  for (const kind of ["noop-do", "hold"]) {
    let session = null;
    let doSession = null;
    let raw = null;
    let doRaw = null;
    const cell = await runCell(target, show, kind, connections, durationS, {
      onStart: async () => {
        session = await startProfile(target.inspector);
        // Split stack: the objects' isolate, profiled over the same window.
        if (target.doInspector) doSession = await startProfile(target.doInspector);
      },
      onDone: async () => {
        raw = await session?.stop();
        doRaw = await doSession?.stop();
      },
    });
    if (!raw) throw new Error("the CPU profile did not complete");
    out[kind] = { ok_per_s: cell.ok_per_s, ...summarizeProfile(raw, target.bundle, { requests: cell.ok }) };
    if (doRaw) {
      out.do ??= {};
      out.do[kind] = { ok_per_s: cell.ok_per_s, ...summarizeProfile(doRaw, target.bundle, { requests: cell.ok }) };
    }
    log(
      `[${target.name}] profile ${kind} c=${connections}: ${cell.ok_per_s.toFixed(0)}/s, isolate busy ${(out[kind].busy_fraction * 100).toFixed(0)}%, ${out[kind].busy_us_per_request.toFixed(0)} µs busy per request${out.do?.[kind] ? `; DO isolate busy ${(out.do[kind].busy_fraction * 100).toFixed(0)}%, ${out.do[kind].busy_us_per_request.toFixed(0)} µs per request` : ""}`,
    );
  }
  return out;
}

// ── what bounds it ───────────────────────────────────────────────────────────────────────

const serverLabel = (label) => label.startsWith("workerd") || label.includes("(node)");

/** Server CPU µs per successful request at one level, from the cores each process used. */
function serverUsPerRequest(kindRow) {
  if (!kindRow.ok_per_s) return null;
  const cores = Object.entries(kindRow.cpu_cores).filter(([label]) => serverLabel(label));
  if (!cores.length) return null;
  return (cores.reduce((n, [, v]) => n + (v ?? 0), 0) / kindRow.ok_per_s) * 1e6;
}

function bounds(result) {
  const out = [];
  const doCost = result.do_cost;
  const f = (x, d = 0) => (x === null || x === undefined ? "–" : x.toFixed(d));
  if (doCost) {
    const p = doCost.profile;
    const reads = p.statements.filter((x) => x.kind === "read");
    const commit = doCost.variants.hold_commit_each;
    const baseCommit = doCost.variants.baseline_commit_each;
    out.push(
      `Inside the DO, hold() costs ${f(doCost.hold_us, 1)} µs vs ${f(doCost.baseline_us, 1)} µs for the bare UPDATE + INSERT (${f(doCost.ratio_to_baseline, 1)}×). It runs ${f(p.statements_per_hold, 1)} SQL statements per hold (${reads.length} reads, ${reads.filter((x) => /^SELECT \*/i.test(x.sql)).length} of them \`SELECT *\` of whole rows) and one transactionSync; a trivial sql.exec costs ${f(p.exec_floor_us, 1)} µs here and an empty transactionSync ${f(p.transaction_floor_us, 1)} µs. The reads replay at ≈ ${f(p.read_us_per_hold)} µs per hold, ${f((p.read_us_per_hold / (doCost.hold_us - doCost.baseline_us)) * 100)}% of the ${f(doCost.hold_us - doCost.baseline_us)} µs between hold() and the baseline; the rest is JavaScript (ids, JSON, the view) and the transaction.`,
    );
    if (commit && baseCommit) {
      out.push(
        `Committed one hold at a time (await storage.sync() after each, as when every hold is its own request and nothing else is in flight) a hold costs ${f(commit.us_per_hold)} µs and the bare UPDATE + INSERT ${f(baseCommit.us_per_hold)} µs: the per-request SQLite commit, not hold()'s logic, dominates a lone request; concurrent requests share commits (output-gate coalescing).`,
      );
    }
  }
  for (const s of result.http) {
    const k = s.levels.find((r) => r.connections === s.knee.connections);
    const split = Object.entries(k.hold.cpu_cores)
      .filter(([, v]) => v >= 0.01)
      .map(([label, v]) => `${label} ${v.toFixed(2)}`)
      .join(", ");
    const saturated = k.hold.machine_cores >= 0.9 * coreCount;
    const worker = k.hold.cpu_cores["workerd (worker + DO)"];
    const perReq = {
      noop: serverUsPerRequest(k.noop),
      noopDo: serverUsPerRequest(k["noop-do"]),
      hold: serverUsPerRequest(k.hold),
    };
    if (perReq.hold === null) {
      out.push(
        `${s.label}: at the knee (${s.knee.connections} connections) the machine was ${f(k.hold.machine_cores, 2)} of ${coreCount} cores busy during holds (${split}; everything else ${f(k.hold.outside_cores, 2)}, which includes the stack's own processes: with --url they are not known here, so start the stack from this script to see the split).`,
      );
      continue;
    }
    if (s.target === "split") {
      out.push(splitLine(s, k, f));
      if (s.profile) out.push(...splitProfileLines(s.profile, f));
      continue;
    }
    out.push(
      `${s.label}: at the knee (${s.knee.connections} connections) the machine was ${f(k.hold.machine_cores, 2)} of ${coreCount} cores busy during holds (${split}; outside the bench ${f(k.hold.outside_cores, 2)})${saturated ? " — the cores are saturated, shared by the server, the load generator and whatever else runs on the machine" : ""}. The Worker and the Show DO run in one isolate (one JS thread), which used ${f(worker, 2)} cores. Server CPU per request: no-op ${f(perReq.noop)} µs, no-op DO round trip ${f(perReq.noopDo)} µs, hold ${f(perReq.hold)} µs (${f(perReq.hold / perReq.noopDo, 1)}× the round trip) — throughput follows that ratio.${doCost ? ` The DO's own hold() (${f(doCost.hold_us)} µs) is ${f((doCost.hold_us / perReq.hold) * 100 || 0)}% of it.` : ""}`,
    );
    if (s.profile) {
      const extra = s.profile.hold.busy_us_per_request - s.profile["noop-do"].busy_us_per_request;
      const top = profileDiff(s.profile)
        .filter((b) => b.extra_us >= 10)
        .slice(0, 6)
        .map((b) => `${b.name} ${f(b.extra_us)} µs`)
        .join(", ");
      out.push(
        `V8 profile (${s.label}, ${s.profile.connections} connections, profiler attached so absolute µs are inflated): the isolate was busy ${f(s.profile.hold.busy_fraction * 100)}% of the time during holds; a hold takes ${f(extra)} µs more isolate time than a no-op DO round trip — ${top}.`,
      );
    }
  }
  const w = result.http.find((s) => s.target === "wrangler");
  const m = result.http.find((s) => s.target === "miniflare");
  if (w && m) {
    const isolate =
      w.profile && m.profile
        ? ` V8 profiles of the same bundle on the same workerd build: the worker isolate spends ${f(w.profile["noop-do"].busy_us_per_request)} µs per no-op DO round trip under wrangler dev vs ${f(m.profile["noop-do"].busy_us_per_request)} µs under Miniflare (top under wrangler dev: ${w.profile[
            "noop-do"
          ].by_source
            .slice(0, 3)
            .map((b) => `${b.name} ${f(b.us_per_request)} µs`)
            .join(", ")}).`
        : "";
    out.push(
      `wrangler dev vs workerd directly: peak no-op ${f(w.peak.noop_per_s)} vs ${f(m.peak.noop_per_s)} req/s (${f((w.peak.noop_per_s / m.peak.noop_per_s) * 100)}%), no-op DO ${f(w.peak.noop_do_per_s)} vs ${f(m.peak.noop_do_per_s)}, holds ${f(w.peak.holds_per_s)} vs ${f(m.peak.holds_per_s)}/s; p95 of a no-op at 1 connection ${f(w.levels[0].noop.p95_ms, 1)} vs ${f(m.levels[0].noop.p95_ms, 1)} ms. wrangler dev's extra hop (its proxy workerd, which also logs every request) and a costlier worker process bound every figure through it, so the direct figures are the ones that say what the Worker and the DO can do.${isolate}`,
    );
  }
  return out;
}

/** CPU µs per successful request of one process group (split stack: "workerd (worker)", "workerd (DO)"). */
function usPerRequest(kindRow, label) {
  const cores = kindRow.cpu_cores[label];
  return kindRow.ok_per_s && cores !== undefined ? (cores / kindRow.ok_per_s) * 1e6 : null;
}

/**
 * The split stack's two figures (issue 16, target 6): what one show's DO spends per hold, so the
 * holds/s one show can serve (its object is one thread), and what the Worker spends per hold;
 * and target 2's ratio with the objects out of the Worker's process.
 */
function splitLine(s, k, f) {
  const w = { noopDo: usPerRequest(k["noop-do"], "workerd (worker)"), hold: usPerRequest(k.hold, "workerd (worker)") };
  const d = { noopDo: usPerRequest(k["noop-do"], "workerd (DO)"), hold: usPerRequest(k.hold, "workerd (DO)") };
  const both = { noopDo: w.noopDo + d.noopDo, hold: w.hold + d.hold };
  s.split = {
    connections: s.knee.connections,
    worker_us: w,
    do_us: d,
    worker_plus_do_us: both,
    ratio_hold_to_noop_do: both.hold / both.noopDo,
    do_ceiling_holds_per_s: 1e6 / d.hold,
    do_cores_during_holds: k.hold.cpu_cores["workerd (DO)"],
  };
  return `${s.label}, at the knee (${s.knee.connections} connections): CPU per hold — Worker process ${f(w.hold)} µs (no-op DO round trip ${f(w.noopDo)} µs), DO process ${f(d.hold)} µs (no-op ${f(d.noopDo)} µs); Worker + DO ${f(both.hold)} vs ${f(both.noopDo)} µs = ${f(both.hold / both.noopDo, 2)}× the no-op round trip (target ≤ 1.5×). One show's DO at ${f(d.hold)} µs a hold serves at most ≈ ${f(1e6 / d.hold)} holds/s (it used ${f(k.hold.cpu_cores["workerd (DO)"], 2)} cores at ${f(k.hold.ok_per_s)} holds/s here); every figure includes workerd's own work for the cross-process call on each side.`;
}

function splitProfileLines(profile, f) {
  const lines = [];
  const top = (p) =>
    profileDiff(p)
      .filter((b) => b.extra_us >= 10)
      .slice(0, 6)
      .map((b) => `${b.name} ${f(b.extra_us)} µs`)
      .join(", ");
  lines.push(
    `V8 profile, the Worker's isolate (${profile.connections} connections, inflated by the profiler): ${f(profile["noop-do"].busy_us_per_request)} µs per no-op DO round trip, ${f(profile.hold.busy_us_per_request)} µs per hold — ${top(profile)}.`,
  );
  if (profile.do) {
    lines.push(
      `V8 profile, the objects' isolate: ${f(profile.do["noop-do"].busy_us_per_request)} µs per no-op call, ${f(profile.do.hold.busy_us_per_request)} µs per hold — ${top({ ...profile.do, connections: profile.connections })}.`,
    );
  }
  return lines;
}

// ── main ─────────────────────────────────────────────────────────────────────────────────

function readSecret(envName, file) {
  if (process.env[envName]) return process.env[envName];
  try {
    return readFileSync(path.join(root, ".data", file), "utf8").trim();
  } catch {
    return undefined;
  }
}

function version(pkg) {
  try {
    return JSON.parse(readFileSync(path.join(root, "node_modules", pkg, "package.json"), "utf8")).version;
  } catch {
    return null;
  }
}

const result = {
  started_at: new Date().toISOString(),
  command: `npm run bench:holds${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
  options: opts,
  machine: {
    cores: coreCount,
    cpu: os.cpus()[0]?.model ?? "?",
    memory_gb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    workerd: version("wrangler/node_modules/@cloudflare/workerd-linux-64") ?? version("@cloudflare/workerd-linux-64"),
    wrangler: version("wrangler"),
    autocannon: version("autocannon"),
    load_average_at_start: os.loadavg(),
  },
  do_cost: null,
  http: [],
  verification: [],
  cells: [],
  bounds: [],
};

try {
  if (!args["skip-do"]) result.do_cost = await measureDoCost();
  if (!args["skip-http"]) {
    if (args.url) {
      const organizerKey = args["organizer-key"] ?? readSecret("ONSALE_DEV_ORGANIZER_KEY", "dev-organizer-key");
      if (!organizerKey) throw new Error("--url needs the stack's organizer key (--organizer-key)");
      const fanSecret = args["fan-secret"] ?? readSecret("FAN_JWT_SECRET", "dev-fan-jwt-secret");
      const run = await benchTarget(externalTarget(args.url.replace(/\/$/, "")), { organizerKey, fanSecret });
      result.http.push(run.summary);
      result.cells.push(...run.cells);
      result.verification.push(...run.verification);
    } else {
      const db = await startDatabase({ dir: workDir, log });
      cleanups.push(db.stop);
      log("bundling the Worker once (wrangler deploy --dry-run)");
      const built = await buildBundle({ dir: workDir });
      // workerd directly serves the bundle with its Rate Limiting bindings replaced by an
      // always-allow stand-in (bench/waiting-room/do-calls-entry.mjs, as bench:waiting-room does):
      // Miniflare's own binding is a call to another object per limit, three per hold, which cost
      // more than the hold itself (measured: 30–40 holds/s with it, the isolate 0.3 cores busy) and
      // is not what production pays (a counter in the location). wrangler dev keeps the real one.
      const counted = writeCountingBundle(built);
      const fanSecret = randomBytes(32).toString("hex");
      const organizerKey = `osk_bench_${randomBytes(24).toString("hex")}`;
      const vars = {
        ENVIRONMENT: "development",
        DATABASE_URL: db.url,
        PG_WS_PROXY: db.proxyUrl,
        FAN_JWT_SECRET: fanSecret,
      };
      for (const name of opts.targets) {
        const start = {
          wrangler: startWrangler,
          miniflare: startMiniflare,
          split: (o) => startMiniflare({ ...o, split: true }),
        }[name];
        if (!start) throw new Error(`unknown target ${name} (wrangler, miniflare, split)`);
        log(`starting ${name}`);
        const bundle = name === "wrangler" ? built : counted;
        const target = await start({ dir: workDir, bundle, vars });
        cleanups.push(target.stop);
        target.bundle = bundle;
        const restartWithInspector =
          name === "miniflare" || name === "split"
            ? async (current) => {
                await current.stop();
                log(`restarting ${name} with the V8 inspector for the CPU profile`);
                const next = await startMiniflare({
                  dir: workDir,
                  bundle,
                  vars,
                  inspector: true,
                  split: name === "split",
                });
                cleanups.push(next.stop);
                return next;
              }
            : undefined;
        try {
          const run = await benchTarget(target, { organizerKey, fanSecret, restartWithInspector });
          result.http.push(run.summary);
          result.cells.push(...run.cells);
          result.verification.push(...run.verification);
        } finally {
          await target.stop();
        }
      }
    }
  }
  result.bounds = bounds(result);
  const outside = median(result.cells.map((c) => c.cpu?.outside_cores));
  if (outside !== null) {
    const worst = Math.max(...result.cells.map((c) => c.cpu?.outside_cores ?? 0));
    result.noise = `Other processes on the machine (outside the bench) used a median ${outside.toFixed(2)} and at most ${worst.toFixed(2)} of ${coreCount} cores during the HTTP cells (load average at start ${result.machine.load_average_at_start.map((x) => x.toFixed(2)).join(", ")})${outside >= 0.25 ? "; throughput is depressed and latency inflated accordingly" : ""}. Every figure is a median of ${opts.rounds} interleaved rounds, and the baselines run beside the holds at each level, so the ratios hold up better than the absolute figures.`;
  }
  result.finished_at = new Date().toISOString();
  result.duration_s = (performance.now() - t0) / 1000;
  result.zero_double_holds = result.verification.every((v) => v.ok);

  const base = path.join(resultsDir, `holds-${stamp}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(`${base}.md`, markdown(result));

  console.log("\n══════════════════════════ npm run bench:holds — summary ══════════════════════════\n");
  if (result.do_cost) console.log(`${doCostLines(result.do_cost).join("\n")}\n`);
  for (const s of result.http) console.log(`${httpLines(s, opts).join("\n")}\n`);
  if (result.verification.length) {
    const v = result.verification;
    console.log(
      `Zero double holds: ${result.zero_double_holds ? "yes" : "NO"} — ${v.length} shows, ${v.reduce((n, x) => n + x.holds_confirmed, 0)} holds confirmed, ${v.reduce((n, x) => n + x.seats_held_twice, 0)} seats held twice, ${v.reduce((n, x) => n + x.held_without_a_seen_response, 0)} seats held whose response was not seen (of ${v.reduce((n, x) => n + x.requests_without_response, 0)} requests unanswered when a cell stopped)\n`,
    );
  }
  for (const b of result.bounds) console.log(`• ${b}`);
  if (result.noise) console.log(`• ${result.noise}`);
  console.log(
    `\nMedian of ${opts.rounds} rounds per cell; ${result.duration_s.toFixed(0)} s in all. Results: ${path.relative(root, base)}.{json,md}`,
  );
  finished = true;
  clearTimeout(hardStop);
  await cleanup();
  process.exit(result.zero_double_holds ? 0 : 1);
} catch (error) {
  await abort(error instanceof Error ? (error.stack ?? error.message) : String(error), 1);
}
