import type { ShowDO } from "../../durable-objects/show";
import { KV_TIMEOUT_MS, withDeadline } from "../lib/deadline";
import { notFound } from "../lib/problem";

// The edge's list of shows that exist, so a fan route refuses an unknown show id before it
// names a Durable Object: `getByName` on any string creates an object and writes its schema,
// which would let one cheap unauthenticated request per random id fill storage.
//
// Entries live in the SEAT_MAPS namespace (already bound, read-mostly, same lifecycle as the
// published geometry) under `show:<id>`, written by publish and updated by cancel. A show that
// was published before the directory existed is unknown until it is published again, which is
// harmless (publishing keeps every seat's state): an operator re-publishes such shows once.

export type ShowDirectoryEntry = { status: "published" | "cancelled" };

/** Known shows rarely change; an isolate rechecks KV after a minute. */
const KNOWN_TTL_MS = 60_000;
/** Unknown ids are rechecked soon, so a show published elsewhere is found within seconds. */
const UNKNOWN_TTL_MS = 5_000;
/** KV's own edge cache (its minimum); absent keys are cached there too. */
const KV_CACHE_TTL_S = 60;
const MAX_ENTRIES = 10_000;

const key = (showId: string) => `show:${showId}`;
const cache = new Map<string, { expiresAt: number; entry: ShowDirectoryEntry | null }>();

export async function recordShow(env: Pick<Env, "SEAT_MAPS">, showId: string, entry: ShowDirectoryEntry) {
  await withDeadline("kv", KV_TIMEOUT_MS, () => env.SEAT_MAPS.put(key(showId), JSON.stringify(entry)));
  cache.delete(showId);
}

/**
 * The show's entry, or null for an id no organizer ever published. Only answers are shared
 * between requests, never a read in flight: a pending KV read belongs to the request that
 * started it, and another request awaiting it failed (workerd: "Cannot perform I/O on behalf of
 * a different request"; seen as 500s on up to a wave of concurrent first joins of a show in
 * `bench:waiting-room`). Until the first answer is in, each request reads KV itself.
 */
export async function lookupShow(env: Pick<Env, "SEAT_MAPS">, showId: string): Promise<ShowDirectoryEntry | null> {
  const now = Date.now();
  const cached = cache.get(showId);
  if (cached && now < cached.expiresAt) return cached.entry;
  const entry = await withDeadline("kv", KV_TIMEOUT_MS, () =>
    env.SEAT_MAPS.get<ShowDirectoryEntry>(key(showId), { type: "json", cacheTtl: KV_CACHE_TTL_S }),
  );
  cache.set(showId, { expiresAt: now + (entry ? KNOWN_TTL_MS : UNKNOWN_TTL_MS), entry });
  if (cache.size > MAX_ENTRIES) cache.delete(cache.keys().next().value!);
  return entry;
}

/**
 * The Show DO stub for a show id that came from a client, or a 404 problem for an id the
 * directory does not know: the only way fan routes turn untrusted input into a Show DO.
 */
export async function showStub(
  env: Pick<Env, "SEAT_MAPS" | "SHOW">,
  showId: string,
): Promise<DurableObjectStub<ShowDO>> {
  if (!(await lookupShow(env, showId))) throw notFound("Show");
  return env.SHOW.getByName(showId);
}

/** Fails with the same 404 as `showStub`, for routes that reach the show some other way. */
export async function requireKnownShow(env: Pick<Env, "SEAT_MAPS">, showId: string): Promise<ShowDirectoryEntry> {
  const entry = await lookupShow(env, showId);
  if (!entry) throw notFound("Show");
  return entry;
}
