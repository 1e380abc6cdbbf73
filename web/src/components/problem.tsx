import { ApiProblem } from "../api/client";
import { t } from "../i18n";

/** What the fan reads when a call fails: the API's own words, or plain ones for the network. */
export function problemText(error: unknown): string {
  if (error instanceof ApiProblem) {
    if (error.code === "network") return t.problem.network;
    if (error.status === 429) return t.problem.rateLimited(error.retryAfterS ?? 1);
    return t.problem.generic(error.detail);
  }
  return t.problem.generic(String(error));
}

export function ProblemMessage({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  return (
    <div class="notice notice-error" role="alert">
      <p>{problemText(error)}</p>
      {onRetry && (
        <button type="button" onClick={onRetry}>
          {t.retry}
        </button>
      )}
    </div>
  );
}

export function Loading() {
  return (
    <p class="loading" role="status">
      {t.loading}
    </p>
  );
}
