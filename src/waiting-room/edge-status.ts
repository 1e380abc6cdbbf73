import type { RoomStatus } from "../../durable-objects/types";
import { untraced } from "../lib/observe";

// The room status (watermark, arrivals per second, config) as the edge sees it, at most about a
// second old. Two levels in front of the Show DO: the location's Cache API, shared by all its
// isolates, and this isolate's copy, where concurrent misses share one DO call. A stadium
// crowd's polls and joins thus cost the DO about one status read per second per location, not
// per isolate. (The Cache API is per location and absent on workers.dev hostnames, where each
// isolate simply asks the DO once a second.)
//
// Only plain values and the DO call's promise are shared between requests: a Response from the
// Cache API is an I/O object of the request that opened it, so each request reads its own.

const TTL_MS = 1_000;
const MAX_ENTRIES = 10_000;
const inIsolate = new Map<string, { asOf: number; status: Promise<RoomStatus | null> }>();

const cacheKey = (showId: string) => `https://room-status.onsale.internal/${showId}`;

function remember(showId: string, asOf: number, status: Promise<RoomStatus | null>) {
  inIsolate.set(showId, { asOf, status });
  if (inIsolate.size > MAX_ENTRIES) inIsolate.delete(inIsolate.keys().next().value!);
}

function fresh(showId: string) {
  const hit = inIsolate.get(showId);
  return hit && Date.now() - hit.asOf < TTL_MS ? hit.status : null;
}

/** The show's room status; call only for a show the directory knows (or from a signed ticket). */
export async function edgeRoomStatus(env: Pick<Env, "SHOW">, showId: string): Promise<RoomStatus | null> {
  const known = fresh(showId);
  if (known) return known;
  const cached = await caches.default.match(cacheKey(showId));
  if (cached) {
    const status = (await cached.json()) as RoomStatus;
    // A copy from the location may already be most of a second old: it expires by its age.
    remember(showId, status.server_time_ms, Promise.resolve(status));
    return status;
  }
  const started = fresh(showId);
  if (started) return started;
  const call = untraced(env.SHOW)
    .getByName(showId)
    .roomStatus()
    .catch((error: unknown) => {
      inIsolate.delete(showId);
      throw error;
    });
  remember(showId, Date.now(), call);
  const status = await call;
  if (status) {
    const headers = { "content-type": "application/json", "cache-control": `public, max-age=${TTL_MS / 1000}` };
    await caches.default.put(cacheKey(showId), new Response(JSON.stringify(status), { headers }));
  }
  return status;
}

/** After an organizer changes the room, this isolate and location stop serving the old status. */
export async function forgetRoomStatus(showId: string): Promise<void> {
  inIsolate.delete(showId);
  await caches.default.delete(cacheKey(showId));
}
