import type { ShowAvailability } from "../../durable-objects/types";
import { untraced } from "../lib/observe";
import { requireKnownShow } from "./show-directory";

// The public availability overlay is what a crowd reloads. Each reload reaching the show's DO
// would queue behind the holds that DO exists to serialize, so the edge answers with a copy at
// most about a second old: the location's Cache API first (shared by its isolates), and in
// front of it one promise per key in this isolate, so concurrent misses make one DO call.
// A location thus costs the DO about one call per second per section query, whatever the crowd.

const TTL_MS = 1_000;
const MAX_ENTRIES = 10_000;
const inIsolate = new Map<string, { expiresAt: number; overlay: Promise<ShowAvailability | null> }>();

function cacheKey(origin: string, showId: string, section: string | undefined) {
  const url = new URL(`/v1/shows/${showId}/seat-map`, origin);
  if (section !== undefined) url.searchParams.set("section", section);
  return url.toString();
}

/**
 * The overlay for a known show (check the show directory first), from the nearest fresh copy.
 * Only plain values and the DO call's promise are shared between requests: a Response from the
 * Cache API is an I/O object of the request that opened it, so each request reads its own.
 */
export async function edgeOverlay(
  env: Pick<Env, "SEAT_MAPS" | "SHOW">,
  origin: string,
  showId: string,
  section: string | undefined,
): Promise<ShowAvailability | null> {
  const key = cacheKey(origin, showId, section);
  const known = fresh(key);
  if (known) return known;
  const cached = await caches.default.match(key);
  if (cached) {
    const overlay = (await cached.json()) as ShowAvailability;
    // A copy from the Cache API may already be most of a second old: it expires by its age.
    remember(key, overlay.as_of_ms + TTL_MS, Promise.resolve(overlay));
    return overlay;
  }
  const started = fresh(key);
  if (started) return started;
  await requireKnownShow(env, showId);
  // The call's promise is shared by concurrent requests, so it carries no request's span.
  const call = untraced(env.SHOW)
    .getByName(showId)
    .availability(section)
    .catch((error: unknown) => {
      inIsolate.delete(key);
      throw error;
    });
  remember(key, Date.now() + TTL_MS, call);
  const overlay = await call;
  if (!overlay) {
    // Never cache "no such show": publishing must be visible at once.
    inIsolate.delete(key);
    return null;
  }
  const headers = { "content-type": "application/json", "cache-control": `public, max-age=${TTL_MS / 1000}` };
  await caches.default.put(key, new Response(JSON.stringify(overlay), { headers }));
  return overlay;
}

function remember(key: string, expiresAt: number, overlay: Promise<ShowAvailability | null>) {
  inIsolate.set(key, { expiresAt, overlay });
  if (inIsolate.size > MAX_ENTRIES) inIsolate.delete(inIsolate.keys().next().value!);
}

function fresh(key: string) {
  const hit = inIsolate.get(key);
  return hit && Date.now() < hit.expiresAt ? hit.overlay : null;
}
