// The "queue truth" line of `npm run bench:onsale` (issue 18): does the waiting room hand out
// turns only for seats that exist, and does Onsale itself tell the line "sold out"?
//
// - admitted while nothing was available: fans admitted by a tick that ran with no seat
//   available, as the bench's wrapper of the Show DO saw it (bench/onsale/onsale-entry.mjs reads
//   the seat tallies right after every tick that admitted someone). Sampling the stats from
//   outside cannot tell: between two samples that both see none, declined and expired holds
//   bring seats back for a moment, and a tick then admits rightly. Fans admitted before the
//   seats ran out are in flight, not counted.
// - told sold out by Onsale n of m in line: m = fans with a place in line at the sell-out
//   instant (joined before it, not admitted or told before it); n = those whose own poll was
//   answered `sold_out`. The load generator never infers it from the stop signal.
// - p95 from sell-out to told: over those n, from the sell-out instant to the answer. How soon
//   a fan polls is the client's choice (smart-mode fans far back stretch their polls), so the
//   report also says how many of the fans that polled after the sell-out were told at the first
//   such poll (sent more than the edge's one-second status cache after it).

const p95 = (values) => {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)];
};

/**
 * @param {{ fans: any, ticks: { at_ms: number, admitted: number, available: number }[], sellOutAtMs: number | null }} run
 */
export function queueTruth({ fans, ticks, sellOutAtMs }) {
  const truth = fans.queue_truth ?? { in_line: [], admitted_at_ms: [], told_sold_out_at_ms: null };
  const sum = (list) => list.reduce((n, tick) => n + tick.admitted, 0);
  let inLine = 0;
  const toldAfterMs = [];
  let polledAfter = 0;
  let toldAtFirstPoll = 0;
  const CACHE_MS = 1_000;
  if (sellOutAtMs !== null) {
    for (const place of truth.in_line) {
      if (place.joined_at_ms > sellOutAtMs) continue;
      if (place.left_at_ms !== null && place.left_at_ms < sellOutAtMs) continue;
      inLine++;
      if (place.how === "told") toldAfterMs.push(Math.max(0, place.left_at_ms - sellOutAtMs));
      const [previous, last] = place.polls_sent_ms.length === 2 ? place.polls_sent_ms : [null, place.polls_sent_ms[0]];
      if (last === undefined || last <= sellOutAtMs + CACHE_MS) continue;
      polledAfter++;
      if (place.how === "told" && (previous === null || previous <= sellOutAtMs + CACHE_MS)) toldAtFirstPoll++;
    }
  }
  return {
    admitted_while_nothing_available: sum(ticks.filter((tick) => tick.available === 0)),
    admissions: sum(ticks),
    admitted_with_one_to_nine_seats_left: sum(ticks.filter((tick) => tick.available > 0 && tick.available < 10)),
    fans_admitted_seen: truth.admitted_at_ms.length,
    in_line_at_sell_out: inLine,
    told_sold_out_by_onsale: toldAfterMs.length,
    told_at_join: fans.counters.told_sold_out_at_join ?? 0,
    polled_after_sell_out: polledAfter,
    told_at_first_poll_after: toldAtFirstPoll,
    p95_sell_out_to_told_ms: p95(toldAfterMs),
    max_sell_out_to_told_ms: toldAfterMs.length ? Math.max(...toldAfterMs) : null,
    first_told_after_sell_out_ms:
      sellOutAtMs !== null && truth.told_sold_out_at_ms !== null ? truth.told_sold_out_at_ms - sellOutAtMs : null,
  };
}

export const queueTruthLine = (q) =>
  `queue truth: admitted while nothing was available ${q.admitted_while_nothing_available}, told sold out by Onsale ${q.told_sold_out_by_onsale} of ${q.in_line_at_sell_out} in line, p95 from sell-out to told ${q.p95_sell_out_to_told_ms === null ? "–" : Math.round(q.p95_sell_out_to_told_ms)} ms`;
