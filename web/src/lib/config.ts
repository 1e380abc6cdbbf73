import { signal } from "@preact/signals";
import { api } from "../api/client";

// The deployment's public settings (GET /v1/config): Stripe publishable key, Turnstile site key,
// OpenID Connect issuer. Asked once per page load; without an answer the app behaves as in
// development (test cards, no widget, the "sign in as" box).

export interface PublicConfig {
  stripe_publishable_key: string | null;
  turnstile_site_key: string | null;
  oidc: { issuer: string; client_id: string; scope: string; audience: string | null } | null;
  dev_sign_in: boolean;
  test_payments: boolean;
}

const FALLBACK: PublicConfig = {
  stripe_publishable_key: null,
  turnstile_site_key: null,
  oidc: null,
  dev_sign_in: true,
  test_payments: true,
};

export const config = signal<PublicConfig | null>(null);
let pending: Promise<PublicConfig> | null = null;

export function loadConfig(): Promise<PublicConfig> {
  pending ??= api<PublicConfig>("/v1/config")
    .catch(() => FALLBACK)
    .then((value) => {
      config.value = value;
      return value;
    });
  return pending;
}

/** Loads a provider's script once (Stripe.js, Turnstile), only when a page needs it. */
const scripts = new Map<string, Promise<void>>();
export function loadScript(src: string): Promise<void> {
  let loading = scripts.get(src);
  if (!loading) {
    loading = new Promise<void>((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.async = true;
      script.onload = () => resolve();
      script.onerror = () => {
        scripts.delete(src);
        reject(new Error(`could not load ${new URL(src).host}`));
      };
      document.head.append(script);
    });
    scripts.set(src, loading);
  }
  return loading;
}
