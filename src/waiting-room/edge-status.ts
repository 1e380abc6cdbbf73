import type { RoomStatus } from "../../durable-objects/types";

// The room status (watermark, arrivals per second, config) as the edge sees it, at most about a
// second old. Two levels in front of the Show DO: the location's Cache API, shared by all its
// isolates, and one promise per show in this isolate, so concurrent misses make one call. A
// stadium crowd's polls and joins thus cost the DO about one status read per second per
// location, not per isolate. (The Cache API is per location and absent on workers.dev
// hostnames, where each isolate simply asks the DO once a second.)

const TTL_MS = 1_000;
const MAX_ENTRIES = 10_000;
const inIsolate = new Map<string, { fetchedAt: number; status: Promise<RoomStatus | null> }>();

const cacheKey = (showId: string) => `https://room-status.onsale.internal/${showId}`;

async function fromLocationOrShow(env: Pick<Env, "SHOW">, showId: string): Promise<RoomStatus | null> {
  const cached = await caches.default.match(cacheKey(showId));
  if (cached) return (await cached.json()) as RoomStatus;
  const status = await env.SHOW.getByName(showId).roomStatus();
  if (status) {
    const headers = { "content-type": "application/json", "cache-control": `public, max-age=${TTL_MS / 1000}` };
    await caches.default.put(cacheKey(showId), new Response(JSON.stringify(status), { headers }));
  }
  return status;
}

/** The show's room status; call only for a show the directory knows (or from a signed ticket). */
export function edgeRoomStatus(env: Pick<Env, "SHOW">, showId: string): Promise<RoomStatus | null> {
  const now = Date.now();
  const cached = inIsolate.get(showId);
  if (cached && now - cached.fetchedAt < TTL_MS) return cached.status;
  const status = fromLocationOrShow(env, showId).catch((error: unknown) => {
    inIsolate.delete(showId);
    throw error;
  });
  inIsolate.set(showId, { fetchedAt: now, status });
  if (inIsolate.size > MAX_ENTRIES) inIsolate.delete(inIsolate.keys().next().value!);
  return status;
}

/** After an organizer changes the room, this isolate and location stop serving the old status. */
export async function forgetRoomStatus(showId: string): Promise<void> {
  inIsolate.delete(showId);
  await caches.default.delete(cacheKey(showId));
}
