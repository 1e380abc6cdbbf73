import { useEffect, useState } from "preact/hooks";
import { api } from "../../api/client";
import { ProblemMessage } from "../../components/problem";
import { to } from "../../i18n/organizer";
import type { SloReport, SloStatus } from "./types";

const REFRESH_MS = 5_000;
const WINDOW_MINUTES = 5;

/** The show's service levels against the SLO targets (`GET …/slo`): a table, with words for status. */
export function SloPanel({ showId, organizerKey }: { showId: string; organizerKey: string }) {
  const [report, setReport] = useState<SloReport | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    api<SloReport>(`/v1/admin/shows/${showId}/slo?minutes=${WINDOW_MINUTES}`, { organizerKey }).then(
      (next) => {
        if (!live) return;
        setReport(next);
        setError(null);
      },
      (caught) => live && setError(caught),
    );
    const timer = setTimeout(() => setTick((n) => n + 1), REFRESH_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [showId, tick]);

  const rows: [string, string, string, SloStatus][] = report
    ? [
        [to.sloHoldP95, to.ms(report.hold.p95_ms), to.belowMs(report.hold.target.p95_ms), report.hold.status],
        [
          to.sloHoldAvailability,
          `${to.percent(report.hold.availability)} · ${to.sloCount(report.hold.count)}`,
          to.atLeastPercent(report.hold.target.availability),
          report.hold.status,
        ],
        [
          to.sloConfirmP95,
          to.ms(report.confirm.p95_ms),
          to.belowMs(report.confirm.target.p95_ms),
          report.confirm.status,
        ],
        [
          to.sloConfirmP99,
          to.ms(report.confirm.p99_ms),
          to.belowMs(report.confirm.target.p99_ms),
          report.confirm.status,
        ],
        [
          to.sloServerErrors,
          `${to.percent(report.server_errors.rate)} · ${to.sloCount(report.server_errors.requests)}`,
          to.atMostPercent(report.server_errors.target.max_rate),
          report.server_errors.status,
        ],
        [
          to.sloAdmission,
          report.admission.observed_per_minute === null ? "–" : String(report.admission.observed_per_minute),
          to.ofConfigured(report.admission.target.min_ratio, report.admission.configured_per_minute),
          report.admission.status,
        ],
        [
          to.sloWebhookLag,
          to.ms(report.webhook_lag.p95_ms),
          to.belowMs(report.webhook_lag.target.p95_ms),
          report.webhook_lag.status,
        ],
      ]
    : [];
  const word = { ok: to.sloOk, breached: to.sloBreached, no_data: to.sloNoData } as const;
  return (
    <section aria-labelledby="slo-heading">
      <h2 id="slo-heading">{to.slo}</h2>
      <p class="muted small">{to.sloHint(WINDOW_MINUTES)}</p>
      {error !== null && <ProblemMessage error={error} />}
      {report && (
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region is focusable so arrow keys scroll it
        <section class="table-scroll" tabIndex={0} aria-labelledby="slo-heading">
          <table class="orders slo" data-testid="slo">
            <thead>
              <tr>
                <th scope="col">{to.sloIndicator}</th>
                <th scope="col">{to.sloNow}</th>
                <th scope="col">{to.sloTarget}</th>
                <th scope="col">{to.sloStatus}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(([name, now, target, status]) => (
                <tr key={name}>
                  <th scope="row">{name}</th>
                  <td>{now}</td>
                  <td>{target}</td>
                  <td>
                    <span class={`badge slo-${status}`}>{word[status]}</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </section>
  );
}
