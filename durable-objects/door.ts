import { DurableObject } from "cloudflare:workers";
import type { QueueArrival } from "./types";

// The fan-in level between the edge and a show's Durable Object (docs/waiting-room-at-scale.md).
// Per-isolate batching coalesces well on one machine, but a stadium on-sale runs on tens of
// thousands of isolates, each seeing only a few joins a second: sent straight on, their batches
// would again be about one Show DO request per fan. So every isolate of a location sends its
// batches to that location's door (one object per show and location, named `<show>:<colo>`),
// and the door forwards one combined batch to the Show DO per FORWARD_MS: the Show DO's request
// rate is bounded by the number of locations, whatever the number of isolates or fans.
//
// The buffer lives in memory only. A door evicted with arrivals in it loses them, which costs
// those fans nothing: each holds a signed ticket the Show DO takes at the fan's turn. Lost
// heartbeats cost nothing either; the next ones follow within seconds.

/**
 * How often a door forwards: once a second, so ~300 locations cost the Show DO ~300 requests a
 * second; with the edge's quarter second, inside the Show DO's settle window.
 */
export const FORWARD_MS = 1_000;

type Heartbeat = { fan_id: string; session_id: string };

export class DoorDO extends DurableObject<Env> {
  #showId: string | null = null;
  #arrivals: QueueArrival[] = [];
  #seen = new Map<string, Heartbeat>();
  #armed = false;

  /** An isolate's batch for this location; forwarded within FORWARD_MS. */
  async collect(showId: string, arrivals: QueueArrival[], seen: Heartbeat[]): Promise<number> {
    this.#showId = showId;
    this.#arrivals.push(...arrivals);
    for (const heartbeat of seen) this.#seen.set(heartbeat.session_id, heartbeat);
    if (!this.#armed) {
      this.#armed = true;
      await this.ctx.storage.setAlarm(Date.now() + FORWARD_MS);
    }
    return this.#arrivals.length;
  }

  override async alarm(): Promise<void> {
    this.#armed = false;
    await this.forward();
  }

  /** Sends what is buffered now (the alarm's work; also how tests and tools drain a door). */
  async forward(): Promise<{ arrivals: number; seen: number }> {
    const showId = this.#showId;
    const arrivals = this.#arrivals;
    const seen = [...this.#seen.values()];
    this.#arrivals = [];
    this.#seen = new Map();
    if (!showId || (arrivals.length === 0 && seen.length === 0)) return { arrivals: 0, seen: 0 };
    const show = this.env.SHOW.getByName(showId);
    try {
      await show.queueBatch(arrivals, seen);
    } catch (error) {
      // Put them back for the next round; the tickets are the fallback if this object dies.
      this.#arrivals = [...arrivals, ...this.#arrivals];
      for (const heartbeat of seen)
        if (!this.#seen.has(heartbeat.session_id)) this.#seen.set(heartbeat.session_id, heartbeat);
      if (!this.#armed) {
        this.#armed = true;
        await this.ctx.storage.setAlarm(Date.now() + FORWARD_MS);
      }
      console.warn("door could not reach the show; retrying", error instanceof Error ? error.message : error);
    }
    return { arrivals: arrivals.length, seen: seen.length };
  }
}
