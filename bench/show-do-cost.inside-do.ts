// Figure 1 of `npm run bench:holds`: the Show DO's own cost per hold, measured inside the DO.
//
// Runs in workerd through @cloudflare/vitest-plugin (config: vitest.bench.config.ts, which
// `npm test` never loads). `runInDurableObject` executes its callback inside the object, with
// the real `ShowDO` instance, so one callback = one request that drives N holds through the
// real `hold()` — idempotency lookup, per-fan limit, expiry sweep, seat UPDATE, hold INSERT,
// alarm — with no RPC or HTTP in the timed loop. The same run measures, on fresh objects:
//   baseline      a bare conditional UPDATE + one INSERT per hold on scratch tables
//   baseline+tx   the same inside one transactionSync per hold (what a hold's write costs)
//   hold          ShowDO.hold() with explicit single seats (the figure the issue targets)
//   best-avail    ShowDO.hold() with {section_id, quantity: 1} (informational, fewer holds)
//   *_commit_each the baseline and hold() with `await storage.sync()` after every hold, as when
//                 each hold is its own request (informational, fewer holds)
// Every variant runs on a fresh object per repetition; variants are interleaved so a noisy
// neighbour hits all of them alike. Results go to stdout as one `BENCH_DO_RESULT {json}` line
// that scripts/bench-holds.mjs parses; the test also fails loudly if any hold was refused.
//
// Timing: workerd's clock advances during synchronous code in local mode (checked by the
// `clock_advances` probe below, reported as such); resolution is 1 ms, against loops of
// hundreds of ms. `sync_ms` adds `await storage.sync()`, i.e. committing the batch to SQLite.

import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import type { ShowDO } from "../durable-objects/show";
import type { HoldRequest, ShowInit, ShowSeatInit } from "../durable-objects/types";

const vars = env as unknown as Record<string, string | undefined>;
const HOLDS = Number(vars.BENCH_DO_HOLDS ?? 20_000);
const REPS = Number(vars.BENCH_DO_REPS ?? 5);
const BEST_HOLDS = Number(vars.BENCH_DO_BEST_HOLDS ?? 300);
const PROFILE_HOLDS = Number(vars.BENCH_DO_PROFILE_HOLDS ?? 2_000);
const COMMIT_HOLDS = Number(vars.BENCH_DO_COMMIT_HOLDS ?? 1_000);
const SECTION_ROWS = 25;
const ROW_SEATS = 40;
const SECTION_SEATS = SECTION_ROWS * ROW_SEATS;

type Variant = "baseline" | "baseline_tx" | "hold" | "best_available" | "baseline_commit_each" | "hold_commit_each";

interface Sample {
  variant: Variant;
  rep: number;
  holds: number;
  /** The synchronous loop: N holds, nothing else. */
  loop_ms: number;
  /** The loop plus `await storage.sync()`: the batch committed. */
  sync_ms: number;
  refused: number;
  counts: Record<string, number>;
}

/** A venue of `sections` × 25 rows × 40 seats, ids like the API's (`S01-7-12`). */
function seatsFor(sections: number): ShowSeatInit[] {
  const seats: ShowSeatInit[] = [];
  for (let s = 0; s < sections; s++) {
    const section = `S${String(s + 1).padStart(2, "0")}`;
    for (let r = 0; r < SECTION_ROWS; r++) {
      for (let n = 0; n < ROW_SEATS; n++) {
        seats.push({
          seat_id: `${section}-${r + 1}-${n + 1}`,
          section_id: section,
          row: String(r + 1),
          row_index: r,
          seat_index: n,
          accessible: r === 0 && n < 2,
          tier_id: "tir_bench",
          price_cents: 5_000,
          blocked: false,
        });
      }
    }
  }
  return seats;
}

function showInit(showId: string, seats: ShowSeatInit[]): ShowInit {
  return {
    show_id: showId,
    venue_id: "ven_bench",
    seat_map_version: 1,
    on_sale_at_ms: 0,
    ticket_limit: 8,
    hold_ttl_ms: 600_000,
    currency: "EUR",
    seats,
  };
}

/** A deterministic shuffle (xorshift), so seats are taken in a realistic scattered order. */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let x = seed || 1;
  for (let i = out.length - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = (x >>> 0) % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const hex64 = (i: number) => i.toString(16).padStart(64, "0");
const key = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;

async function freshShow(label: string, seats: ShowSeatInit[]) {
  const showId = `shw_bench_${label}_${crypto.randomUUID().slice(0, 8)}`;
  const stub = env.SHOW.getByName(showId);
  const counts = await stub.initialize(showInit(showId, seats));
  expect(counts.available).toBe(seats.length);
  return { stub, showId };
}

/** One request, N holds through the real ShowDO.hold(), timed inside the object. */
async function runHolds(
  variant: "hold" | "best_available" | "hold_commit_each",
  rep: number,
  holds: number,
): Promise<Sample> {
  const sections = Math.ceil(holds / SECTION_SEATS);
  const seats = seatsFor(variant === "best_available" ? Math.max(sections, 20) : sections);
  const { stub } = await freshShow(`${variant}${rep}`, seats);
  const order = shuffled(seats, 7 + rep).slice(0, holds);
  const sectionIds = [...new Set(seats.map((s) => s.section_id))];
  return runInDurableObject(stub, async (instance: ShowDO, state) => {
    // Requests are built before the clock starts: the Worker does that part, not the DO.
    const requests: HoldRequest[] = order.map((seat, i) =>
      variant !== "best_available"
        ? { fan_id: `fan_${i}`, idempotency_key: key(i), request_hash: hex64(i), seat_ids: [seat.seat_id] }
        : {
            fan_id: `fan_${i}`,
            idempotency_key: key(i),
            request_hash: hex64(i),
            section_id: sectionIds[i % sectionIds.length]!,
            quantity: 1,
          },
    );
    let refused = 0;
    const t0 = performance.now();
    if (variant === "hold_commit_each") {
      for (const request of requests) {
        if (!instance.hold(request).ok) refused++;
        await state.storage.sync();
      }
    } else {
      for (const request of requests) if (!instance.hold(request).ok) refused++;
    }
    const t1 = performance.now();
    await state.storage.sync();
    const t2 = performance.now();
    return { variant, rep, holds, loop_ms: t1 - t0, sync_ms: t2 - t0, refused, counts: { ...instance.counts() } };
  });
}

/** The calibration: a bare conditional UPDATE + one INSERT per hold, on scratch tables. */
async function runBaseline(
  variant: "baseline" | "baseline_tx" | "baseline_commit_each",
  rep: number,
  holds: number,
): Promise<Sample> {
  const seats = seatsFor(Math.ceil(holds / SECTION_SEATS));
  // A fresh, empty ShowDO (never initialized): only its SQLite database is used.
  const stub = env.SHOW.getByName(`bench_${variant}_${rep}_${crypto.randomUUID().slice(0, 8)}`);
  const order = shuffled(seats, 7 + rep).slice(0, holds);
  return runInDurableObject(stub, async (_instance: ShowDO, state) => {
    const sql = state.storage.sql;
    sql.exec(`CREATE TABLE bench_seats (seat_id TEXT PRIMARY KEY, status TEXT NOT NULL, hold_id TEXT) WITHOUT ROWID;
      CREATE TABLE bench_holds (hold_id TEXT PRIMARY KEY, seat_id TEXT NOT NULL, fan_id TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL)`);
    for (const seat of seats) sql.exec("INSERT INTO bench_seats VALUES (?, 'available', NULL)", seat.seat_id);
    await state.storage.sync();
    const holdIds = order.map((_, i) => `hld_${String(i).padStart(20, "0")}_bench_baseline`);
    const one = (i: number) => {
      sql.exec(
        "UPDATE bench_seats SET status = 'held', hold_id = ? WHERE seat_id = ? AND status = 'available'",
        holdIds[i]!,
        order[i]!.seat_id,
      );
      sql.exec(
        "INSERT INTO bench_holds (hold_id, seat_id, fan_id, created_at_ms) VALUES (?, ?, ?, ?)",
        holdIds[i]!,
        order[i]!.seat_id,
        `fan_${i}`,
        Date.now(),
      );
    };
    const t0 = performance.now();
    if (variant === "baseline") {
      for (let i = 0; i < holds; i++) one(i);
    } else if (variant === "baseline_commit_each") {
      for (let i = 0; i < holds; i++) {
        one(i);
        await state.storage.sync();
      }
    } else {
      for (let i = 0; i < holds; i++) state.storage.transactionSync(() => one(i));
    }
    const t1 = performance.now();
    await state.storage.sync();
    const t2 = performance.now();
    const held = sql.exec<{ n: number }>("SELECT count(*) AS n FROM bench_seats WHERE status = 'held'").one().n;
    return { variant, rep, holds, loop_ms: t1 - t0, sync_ms: t2 - t0, refused: holds - held, counts: { held } };
  });
}

/**
 * Where a hold's time goes: counts the SQL statements one hold() runs (by wrapping the
 * object's SqlStorage), then replays each read statement with its recorded arguments and times
 * it, so the report can say how much of a hold is reads, writes and JavaScript.
 */
async function profileHold(holds: number) {
  const seats = seatsFor(Math.ceil(holds / SECTION_SEATS));
  const { stub } = await freshShow("profile", seats);
  const order = shuffled(seats, 99).slice(0, holds);
  return runInDurableObject(stub, async (instance: ShowDO, state) => {
    // Every collaborator of the object shares this one SqlStorage: wrapping its `exec` sees them all.
    const real = state.storage.sql;
    const exec = real.exec;
    const calls = new Map<string, unknown[][]>();
    real.exec = ((query: string, ...args: unknown[]) => {
      const list = calls.get(query) ?? [];
      list.push(args);
      calls.set(query, list);
      return exec.call(real, query, ...args);
    }) as typeof real.exec;
    try {
      for (let i = 0; i < holds; i++) {
        instance.hold({
          fan_id: `fan_${i}`,
          idempotency_key: key(i),
          request_hash: hex64(i),
          seat_ids: [order[i]!.seat_id],
        });
      }
    } finally {
      real.exec = exec;
    }
    const statements = [...calls.entries()].map(([query, argsList]) => {
      const read = /^\s*SELECT/i.test(query);
      let replay_us: number | null = null;
      if (read) {
        // Replay twice and keep the faster pass (the first one may warm caches).
        const passes: number[] = [];
        for (let pass = 0; pass < 2; pass++) {
          const t0 = performance.now();
          for (const args of argsList) real.exec(query, ...args).toArray();
          passes.push(((performance.now() - t0) * 1000) / argsList.length);
        }
        replay_us = Math.min(...passes);
      }
      return {
        sql: query.replace(/\s+/g, " ").trim().slice(0, 110),
        kind: read ? "read" : "write",
        per_hold: argsList.length / holds,
        replay_us,
      };
    });
    // The floor: what any one `sql.exec` costs here, and one empty transactionSync.
    const floor = (work: () => void, n = 20_000) => {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) work();
      return ((performance.now() - t0) * 1000) / n;
    };
    const exec_floor_us = floor(() => real.exec("SELECT ? AS x", 1).toArray());
    const transaction_floor_us = floor(() => state.storage.transactionSync(() => {}));
    return {
      holds,
      statements_per_hold: statements.reduce((n, s) => n + s.per_hold, 0),
      statements,
      exec_floor_us,
      transaction_floor_us,
    };
  });
}

it("Show DO cost per hold, against a bare UPDATE + INSERT baseline", async () => {
  // Is the clock usable for timing synchronous code here? (Production workerd freezes it.)
  const clock = await runInDurableObject(env.SHOW.getByName("bench_clock_probe"), () => {
    const t0 = performance.now();
    let x = 0;
    for (let i = 0; i < 5_000_000; i++) x += i & 7;
    return { advanced_ms: performance.now() - t0, x };
  });
  expect(clock.advanced_ms, "workerd's clock must advance during synchronous code").toBeGreaterThan(0);

  // Warm-up: one small pass of every variant, so the JIT and SQLite are warm for all alike.
  await runBaseline("baseline", -1, 2_000);
  await runBaseline("baseline_tx", -1, 2_000);
  await runHolds("hold", -1, 2_000);
  await runHolds("best_available", -1, Math.min(BEST_HOLDS, 100));

  const samples: Sample[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    // Rotate the order each repetition so no variant always runs first or last.
    const run: (() => Promise<Sample>)[] = [
      () => runBaseline("baseline", rep, HOLDS),
      () => runBaseline("baseline_tx", rep, HOLDS),
      () => runHolds("hold", rep, HOLDS),
    ];
    for (let k = 0; k < run.length; k++) samples.push(await run[(k + rep) % run.length]!());
  }
  for (let rep = 0; rep < Math.min(REPS, 3); rep++) {
    samples.push(await runBaseline("baseline_commit_each", rep, COMMIT_HOLDS));
    samples.push(await runHolds("hold_commit_each", rep, COMMIT_HOLDS));
    samples.push(await runHolds("best_available", rep, BEST_HOLDS));
  }
  const profile = await profileHold(PROFILE_HOLDS);

  console.log(
    `BENCH_DO_RESULT ${JSON.stringify({ holds: HOLDS, reps: REPS, clock_advanced_ms: clock.advanced_ms, samples, profile })}`,
  );
  for (const sample of samples) expect(sample.refused, `${sample.variant} rep ${sample.rep}`).toBe(0);
});
