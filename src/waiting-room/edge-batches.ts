import type { QueueArrival } from "../../durable-objects/types";

// Joins and polls are answered at the edge; what the Show DO must learn from them — who
// arrived with which key, who is still there — goes in batches: per isolate every
// FLUSH_AFTER_MS to the location's door (durable-objects/door.ts), which forwards one batch per
// location to the Show DO. So the Show DO's request rate follows the number of locations, not
// of isolates or fans. A batch lost with its isolate or door costs nothing but a moment: each of
// its fans carries a signed ticket, and the DO takes the place from it at the fan's turn.

export const FLUSH_AFTER_MS = 250;
const MAX_BATCH = 5_000;

type Heartbeat = { fan_id: string; session_id: string };
type Batch = { arrivals: QueueArrival[]; seen: Map<string, Heartbeat> };

const pending = new Map<string, Batch>();
const inFlight = new Set<Promise<void>>();
/** Doors this isolate wrote to since the last `deliverBatches`, so a drain can reach them. */
const doorsUsed = new Set<string>();

type Ctx = { waitUntil(promise: Promise<unknown>): void };
type DoorEnv = Pick<Env, "DOOR">;

const doorName = (showId: string, colo: string) => `${showId}:${colo}`;

function batchFor(env: DoorEnv, ctx: Ctx, door: string, showId: string): Batch {
  let batch = pending.get(door);
  if (!batch) {
    batch = { arrivals: [], seen: new Map() };
    pending.set(door, batch);
    const flushing = flushLater(env, door, showId);
    inFlight.add(flushing);
    void flushing.finally(() => inFlight.delete(flushing));
    ctx.waitUntil(flushing);
  }
  return batch;
}

/** A join answered here: the Show DO learns of it within about a second. */
export function recordArrival(env: DoorEnv, ctx: Ctx, showId: string, colo: string, arrival: QueueArrival) {
  const door = doorName(showId, colo);
  const batch = batchFor(env, ctx, door, showId);
  batch.arrivals.push(arrival);
  // A burst bigger than one RPC should carry goes out now; the next arrival starts a new batch.
  if (batch.arrivals.length >= MAX_BATCH) {
    pending.delete(door);
    void send(env, door, showId, batch);
  }
}

/** A waiting fan polled here: the place is kept (places unseen for five minutes are dropped). */
export function recordHeartbeat(env: DoorEnv, ctx: Ctx, showId: string, colo: string, heartbeat: Heartbeat) {
  batchFor(env, ctx, doorName(showId, colo), showId).seen.set(heartbeat.session_id, heartbeat);
}

async function flushLater(env: DoorEnv, door: string, showId: string) {
  await new Promise((resolve) => setTimeout(resolve, FLUSH_AFTER_MS));
  const batch = pending.get(door);
  pending.delete(door);
  if (batch) await send(env, door, showId, batch);
}

async function send(env: DoorEnv, door: string, showId: string, batch: Batch) {
  if (batch.arrivals.length === 0 && batch.seen.size === 0) return;
  doorsUsed.add(door);
  try {
    await env.DOOR.getByName(door).collect(showId, batch.arrivals, [...batch.seen.values()]);
  } catch (error) {
    console.warn(
      "waiting-room batch not delivered; tickets carry the arrivals",
      error instanceof Error ? error.message : error,
    );
  }
}

/**
 * Sends everything this isolate holds and has its doors forward at once (tests and tools; in
 * normal running the timers do this within a second).
 */
export async function deliverBatches(env: DoorEnv): Promise<void> {
  while (inFlight.size) await Promise.all(inFlight);
  for (const door of doorsUsed) await env.DOOR.getByName(door).forward();
  doorsUsed.clear();
}
