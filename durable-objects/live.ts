// The live seat map's messages and the show → feeds mapping, shared by the Show DO (which
// publishes), the feed DOs (which fan out) and the Worker (which assigns a fan to a feed).

import type { Inventory } from "./types";

/** Public state of one seat on the live map: held, sold and blocked all read "unavailable". */
export type LiveSeatStatus = "available" | "unavailable";

/** Per-seat states, grouped by section so a feed can keep only what its watchers subscribed to. */
export type LiveSeats = Record<string, Record<string, LiveSeatStatus>>;

/**
 * One publication of the Show DO: every seat whose public state changed after `prev` up to and
 * including `seq` (collapsed to its latest state), and the new available count of each section
 * that changed. States are absolute, so applying a batch twice, or after a newer snapshot, is
 * harmless.
 */
export type LiveBatch = {
  show_id: string;
  prev: number;
  seq: number;
  as_of_ms: number;
  /** What the show has left as of `seq` (as the waiting room words it): sold out is told here too. */
  inventory: Inventory;
  sections: { section_id: string; available: number }[];
  seats: LiveSeats;
};

/** The public state as of `seq`: every section's count, and the seats of the sections asked for. */
export type LiveSnapshot = {
  show_id: string;
  seq: number;
  as_of_ms: number;
  inventory: Inventory;
  sections: { section_id: string; available: number }[];
  seats: LiveSeats;
};

/** How many feed objects a show fans out to when LIVE_FEEDS is not set: ~3,000 watchers each at 50,000. */
export const DEFAULT_LIVE_FEEDS = 16;
/** The most a Show DO publishes: one batch per this many ms, so at most 4 a second. */
export const LIVE_BATCH_MS = 250;

export function liveFeedCount(env: { LIVE_FEEDS?: string }): number {
  const n = Number(env.LIVE_FEEDS ?? DEFAULT_LIVE_FEEDS);
  return Number.isInteger(n) && n >= 1 && n <= 256 ? n : DEFAULT_LIVE_FEEDS;
}

export const liveFeedName = (showId: string, index: number) => `${showId}:live:${index}`;
