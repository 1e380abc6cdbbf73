import type { Database } from "../db/client";
import { seatMapVersions } from "../db/schema";
import { sha256Hex } from "../lib/ids";
import { flattenSeats, type SeatMap, seatMapKvKey } from "./seat-map";

/**
 * Writes one immutable seat-map version: the row in Postgres (the authority) and the geometry
 * in KV under its versioned key, where fans' map loads are served from. Call inside the
 * transaction that creates the venue or the version, so a failed write leaves neither.
 */
export async function storeSeatMapVersion(
  db: Pick<Database, "insert">,
  env: Pick<Env, "SEAT_MAPS">,
  venueId: string,
  version: number,
  map: SeatMap,
) {
  const body = JSON.stringify(map);
  const etag = `"${(await sha256Hex(body)).slice(0, 32)}"`;
  const kvKey = seatMapKvKey(venueId, version);
  await db
    .insert(seatMapVersions)
    .values({
      venueId,
      version,
      document: map,
      kvKey,
      etag,
      sectionCount: map.sections.length,
      seatCount: flattenSeats(map).length,
    })
    .onConflictDoNothing();
  // Same key, same bytes: a retried write is harmless, and KV never holds two versions under one key.
  await env.SEAT_MAPS.put(kvKey, body, { metadata: { etag } });
  return { kvKey, etag };
}
