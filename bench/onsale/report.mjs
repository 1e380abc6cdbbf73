// The report of `npm run bench:onsale`: the console summary, the Markdown tables and the SVG
// chart (drawn by hand: polylines, no plotting dependency).
import { markdownTable, table } from "../lib/report.mjs";
import { queueTruthLine } from "./queue-truth.mjs";

const n0 = (x) => (x === null || x === undefined || Number.isNaN(x) ? "–" : Math.round(x).toLocaleString("en-US"));
const n1 = (x) =>
  x === null || x === undefined || Number.isNaN(x)
    ? "–"
    : Number(x).toLocaleString("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const pct = (x) => (x === null || x === undefined || Number.isNaN(x) ? "–" : `${(x * 100).toFixed(1)}%`);
const secs = (x) => (x === null || x === undefined ? "–" : `${n0(x)} s`);

/** The polls that reached the Show DO, two ways (see bench/README.md). */
export function pollShare(flash) {
  const c = flash.fans.counters;
  const route = flash.do_calls["GET /v1/waiting-room/sessions/:id"] ?? {};
  const sent = Object.entries(flash.fans.statuses)
    .filter(([k]) => k.startsWith("poll "))
    .reduce((n, [, v]) => n + v, 0);
  const pollQueue = route.pollQueue ?? 0;
  const amortized = Object.entries(route)
    .filter(([method]) => method !== "pollQueue")
    .reduce((n, [, v]) => n + v, 0);
  return {
    polls_sent: sent,
    answered_200: c.polls_waiting + c.polls_do,
    by_response: {
      waiting: c.polls_waiting,
      do: c.polls_do,
      do_admissions: c.polls_do_admitted,
      share_do: c.polls_waiting + c.polls_do ? c.polls_do / (c.polls_waiting + c.polls_do) : null,
    },
    by_worker_count: {
      poll_queue_calls: pollQueue,
      other_calls: route,
      amortized_calls: amortized,
      share_poll_queue: sent ? pollQueue / sent : null,
      do_calls_per_poll: sent ? (pollQueue + amortized) / sent : null,
    },
    polls_429: c.polls_429,
  };
}

function latencyRows(flash) {
  const order = ["join", "poll", "poll_waiting", "poll_do", "hold", "order", "confirm", "tickets", "overlay"];
  const names = {
    join: "join (POST /v1/waiting-room/sessions)",
    poll: "poll (GET …/sessions/{id}), all",
    poll_waiting: "  … answered “waiting” (at the edge)",
    poll_do: "  … answered “admitted” (by the DO)",
    hold: "hold (POST /v1/shows/{id}/holds)",
    order: "order (POST /v1/orders)",
    confirm: "confirm (POST /v1/payments/{id}/confirm)",
    tickets: "tickets (GET /v1/orders/{id})",
    overlay: "seat map (GET /v1/shows/{id}/seat-map)",
  };
  return order.map((k) => {
    const l = flash.fans.latency_ms[k];
    return [names[k], n0(l.count), n1(l.p50), n1(l.p95), n1(l.p99), n1(l.max)];
  });
}

function outcomeRows(flash) {
  const c = flash.fans.counters;
  return [
    ["arrived / joined the waiting room", `${n0(c.arrived)} / ${n0(c.joined)}`],
    ["admitted (got an admission token)", n0(c.admitted)],
    ["held seats", `${n0(c.holds)} holds, ${n0(c.seats_held)} seats (${n0(c.hold_conflicts)} × 409 on the way)`],
    [
      "paid and got their tickets",
      `${n0(c.paid)} orders, ${n0(c.seats_paid)} seats (tickets read back: ${n0(c.ticketed)})`,
    ],
    ["declined card (seats released at once)", n0(c.declined)],
    ["abandoned the hold (expires by alarm)", n0(c.abandoned)],
    ["admitted but found no seats", n0(c.no_seats)],
    ["admission expired before holding", n0(c.admission_expired + c.admission_lapsed)],
    ["checkout failed (order/confirm error)", n0(c.failed_checkout + c.hold_expired_before_order)],
    ["admitted, still choosing seats at the stop", n0(c.checkout_stopped)],
    ["in the queue: told sold out by Onsale (their poll answered `sold_out`)", n0(c.told_sold_out)],
    ["arrived after the sell-out: told sold out at the join", n0(c.told_sold_out_at_join ?? 0)],
    ["in the queue at the stop, not told", n0(c.still_waiting_at_end)],
    ["never got a place (at the door at the stop, or not yet arrived)", n0(c.never_joined)],
    ["rejoined after an expired ticket", n0(c.rejoined)],
  ];
}

function errorRows(flash) {
  return Object.entries(flash.fans.errors)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => [k, n0(v)]);
}

function checkRows(flash) {
  return Object.entries(flash.verification.checks).map(([name, check]) => {
    const { ok, examples: _e, states, ...figures } = check;
    const text = Object.entries({ ...figures, ...(states ? { states: JSON.stringify(states) } : {}) })
      .map(([k, v]) => `${k.replaceAll("_", " ")}: ${typeof v === "number" ? n0(v) : v}`)
      .join(" · ");
    return [name.replaceAll("_", " "), ok ? "✅" : "❌ FAILED", text];
  });
}

function cpuRows(cpu) {
  if (!cpu) return [];
  return [
    ...Object.entries(cpu.cores).map(([k, v]) => [k, v.toFixed(2)]),
    ["everything else on the machine", cpu.outside_cores.toFixed(2)],
    ["machine total (of 2)", cpu.machine_cores.toFixed(2)],
  ];
}

function raceRows(race) {
  return ["onsale", "baseline"].map((d) => {
    const s = race[d];
    return [
      d === "onsale" ? "Onsale: Worker → Show DO (SQLite)" : "classic: Worker → Postgres row UPDATE",
      n1(s.holds_per_s),
      n1(s.seats_per_s),
      n1(s.p50_ms),
      n1(s.p95_ms),
      n1(s.p99_ms),
      pct(s.conflict_share),
      n0(s.errors),
      s.checks_ok ? "✅" : "❌",
    ];
  });
}

export function markdownReport(r, svgName) {
  const f = r.flash;
  const s = f.sale;
  const share = pollShare(f);
  const lines = [];
  lines.push(`# Onsale flash-crowd benchmark — ${r.started_at}`, "");
  lines.push(
    `\`${r.command}\` · ${r.target.label} · ${r.machine.cores} cores (${r.machine.cpu}), ${r.machine.memory_gb} GB · load average at start ${r.machine.load_average_at_start.map((x) => x.toFixed(2)).join(", ")} · ${n0(r.duration_s)} s in all · verdict: **${r.ok ? "all checks passed" : "SOME CHECKS FAILED"}**`,
    "",
  );
  if (r.calibration) {
    lines.push(
      `This machine's ceiling, measured before the sale (16 connections): the Worker's no-op route ${n0(r.calibration.noop_per_s)} req/s, a no-op Worker → DO round trip ${n0(r.calibration.noop_do_per_s)} req/s.`,
      "",
    );
  }
  lines.push("## The sale", "");
  lines.push(
    ...markdownTable(
      ["", ""],
      [
        [
          "stadium",
          `${n0(r.stadium.seats)} seats, ${r.stadium.sections} sections${r.stadium.ga_capacity ? ` and a GA floor of ${n0(r.stadium.ga_capacity)}` : ""}, ${r.stadium.tiers.map((t) => `${t.name} €${t.price_cents / 100} (${t.sections})`).join(", ")}; ${n0(r.stadium.blocked)} blocked → ${n0(f.sellable)} for sale`,
        ],
        [
          "crowd",
          `${n0(r.options.fans)} fans arriving over ${r.options.arrivalS} s (half in the first fifth); groups of ${Object.keys(r.options.quantities).join("/")} (mean ${r.options.meanQuantity.toFixed(2)}); ${pct(1 - r.options.mix.abandon - r.options.mix.decline)} pay, ${pct(r.options.mix.decline)} declined, ${pct(r.options.mix.abandon)} abandon`,
        ],
        [
          "waiting room",
          `${n0(f.room.admit_per_minute)} admissions/min, max ${n0(f.room.max_active)} active, checkout window ${f.room.checkout_window_s} s; hold TTL ${r.options.holdTtlS} s; poll mode ${r.options.pollMode}`,
        ],
        ["stopped", `${s.stop_reason} after ${secs(s.sale_s)} (bound ${r.options.maxSaleS} s)`],
        [
          "**sell-out time**",
          s.sold_out
            ? `**${secs(s.sell_out_s)}** (last ticket issued)`
            : `not sold out: ${n0(s.seats_sold)} of ${n0(f.sellable)} seats sold`,
        ],
        [
          "ideal the admission rate allows",
          `${secs(s.ideal.every_admitted_fan_buys_s)} if every admitted fan bought a mean group; ${secs(s.ideal.with_the_mix_s)} with the payment mix → sell-out ÷ ideal = ${s.vs_ideal ? `${s.vs_ideal.toFixed(2)}×` : "–"}${s.first_sweep_s ? `, first sweep ÷ ideal = ${(s.first_sweep_s / s.ideal.with_the_mix_s).toFixed(2)}×` : ""}`,
        ],
        ...(f.queue_truth
          ? [
              [
                "queue truth",
                `${queueTruthLine(f.queue_truth).replace("queue truth: ", "")} (max ${n0(f.queue_truth.max_sell_out_to_told_ms)} ms; told at their first poll after the sell-out: ${n0(f.queue_truth.told_at_first_poll_after)} of ${n0(f.queue_truth.polled_after_sell_out)} who polled since; ${n0(f.queue_truth.told_at_join)} arrivals told at the join; ${n0(f.queue_truth.admissions)} admissions, ${n0(f.queue_truth.admitted_with_one_to_nine_seats_left)} of them by ticks with 1–9 seats left)`,
              ],
            ]
          : []),
        [
          "first sweep (nothing left available, only held seats)",
          s.first_sweep_s
            ? `${secs(s.first_sweep_s)}; the rest waited for abandoned holds to expire (TTL ${r.options.holdTtlS} s) and declines`
            : "not reached",
        ],
        ...(s.sold_out
          ? []
          : [
              [
                "sales pace (second half of the sale)",
                `${n1(s.seats_per_s_second_half)} seats/s vs ${n1(s.seats_per_s_admission_allows)} seats/s the admission rate allows (${s.pace_vs_admission ? `${(s.pace_vs_admission * 100).toFixed(0)}%` : "–"})${s.projected_sell_out_s ? `; at that pace the stadium would sell out in ${secs(s.projected_sell_out_s)}` : ""}`,
              ],
            ]),
      ],
    ),
    "",
  );
  lines.push(`![queue length, admitted, held and sold over time](${svgName})`, "");
  lines.push("## Fans", "");
  lines.push(...markdownTable(["", ""], outcomeRows(f)), "");
  lines.push("## Latency (ms, measured by the load generator from request written to response read)", "");
  lines.push(...markdownTable(["request", "count", "p50", "p95", "p99", "max"], latencyRows(f)), "");
  lines.push(
    `Poll spacing the fans used: median ${n0(f.fans.poll_interval_ms.p50)} ms, p95 ${n0(f.fans.poll_interval_ms.p95)} ms (never below poll_after_ms; at most ${n0(r.options.maxPollGapMs / 1000)} s). A due poll waited for a free slot in the load generator: median ${n0(f.fans.poll_lateness_ms?.p50)} ms, p99 ${n0(f.fans.poll_lateness_ms?.p99)} ms.`,
    "",
  );
  lines.push("## Polls that reached the Show DO", "");
  const others = Object.entries(share.by_worker_count.other_calls)
    .filter(([m]) => m !== "pollQueue")
    .map(([m, v]) => `${m} ${n0(v)}`)
    .join(", ");
  lines.push(
    ...markdownTable(
      ["method", "polls", "reached the DO", "share"],
      [
        [
          "counted in the Worker: the poll route's own pollQueue RPCs",
          n0(share.polls_sent),
          n0(share.by_worker_count.poll_queue_calls),
          pct(share.by_worker_count.share_poll_queue),
        ],
        [
          "per response: answers other than “waiting” (only the DO admits)",
          n0(share.answered_200),
          `${n0(share.by_response.do)} (${n0(share.by_response.do_admissions)} admissions)`,
          pct(share.by_response.share_do),
        ],
        [
          `every DO call the poll route made, per poll (pollQueue + batched/cached: ${others || "none"})`,
          n0(share.polls_sent),
          n0(share.by_worker_count.poll_queue_calls + share.by_worker_count.amortized_calls),
          `${n1((share.by_worker_count.do_calls_per_poll ?? 0) * 100)} per 100 polls`,
        ],
      ],
    ),
    "",
  );
  lines.push("Every Worker → DO call of the sale, by route and method:", "");
  lines.push(
    ...markdownTable(
      ["route", "DO calls"],
      Object.entries(f.do_calls).map(([route, methods]) => [
        route,
        Object.entries(methods)
          .map(([m, v]) => `${m} ${n0(v)}`)
          .join(", "),
      ]),
    ),
    "",
  );
  lines.push("## Errors by code", "");
  const errors = errorRows(f);
  lines.push(...(errors.length ? markdownTable(["request, status, code", "count"], errors) : ["none"]), "");
  lines.push(
    `All statuses: ${Object.entries(f.fans.statuses)
      .sort()
      .map(([k, v]) => `${k}: ${n0(v)}`)
      .join(" · ")}`,
    "",
  );
  lines.push("## Verification", "");
  lines.push(...markdownTable(["check", "", "figures"], checkRows(f)), "");
  lines.push(
    `Orders by status: ${JSON.stringify(f.verification.orders_by_status)} · payments: ${JSON.stringify(f.verification.payments_by_status)} · refunds: ${f.verification.refunds} · reconciliation after the sale: ${JSON.stringify(f.reconciliation ?? null)}`,
    "",
  );
  lines.push("## Who used the CPU during the sale (cores)", "");
  lines.push(...markdownTable(["process", "cores"], cpuRows(f.cpu)), "");
  const pa = f.postgres_activity;
  if (pa?.samples) {
    lines.push(
      `Postgres backends of the database, sampled ${pa.samples} times: mean ${n1(pa.mean_backends)}, peak ${n0(pa.peak_backends)} (max_connections 200) — ${Object.entries(
        pa.mean_by_state,
      )
        .slice(0, 6)
        .map(([k, v]) => `${k} ${n1(v)}`)
        .join(
          ", ",
        )}. The Worker opens a connection per request; "idle · ClientRead" is a connection waiting for the Worker's next statement.`,
      "",
    );
  }
  if (r.race) {
    const race = r.race;
    lines.push("## Side by side: the same hold race against both designs", "");
    lines.push(
      `${race.connections} fans holding at once, ${race.seconds} s per round, ${race.onsale.rounds} round(s) each (medians), same seed and seat choices; seat map ${race.lag_ms} ms stale. Latency over every hold request (201 and 409).`,
      "",
    );
    lines.push(
      ...markdownTable(
        ["design", "holds/s", "seats/s", "p50 ms", "p95 ms", "p99 ms", "409 share", "errors", "no double holds"],
        raceRows(race),
      ),
      "",
    );
    lines.push(
      `**Onsale ÷ classic: ${race.ratio_holds_per_s ? `${race.ratio_holds_per_s.toFixed(2)}×` : "–"} the holds per second; classic p95 ÷ Onsale p95: ${race.ratio_p95 ? `${race.ratio_p95.toFixed(2)}×` : "–"}.**`,
      "",
    );
    lines.push(...markdownTable(["round", "design", "cores by process"], raceCpuRows(race)), "");
  }
  return `${lines.join("\n")}\n`;
}

function raceCpuRows(race) {
  return race.rounds.map((r) => [
    String(r.round + 1),
    r.design,
    r.cpu
      ? `${Object.entries(r.cpu.cores)
          .filter(([, v]) => v >= 0.01)
          .map(([k, v]) => `${k} ${v.toFixed(2)}`)
          .join(", ")}; outside ${r.cpu.outside_cores.toFixed(2)}; machine ${r.cpu.machine_cores.toFixed(2)}`
      : "–",
  ]);
}

export function consoleSummary(r) {
  const f = r.flash;
  const s = f.sale;
  const share = pollShare(f);
  const out = [];
  out.push("══════════════════════════ npm run bench:onsale — summary ══════════════════════════", "");
  out.push(
    `${n0(r.options.fans)} fans, ${n0(f.sellable)} seats for sale on ${r.target.label}. Stopped: ${s.stop_reason}. ` +
      (s.sold_out
        ? `Sold out in ${secs(s.sell_out_s)} vs ideal ${secs(s.ideal.with_the_mix_s)} at ${n0(f.room.admit_per_minute)}/min (${s.vs_ideal?.toFixed(2)}×); first sweep ${secs(s.first_sweep_s)}, then the ${r.options.holdTtlS} s hold TTL of abandoned holds.`
        : `Not sold out: ${n0(s.seats_sold)} of ${n0(f.sellable)} seats; pace ${n1(s.seats_per_s_second_half)} seats/s vs ${n1(s.seats_per_s_admission_allows)} the admission rate allows (${s.pace_vs_admission ? (s.pace_vs_admission * 100).toFixed(0) : "–"}%), projected sell-out ${secs(s.projected_sell_out_s)}.`),
    ...(f.queue_truth ? [queueTruthLine(f.queue_truth)] : []),
    "",
  );
  out.push(...table(["request", "count", "p50", "p95", "p99", "max"], latencyRows(f), ["l", "r", "r", "r", "r", "r"]));
  out.push(
    "",
    `Polls that reached the DO: ${n0(share.by_worker_count.poll_queue_calls)} of ${n0(share.polls_sent)} (${pct(share.by_worker_count.share_poll_queue)}) counted in the Worker; ${pct(share.by_response.share_do)} of answers came from the DO; every DO call of the poll route incl. batched heartbeats and watermark refreshes: ${n1((share.by_worker_count.do_calls_per_poll ?? 0) * 100)} per 100 polls.`,
  );
  const errors = errorRows(f);
  out.push(`Errors: ${errors.length ? errors.map(([k, v]) => `${k} ×${v}`).join(", ") : "none"}`, "");
  for (const row of checkRows(f)) out.push(`${row[1] === "✅" ? "OK    " : "FAILED"} ${row[0]}`);
  if (r.race) {
    out.push("");
    out.push(
      ...table(["design", "holds/s", "seats/s", "p50", "p95", "p99", "409", "errors", "ok"], raceRows(r.race), [
        "l",
        "r",
        "r",
        "r",
        "r",
        "r",
        "r",
        "r",
        "l",
      ]),
    );
    out.push(
      "",
      `Onsale ÷ classic: ${r.race.ratio_holds_per_s?.toFixed(2) ?? "–"}× holds/s; p95 ${n1(r.race.onsale.p95_ms)} vs ${n1(r.race.baseline.p95_ms)} ms.`,
    );
  }
  return out.join("\n");
}

// ── the chart ────────────────────────────────────────────────────────────────────────────

function niceStep(max, ticks) {
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw || 1));
  for (const m of [1, 2, 2.5, 5, 10]) if (raw <= m * power) return m * power;
  return 10 * power;
}

function panel({ x0, y0, w, h, tMax, series, title }) {
  const yMax = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p[1])));
  const yStep = niceStep(yMax, 4);
  const yTop = Math.ceil(yMax / yStep) * yStep;
  const xStep = niceStep(tMax, 8);
  const sx = (t) => x0 + (t / tMax) * w;
  const sy = (v) => y0 + h - (v / yTop) * h;
  const parts = [];
  parts.push(`<text x="${x0}" y="${y0 - 8}" class="title">${title}</text>`);
  for (let v = 0; v <= yTop + 1e-9; v += yStep) {
    parts.push(`<line x1="${x0}" y1="${sy(v)}" x2="${x0 + w}" y2="${sy(v)}" class="grid"/>`);
    parts.push(`<text x="${x0 - 6}" y="${sy(v) + 4}" class="ytick">${Math.round(v).toLocaleString("en-US")}</text>`);
  }
  for (let t = 0; t <= tMax + 1e-9; t += xStep) {
    parts.push(`<line x1="${sx(t)}" y1="${y0 + h}" x2="${sx(t)}" y2="${y0 + h + 4}" class="axis"/>`);
    parts.push(`<text x="${sx(t)}" y="${y0 + h + 16}" class="xtick">${Math.round(t)} s</text>`);
  }
  parts.push(`<line x1="${x0}" y1="${y0 + h}" x2="${x0 + w}" y2="${y0 + h}" class="axis"/>`);
  parts.push(`<line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y0 + h}" class="axis"/>`);
  for (const s of series) {
    const pts = s.points.map(([t, v]) => `${sx(t).toFixed(1)},${sy(v).toFixed(1)}`).join(" ");
    parts.push(`<polyline points="${pts}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
  }
  return { svg: parts.join("\n"), sx };
}

export function svgChart(r) {
  const f = r.flash;
  const tl = f.timeline;
  const W = 960;
  const H = 560;
  const left = 80;
  const w = W - left - 30;
  const tMax = Math.max(10, ...tl.map((p) => p.t_s));
  const top = panel({
    x0: left,
    y0: 60,
    w,
    h: 260,
    tMax,
    title: "fans in the queue, fans admitted, seats sold",
    series: [
      { color: "#1f77b4", points: tl.map((p) => [p.t_s, p.queued]) },
      { color: "#ff7f0e", points: tl.map((p) => [p.t_s, p.admitted]) },
      { color: "#2ca02c", points: tl.map((p) => [p.t_s, p.sold]) },
    ],
  });
  const bottom = panel({
    x0: left,
    y0: 380,
    w,
    h: 130,
    tMax,
    title: "seats held (in checkout or awaiting expiry)",
    series: [{ color: "#d62728", points: tl.map((p) => [p.t_s, p.held]) }],
  });
  const marks = [];
  const mark = (t, label, color) => {
    if (t === null || t === undefined || t > tMax) return;
    const x = top.sx(t);
    marks.push(`<line x1="${x}" y1="60" x2="${x}" y2="510" stroke="${color}" stroke-dasharray="5,4"/>`);
    marks.push(`<text x="${x + 4}" y="${74 + marks.length * 7}" class="mark" fill="${color}">${label}</text>`);
  };
  mark(f.sale.ideal.with_the_mix_s, `ideal ${Math.round(f.sale.ideal.with_the_mix_s)} s`, "#7f7f7f");
  mark(f.sale.sell_out_s, `sold out ${Math.round(f.sale.sell_out_s ?? 0)} s`, "#2ca02c");
  const legend = [
    ["queue length (DO stats)", "#1f77b4"],
    ["admitted (fans with a token)", "#ff7f0e"],
    ["sold (DO)", "#2ca02c"],
    ["held (DO)", "#d62728"],
  ]
    .map(
      ([label, color], i) =>
        `<rect x="${left + i * 215}" y="22" width="14" height="4" fill="${color}"/><text x="${left + i * 215 + 20}" y="28" class="legend">${label}</text>`,
    )
    .join("\n");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
<style>
  .grid { stroke: #e5e5e5; stroke-width: 1 }
  .axis { stroke: #333; stroke-width: 1 }
  .ytick { font-size: 11px; text-anchor: end; fill: #333 }
  .xtick { font-size: 11px; text-anchor: middle; fill: #333 }
  .title { font-size: 13px; fill: #111; font-weight: bold }
  .legend { font-size: 12px; fill: #111 }
  .mark { font-size: 11px }
</style>
<rect width="100%" height="100%" fill="white"/>
<text x="${left}" y="14" class="title">Onsale flash crowd: ${Math.round(r.options.fans).toLocaleString("en-US")} fans, ${Math.round(f.sellable).toLocaleString("en-US")} seats, ${r.target.name} — ${r.started_at}</text>
${legend}
${top.svg}
${bottom.svg}
${marks.join("\n")}
</svg>
`;
}
