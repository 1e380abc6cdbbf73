// A place in a waiting room is ordered by its queue key: the arrival time at the edge in ms,
// then a uniformly random 48-bit tiebreak. In the pre-queue the time is 0, so the pre-queue's order is
// the random part alone — a uniform shuffle drawn at arrival, nothing to renumber at opening.
// Shared by the edge (which draws keys and compares them with the watermark) and the Show DO.

export interface QueueKey {
  ms: number;
  rnd: number;
}

/** Random part of a key: 48 bits, exact in a JavaScript number and a SQLite integer. */
export const KEY_RANDOM_SPACE = 2 ** 48;

export function compareKeys(a: QueueKey, b: QueueKey): number {
  return a.ms - b.ms || a.rnd - b.rnd;
}

export function drawKey(now: number, beforeOpening: boolean): QueueKey {
  const words = crypto.getRandomValues(new Uint32Array(2));
  const random = (words[0]! % 0x1_0000) * 0x1_0000_0000 + words[1]!;
  return { ms: beforeOpening ? 0 : now, rnd: random };
}

/** Width of the arrival buckets the edge estimates positions from. */
export const ARRIVAL_BUCKET_MS = 1_000;

/** The arrival second a key falls in; 0 for the pre-queue. */
export const bucketOf = (key: QueueKey) => (key.ms === 0 ? 0 : key.ms - (key.ms % ARRIVAL_BUCKET_MS));
