import { useState } from "preact/hooks";
import { ApiProblem, api } from "../api/client";
import type { DevToken } from "../api/types";
import { t } from "../i18n";
import { signIn } from "../session";
import { ProblemMessage } from "./problem";

/**
 * Development sign-in: any fan id gets a token from `POST /v1/dev/tokens`. Outside
 * development that route is a 404 and the form says sign-in is not available here.
 */
export function SignInForm({ onSignedIn }: { onSignedIn?: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const onSubmit = async (event: SubmitEvent) => {
    event.preventDefault();
    const fanId = String(new FormData(event.currentTarget as HTMLFormElement).get("fan_id") ?? "").trim();
    setBusy(true);
    setError(null);
    try {
      const token = await api<DevToken>("/v1/dev/tokens", { method: "POST", body: { fan_id: fanId, ttl_s: 8 * 3600 } });
      signIn({ fan_id: token.fan_id, token: token.token, expires_at_ms: token.expires_at_ms });
      onSignedIn?.();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  const unavailable = error instanceof ApiProblem && error.status === 404;
  return (
    <form class="sign-in" onSubmit={onSubmit}>
      <p class="muted">{t.signIn.devIntro}</p>
      <div class="field">
        <label for="fan-id">{t.signIn.fanId}</label>
        <input
          id="fan-id"
          name="fan_id"
          required
          pattern="[A-Za-z0-9_.:@\-]{1,128}"
          autocomplete="username"
          aria-describedby="fan-id-hint"
        />
        <small id="fan-id-hint">{t.signIn.fanIdHint}</small>
      </div>
      <button type="submit" class="primary" disabled={busy}>
        {t.signIn.submit}
      </button>
      {unavailable ? (
        <p role="alert" class="notice notice-error">
          {t.signIn.unavailable}
        </p>
      ) : (
        error !== null && <ProblemMessage error={error} />
      )}
    </form>
  );
}
