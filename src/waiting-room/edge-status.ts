import type { RoomStatus } from "../../durable-objects/types";

// The admission watermark as seen from this isolate, at most about a second old. Concurrent
// misses share one DO call, so a flash crowd of polls costs the DO one read per second.

const TTL_MS = 1_000;
const cache = new Map<string, { fetchedAt: number; status: Promise<RoomStatus | null> }>();

export function edgeRoomStatus(env: Pick<Env, "SHOW">, showId: string): Promise<RoomStatus | null> {
  const now = Date.now();
  const cached = cache.get(showId);
  if (cached && now - cached.fetchedAt < TTL_MS) return cached.status;
  const status = env.SHOW.getByName(showId)
    .roomStatus()
    .catch((error: unknown) => {
      cache.delete(showId);
      throw error;
    });
  cache.set(showId, { fetchedAt: now, status });
  if (cache.size > 10_000) cache.delete(cache.keys().next().value!);
  return status;
}

/** After an organizer changes the room, this isolate stops serving the old status at once. */
export function forgetRoomStatus(showId: string) {
  cache.delete(showId);
}
