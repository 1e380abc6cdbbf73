import type { ComponentChildren } from "preact";
import { t } from "../i18n";
import { session, signOut } from "../session";
import { assertiveMessage, politeMessage } from "./announcer";

export function Layout({ children }: { children: ComponentChildren }) {
  const fan = session.value;
  return (
    <>
      <a class="skip-link" href="#main">
        {t.skipToContent}
      </a>
      <header class="site-header">
        <a class="brand" href="/">
          {t.appName}
        </a>
        <nav aria-label={t.nav.main}>
          <ul>
            <li>
              <a href="/">{t.nav.events}</a>
            </li>
            <li>
              <a href="/me">{t.nav.wallet}</a>
            </li>
            <li>
              {fan ? (
                <span class="fan">
                  <span class="fan-id">{t.signedInAs(fan.fan_id)}</span>{" "}
                  <button type="button" class="link-button" onClick={signOut}>
                    {t.nav.signOut}
                  </button>
                </span>
              ) : (
                <a href={`/sign-in?next=${encodeURIComponent(window.location.pathname)}`}>{t.nav.signIn}</a>
              )}
            </li>
          </ul>
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
      <div class="sr-only" aria-live="polite" aria-atomic="true">
        {politeMessage.value}
      </div>
      <div class="sr-only" aria-live="assertive" aria-atomic="true">
        {assertiveMessage.value}
      </div>
    </>
  );
}
