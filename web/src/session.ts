import { computed, signal } from "@preact/signals";
import { readJson, writeJson } from "./lib/storage";

// The signed-in fan. The token lives in sessionStorage: it survives a reload, not the end of
// the browsing session, and no cookie carries it (so the API needs no CSRF defence).

export interface FanSession {
  fan_id: string;
  token: string;
  expires_at_ms: number;
}

const KEY = "onsale.session";

function load(): FanSession | null {
  const saved = readJson<FanSession>("session", KEY);
  return saved && saved.expires_at_ms > Date.now() + 30_000 ? saved : null;
}

export const session = signal<FanSession | null>(load());
export const signedIn = computed(() => session.value !== null);

export function signIn(value: FanSession) {
  writeJson("session", KEY, value);
  session.value = value;
}

export function signOut() {
  writeJson("session", KEY, null);
  session.value = null;
}
