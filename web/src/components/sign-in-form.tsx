import { useEffect, useState } from "preact/hooks";
import { ApiProblem, api } from "../api/client";
import type { DevToken } from "../api/types";
import { t } from "../i18n";
import { config, loadConfig } from "../lib/config";
import { queryOf } from "../router";
import { signIn } from "../session";
import { ProblemMessage } from "./problem";

/**
 * Development sign-in: any fan id gets a token from `POST /v1/dev/tokens`. Outside
 * development that route is a 404 and the form says sign-in is not available here.
 */
export function SignInForm({ onSignedIn }: { onSignedIn?: () => void }) {
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    loadConfig();
  }, []);
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
  const settings = config.value;
  const oidc = settings?.oidc ?? null;
  const signInWithIssuer = async () => {
    if (!oidc) return;
    setBusy(true);
    setError(null);
    try {
      const next =
        window.location.pathname === "/sign-in"
          ? (queryOf(window.location.search).next ?? "/me")
          : window.location.pathname;
      // oauth4webapi loads only when a fan signs in this way: the waiting page stays small.
      const { startSignIn } = await import("../lib/oidc");
      await startSignIn(oidc, next.startsWith("/") && !next.startsWith("//") ? next : "/me");
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  };
  const issuerButton = oidc && (
    <div class="sign-in">
      <p class="muted">{t.signIn.oidcIntro}</p>
      <button type="button" class="primary" onClick={signInWithIssuer} disabled={busy}>
        {busy ? t.signIn.oidcRedirecting : t.signIn.oidcSubmit}
      </button>
    </div>
  );
  if (oidc && !settings?.dev_sign_in)
    return (
      <>
        {issuerButton}
        {error !== null && <ProblemMessage error={error} />}
      </>
    );
  return (
    <>
      {issuerButton}
      <form class="sign-in" onSubmit={onSubmit}>
        {oidc && <h2>{t.signIn.devHeading}</h2>}
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
    </>
  );
}
