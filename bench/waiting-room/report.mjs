// Summaries of `npm run bench:waiting-room`: the figures (medians and ratios), the DO calls the
// polls caused (by method and over time), admission accuracy, what bounds the throughput; as
// console lines and as Markdown. Everything is computed from the raw result the script also
// writes as JSON, and says only what the counts show: the code under test changes, this does not.
import { markdownTable, median, profileDiff, table } from "../lib/report.mjs";

const fmt = (value, digits = 0) =>
  value === null || value === undefined || Number.isNaN(value) || !Number.isFinite(value)
    ? "–"
    : Number(value).toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const pct = (value, digits = 0) =>
  value === null || value === undefined || Number.isNaN(value) || !Number.isFinite(value)
    ? "–"
    : `${(value * 100).toFixed(digits)}%`;
const signed = (x, digits = 0) => (x === null || x === undefined ? "–" : `${x >= 0 ? "+" : ""}${fmt(x, digits)}`);
const sum = (values) => values.reduce((a, b) => a + (b ?? 0), 0);

/** DO calls the orchestrator makes itself (admin stats, room changes), the joins, and the alarm. */
const NOT_FROM_POLLS = new Set(["roomStats", "configureRoom", "joinQueue", "alarm", "items", "same_isolate"]);
/** Per method, the DO calls a window of polls caused (the edge's calls to the DO, counted at the binding). */
function pollDriven(deltas) {
  const byMethod = {};
  for (const [k, v] of Object.entries(deltas ?? {})) if (!NOT_FROM_POLLS.has(k) && v) byMethod[k] = v;
  return { byMethod, total: sum(Object.values(byMethod)) };
}
const methodsText = (byMethod, items = {}) =>
  Object.entries(byMethod)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${fmt(v)}${items[k] ? ` (${fmt(items[k])} items)` : ""}`)
    .join(", ") || "none";

/** The Worker's workerd: one process with the objects, or (--split) the Worker's own. */
const workerCores = (r) => r.cpu?.cores?.["workerd (worker + DO)"] ?? r.cpu?.cores?.["workerd (worker)"];
/** The objects' workerd under --split (none otherwise). */
const doCores = (r) => r.cpu?.cores?.["workerd (DO)"];

/** --split: the objects' process CPU per answer, apart from the Worker's. */
const splitText = (noop, kind, name) =>
  kind.do_us_per_request == null
    ? ""
    : `; with the objects in their own process, the Worker's process spent that and the objects' ${fmt(kind.do_us_per_request)} µs per ${name} (${fmt(noop.do_us_per_request ?? 0)} per no-op request)`;

// ── 1. throughput ────────────────────────────────────────────────────────────────────────

function summarizeThroughput(result) {
  const cells = result.cells;
  const kinds = [...new Set(cells.map((c) => c.kind))];
  const levels = [...new Set(cells.map((c) => c.connections))].sort((a, b) => a - b);
  const rows = levels.map((connections) => {
    const row = { connections };
    for (const kind of kinds) {
      const runs = cells.filter((c) => c.kind === kind && c.connections === connections);
      const worker = runs.map(workerCores);
      const objects = runs.map(doCores);
      const driven = runs.map((r) => pollDriven(r.do_calls));
      const byMethod = {};
      for (const d of driven) for (const [k, v] of Object.entries(d.byMethod)) byMethod[k] = (byMethod[k] ?? 0) + v;
      const items = {};
      for (const r of runs)
        for (const [k, v] of Object.entries(r.do_calls?.items ?? {})) items[k] = (items[k] ?? 0) + v;
      row[kind] = {
        runs: runs.length,
        ok_per_s: median(runs.map((r) => r.ok_per_s)),
        ok_per_s_all: runs.map((r) => Math.round(r.ok_per_s)),
        p50_ms: median(runs.map((r) => r.latency_ms?.p50)),
        p95_ms: median(runs.map((r) => r.latency_ms?.p95)),
        p99_ms: median(runs.map((r) => r.latency_ms?.p99)),
        ok: sum(runs.map((r) => r.ok)),
        not_ok: sum(runs.map((r) => (r.responses ?? 0) - (r.ok ?? 0))),
        too_fast_429: sum(runs.map((r) => r.too_fast_429)),
        errors: sum(runs.map((r) => r.errors)),
        worker_cores: median(worker),
        // Isolate CPU per answered request, from /proc: cores busy ÷ requests per second.
        worker_us_per_request: median(
          runs.map((r, i) => (worker[i] && r.ok_per_s ? (worker[i] / r.ok_per_s) * 1e6 : null)),
        ),
        // Split stack (--split): the objects' process, apart.
        do_us_per_request: median(
          runs.map((r, i) => (objects[i] && r.ok_per_s ? (objects[i] / r.ok_per_s) * 1e6 : null)),
        ),
        loadgen_cores: median(runs.map((r) => r.cpu?.cores?.["load generator"])),
        machine_cores: median(runs.map((r) => r.cpu?.machine_cores)),
        outside_cores: median(runs.map((r) => r.cpu?.outside_cores)),
        do_poll_queue: sum(runs.map((r) => r.do_calls?.pollQueue)),
        do_calls: sum(driven.map((d) => d.total)),
        do_calls_by_method: byMethod,
        do_items: items,
      };
    }
    // Each round's poll cell beside the same round's no-op cell: the paired ratio.
    const paired = [...new Set(cells.map((c) => c.round))].map((round) => {
      const at = (kind) => cells.find((c) => c.kind === kind && c.connections === connections && c.round === round);
      const poll = at("poll");
      const noop = at("noop");
      return poll && noop ? poll.ok_per_s / noop.ok_per_s : null;
    });
    row.ratio = row.poll.ok_per_s / row.noop.ok_per_s;
    row.ratio_paired_median = median(paired);
    row.ratio_paired_all = paired.map((x) => (x === null ? null : Math.round(x * 1000) / 1000));
    row.do_share = row.poll.ok ? row.poll.do_poll_queue / row.poll.ok : null;
    row.edge_polls_per_s = row.poll.ok_per_s * (1 - (row.do_share ?? 0));
    if (row["noop-autocannon"]) row.client_check = row.noop.ok_per_s / row["noop-autocannon"].ok_per_s;
    return row;
  });
  // Capacity against capacity: the polls' best level against the no-op route's best level (each
  // at the concurrency where it peaks), with the same-level ratios beside.
  const peak = (kind) => rows.reduce((a, b) => ((b[kind].ok_per_s ?? 0) > (a[kind].ok_per_s ?? 0) ? b : a));
  const pollPeak = peak("poll");
  const noopPeak = peak("noop");
  const ratio = pollPeak.poll.ok_per_s / noopPeak.noop.ok_per_s;
  return {
    levels: rows,
    headline: {
      polls_per_s: pollPeak.poll.ok_per_s,
      polls_connections: pollPeak.connections,
      edge_polls_per_s: pollPeak.edge_polls_per_s,
      noop_per_s: noopPeak.noop.ok_per_s,
      noop_connections: noopPeak.connections,
      ratio,
      same_level: rows.map((r) => ({ connections: r.connections, ratio: r.ratio, paired: r.ratio_paired_median })),
      meets_target: ratio >= result.options.ratioTarget,
      do_share: pollPeak.do_share,
      do_calls_per_poll: pollPeak.poll.ok ? pollPeak.poll.do_calls / pollPeak.poll.ok : null,
    },
  };
}

// ── the join storm ───────────────────────────────────────────────────────────────────────

/**
 * Joins/s against the same run's no-op req/s (each at its best level, medians over rounds, as
 * the polls), the paired per-round ratios, and every edge → Show DO call made during the storm
 * cells ÷ the joins.
 */
function summarizeStorm(result) {
  const cells = result.storm?.cells;
  if (!cells?.length) return null;
  const levels = [...new Set(cells.map((c) => c.connections))].sort((a, b) => a - b);
  const rows = levels.map((connections) => {
    const row = { connections };
    for (const kind of ["join", "noop"]) {
      const runs = cells.filter((c) => c.kind === kind && c.connections === connections);
      const worker = runs.map(workerCores);
      const objects = runs.map(doCores);
      row[kind] = {
        runs: runs.length,
        ok_per_s: median(runs.map((r) => r.ok_per_s)),
        ok_per_s_all: runs.map((r) => Math.round(r.ok_per_s)),
        p50_ms: median(runs.map((r) => r.latency_ms?.p50)),
        p95_ms: median(runs.map((r) => r.latency_ms?.p95)),
        p99_ms: median(runs.map((r) => r.latency_ms?.p99)),
        ok: sum(runs.map((r) => r.ok)),
        not_ok: sum(runs.map((r) => (r.responses ?? 0) - (r.ok ?? 0))),
        errors: sum(runs.map((r) => r.errors)),
        worker_cores: median(worker),
        worker_us_per_request: median(
          runs.map((r, i) => (worker[i] && r.ok_per_s ? (worker[i] / r.ok_per_s) * 1e6 : null)),
        ),
        // Split stack (--split): the objects' process, apart.
        do_us_per_request: median(
          runs.map((r, i) => (objects[i] && r.ok_per_s ? (objects[i] / r.ok_per_s) * 1e6 : null)),
        ),
        loadgen_cores: median(runs.map((r) => r.cpu?.cores?.["load generator"])),
        machine_cores: median(runs.map((r) => r.cpu?.machine_cores)),
        outside_cores: median(runs.map((r) => r.cpu?.outside_cores)),
      };
    }
    const joins = cells.filter((c) => c.kind === "join" && c.connections === connections);
    const byMethod = {};
    for (const c of joins)
      for (const [k, v] of Object.entries(c.do_calls_by_method ?? {})) byMethod[k] = (byMethod[k] ?? 0) + v;
    row.join.do_calls = sum(joins.map((c) => c.do_calls));
    row.join.do_calls_by_method = byMethod;
    row.join.arrival_items = sum(joins.map((c) => c.arrival_items));
    row.join.do_calls_per_join = row.join.ok ? row.join.do_calls / row.join.ok : null;
    row.join.places_short = sum(joins.map((c) => c.created - c.queued_after));
    row.join.duplicate_keys = sum(joins.map((c) => c.created - c.distinct_keys));
    row.join.seconds = median(joins.map((c) => c.wall_s));
    const paired = [...new Set(cells.map((c) => c.round))].map((round) => {
      const at = (kind) => cells.find((c) => c.kind === kind && c.connections === connections && c.round === round);
      return at("join") && at("noop") ? at("join").ok_per_s / at("noop").ok_per_s : null;
    });
    row.ratio = row.join.ok_per_s / row.noop.ok_per_s;
    row.ratio_paired_median = median(paired);
    row.ratio_paired_all = paired.map((x) => (x === null ? null : Math.round(x * 1000) / 1000));
    return row;
  });
  const peak = (kind) => rows.reduce((a, b) => ((b[kind].ok_per_s ?? 0) > (a[kind].ok_per_s ?? 0) ? b : a));
  const joinPeak = peak("join");
  const noopPeak = peak("noop");
  const joinCells = cells.filter((c) => c.kind === "join");
  const joins = sum(joinCells.map((c) => c.ok));
  const doCalls = sum(joinCells.map((c) => c.do_calls));
  const byMethod = {};
  for (const c of joinCells)
    for (const [k, v] of Object.entries(c.do_calls_by_method ?? {})) byMethod[k] = (byMethod[k] ?? 0) + v;
  const ratio = joinPeak.join.ok_per_s / noopPeak.noop.ok_per_s;
  const doCallsPerJoin = joins ? doCalls / joins : null;
  return {
    fans: result.storm.fans,
    levels: rows,
    headline: {
      joins_per_s: joinPeak.join.ok_per_s,
      joins_connections: joinPeak.connections,
      noop_per_s: noopPeak.noop.ok_per_s,
      noop_connections: noopPeak.connections,
      ratio,
      same_level: rows.map((r) => ({ connections: r.connections, ratio: r.ratio, paired: r.ratio_paired_median })),
      joins,
      do_calls: doCalls,
      do_calls_by_method: byMethod,
      do_calls_per_join: doCallsPerJoin,
      places_short: sum(joinCells.map((c) => c.created - c.queued_after)),
      duplicate_keys: sum(joinCells.map((c) => c.created - c.distinct_keys)),
      not_201: sum(joinCells.map((c) => (c.responses ?? 0) - (c.ok ?? 0))) + sum(joinCells.map((c) => c.errors)),
      meets_ratio: ratio >= result.options.stormRatioTarget,
      meets_do_calls: doCallsPerJoin !== null && doCallsPerJoin <= result.options.stormDoCallsTarget,
    },
    split: workerAlone(result, joinPeak),
  };
}

/**
 * Locally the Durable Objects run on the Worker's one isolate thread, so the objects' work on the
 * arrival batches (the door's and the Show DO's RPCs, SQLite) is in every join's isolate time;
 * in production it runs elsewhere. Split by the V8 profile of the join storm (the share of time
 * under durable-objects/ code, a lower bound), applied to the unprofiled isolate CPU per answer
 * from /proc: what the Worker alone spends per join, beside the no-op route. The CPU ratio is
 * the capacity ratio on one thread (no-op µs ÷ join µs); the throughput ratio above also carries
 * the machine's contention.
 */
function workerAlone(result, row) {
  const p = result.profile;
  if (!p?.join || !p?.noop || p.join.do_share === undefined) return null;
  const joinUs = row.join.worker_us_per_request;
  const noopUs = row.noop.worker_us_per_request;
  if (!joinUs || !noopUs) return null;
  const workerJoinUs = joinUs * (1 - p.join.do_share);
  const workerNoopUs = noopUs * (1 - p.noop.do_share);
  return {
    connections: row.connections,
    join_us: joinUs,
    noop_us: noopUs,
    cpu_ratio: noopUs / joinUs,
    join_do_share: p.join.do_share,
    noop_do_share: p.noop.do_share,
    worker_join_us: workerJoinUs,
    worker_noop_us: workerNoopUs,
    do_us_per_join: joinUs - workerJoinUs,
    worker_ratio: workerNoopUs / workerJoinUs,
    profile_worker_join_us: p.join.busy_us_per_request - p.join.do_us_per_request,
    profile_worker_noop_us: p.noop.busy_us_per_request - p.noop.do_us_per_request,
    profile_worker_ratio:
      (p.noop.busy_us_per_request - p.noop.do_us_per_request) / (p.join.busy_us_per_request - p.join.do_us_per_request),
    entry_join_us: p.join.entry?.busy_us_per_request ?? null,
    entry_noop_us: p.noop.entry?.busy_us_per_request ?? null,
  };
}

/** Where a join's isolate time goes: the Worker's part beside the objects' (one line). */
export function stormSplitLine(storm) {
  const x = storm.split;
  if (!x) return null;
  return `joins, the Worker's isolate alone: ${fmt(x.profile_worker_join_us)} µs vs no-op ${fmt(x.profile_worker_noop_us)} µs per answer (${x.profile_worker_ratio.toFixed(2)}, V8 profile); workerd process CPU per answer: ${fmt(x.join_us)} vs ${fmt(x.noop_us)} µs (${x.cpu_ratio.toFixed(2)}), ${fmt(x.worker_join_us)} vs ${fmt(x.worker_noop_us)} without the objects' work (${x.worker_ratio.toFixed(2)})`;
}

/** The issue's storm line, exactly: `joins: <joins/s> vs no-op <req/s> (<ratio>), DO calls per join <x>`. */
export function stormLine(storm) {
  const h = storm.headline;
  return `joins: ${Math.round(h.joins_per_s)} vs no-op ${Math.round(h.noop_per_s)} (${h.ratio.toFixed(2)}), DO calls per join ${h.do_calls_per_join === null ? "–" : Number(h.do_calls_per_join.toPrecision(2))}`;
}

// ── 2. the DO calls while fans poll at their own cadence ─────────────────────────────────

function summarizePhaseDo(phase) {
  const f = phase.fans;
  const calls = phase.do_calls;
  const first = calls[0];
  const last = calls.at(-1);
  const delta = (a, b) => {
    const out = {};
    for (const k of new Set([...Object.keys(a.counts), ...Object.keys(b.counts)])) {
      out[k] = (b.counts[k] ?? 0) - (a.counts[k] ?? 0);
    }
    return out;
  };
  const itemsDelta = (a, b) =>
    Object.fromEntries(Object.keys(b.items ?? {}).map((k) => [k, b.items[k] - (a.items?.[k] ?? 0)]));
  const total = delta(first, last);
  const driven = pollDriven(total);
  const timeline = f.timeline ?? [];
  const polls = f.ok;
  const pollQueue = total.pollQueue ?? 0;

  // Windows between two reads of the counters (every ~5 s).
  const windows = [];
  for (let i = 1; i < calls.length; i++) {
    const from = Math.floor(calls[i - 1].at_ms / 1000);
    const to = Math.floor(calls[i].at_ms / 1000);
    const buckets = timeline.filter((b) => b.t >= from && b.t < to);
    const d = delta(calls[i - 1], calls[i]);
    windows.push({
      from_s: (calls[i - 1].at_ms - phase.started_at_ms) / 1000,
      to_s: (calls[i].at_ms - phase.started_at_ms) / 1000,
      polls: sum(buckets.map((b) => b.polls)),
      poll_queue: d.pollQueue ?? 0,
      do_calls: pollDriven(d).total,
      admitted: sum(buckets.map((b) => b.admitted)),
      exp_moved: sum(buckets.map((b) => b.exp_moved)),
      latency_max_ms: Math.max(0, ...buckets.map((b) => b.latency_max_ms)),
      late_max_ms: Math.max(0, ...buckets.map((b) => b.late_max_ms)),
    });
  }
  // The share over the first and the last minute, and the worst ~20 s.
  const spanShare = (ws) => {
    const p = sum(ws.map((w) => w.polls));
    return p ? sum(ws.map((w) => w.poll_queue)) / p : null;
  };
  const duration = (last.at_ms - first.at_ms) / 1000;
  const firstMinute = windows.filter((w) => w.to_s <= 60);
  const lastMinute = windows.filter((w) => w.from_s >= duration - 60);
  const merged = mergeWindows(windows, 20);
  const worst = merged.reduce(
    (a, w) => (!a || (w.polls && w.poll_queue / w.polls > a.share) ? { ...w, share: w.poll_queue / w.polls } : a),
    null,
  );
  return {
    polls,
    seconds: f.wall_s,
    polls_per_s: f.ok_per_s,
    offered_polls_per_s: phase.state?.offered_polls_per_s ?? null,
    waiting: phase.state?.by_status?.waiting ?? null,
    do_poll_queue: pollQueue,
    do_share: polls ? pollQueue / polls : null,
    do_calls: driven.total,
    do_calls_by_method: driven.byMethod,
    do_items: itemsDelta(first, last),
    do_calls_per_poll: polls ? driven.total / polls : null,
    alarms: total.alarm ?? 0,
    admitted_answers: f.admitted_answers,
    exp_moved_answers: f.exp_moved_answers,
    poll_queue_minus_admissions: pollQueue - f.admitted_answers,
    same_isolate: first.isolate === last.isolate,
    too_fast_429: f.too_fast_429,
    refusals: f.refusals,
    errors: f.errors,
    latency_ms: f.latency_ms,
    lateness_ms: f.lateness_ms,
    first_minute_share: spanShare(firstMinute),
    last_minute_share: spanShare(lastMinute),
    worst_window: worst ? { from_s: worst.from_s, to_s: worst.to_s, share: worst.share } : null,
    windows,
    cpu: phase.cpu,
  };
}

function mergeWindows(windows, every) {
  const rows = [];
  let acc = null;
  for (const w of windows) {
    if (!acc) acc = { ...w };
    else {
      acc.to_s = w.to_s;
      for (const k of ["polls", "poll_queue", "do_calls", "admitted", "exp_moved"]) acc[k] += w[k];
      acc.latency_max_ms = Math.max(acc.latency_max_ms, w.latency_max_ms);
      acc.late_max_ms = Math.max(acc.late_max_ms, w.late_max_ms);
    }
    if (acc.to_s - acc.from_s >= every - 1) {
      rows.push(acc);
      acc = null;
    }
  }
  if (acc) rows.push(acc);
  return rows;
}

// ── 3. admission accuracy ────────────────────────────────────────────────────────────────

function summarizeAdmission(phase) {
  const apm = phase.config.admit_per_minute;
  const startedAt = phase.started_at_ms;
  const endedAt = phase.fans.ended_at_ms;
  const samples = phase.samples.filter((s) => s.at_ms - startedAt >= 60_000);
  const lastMinute = samples.map((s) => s.admitted_last_minute);
  const w0 = phase.config.watermark;
  const wEnd = phase.samples.at(-1);

  // Exact admission times: each admission token expires one checkout window after admission.
  const seen = (phase.fans.admissions ?? []).filter((x) => x.admitted_at_ms >= startedAt);
  const times = seen.map((x) => x.admitted_at_ms).sort((x, y) => x - y);
  const ticks = new Map();
  for (const t of times) ticks.set(t, (ticks.get(t) ?? 0) + 1);
  const tickTimes = [...ticks.keys()].sort((x, y) => x - y);
  const tickSizes = tickTimes.map((t) => ticks.get(t));
  const intervals = tickTimes.slice(1).map((t, i) => t - tickTimes[i]);
  // Sliding one-minute windows, every second, from a minute after the start to the last
  // admission a poll could have seen (fans at the front poll every second).
  const windows = [];
  let lo = 0;
  let hi = 0;
  for (let end = startedAt + 60_000; end <= endedAt - 5_000; end += 1000) {
    while (hi < times.length && times[hi] <= end) hi++;
    while (lo < hi && times[lo] <= end - 60_000) lo++;
    windows.push(hi - lo);
  }
  const within1 = windows.filter((n) => Math.abs(n - apm) <= 1).length;
  // FIFO: in key order (the fans' rank, from the keys their tickets carry), admission times
  // never go backwards.
  const byRank = [...seen].sort((x, y) => x.rank - y.rank);
  let inversions = 0;
  for (let i = 1; i < byRank.length; i++) if (byRank[i].admitted_at_ms < byRank[i - 1].admitted_at_ms) inversions++;
  const ranks = byRank.map((x) => x.rank);
  const seenRanks = new Set(ranks);
  const unseen = new Set(phase.state?.waiting_below_last_admitted ?? []);
  const missing = [];
  for (let q = ranks[0]; ranks.length && q <= ranks.at(-1); q++) if (!seenRanks.has(q)) missing.push(q);
  // A skipped place: passed by the admissions without being admitted (and not just unpolled since).
  const gaps = missing.filter((q) => !unseen.has(q)).length;
  const span = tickTimes.length > 1 ? (tickTimes.at(-1) - tickTimes[0]) / 60_000 : null;
  const lateTicks = intervals.filter((g) => g > 1100);
  const m = median(lastMinute);
  return {
    admit_per_minute: apm,
    phase_s: (endedAt - startedAt) / 1000,
    stats_samples: samples.length,
    admitted_last_minute: {
      median: m,
      min: lastMinute.length ? Math.min(...lastMinute) : null,
      max: lastMinute.length ? Math.max(...lastMinute) : null,
      all: lastMinute,
      error: m === null ? null : m - apm,
      error_share: m === null ? null : (m - apm) / apm,
    },
    watermark: {
      start: w0,
      end: wEnd.watermark,
      // In the DO's own clock, from the room change to the last sample.
      per_minute: (wEnd.watermark - w0) / ((wEnd.server_time_ms - phase.config.server_time_ms) / 60_000),
    },
    seen: {
      admissions: seen.length,
      sliding_minute: {
        windows: windows.length,
        median: median(windows),
        min: windows.length ? Math.min(...windows) : null,
        max: windows.length ? Math.max(...windows) : null,
        within_1: windows.length ? within1 / windows.length : null,
      },
      rate_between_first_and_last: span ? (seen.length - (tickSizes[0] ?? 0)) / span : null,
      ticks: tickTimes.length,
      per_tick: {
        median: median(tickSizes),
        min: tickSizes.length ? Math.min(...tickSizes) : null,
        max: tickSizes.length ? Math.max(...tickSizes) : null,
      },
      tick_interval_ms: {
        median: median(intervals),
        p95: intervals.length ? [...intervals].sort((x, y) => x - y)[Math.floor(0.95 * intervals.length)] : null,
        max: intervals.length ? Math.max(...intervals) : null,
      },
      gaps_over_1_1s: lateTicks.length,
      fifo_inversions: inversions,
      rank_gaps: gaps,
      rank_range: ranks.length ? [ranks[0], ranks.at(-1)] : null,
      admitted_not_yet_seen: missing.length - gaps,
    },
  };
}

// ── what bounds it ───────────────────────────────────────────────────────────────────────

function bounds(result, s) {
  const out = [];
  const levels = s.throughput.levels;
  const h = levels.find((r) => r.connections === s.throughput.headline.polls_connections);
  out.push(
    `Throughput: ${result.options.split ? "the Worker has a workerd process of its own here (--split: the objects run in another), and its one JavaScript thread" : "the Worker and the Show DO share one workerd isolate here — one JavaScript thread — and it"} is the limit at every level: ${levels
      .map(
        (r) =>
          `at ${r.connections} connections it used ${fmt(r.noop.worker_cores, 2)} cores for ${fmt(r.noop.ok_per_s)} no-op req/s and ${fmt(r.poll.worker_cores, 2)} for ${fmt(r.poll.ok_per_s)} polls/s, i.e. ${fmt(r.noop.worker_us_per_request)} vs ${fmt(r.poll.worker_us_per_request)} µs of isolate CPU per answer (${fmt(r.poll.worker_us_per_request / r.noop.worker_us_per_request, 2)}×)${splitText(r.noop, r.poll, "poll")}`,
      )
      .join(
        "; ",
      )}. Polls/s follow that CPU ratio. The machine was ${fmt(h.poll.machine_cores, 2)} of ${result.machine.cores} cores busy during polls at ${h.connections} connections (load generator ${fmt(h.poll.loadgen_cores, 2)}, outside the bench ${fmt(h.poll.outside_cores, 2)}), and autocannon on the no-op route got ${levels.map((r) => fmt(r["noop-autocannon"]?.ok_per_s)).join(" / ")} req/s, so the fans' client is not the limit. The DO is not either: ${fmt(h.poll.do_poll_queue)} of ${fmt(h.poll.ok)} polls needed it; all the DO calls the polls caused: ${methodsText(h.poll.do_calls_by_method, h.poll.do_items)}.`,
  );
  if (result.profile) {
    const p = result.profile;
    const diff = profileDiff({ "noop-do": p.noop, hold: p.poll })
      .filter((b) => b.extra_us >= 5)
      .slice(0, 7)
      .map((b) => `${b.name} +${fmt(b.extra_us)} µs`)
      .join(", ");
    const jose = p.poll.by_source.find((b) => b.name === "jose");
    const joseFunctions = p.poll.by_function
      .filter((b) => b.name.endsWith("(jose)"))
      .slice(0, 5)
      .map((b) => `${b.name.replace(" (jose)", "")} ${fmt(b.us_per_request)} µs`)
      .join(", ");
    out.push(
      `V8 profile of the isolate (${p.connections} connections, profiler attached, so absolute µs are inflated — read the shares): a poll takes ${fmt(p.poll.busy_us_per_request)} µs of isolate time vs ${fmt(p.noop.busy_us_per_request)} µs for the no-op route; what a poll adds, by source: ${diff}. jose (the queue ticket checked and a new one signed on every poll) is ${pct(jose?.share)} of a poll's isolate time: ${joseFunctions}.`,
    );
  }
  const d = s.do_share;
  out.push(
    `DO calls in the crowd phase: ${fmt(d.do_poll_queue)} of ${fmt(d.polls)} polls needed the DO (${pct(d.do_share, 2)}; ${fmt(d.admitted_answers)} of them admissions, ${fmt(d.poll_queue_minus_admissions)} other); over the first minute ${pct(d.first_minute_share, 2)}, the last ${pct(d.last_minute_share, 2)}, the worst ~20 s (${fmt(d.worst_window?.from_s)}–${fmt(d.worst_window?.to_s)} s) ${pct(d.worst_window?.share, 2)}. Every DO call the polls caused: ${methodsText(d.do_calls_by_method, d.do_items)} = ${fmt(d.do_calls_per_poll, 4)} per poll. ${fmt(d.exp_moved_answers)} answers carried a ticket with a later \`exp\` than the one sent.`,
  );
  if (d.offered_polls_per_s && d.offered_polls_per_s > d.polls_per_s * 1.02) {
    out.push(
      `Capacity: at their cadence the waiting fans ask for ~${fmt(d.offered_polls_per_s)} polls/s; this one local isolate answered ${fmt(d.polls_per_s)}/s on average in the crowd phase (closed loop, best level: ${fmt(h.poll.ok_per_s)}/s), with poll p50 ${fmt(d.latency_ms.p50)} ms, p99 ${fmt(d.latency_ms.p99)} ms, and polls went out late (lateness p50 ${fmt(d.lateness_ms.p50)} ms, p99 ${fmt(d.lateness_ms.p99)} ms). In production the polls spread over many isolates and locations and the DO has a thread of its own; here they share one.`,
    );
  }
  const a = s.admission;
  const fr = s.front;
  out.push(
    `Admission rate: ${fr ? `with only the front of the queue polling, ${fmt(fr.admitted_last_minute.median)}/min for ${fmt(fr.admit_per_minute)} configured (${pct(fr.admitted_last_minute.error_share, 2)}); ` : ""}with the whole crowd polling, ${fmt(a.admitted_last_minute.median)}/min (${pct(a.admitted_last_minute.error_share, 2)}). Admissions happen at the alarm's tick and whenever a poll reaches the DO; gaps of more than 1.1 s between admissions: ${fmt(a.seen.gaps_over_1_1s)} in the crowd phase (worst ${fmt(a.seen.tick_interval_ms.max)} ms, largest single admission ${fmt(a.seen.per_tick.max)})${fr ? `, ${fmt(fr.seen.gaps_over_1_1s)} in the front-only phase (worst ${fmt(fr.seen.tick_interval_ms.max)} ms)` : ""}. Locally the DO's alarm runs on the thread the edge's polls keep busy.`,
  );
  const st = s.storm;
  if (st) {
    const h = st.headline;
    const hr = st.levels.find((r) => r.connections === h.joins_connections);
    out.push(
      `Join storm: answered at the edge (fan token verified, body validated, the room status from the isolate's one-second cache, a key drawn, the ticket signed; the DO learns of the arrivals in batches: per isolate every 250 ms, through the location's door once a second where the code has one), so joins/s are bounded by the same one thread as the no-op route: ${st.levels
        .map(
          (r) =>
            `at ${r.connections} connections ${fmt(r.join.worker_cores, 2)} cores for ${fmt(r.join.ok_per_s)} joins/s vs ${fmt(r.noop.worker_cores, 2)} for ${fmt(r.noop.ok_per_s)} no-op req/s, i.e. ${fmt(r.join.worker_us_per_request)} vs ${fmt(r.noop.worker_us_per_request)} µs of isolate CPU per answer${splitText(r.noop, r.join, "join")}`,
        )
        .join(
          "; ",
        )}.${result.options.split ? "" : " That isolate time includes the DO's own work on the batches here (one thread for both; in production the DO has its own)."} The machine was ${fmt(hr.join.machine_cores, 2)} of ${result.machine.cores} cores busy (load generator ${fmt(hr.join.loadgen_cores, 2)}, outside ${fmt(hr.join.outside_cores, 2)}). DO calls during the storm cells: ${methodsText(h.do_calls_by_method)} for ${fmt(h.joins)} joins = ${fmt(h.do_calls_per_join, 4)} per join.`,
    );
    if (result.profile?.join) {
      const p = result.profile;
      const diff = profileDiff({ "noop-do": p.noop, hold: p.join })
        .filter((b) => b.extra_us >= 5)
        .slice(0, 8)
        .map((b) => `${b.name} +${fmt(b.extra_us)} µs`)
        .join(", ");
      const fns = p.join.by_function
        .slice(0, 8)
        .map((b) => `${b.name} ${fmt(b.us_per_request)} µs`)
        .join(", ");
      out.push(
        `V8 profile of a join storm (${p.connections} connections, profiler attached: read the shares): a join takes ${fmt(p.join.busy_us_per_request)} µs of isolate time vs ${fmt(p.noop.busy_us_per_request)} µs for the no-op route; what a join adds, by source: ${diff}. Heaviest functions: ${fns}.`,
      );
    }
  }
  if (result.join) {
    out.push(
      `The fans taking their places (answered at the edge): ${fmt(result.join.ok_per_s)}/s at ${result.options.joinConcurrency} in flight, p50 ${fmt(result.join.latency_ms.p50)} ms, with the isolate at ${fmt(workerCores(result.join), 2)} cores; DO calls ${methodsText(result.join.do_calls_all ?? {})}.`,
    );
  }
  return out;
}

export function summarize(result) {
  const s = {
    throughput: summarizeThroughput(result),
    do_share: summarizePhaseDo(result.admission),
    admission: summarizeAdmission(result.admission),
    front: result.front ? summarizeAdmission(result.front) : null,
    front_do_share: result.front ? summarizePhaseDo(result.front) : null,
    storm: summarizeStorm(result),
  };
  if (s.storm) {
    s.storm.line = stormLine(s.storm);
    s.storm.split_line = stormSplitLine(s.storm);
  }
  s.do_share.meets_target = s.do_share.do_share < result.options.doShareTarget;
  s.bounds = bounds(result, s);
  const outside = median(result.cells.map((c) => c.cpu?.outside_cores));
  s.noise =
    outside === null
      ? null
      : `Other processes on the machine (outside the bench) used a median ${fmt(outside, 2)} and at most ${fmt(Math.max(...result.cells.map((c) => c.cpu?.outside_cores ?? 0)), 2)} of ${result.machine.cores} cores during the throughput cells, ${fmt(result.admission.cpu?.outside_cores, 2)} on average during the crowd phase${result.front ? ` and ${fmt(result.front.cpu?.outside_cores, 2)} during the front-only phase` : ""} (load average at start ${result.machine.load_average_at_start.map((x) => x.toFixed(2)).join(", ")}). The no-op and poll cells are interleaved in every round, so the ratio holds up better than the absolute rates.`;
  return s;
}

// ── text ─────────────────────────────────────────────────────────────────────────────────

const throughputHeader = [
  "conn",
  "no-op req/s",
  "polls/s",
  "polls ÷ no-op",
  "paired ratio",
  "no-op via autocannon",
  "no-op p50/p95 ms",
  "poll p50/p95 ms",
  "polls that needed the DO",
  "all DO calls / polls",
  "429 / other non-200 / errors",
  "isolate cores no-op / poll",
  "isolate µs/req no-op / poll",
  "outside cores",
];
function throughputRows(t) {
  return t.levels.map((r) => [
    String(r.connections),
    fmt(r.noop.ok_per_s),
    fmt(r.poll.ok_per_s),
    pct(r.ratio),
    pct(r.ratio_paired_median),
    r["noop-autocannon"] ? fmt(r["noop-autocannon"].ok_per_s) : "–",
    `${fmt(r.noop.p50_ms, 1)} / ${fmt(r.noop.p95_ms, 1)}`,
    `${fmt(r.poll.p50_ms, 1)} / ${fmt(r.poll.p95_ms, 1)}`,
    `${fmt(r.poll.do_poll_queue)} / ${fmt(r.poll.ok)}`,
    `${fmt(r.poll.do_calls)} / ${fmt(r.poll.ok)}`,
    `${r.poll.too_fast_429} / ${r.poll.not_ok - r.poll.too_fast_429} / ${r.poll.errors + r.noop.errors}`,
    `${fmt(r.noop.worker_cores, 2)} / ${fmt(r.poll.worker_cores, 2)}`,
    `${fmt(r.noop.worker_us_per_request)} / ${fmt(r.poll.worker_us_per_request)}`,
    fmt(r.poll.outside_cores, 2),
  ]);
}

const stormHeader = [
  "conn",
  "no-op req/s",
  "joins/s",
  "joins ÷ no-op",
  "paired ratio",
  "no-op p50/p95 ms",
  "join p50/p95 ms",
  "DO calls / joins",
  "places in the DO short / duplicate keys / non-201",
  "isolate cores no-op / join",
  "isolate µs/req no-op / join",
  "outside cores",
];
function stormRows(st) {
  return st.levels.map((r) => [
    String(r.connections),
    fmt(r.noop.ok_per_s),
    fmt(r.join.ok_per_s),
    pct(r.ratio),
    pct(r.ratio_paired_median),
    `${fmt(r.noop.p50_ms, 1)} / ${fmt(r.noop.p95_ms, 1)}`,
    `${fmt(r.join.p50_ms, 1)} / ${fmt(r.join.p95_ms, 1)}`,
    `${fmt(r.join.do_calls)} / ${fmt(r.join.ok)} = ${fmt(r.join.do_calls_per_join, 4)}`,
    `${r.join.places_short} / ${r.join.duplicate_keys} / ${r.join.not_ok + r.join.errors}`,
    `${fmt(r.noop.worker_cores, 2)} / ${fmt(r.join.worker_cores, 2)}`,
    `${fmt(r.noop.worker_us_per_request)} / ${fmt(r.join.worker_us_per_request)}`,
    fmt(r.join.outside_cores, 2),
  ]);
}

const windowHeader = [
  "seconds",
  "polls answered/s",
  "pollQueue calls",
  "share of polls",
  "all DO calls from polls",
  "admissions seen",
  "exp moved",
  "worst poll ms",
  "worst lateness ms",
];
function windowRows(d) {
  return mergeWindows(d.windows, 20).map((w) => [
    `${fmt(w.from_s)}–${fmt(w.to_s)}`,
    fmt(w.polls / Math.max(1, w.to_s - w.from_s)),
    fmt(w.poll_queue),
    pct(w.polls ? w.poll_queue / w.polls : null, 2),
    fmt(w.do_calls),
    fmt(w.admitted),
    fmt(w.exp_moved),
    fmt(w.latency_max_ms),
    fmt(w.late_max_ms),
  ]);
}

function accuracyLine(a, label) {
  return `${label}: admitted_last_minute median ${fmt(a.admitted_last_minute.median)} for ${fmt(a.admit_per_minute)} configured (${signed(a.admitted_last_minute.error)}, ${pct(a.admitted_last_minute.error_share, 2)}; range ${fmt(a.admitted_last_minute.min)}–${fmt(a.admitted_last_minute.max)} over ${a.stats_samples} samples); from the exact admission times: sliding minutes median ${fmt(a.seen.sliding_minute.median)} (range ${fmt(a.seen.sliding_minute.min)}–${fmt(a.seen.sliding_minute.max)}, ${pct(a.seen.sliding_minute.within_1)} within ±1); FIFO inversions (admission order against key order) ${a.seen.fifo_inversions}, skipped places ${a.seen.rank_gaps}`;
}

function headlineLines(result, s, bold = (x) => x) {
  const t = s.throughput.headline;
  const d = s.do_share;
  const st = s.storm;
  const lines = [
    ...(st
      ? [
          `${bold(st.line)} — ${fmt(st.fans)} fans per storm cell, each joining a fresh show, best level each (joins ${st.headline.joins_connections} connections, no-op ${st.headline.noop_connections}; at the same concurrency: ${st.headline.same_level.map((l) => `${l.connections} conn ${pct(l.ratio)}, paired ${pct(l.paired)}`).join("; ")}), medians of ${result.options.rounds} interleaved rounds; targets ratio ≥ ${result.options.stormRatioTarget}: ${st.headline.meets_ratio ? "met" : "NOT met"}, DO calls per join ≤ ${result.options.stormDoCallsTarget}: ${st.headline.meets_do_calls ? "met" : "NOT met"} (${methodsText(st.headline.do_calls_by_method)}). Every place reached the DO: ${st.headline.places_short === 0 ? "yes" : `NO, ${st.headline.places_short} short`}; duplicate keys ${st.headline.duplicate_keys}; non-201 answers and errors ${st.headline.not_201}.`,
          ...(st.split_line
            ? [
                `${bold(st.split_line)} — the V8 profile of the Worker's isolate during a storm and during the no-op route (profiler attached: absolute µs inflated alike, the ratio is what to read), without the time under durable-objects/ code (${pct(st.split.join_do_share, 1)} of a join's isolate time, no-op ${pct(st.split.noop_do_share, 1)}; a lower bound): locally the door and the Show DO run on the Worker's one thread, in production elsewhere. The process CPU (/proc, unprofiled cells, medians at ${st.split.connections} connections) also holds what is not the Worker's isolate: Miniflare's entry Worker, which takes every request first and pipes its body and answer through (profiled: ${fmt(st.split.entry_join_us)} µs per join vs ${fmt(st.split.entry_noop_us)} per no-op request; in production Cloudflare's front line does this natively), workerd's HTTP and the DO's SQLite.`,
              ]
            : []),
        ]
      : []),
    `${bold(`Polls answered at the edge with ${fmt(result.options.fans)} fans queued: ${fmt(t.polls_per_s)} polls/s (best level, ${t.polls_connections} connections) vs ${fmt(t.noop_per_s)} req/s for the no-op route (best level, ${t.noop_connections} connections) = ${pct(t.ratio)}`)} (medians of ${result.options.rounds} interleaved rounds; at the same concurrency: ${t.same_level.map((l) => `${l.connections} conn ${pct(l.ratio)}, paired ${pct(l.paired)}`).join("; ")}) — target ≥ ${pct(result.options.ratioTarget)}: ${t.meets_target ? "met" : "NOT met"}. ${pct(t.do_share, 2)} of those polls needed the DO.`,
    `${bold(`Polls that reached the DO, every fan polling at its own cadence: ${fmt(d.do_poll_queue)} of ${fmt(d.polls)} = ${pct(d.do_share, 2)}`)} over ${fmt(d.seconds)} s (pollQueue calls counted at the DO binding; ${fmt(d.admitted_answers)} admissions seen by the fans) — target < ${pct(result.options.doShareTarget)}: ${d.meets_target ? "met" : "NOT met"}. First minute ${pct(d.first_minute_share, 2)}, last minute ${pct(d.last_minute_share, 2)}, worst ~20 s ${pct(d.worst_window?.share, 2)}. All DO calls the polls caused: ${fmt(d.do_calls_per_poll, 4)} per poll (${methodsText(d.do_calls_by_method, d.do_items)}).`,
  ];
  if (s.front) lines.push(`${bold(accuracyLine(s.front, "Admission accuracy, front of the queue polling"))}.`);
  lines.push(`${accuracyLine(s.admission, "Admission accuracy, the whole crowd polling")}.`);
  return lines;
}

export function consoleLines(result) {
  const s = result.summary;
  const lines = [];
  lines.push(...headlineLines(result, s), "");
  if (s.storm) {
    lines.push(
      `Join storm (closed loop, ${fmt(s.storm.fans)} joins per cell, ${result.options.rounds} rounds, medians):`,
      ...table(
        stormHeader,
        stormRows(s.storm),
        stormHeader.map(() => "r"),
      ),
      "",
    );
  }
  lines.push(
    `Throughput cells (closed loop, ${result.options.rounds} rounds × ${result.options.durationS} s, medians):`,
    ...table(
      throughputHeader,
      throughputRows(s.throughput),
      throughputHeader.map(() => "r"),
    ),
    "",
    `Crowd phase (${fmt(s.do_share.polls_per_s)} polls/s answered on average, ${fmt(s.do_share.offered_polls_per_s)}/s asked for at the fans' cadence; poll p50/p95/p99 ${fmt(s.do_share.latency_ms.p50, 1)} / ${fmt(s.do_share.latency_ms.p95, 1)} / ${fmt(s.do_share.latency_ms.p99, 1)} ms; ${s.do_share.too_fast_429} × 429):`,
    ...table(
      windowHeader,
      windowRows(s.do_share),
      windowHeader.map(() => "r"),
    ),
    "",
  );
  for (const b of s.bounds) lines.push(`• ${b}`);
  if (s.noise) lines.push(`• ${s.noise}`);
  return lines;
}

function accuracyParagraphs(a, phase, result) {
  return [
    `Configured ${fmt(a.admit_per_minute)}/min, ${fmt(a.phase_s)} s. The DO's \`admitted_last_minute\` (GET /v1/admin/shows/{id}/waiting-room every ${result.options.statsEveryS} s, once a full minute had passed): median ${fmt(a.admitted_last_minute.median)}, range ${fmt(a.admitted_last_minute.min)}–${fmt(a.admitted_last_minute.max)}, error ${signed(a.admitted_last_minute.error)} (${pct(a.admitted_last_minute.error_share, 2)}). Watermark ${fmt(a.watermark.start)} → ${fmt(a.watermark.end)} = ${fmt(a.watermark.per_minute, 1)}/min in the DO's clock (the first tick comes a second after the room change).`,
    "",
    `Exact admission times, from the ${fmt(a.seen.admissions)} admission tokens the polls received (\`admission_expires_at_ms\` − the ${fmt(result.options.checkoutWindowS)} s checkout window): one-minute sliding windows, every second, median ${fmt(a.seen.sliding_minute.median)}, range ${fmt(a.seen.sliding_minute.min)}–${fmt(a.seen.sliding_minute.max)}, ${pct(a.seen.sliding_minute.within_1)} within ±1; ${fmt(a.seen.rate_between_first_and_last, 1)}/min between the first and the last admission. ${fmt(a.seen.ticks)} distinct admission times (the alarm's tick; a poll that reaches the DO runs the tick too), ${fmt(a.seen.per_tick.median)} admitted each (${fmt(a.seen.per_tick.min)}–${fmt(a.seen.per_tick.max)}), median ${fmt(a.seen.tick_interval_ms.median)} ms apart, p95 ${fmt(a.seen.tick_interval_ms.p95)} ms, worst ${fmt(a.seen.tick_interval_ms.max)} ms (${fmt(a.seen.gaps_over_1_1s)} gaps over 1.1 s). FIFO: ${a.seen.fifo_inversions} inversions (a place later in key order admitted before an earlier one), ${a.seen.rank_gaps} places skipped in ranks ${a.seen.rank_range?.join("–") ?? "–"} (the fans in key order); ${fmt(a.seen.admitted_not_yet_seen)} admitted but not polled yet when the phase ended.${phase.front_only ? ` Fans polling: those up to rank ${fmt(phase.only_rank_up_to)} in key order (${fmt(phase.fans.ok_per_s)} polls/s; ${fmt(phase.fans.fans_parked)} further back stayed queued without polling).` : ""}`,
    "",
  ];
}

export function markdown(result) {
  const s = result.summary;
  const d = s.do_share;
  const out = [];
  out.push(`# npm run bench:waiting-room — ${result.started_at}`, "");
  out.push(`Command: \`${result.command}\``, "");
  out.push(
    `Code measured: ${result.code?.commit ?? "?"}${result.code?.dirty?.length ? ` with uncommitted changes in ${result.code.dirty.join(", ")}` : ""} (bundled once at the start). Machine: ${result.machine.cores} cores (${result.machine.cpu}), ${result.machine.memory_gb} GB, Node ${result.machine.node}; workerd ${result.machine.workerd ?? "?"} through Miniflare (${result.target}); fans: undici ${result.machine.undici} in a process of their own. ${fmt(result.options.fans)} fans, one show; ${fmt(result.duration_s)} s in all.`,
    "",
  );
  out.push("## Figures", "", ...headlineLines(result, s, (x) => `**${x}**`).map((l) => `- ${l}`), "");

  if (s.storm) {
    out.push("## 0. The join storm", "");
    out.push(
      `Each cell: ${fmt(s.storm.fans)} fans join a fresh show's room (on, paused) as fast as the closed loop allows — each connection sends the next fan's \`POST /v1/waiting-room/sessions\` as soon as the previous answer is read — beside \`GET /v1/dev/noop\` through the same client, interleaved (order alternating), ${result.options.rounds} rounds, medians. DO calls: every Worker → Show DO RPC (any show, any method), counted at the binding from just before the storm to a second after its last answer (the isolate's last arrival batch leaves 250 ms after its first arrival), ÷ joins answered. Afterwards the show's DO must hold every place (\`queued\`), every key distinct. Turnstile is off (no \`TURNSTILE_SECRET_KEY\`); the Rate Limiting bindings are on with limits raised out of reach (bench/lib/stack.mjs), so each join makes its two limiter calls.`,
      "",
      ...markdownTable(stormHeader, stormRows(s.storm)),
      "",
    );
  }
  out.push("## 1. Polls per second at the edge, beside the no-op route", "");
  out.push(
    `${fmt(result.options.fans)} fans queued (joined in ${fmt(result.join.wall_s, 1)} s: ${fmt(result.join.ok_per_s)} joins/s at ${result.options.joinConcurrency} in flight, answered at the edge). Room during these cells: admit_per_minute ${fmt(result.options.throughputRoom.admit_per_minute)}, max_active 1, so every fan may poll once a second and the watermark stays put; each connection sends the poll of the fan whose ticket allows it first (waiting if none does: ${fmt(sum(result.cells.filter((c) => c.kind === "poll").map((c) => c.waits_for_a_due_fan)))} waits), with that fan's latest ticket. No-op = \`GET /v1/dev/noop\` through the same client; "no-op via autocannon" is the holds benchmark's load generator (bench/loadgen.mjs) on the same route, a check that the client is not the limit. Paired ratio = median over rounds of (poll cell ÷ the same round's no-op cell). "All DO calls" = every call the Worker made to the DO during the poll cells (e.g. batched heartbeats, watermark reads). Isolate cores and µs/req: the workerd process's CPU from /proc, and that ÷ answers per second. The figure compares each route's best level (capacity against capacity); the same-level ratios are in the table.`,
    "",
  );
  out.push(...markdownTable(throughputHeader, throughputRows(s.throughput)), "");

  out.push("## 2. Polls that reached the DO", "");
  out.push(
    `Counted at the DO binding: the bundle is served with the Worker's \`env.SHOW\` wrapped (bench/waiting-room/do-calls-entry.mjs), so every RPC the edge makes to the show's DO is counted by method (and, for a batch, its items), read through \`GET /__bench/do-calls\` before and after each cell and every ${result.options.statsEveryS} s. A poll "reached the DO" when the poll route called \`pollQueue\` (its decision, \`needsTheDo\`); other calls the polls cause (e.g. batched heartbeats, watermark reads) are listed beside. Cross-check from the answers: ${fmt(d.admitted_answers)} admissions seen (an admission only comes from the DO) of ${fmt(d.do_poll_queue)} pollQueue calls${d.same_isolate ? "" : " (the isolate was replaced during the phase: counts are partial)"}.`,
    "",
  );
  out.push(
    `Crowd phase: admit_per_minute ${fmt(result.admission.config.admit_per_minute)}, max_active 1,000,000; every fan polls at its own cadence (poll_after_ms after each answer, first polls spread over 10 s; up to ${fmt(result.options.maxInFlight)} in flight), from ${fmt((result.admission.started_at_ms - result.admission.joined_at_ms) / 1000)} s to ${fmt((result.admission.fans.ended_at_ms - result.admission.joined_at_ms) / 1000)} s after the last join: ${fmt(d.seconds)} s, ${fmt(d.polls)} polls answered (${fmt(d.polls_per_s)}/s; the ${fmt(d.waiting)} waiting fans ask for ${fmt(d.offered_polls_per_s)}/s at their cadence), p50/p95/p99 ${fmt(d.latency_ms.p50, 1)} / ${fmt(d.latency_ms.p95, 1)} / ${fmt(d.latency_ms.p99, 1)} ms, ${d.too_fast_429} × 429, ${d.errors} errors; polls sent late by the client (slots busy): p50 ${fmt(d.lateness_ms.p50)} ms, p99 ${fmt(d.lateness_ms.p99)} ms. All DO calls from the polls: ${methodsText(d.do_calls_by_method, d.do_items)}; alarms ${fmt(d.alarms)}.`,
    "",
  );
  out.push(
    "Over time (answers counted when they arrive; a DO call is counted when it is made, up to the worst poll time earlier):",
    "",
    ...markdownTable(windowHeader, windowRows(d)),
    "",
  );

  out.push("## 3. Admission accuracy", "");
  if (s.front) {
    out.push(
      "### Front of the queue polling (the server not saturated)",
      "",
      ...accuracyParagraphs(s.front, result.front, result),
    );
    if (s.front_do_share) {
      out.push(
        `DO share in this phase (only the front polls, so mostly admissions): ${pct(s.front_do_share.do_share, 2)} of ${fmt(s.front_do_share.polls)} polls.`,
        "",
      );
    }
  }
  out.push(
    "### The whole crowd polling (the crowd phase above)",
    "",
    ...accuracyParagraphs(s.admission, result.admission, result),
  );

  out.push("## What bounds it", "", ...s.bounds.map((b) => `- ${b}`), "");
  if (result.profile?.join) {
    const p = result.profile;
    out.push(
      ...markdownTable(
        ["source (self time)", "join µs/request", "no-op µs/request", "a join's extra µs"],
        profileDiff({ "noop-do": p.noop, hold: p.join })
          .slice(0, 12)
          .map((b) => [b.name, fmt(b.hold_us), fmt(b.noop_do_us), fmt(b.extra_us)]),
      ),
      "",
    );
  }
  if (result.profile) {
    const p = result.profile;
    out.push(
      ...markdownTable(
        ["source (self time)", "poll µs/request", "no-op µs/request", "a poll's extra µs"],
        profileDiff({ "noop-do": p.noop, hold: p.poll })
          .slice(0, 12)
          .map((b) => [b.name, fmt(b.hold_us), fmt(b.noop_do_us), fmt(b.extra_us)]),
      ),
      "",
    );
  }
  if (s.noise) out.push("## Noise", "", `- ${s.noise}`, "");
  return `${out.join("\n")}\n`;
}
