import { useEffect, useState } from "preact/hooks";
import { PageHeading } from "../components/page-heading";
import { ProblemMessage } from "../components/problem";
import { t } from "../i18n";
import { loadConfig } from "../lib/config";
import { completeSignIn } from "../lib/oidc";
import { navigate } from "../router";

/** Where the OpenID Connect issuer sends the fan back with `?code=…&state=…`. */
export default function CallbackPage() {
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    loadConfig()
      .then((settings) => {
        if (!settings.oidc) throw new Error(t.signIn.callbackFailed);
        return completeSignIn(settings.oidc, new URL(window.location.href));
      })
      .then((next) => navigate(next, { replace: true }))
      .catch((caught) => setError(caught instanceof Error ? caught : new Error(String(caught))));
  }, []);
  return (
    <div class="page narrow">
      <PageHeading title={t.signIn.callbackTitle}>{t.signIn.callbackTitle}</PageHeading>
      {error ? (
        <>
          <p>{t.signIn.callbackFailed}</p>
          <ProblemMessage error={error} />
          <a href="/sign-in">{t.signIn.title}</a>
        </>
      ) : (
        <p role="status">{t.loading}</p>
      )}
    </div>
  );
}
