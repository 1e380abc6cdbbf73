// Storage that never throws: private modes and full quotas must not break a purchase.

type Area = "local" | "session";
const area = (which: Area): Storage | null => {
  try {
    return which === "local" ? window.localStorage : window.sessionStorage;
  } catch {
    return null;
  }
};

export function readJson<T>(which: Area, key: string): T | null {
  try {
    const text = area(which)?.getItem(key);
    return text ? (JSON.parse(text) as T) : null;
  } catch {
    return null;
  }
}

export function writeJson(which: Area, key: string, value: unknown) {
  try {
    if (value === null || value === undefined) area(which)?.removeItem(key);
    else area(which)?.setItem(key, JSON.stringify(value));
  } catch {}
}

/** A fresh Idempotency-Key: one per user intent, reused when that same intent is retried. */
export function newKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
