import { KV_TIMEOUT_MS, withDeadline } from "../lib/deadline";
import { apiErrorWithin } from "../lib/problem";

// What the crowd reads around an on-sale (the show, its event, the event's shows, event search)
// comes from Postgres once per location per FRESH_MS, whatever the crowd: the location's Cache
// API holds each answer, an isolate shares one load per key between concurrent misses, and an
// answer older than FRESH_MS is served while one request refreshes it in the background. When
// Postgres is down the last good copy (up to KEEP_S old) is served and says so, instead of a
// page that spins. Organizer writes move the catalog version that every key carries: at once in
// the isolate and location that wrote, within KV's cache time (60 s) everywhere else.

/** An answer this fresh is served without asking Postgres. */
export const CATALOG_FRESH_MS = 10_000;
/** Past fresh and up to this age, the copy is served while one request refreshes it. */
export const CATALOG_STALE_MS = 60_000;
/** How long the Cache API keeps a copy to serve while Postgres is unreachable. */
const KEEP_S = 24 * 3600;
const VERSION_KEY = "catalog:version";
/** An isolate re-reads the catalog version this often. */
const VERSION_TTL_MS = 5_000;
const MAX_ENTRIES = 10_000;

export type CacheState = "hit" | "miss" | "stale" | "stale-if-error";
interface Stored<T> {
  stored_at: number;
  body: T;
}

/** The cache's clock; tests move it to age the copies they made. */
export const catalogClock = { now: () => Date.now() };

let version: { value: string; expiresAt: number } | undefined;
const loading = new Map<string, Promise<Stored<unknown>>>();

async function catalogVersion(env: Pick<Env, "SEAT_MAPS">): Promise<string> {
  if (version && Date.now() < version.expiresAt) return version.value;
  const value = await withDeadline("kv", KV_TIMEOUT_MS, () => env.SEAT_MAPS.get(VERSION_KEY, { cacheTtl: 60 })).catch(
    () => version?.value ?? "0",
  );
  version = { value: value ?? "0", expiresAt: Date.now() + VERSION_TTL_MS };
  return version.value;
}

/** Organizer writes call this: every catalog key changes, so no fan reads the old answer. */
export async function bumpCatalogVersion(env: Pick<Env, "SEAT_MAPS">) {
  const value = `${Date.now().toString(36)}${crypto.randomUUID().slice(0, 4)}`;
  version = { value, expiresAt: Date.now() + VERSION_TTL_MS };
  await withDeadline("kv", KV_TIMEOUT_MS, () => env.SEAT_MAPS.put(VERSION_KEY, value)).catch((error) =>
    console.warn("catalog version not stored in KV; other locations see the change after their TTL", error),
  );
}

/**
 * The answer for `path` (a fan catalog URL path and query), from the nearest good copy: `load`
 * runs only on a miss, once an answer is older than CATALOG_FRESH_MS (in the background while
 * it is younger than CATALOG_STALE_MS), and a failed load with a copy at hand serves the copy.
 * Only plain values cross requests: each request reads its own Response from the Cache API.
 */
export async function edgeCatalog<T>(
  env: Pick<Env, "SEAT_MAPS">,
  ctx: Pick<ExecutionContext, "waitUntil">,
  origin: string,
  path: string,
  load: () => Promise<T>,
): Promise<{ body: T; state: CacheState; ageS: number }> {
  const key = new URL(`/_catalog/${await catalogVersion(env)}${path}`, origin).toString();
  const cached = await caches.default.match(key);
  const copy = cached ? ((await cached.json()) as Stored<T>) : undefined;
  const age = copy ? catalogClock.now() - copy.stored_at : Number.POSITIVE_INFINITY;
  const answer = (stored: Stored<T>, state: CacheState) => ({
    body: stored.body,
    state,
    ageS: Math.max(0, Math.floor((catalogClock.now() - stored.stored_at) / 1000)),
  });
  if (copy && age < CATALOG_FRESH_MS) return answer(copy, "hit");
  if (copy && age < CATALOG_STALE_MS) {
    if (!loading.has(key)) ctx.waitUntil(refresh(key, load).catch(() => {}));
    return answer(copy, "stale");
  }
  try {
    return answer((await refresh(key, load)) as Stored<T>, "miss");
  } catch (error) {
    if (copy && apiErrorWithin(error)?.code === "dependency_unavailable") return answer(copy, "stale-if-error");
    throw error;
  }
}

/** One load per key and isolate at a time; the result goes to the location's Cache API. */
function refresh<T>(key: string, load: () => Promise<T>): Promise<Stored<T>> {
  const running = loading.get(key);
  if (running) return running as Promise<Stored<T>>;
  const started = (async () => {
    try {
      const body = await load();
      const stored: Stored<T> = { stored_at: catalogClock.now(), body };
      const headers = { "content-type": "application/json", "cache-control": `public, max-age=${KEEP_S}` };
      await caches.default.put(key, new Response(JSON.stringify(stored), { headers }));
      return stored;
    } finally {
      loading.delete(key);
    }
  })();
  loading.set(key, started);
  if (loading.size > MAX_ENTRIES) loading.delete(loading.keys().next().value!);
  return started;
}

/** The headers that tell a client (and an operator) how old a catalog answer is and why. */
export function catalogHeaders(state: CacheState, ageS: number): Record<string, string> {
  return {
    "onsale-cache": state,
    age: String(ageS),
    ...(state === "stale-if-error" ? { warning: '111 - "Revalidation Failed"' } : {}),
  };
}
