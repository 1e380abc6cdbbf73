import type { QueueArrival } from "../../durable-objects/types";

// Joins are answered at the edge: the Worker draws the fan's queue key, signs the ticket and
// answers at once. What the Show DO must learn — who arrived, with which key — it learns in one
// batched call per show per isolate every FLUSH_AFTER_MS, so the DO's request rate follows the
// number of edge isolates, not the number of fans. A batch lost with its isolate costs nothing
// but a moment: each of its fans carries a signed ticket, and the DO takes the place from the
// ticket when the fan's turn comes (`WaitingRoom.touch`).

export const FLUSH_AFTER_MS = 250;
const MAX_BATCH = 5_000;

const pending = new Map<string, QueueArrival[]>();
const inFlight = new Set<Promise<void>>();

export function recordArrival(
  env: Pick<Env, "SHOW">,
  ctx: { waitUntil(promise: Promise<unknown>): void },
  showId: string,
  arrival: QueueArrival,
) {
  let batch = pending.get(showId);
  if (!batch) {
    batch = [];
    pending.set(showId, batch);
    const flushing = flushLater(env, showId);
    inFlight.add(flushing);
    void flushing.finally(() => inFlight.delete(flushing));
    ctx.waitUntil(flushing);
  }
  batch.push(arrival);
  // A burst bigger than one RPC should carry goes out now; the next arrival starts a new batch.
  if (batch.length >= MAX_BATCH) pending.delete(showId) && void send(env, showId, batch);
}

async function flushLater(env: Pick<Env, "SHOW">, showId: string) {
  await new Promise((resolve) => setTimeout(resolve, FLUSH_AFTER_MS));
  const batch = pending.get(showId);
  pending.delete(showId);
  if (batch?.length) await send(env, showId, batch);
}

async function send(env: Pick<Env, "SHOW">, showId: string, batch: QueueArrival[]) {
  try {
    await env.SHOW.getByName(showId).queueArrivals(batch);
  } catch (error) {
    console.warn(
      "waiting-room arrivals not delivered; their tickets carry them",
      error instanceof Error ? error.message : error,
    );
  }
}

/** Resolves when every batch this isolate has started is delivered (tests and tools). */
export async function deliverArrivals(): Promise<void> {
  while (inFlight.size) await Promise.all(inFlight);
}
