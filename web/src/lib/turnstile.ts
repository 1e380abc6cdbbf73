import { loadConfig, loadScript } from "./config";

// Cloudflare Turnstile on the waiting-room join, only when the deployment has a site key
// (GET /v1/config): the script comes from challenges.cloudflare.com then, never otherwise.
// A token is single-use (siteverify), so each join asks for a fresh one.

interface TurnstileApi {
  render(container: HTMLElement, options: Record<string, unknown>): string;
  remove(widgetId: string): void;
}
declare global {
  interface Window {
    turnstile?: TurnstileApi;
  }
}

export const TURNSTILE_JS = "https://challenges.cloudflare.com/turnstile/v0/api.js?render=explicit";

/** A Turnstile token for one join, or undefined when none is configured (or it cannot load). */
export async function turnstileToken(container: HTMLElement | null): Promise<string | undefined> {
  const { turnstile_site_key: siteKey } = await loadConfig();
  if (!siteKey || !container) return undefined;
  try {
    await loadScript(TURNSTILE_JS);
  } catch {
    return undefined; // the API answers turnstile_required; the page says so and retries
  }
  const widget = window.turnstile;
  if (!widget) return undefined;
  return new Promise((resolve) => {
    const id = widget.render(container, {
      sitekey: siteKey,
      action: "queue-join",
      callback: (token: string) => {
        resolve(token);
        setTimeout(() => widget.remove(id), 0);
      },
      "error-callback": () => resolve(undefined),
      "expired-callback": () => resolve(undefined),
    });
  });
}
