// `npm run bench:seat-feed`: W live seat-map sockets (default 5,000) watching one show while
// holds run, inside workerd (@cloudflare/vitest-plugin, vitest.bench.config.ts). Two figures:
//   - update latency: from a hold's response to the last of the W watchers getting its delta,
//     p50/p95 over BENCH_FEED_HOLDS holds one after another (target p95 < 1 s);
//   - the Show DO's µs per change, timed inside the object (holds plus the publication they
//     cause, one batch per 10 holds), with W watchers vs with 0 on a twin show in the same
//     run (target ratio ≤ 1.2).
// Sockets are opened straight to the show's feed objects, round robin, as the Worker's random
// pick would spread them; the clients' ends live in this same workerd process, so the latency
// includes receiving, not only sending.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { liveFeedCount, liveFeedName } from "../durable-objects/live";
import type { ShowDO } from "../durable-objects/show";
import type { ShowSeatInit } from "../durable-objects/types";

const vars = env as unknown as Record<string, string | undefined>;
const WATCHERS = Number(vars.BENCH_FEED_WATCHERS ?? 5_000);
const HOLDS = Number(vars.BENCH_FEED_HOLDS ?? 40);
const COST_HOLDS = 2_000;

function seats(sections: number, perSection: number): ShowSeatInit[] {
  return Array.from({ length: sections * perSection }, (_, i) => {
    const section = `S${Math.floor(i / perSection)}`;
    const n = i % perSection;
    return {
      seat_id: `${section}-${Math.floor(n / 50)}-${n % 50}`,
      section_id: section,
      row: String(Math.floor(n / 50)),
      row_index: Math.floor(n / 50),
      seat_index: n % 50,
      accessible: false,
      tier_id: "tir_bench",
      price_cents: 5000,
      blocked: false,
    };
  });
}

async function freshShow(label: string) {
  const showId = `shw_feed_${label}_${crypto.randomUUID().slice(0, 8)}`;
  const stub = env.SHOW.getByName(showId);
  const all = seats(40, 500);
  await stub.initialize({
    show_id: showId,
    venue_id: "ven_bench",
    seat_map_version: 1,
    on_sale_at_ms: 0,
    ticket_limit: 50,
    hold_ttl_ms: 600_000,
    currency: "EUR",
    seats: all,
  });
  return { stub, showId, seatIds: all.map((s) => s.seat_id) };
}

/** µs per change inside the Show DO: COST_HOLDS holds, a publication every 10 (as a busy on-sale batches them). */
function showCost(stub: DurableObjectStub<ShowDO>, seatIds: string[], offset: number) {
  return runInDurableObject(stub, (instance: ShowDO) => {
    const t0 = performance.now();
    for (let i = 0; i < COST_HOLDS; i++) {
      const seat = seatIds[offset + i]!;
      const outcome = instance.hold({
        fan_id: `fan_${i % 1000}`,
        idempotency_key: seat,
        request_hash: seat,
        seat_ids: [seat],
      });
      if (!outcome.ok) throw new Error(`hold failed: ${JSON.stringify(outcome)}`);
      if (i % 10 === 9) instance.publishLive();
    }
    return ((performance.now() - t0) * 1000) / COST_HOLDS;
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;

it(`${WATCHERS} watchers of one show while holds run`, async () => {
  const idle = await freshShow("idle");
  const busy = await freshShow("busy");
  const feeds = liveFeedCount(env);

  // A warm-up on each show (the first thousands of holds pay for compilation), then the
  // figures interleaved idle/busy once the sockets are open, so a noisy moment of this shared
  // machine lands on both sides.
  await showCost(idle.stub, idle.seatIds, 0);
  await showCost(busy.stub, busy.seatIds, 12_000);

  // Open W sockets on the busy show's feeds; each remembers the seats its deltas named.
  const seen: Map<string, number>[] = [];
  for (let i = 0; i < WATCHERS; i += 250) {
    await Promise.all(
      Array.from({ length: Math.min(250, WATCHERS - i) }, async (_, j) => {
        const index = i + j;
        const feed = env.FEED.getByName(liveFeedName(busy.showId, index % feeds));
        const response = await feed.fetch(`https://feed/v1/shows/${busy.showId}/seat-map/live?sections=S0`, {
          headers: { upgrade: "websocket" },
        });
        const ws = response.webSocket!;
        const mine = new Map<string, number>();
        seen[index] = mine;
        ws.addEventListener("message", (event) => {
          const message = JSON.parse(event.data as string) as { type: string; seats?: Record<string, string> };
          if (message.type !== "delta" || !message.seats) return;
          const now = Date.now();
          for (const seat of Object.keys(message.seats)) mine.set(seat, now);
        });
        ws.accept();
      }),
    );
  }
  let open = 0;
  for (let i = 0; i < feeds; i++) open += await env.FEED.getByName(liveFeedName(busy.showId, i)).watchers();
  expect(open).toBe(WATCHERS);

  // Latency: one hold at a time in section S0; wait until every watcher has its delta.
  const latencies: number[] = [];
  for (let h = 0; h < HOLDS; h++) {
    const seat = `S0-0-${h}`;
    const outcome = await busy.stub.hold({
      fan_id: `fan_l${h}`,
      idempotency_key: seat,
      request_hash: seat,
      seat_ids: [seat],
    });
    const answered = Date.now();
    expect(outcome.ok).toBe(true);
    const deadline = answered + 10_000;
    // Arrival times are taken in the message handlers; this loop only waits for the last one.
    while (seen.some((m) => !m.has(seat)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const last = Math.max(...seen.map((m) => m.get(seat) ?? Number.POSITIVE_INFINITY));
    latencies.push(last - answered);
  }

  const costIdle: number[] = [];
  const costBusy: number[] = [];
  // The feeds share this process's thread (in production they run elsewhere): each round waits
  // for the previous round's fan-out to finish so it is not timed as the Show DO's work.
  const settle = () => new Promise((resolve) => setTimeout(resolve, 1_500));
  for (let round = 1; round <= 3; round++) {
    await settle();
    costIdle.push(await showCost(idle.stub, idle.seatIds, round * COST_HOLDS));
    await settle();
    costBusy.push(await showCost(busy.stub, busy.seatIds, 1_000 + round * COST_HOLDS));
  }
  const ratio = median(costBusy) / median(costIdle);
  console.log(
    `watchers ${WATCHERS}, update p50/p95 ${median(latencies)}/${pct(latencies, 95)} ms, Show DO µs per change with ${WATCHERS} watchers vs with 0 watchers ${median(costBusy).toFixed(1)}/${median(costIdle).toFixed(1)} = ${ratio.toFixed(2)} (feeds ${feeds}, holds ${HOLDS}, cost holds ${COST_HOLDS}×3 each, medians)`,
  );
  expect(latencies.every(Number.isFinite)).toBe(true);
});
