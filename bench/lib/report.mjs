// Summaries of `npm run bench:holds`: medians over repetitions, ratios to the same-run
// baselines, the knee of the throughput curve, and the tables (console and Markdown).

export const median = (values) => {
  const v = values.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
};

const fmt = (value, digits = 1) =>
  value === null || value === undefined || Number.isNaN(value)
    ? "–"
    : Number(value).toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const pct = (value) => (value === null || value === undefined ? "–" : `${Math.round(value * 100)}%`);

// ── figure 1 ─────────────────────────────────────────────────────────────────────────────

const variantNames = {
  baseline: "baseline: bare conditional UPDATE + INSERT",
  baseline_tx: "baseline in one transactionSync per hold",
  hold: "ShowDO.hold(), explicit single seat",
  best_available: "ShowDO.hold(), best available, quantity 1",
  baseline_commit_each: "baseline, committed after each hold",
  hold_commit_each: "ShowDO.hold(), committed after each hold",
};

export function summarizeDoCost(raw, targetUs) {
  const variants = {};
  for (const variant of Object.keys(variantNames)) {
    const samples = raw.samples.filter((s) => s.variant === variant);
    if (!samples.length) continue;
    const loop = samples.map((s) => (s.loop_ms * 1000) / s.holds);
    const sync = samples.map((s) => (s.sync_ms * 1000) / s.holds);
    variants[variant] = {
      name: variantNames[variant],
      holds: samples[0].holds,
      reps: samples.length,
      us_per_hold: median(loop),
      us_per_hold_with_commit: median(sync),
      us_per_hold_all: loop.map((x) => Math.round(x * 10) / 10),
      min_us: Math.min(...loop),
      max_us: Math.max(...loop),
      refused: samples.reduce((n, s) => n + s.refused, 0),
    };
  }
  const base = variants.baseline?.us_per_hold;
  for (const v of Object.values(variants)) v.x_baseline = base ? v.us_per_hold / base : null;
  const hold = variants.hold;
  const reads = raw.profile.statements.filter((s) => s.kind === "read");
  const readUs = reads.reduce((n, s) => n + s.per_hold * (s.replay_us ?? 0), 0);
  return {
    holds_per_request: raw.holds,
    reps: raw.reps,
    target_us: targetUs,
    hold_us: hold?.us_per_hold ?? null,
    baseline_us: base ?? null,
    ratio_to_baseline: hold && base ? hold.us_per_hold / base : null,
    meets_target: hold ? hold.us_per_hold <= targetUs : null,
    variants,
    profile: { ...raw.profile, read_us_per_hold: readUs },
    clock_advanced_ms: raw.clock_advanced_ms,
  };
}

export function doCostLines(s) {
  const lines = [];
  lines.push(
    `Figure 1 — the Show DO's own cost: one request drives ${s.holds_per_request.toLocaleString("en-US")} single-seat holds inside the DO (median of ${s.reps})`,
  );
  const rows = Object.values(s.variants).map((v) => [
    v.name,
    v.holds.toLocaleString("en-US"),
    fmt(v.us_per_hold),
    fmt(v.us_per_hold_with_commit),
    `${fmt(v.min_us)}–${fmt(v.max_us)}`,
    v.x_baseline ? `${fmt(v.x_baseline, 2)}×` : "–",
  ]);
  lines.push(
    ...table(["variant", "holds/request", "µs/hold", "µs/hold +commit", "range", "× baseline"], rows, [
      "l",
      "r",
      "r",
      "r",
      "r",
      "r",
    ]),
  );
  lines.push(
    `hold(): ${fmt(s.hold_us)} µs/hold, ${fmt(s.ratio_to_baseline, 1)}× the same-run baseline — target ≤ ${s.target_us} µs: ${s.meets_target ? "MET" : "NOT MET"}`,
  );
  const p = s.profile;
  lines.push(
    `profile of hold(): ${fmt(p.statements_per_hold, 1)} SQL statements per hold; reads replayed ≈ ${fmt(p.read_us_per_hold)} µs/hold; floor here: ${fmt(p.exec_floor_us, 1)} µs per sql.exec, ${fmt(p.transaction_floor_us, 1)} µs per empty transactionSync`,
    ...p.statements.map(
      (st) =>
        `  ${st.kind === "read" ? "read " : "write"} ${fmt(st.per_hold, 2)}× ${st.replay_us !== null ? `${fmt(st.replay_us).padStart(5)} µs` : "    – µs"}  ${st.sql.slice(0, 100)}`,
    ),
  );
  return lines;
}

// ── figure 2 ─────────────────────────────────────────────────────────────────────────────

/**
 * The knee: the lowest concurrency whose throughput reaches 90% of the best level's. Past it,
 * more connections only queue (latency grows, throughput does not); below it, the server has
 * headroom. Quoted with the p95 of the levels below it.
 */
export function knee(levels, throughput) {
  const valid = throughput.filter((x) => x !== null);
  if (!valid.length) return levels.length - 1;
  const peak = Math.max(...valid);
  const index = throughput.findIndex((x) => x !== null && x >= 0.9 * peak);
  return index < 0 ? levels.length - 1 : index;
}

export function summarizeHttp(target, cells, levels, { ratioTarget, p95TargetMs }) {
  const kinds = ["noop", "noop-do", "hold"];
  const byLevel = levels.map((connections) => {
    const row = { connections };
    for (const kind of kinds) {
      const runs = cells.filter((c) => c.kind === kind && c.connections === connections);
      const cpuLabels = [...new Set(runs.flatMap((r) => Object.keys(r.cpu?.cores ?? {})))];
      row[kind] = {
        runs: runs.length,
        ok_per_s: median(runs.map((r) => r.ok_per_s)),
        ok_per_s_all: runs.map((r) => Math.round(r.ok_per_s)),
        p50_ms: median(runs.map((r) => r.latency_ms.p50)),
        p95_ms: median(runs.map((r) => r.latency_ms.p95)),
        p99_ms: median(runs.map((r) => r.latency_ms.p99)),
        responses: runs.reduce((n, r) => n + r.responses, 0),
        ok: runs.reduce((n, r) => n + r.ok, 0),
        non2xx: runs.reduce(
          (n, r) => n + Object.entries(r.statuses).reduce((m, [k, v]) => m + (k === "2xx" ? 0 : v), 0),
          0,
        ),
        status_409: runs.reduce(
          (n, r) => n + Object.entries(r.refusals).reduce((m, [k, v]) => m + (k.startsWith("409") ? v : 0), 0),
          0,
        ),
        refusals: Object.fromEntries(
          [...new Set(runs.flatMap((r) => Object.keys(r.refusals)))].map((code) => [
            code,
            runs.reduce((n, r) => n + (r.refusals[code] ?? 0), 0),
          ]),
        ),
        errors: runs.reduce((n, r) => n + r.errors, 0),
        timeouts: runs.reduce((n, r) => n + r.timeouts, 0),
        cpu_cores: Object.fromEntries(
          cpuLabels.map((label) => [label, median(runs.map((r) => r.cpu?.cores?.[label]))]),
        ),
        machine_cores: median(runs.map((r) => r.cpu?.machine_cores)),
        outside_cores: median(runs.map((r) => r.cpu?.outside_cores)),
      };
    }
    row.hold_vs_noop_do =
      row.hold.ok_per_s && row["noop-do"].ok_per_s ? row.hold.ok_per_s / row["noop-do"].ok_per_s : null;
    row.noop_do_vs_noop =
      row["noop-do"].ok_per_s && row.noop.ok_per_s ? row["noop-do"].ok_per_s / row.noop.ok_per_s : null;
    return row;
  });
  const holdCurve = byLevel.map((r) => r.hold.ok_per_s);
  const k = knee(levels, holdCurve);
  const atKnee = byLevel[k];
  const below = byLevel.slice(0, k);
  const p95Checked = below.length ? below : [atKnee];
  const peakHold = Math.max(...holdCurve.filter((x) => x !== null));
  const peakNoopDo = Math.max(...byLevel.map((r) => r["noop-do"].ok_per_s).filter((x) => x !== null));
  const peakNoop = Math.max(...byLevel.map((r) => r.noop.ok_per_s).filter((x) => x !== null));
  return {
    target: target.name,
    label: target.label,
    levels: byLevel,
    knee: {
      connections: atKnee.connections,
      holds_per_s: atKnee.hold.ok_per_s,
      noop_do_per_s: atKnee["noop-do"].ok_per_s,
      hold_vs_noop_do: atKnee.hold_vs_noop_do,
      p95_ms: atKnee.hold.p95_ms,
    },
    peak: {
      holds_per_s: peakHold,
      noop_do_per_s: peakNoopDo,
      noop_per_s: peakNoop,
      hold_vs_noop_do: peakHold / peakNoopDo,
      noop_do_vs_noop: peakNoopDo / peakNoop,
    },
    p95_below_knee: {
      levels: p95Checked.map((r) => r.connections),
      worst_ms: Math.max(...p95Checked.map((r) => r.hold.p95_ms ?? Number.POSITIVE_INFINITY)),
      note: below.length ? "levels below the knee" : "the knee is the first level; checked at the knee",
    },
    meets_ratio_target: atKnee.hold_vs_noop_do !== null && atKnee.hold_vs_noop_do >= ratioTarget,
    meets_p95_target: Math.max(...p95Checked.map((r) => r.hold.p95_ms ?? Number.POSITIVE_INFINITY)) < p95TargetMs,
  };
}

export function httpLines(s, { rounds, durationS, ratioTarget, p95TargetMs }) {
  const lines = [];
  lines.push(`Figure 2 — end to end through HTTP: ${s.label} (median of ${rounds} rounds × ${durationS} s per cell)`);
  const rows = s.levels.map((r) => [
    String(r.connections),
    fmt(r.noop.ok_per_s, 0),
    fmt(r["noop-do"].ok_per_s, 0),
    fmt(r.hold.ok_per_s, 0),
    pct(r.hold_vs_noop_do),
    `${fmt(r.noop.p95_ms)} / ${fmt(r["noop-do"].p95_ms)}`,
    `${fmt(r.hold.p50_ms)} / ${fmt(r.hold.p95_ms)} / ${fmt(r.hold.p99_ms)}`,
    `${r.hold.status_409} / ${r.hold.non2xx - r.hold.status_409} / ${r.hold.errors + r.noop.errors + r["noop-do"].errors}`,
    cpuText(r.hold.cpu_cores),
    fmt(r.hold.outside_cores, 2),
  ]);
  lines.push(
    ...table(
      [
        "conn",
        "noop req/s",
        "noop-DO req/s",
        "holds/s",
        "holds÷noop-DO",
        "p95 noop / noop-DO ms",
        "holds p50/p95/p99 ms",
        "409 / other 4xx-5xx / errors",
        "CPU cores during holds",
        "outside",
      ],
      rows,
      ["r", "r", "r", "r", "r", "r", "r", "r", "l", "r"],
    ),
  );
  lines.push(
    `knee at ${s.knee.connections} connections: ${fmt(s.knee.holds_per_s, 0)} holds/s = ${pct(s.knee.hold_vs_noop_do)} of the no-op DO round trip (target ≥ ${pct(ratioTarget)}: ${s.meets_ratio_target ? "MET" : "NOT MET"}); p95 at ${s.p95_below_knee.levels.join(", ")} conn ≤ ${fmt(s.p95_below_knee.worst_ms)} ms (target < ${p95TargetMs} ms: ${s.meets_p95_target ? "MET" : "NOT MET"})`,
  );
  if (s.profile) lines.push(...profileLines(s.profile));
  lines.push(
    `peaks: noop ${fmt(s.peak.noop_per_s, 0)} req/s, noop-DO ${fmt(s.peak.noop_do_per_s, 0)} req/s (${pct(s.peak.noop_do_vs_noop)} of noop), holds ${fmt(s.peak.holds_per_s, 0)}/s (${pct(s.peak.hold_vs_noop_do)} of noop-DO)`,
  );
  return lines;
}

/** Per-request busy µs by source, holds minus no-op DO round trips: what a hold adds. */
export function profileDiff(profile) {
  const base = new Map(profile["noop-do"].by_source.map((b) => [b.name, b.us_per_request]));
  return profile.hold.by_source
    .map((b) => ({ name: b.name, hold_us: b.us_per_request, noop_do_us: base.get(b.name) ?? 0 }))
    .map((b) => ({ ...b, extra_us: b.hold_us - b.noop_do_us }))
    .sort((a, b) => b.extra_us - a.extra_us);
}

function profileLines(p) {
  const h = p.hold;
  const n = p["noop-do"];
  const extra = profileDiff(p)
    .filter((b) => b.extra_us >= 10)
    .slice(0, 8)
    .map((b) => `${b.name} +${fmt(b.extra_us, 0)}`)
    .join(", ");
  return [
    `V8 profile of the Worker + DO isolate at ${p.connections} conn: no-op DO ${fmt(n.busy_us_per_request, 0)} µs busy/request (isolate busy ${pct(n.busy_fraction)}), hold ${fmt(h.busy_us_per_request, 0)} µs busy/request (busy ${pct(h.busy_fraction)})`,
    `  a hold's extra µs over a no-op DO round trip, by source: ${extra}`,
    `  holds, top self time: ${h.by_source
      .slice(0, 8)
      .map((b) => `${b.name} ${pct(b.share)}`)
      .join(", ")}`,
  ];
}

const shortLabel = {
  "workerd (wrangler proxy)": "proxy",
  "workerd (worker + DO)": "worker",
  "workerd (worker)": "worker",
  "workerd (DO)": "DO",
  "wrangler (node)": "wrangler",
  "miniflare host (node)": "mf-host",
  "load generator": "loadgen",
  orchestrator: "orch",
};

function cpuText(cores) {
  return Object.entries(cores)
    .filter(([, v]) => v !== null && v >= 0.01)
    .map(([label, v]) => `${shortLabel[label] ?? label} ${fmt(v, 2)}`)
    .join(", ");
}

export function table(header, rows, align) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const cell = (text, i) => (align[i] === "r" ? String(text).padStart(widths[i]) : String(text).padEnd(widths[i]));
  return [
    header.map(cell).join("  "),
    widths.map((w) => "─".repeat(w)).join("  "),
    ...rows.map((r) => r.map(cell).join("  ")),
  ];
}

/** A console table as Markdown (same columns). */
export function markdownTable(header, rows) {
  const esc = (t) => String(t).replaceAll("|", "\\|");
  return [
    `| ${header.map(esc).join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.map(esc).join(" | ")} |`),
  ];
}

export function markdown(result) {
  const out = [];
  out.push(`# npm run bench:holds — ${result.started_at}`, "");
  out.push(`Command: \`${result.command}\``, "");
  out.push(
    `Machine: ${result.machine.cores} cores (${result.machine.cpu}), ${result.machine.memory_gb} GB, Node ${result.machine.node}; workerd ${result.machine.workerd ?? "?"}; load generator autocannon ${result.machine.autocannon} in its own process.`,
    "",
  );
  if (result.do_cost) {
    const s = result.do_cost;
    out.push("## Figure 1 — the Show DO's own cost", "");
    out.push(
      `One request (\`runInDurableObject\`, inside the object) drives ${s.holds_per_request.toLocaleString("en-US")} single-seat holds; median of ${s.reps} repetitions, each on a fresh object.`,
      "",
    );
    out.push(
      ...markdownTable(
        ["variant", "holds/request", "µs/hold", "µs/hold incl. commit", "range µs", "× baseline"],
        Object.values(s.variants).map((v) => [
          v.name,
          v.holds.toLocaleString("en-US"),
          fmt(v.us_per_hold),
          fmt(v.us_per_hold_with_commit),
          `${fmt(v.min_us)}–${fmt(v.max_us)}`,
          v.x_baseline ? `${fmt(v.x_baseline, 2)}×` : "–",
        ]),
      ),
      "",
    );
    out.push(
      `**hold(): ${fmt(s.hold_us)} µs/hold, ${fmt(s.ratio_to_baseline, 1)}× the baseline — target ≤ ${s.target_us} µs: ${s.meets_target ? "met" : "not met"}.**`,
      "",
    );
    out.push(
      "Where a hold's time goes (SQL statements one `hold()` runs, reads replayed with their recorded arguments):",
      "",
    );
    out.push(
      ...markdownTable(
        ["statement", "kind", "per hold", "µs per call (replayed)"],
        s.profile.statements.map((st) => [`\`${st.sql}\``, st.kind, fmt(st.per_hold, 2), fmt(st.replay_us)]),
      ),
      "",
    );
    out.push(
      `Reads ≈ ${fmt(s.profile.read_us_per_hold)} µs per hold. Floor on this machine: ${fmt(s.profile.exec_floor_us)} µs per \`sql.exec\` of a constant, ${fmt(s.profile.transaction_floor_us)} µs per empty \`transactionSync\`.`,
      "",
    );
  }
  for (const s of result.http ?? []) {
    out.push(`## Figure 2 — HTTP end to end: ${s.label}`, "");
    out.push(
      `Median of ${result.options.rounds} rounds × ${result.options.durationS} s per cell; every hold request is a distinct seat + fan + Idempotency-Key.`,
      "",
    );
    out.push(
      ...markdownTable(
        [
          "conn",
          "noop req/s",
          "noop-DO req/s",
          "holds/s",
          "holds ÷ noop-DO",
          "p50/p95/p99 noop ms",
          "p50/p95/p99 noop-DO ms",
          "p50/p95/p99 holds ms",
          "409 / other non-2xx / errors",
          "CPU cores during holds",
          "outside the bench",
        ],
        s.levels.map((r) => [
          r.connections,
          fmt(r.noop.ok_per_s, 0),
          fmt(r["noop-do"].ok_per_s, 0),
          fmt(r.hold.ok_per_s, 0),
          pct(r.hold_vs_noop_do),
          `${fmt(r.noop.p50_ms)} / ${fmt(r.noop.p95_ms)} / ${fmt(r.noop.p99_ms)}`,
          `${fmt(r["noop-do"].p50_ms)} / ${fmt(r["noop-do"].p95_ms)} / ${fmt(r["noop-do"].p99_ms)}`,
          `${fmt(r.hold.p50_ms)} / ${fmt(r.hold.p95_ms)} / ${fmt(r.hold.p99_ms)}`,
          `${r.hold.status_409} / ${r.hold.non2xx - r.hold.status_409} / ${r.hold.errors + r.noop.errors + r["noop-do"].errors}`,
          cpuText(r.hold.cpu_cores),
          fmt(r.hold.outside_cores, 2),
        ]),
      ),
      "",
    );
    out.push(
      `- Knee: **${s.knee.connections} connections, ${fmt(s.knee.holds_per_s, 0)} holds/s = ${pct(s.knee.hold_vs_noop_do)} of the no-op DO round trip** (target ≥ ${pct(result.options.ratioTarget)}: ${s.meets_ratio_target ? "met" : "not met"}).`,
      `- p95 of holds at ${s.p95_below_knee.levels.join(", ")} connections (${s.p95_below_knee.note}): ≤ ${fmt(s.p95_below_knee.worst_ms)} ms (target < ${result.options.p95TargetMs} ms: ${s.meets_p95_target ? "met" : "not met"}).`,
      `- Peaks: noop ${fmt(s.peak.noop_per_s, 0)} req/s; no-op DO ${fmt(s.peak.noop_do_per_s, 0)} req/s (${pct(s.peak.noop_do_vs_noop)} of noop); holds ${fmt(s.peak.holds_per_s, 0)}/s (${pct(s.peak.hold_vs_noop_do)} of no-op DO).`,
      "",
    );
    if (s.profile) {
      const p = s.profile;
      out.push(
        `V8 CPU profile of the Worker + DO isolate (after the measured cells, ${s.target === "miniflare" ? "on a restart with the inspector enabled" : "through wrangler dev's DevTools proxy"}; ${p.connections} connections, ${p.duration_s} s each; the sampling inflates absolute µs): no-op DO round trip ${fmt(p["noop-do"].busy_us_per_request, 0)} µs of isolate time per request (busy ${pct(p["noop-do"].busy_fraction)} of the time), hold ${fmt(p.hold.busy_us_per_request, 0)} µs (busy ${pct(p.hold.busy_fraction)}).`,
        "",
      );
      out.push(
        ...markdownTable(
          ["source (self time)", "hold µs/request", "no-op DO µs/request", "a hold's extra µs"],
          profileDiff(p)
            .slice(0, 14)
            .map((b) => [b.name, fmt(b.hold_us, 0), fmt(b.noop_do_us, 0), fmt(b.extra_us, 0)]),
        ),
        "",
      );
    }
    const v = result.verification.filter((x) => x.target === s.target);
    out.push("Double-hold check (overlay `GET /v1/shows/{id}/seat-map`, per section, after the run):", "");
    out.push(
      ...markdownTable(
        [
          "show",
          "ok",
          "holds confirmed (201)",
          "seats unavailable in overlay",
          "seats held twice",
          "confirmed but available",
          "held, never requested",
          "held, response not seen / requests unanswered",
        ],
        v.map((x) => [
          x.show_id,
          x.ok ? "yes" : "NO",
          x.holds_confirmed,
          x.seats_unavailable_in_overlay,
          x.seats_held_twice,
          x.confirmed_but_available,
          x.held_but_never_requested,
          `${x.held_without_a_seen_response} / ${x.requests_without_response}`,
        ]),
      ),
      "",
    );
  }
  if (result.bounds?.length) out.push("## What bounds it", "", ...result.bounds.map((b) => `- ${b}`), "");
  if (result.noise) out.push("## Noise", "", `- ${result.noise}`, "");
  return `${out.join("\n")}\n`;
}
