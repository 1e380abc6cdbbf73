import type { ShowAvailability } from "../../durable-objects/types";
import { showStub } from "./show-directory";

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

async function fromEdgeOrShow(
  env: Pick<Env, "SEAT_MAPS" | "SHOW">,
  key: string,
  showId: string,
  section: string | undefined,
): Promise<ShowAvailability | null> {
  const cache = caches.default;
  const cached = await cache.match(key);
  if (cached) return (await cached.json()) as ShowAvailability;
  const overlay = await (await showStub(env, showId)).availability(section);
  // Never cache "no such show": publishing must be visible at once.
  if (overlay) {
    const headers = { "content-type": "application/json", "cache-control": `public, max-age=${TTL_MS / 1000}` };
    await cache.put(key, new Response(JSON.stringify(overlay), { headers }));
  }
  return overlay;
}

/** The overlay for a known show (check the show directory first), from the nearest fresh copy. */
export function edgeOverlay(
  env: Pick<Env, "SEAT_MAPS" | "SHOW">,
  origin: string,
  showId: string,
  section: string | undefined,
): Promise<ShowAvailability | null> {
  const key = cacheKey(origin, showId, section);
  const now = Date.now();
  const hit = inIsolate.get(key);
  if (hit && now < hit.expiresAt) return hit.overlay;
  const overlay = fromEdgeOrShow(env, key, showId, section);
  const entry = { expiresAt: now + TTL_MS, overlay };
  inIsolate.set(key, entry);
  if (inIsolate.size > MAX_ENTRIES) inIsolate.delete(inIsolate.keys().next().value!);
  overlay.then(
    (value) => {
      // A copy from the Cache API may already be most of a second old: it expires by its age.
      if (!value) inIsolate.delete(key);
      else entry.expiresAt = Math.min(entry.expiresAt, value.as_of_ms + TTL_MS);
    },
    () => inIsolate.delete(key),
  );
  return overlay;
}
