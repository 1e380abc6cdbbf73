import {
  ARRIVAL_BUCKET_MS,
  bucketOf,
  compareKeys,
  KEY_RANDOM_SPACE,
  type QueueKey,
} from "../../durable-objects/queue-key";
import type { RoomStatus } from "../../durable-objects/types";

// Where a place stands, estimated at the edge from the room status alone: the places taken per
// arrival second past the watermark. Seconds wholly between the watermark and the place count
// exactly. The watermark's second and the place's own are shared: the estimate takes their
// arrivals as spread evenly, and the range allows for all or none of them — a bound, not a
// guess, whatever the shape of the burst. In the pre-queue (one bucket, ordered by the random
// part) the spread is uniform by construction, so its range is three binomial standard
// deviations instead of the whole pre-queue. Arrivals still in an edge batch (a quarter of a
// second) are not counted yet.

export interface PlaceEstimate {
  /** 1 for the next fan in line. */
  position: number;
  low: number;
  high: number;
}

/** Share of a bucket's places that come before `key`. */
function shareBefore(key: QueueKey, bucket: number): number {
  if (bucket === 0) return key.rnd / KEY_RANDOM_SPACE;
  return Math.min(1, (key.ms - bucket + key.rnd / KEY_RANDOM_SPACE) / ARRIVAL_BUCKET_MS);
}

export function estimatePlace(
  key: QueueKey,
  room: Pick<RoomStatus, "watermark" | "arrivals" | "arrivals_beyond">,
): PlaceEstimate {
  const watermark = room.watermark;
  if (watermark && compareKeys(key, watermark) <= 0) return { position: 0, low: 0, high: 0 };
  const mine = bucketOf(key);
  const first = watermark ? bucketOf(watermark) : Number.NEGATIVE_INFINITY;
  let exact = 0;
  let mean = 0;
  let slackLow = 0;
  let slackHigh = 0;
  let lastListed = Number.NEGATIVE_INFINITY;
  for (const { bucket_ms, n } of room.arrivals) {
    lastListed = bucket_ms;
    if (bucket_ms > mine) break;
    const from = bucket_ms === first && watermark ? shareBefore(watermark, bucket_ms) : 0;
    const to = bucket_ms === mine ? shareBefore(key, bucket_ms) : 1;
    const share = Math.max(0, to - from);
    if (share >= 1) {
      exact += n;
      continue;
    }
    const expected = n * share;
    mean += expected;
    if (bucket_ms === 0) {
      const spread = 3 * Math.sqrt(n * share * (1 - share)) + 1;
      slackLow += Math.min(expected, spread);
      slackHigh += spread;
    } else {
      slackLow += expected;
      slackHigh += n - expected;
    }
  }
  // Past the listed seconds: somewhere among the rest.
  const unknown = mine > lastListed ? room.arrivals_beyond : 0;
  const low = Math.max(0, Math.floor(exact + mean - slackLow));
  const high = Math.ceil(exact + mean + slackHigh + unknown);
  return { position: Math.round(exact + mean + unknown / 2) + 1, low: low + 1, high: Math.max(high, low) + 1 };
}
