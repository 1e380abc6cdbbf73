import { isolateMetrics, type MemoryMetrics, percentile } from "./observe";

// Onsale's SLO targets, from the seeds' table (docs/operations.md, "SLOs"): hold and confirm are
// the checkout hot path ("P95 sub-second"), booking confirmation is P95 < 800 ms and P99 < 2 s,
// on-sale availability (hold attempts that did not fail on our side) > 95 %, and 99.9 % of
// requests without a server error. Webhook lag has no number in the seeds: one minute is ours.
export const SLO_TARGETS = {
  hold: { p95_ms: 1000, availability: 0.95 },
  confirm: { p95_ms: 800, p99_ms: 2000 },
  server_errors: { max_rate: 0.001 },
  webhook_lag: { p95_ms: 60_000 },
  admission: { min_ratio: 0.8 },
} as const;

export type SloStatus = "ok" | "breached" | "no_data";

const round = (value: number | null) => (value === null ? null : Math.round(value));
const ratio = (part: number, whole: number) => (whole ? Math.round((part / whole) * 10_000) / 10_000 : null);

function latency(points: { ms: number }[]) {
  const values = points.map((p) => p.ms);
  return {
    p50_ms: round(percentile(values, 50)),
    p95_ms: round(percentile(values, 95)),
    p99_ms: round(percentile(values, 99)),
  };
}

/**
 * One show's SLIs over the last `minutes`, against the targets. `room` is the waiting room's
 * own count from the Show DO when the room is on (null otherwise).
 */
export function sloReport(
  showId: string,
  minutes: number,
  room: { admit_per_minute: number; observed_admit_per_minute: number; queued: number; paused: boolean } | null,
  metrics: MemoryMetrics = isolateMetrics,
  now = Date.now(),
) {
  const windowMs = minutes * 60_000;
  const holds = metrics.select("hold", showId, windowMs, now);
  const holdErrors = holds.filter((p) => p.outcome === "error").length;
  const holdLatency = latency(holds);
  const holdAvailability = ratio(holds.length - holdErrors, holds.length);

  const confirms = metrics.select("confirm", showId, windowMs, now);
  const confirmLatency = latency(confirms.filter((p) => p.outcome !== "error"));

  const requests = [holds, confirms, metrics.select("request", showId, windowMs, now)].flat();
  const serverErrors = requests.filter((p) => p.status >= 500).length;
  const errorRate = ratio(serverErrors, requests.length);

  // Admissions the edge saw in the last full minute, against the configured rate.
  const admitted = metrics.select("admission", showId, 60_000, now).length;

  // Webhooks carry no show (Stripe's events name a PaymentIntent): the platform's lag.
  const webhooks = metrics.select("webhook", undefined, windowMs, now);
  const lag = latency(webhooks);

  const status = (count: number, ok: boolean): SloStatus => (count === 0 ? "no_data" : ok ? "ok" : "breached");
  return {
    show_id: showId,
    window_minutes: minutes,
    generated_at: new Date(now).toISOString(),
    source: "isolate" as const,
    hold: {
      count: holds.length,
      held: holds.filter((p) => p.outcome === "held").length,
      refused: holds.filter((p) => p.outcome === "refused").length,
      errors: holdErrors,
      ...holdLatency,
      availability: holdAvailability,
      target: SLO_TARGETS.hold,
      status: status(
        holds.length,
        (holdLatency.p95_ms ?? 0) < SLO_TARGETS.hold.p95_ms && (holdAvailability ?? 1) >= SLO_TARGETS.hold.availability,
      ),
    },
    confirm: {
      count: confirms.length,
      ok: confirms.filter((p) => p.outcome === "ok").length,
      refused: confirms.filter((p) => p.outcome === "refused").length,
      errors: confirms.filter((p) => p.outcome === "error").length,
      ...confirmLatency,
      target: SLO_TARGETS.confirm,
      status: status(
        confirms.length,
        (confirmLatency.p95_ms ?? 0) < SLO_TARGETS.confirm.p95_ms &&
          (confirmLatency.p99_ms ?? 0) < SLO_TARGETS.confirm.p99_ms &&
          confirms.every((p) => p.outcome !== "error"),
      ),
    },
    server_errors: {
      requests: requests.length,
      errors: serverErrors,
      rate: errorRate,
      target: SLO_TARGETS.server_errors,
      status: status(requests.length, (errorRate ?? 0) <= SLO_TARGETS.server_errors.max_rate),
    },
    admission: {
      configured_per_minute: room?.admit_per_minute ?? null,
      // The Show DO's count is the truth; the edge sees an admission when the fan next polls.
      observed_per_minute: room?.observed_admit_per_minute ?? null,
      seen_at_edge_last_minute: admitted,
      queued: room?.queued ?? null,
      target: SLO_TARGETS.admission,
      // Admitting below the rate is a problem only while fans wait and the room is not paused.
      status: (!room || room.paused || room.queued === 0
        ? "no_data"
        : room.observed_admit_per_minute >= room.admit_per_minute * SLO_TARGETS.admission.min_ratio
          ? "ok"
          : "breached") as SloStatus,
    },
    webhook_lag: {
      count: webhooks.length,
      ...lag,
      target: SLO_TARGETS.webhook_lag,
      status: status(webhooks.length, (lag.p95_ms ?? 0) < SLO_TARGETS.webhook_lag.p95_ms),
    },
  };
}
