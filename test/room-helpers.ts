import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { ShowDO } from "../durable-objects/show";
import { SETTLE_MS } from "../durable-objects/waiting-room";
import { deliverBatches } from "../src/waiting-room/edge-batches";
import { forgetRoomStatus } from "../src/waiting-room/edge-status";
import { createShow, json } from "./fixtures";
import { api, bearer } from "./helpers";

/** The DO's simulated clock for admission ticks only moves forward, a second per tick. */
let lastTickAt = 0;

/**
 * Admission now, as the room would do it within a couple of seconds: the edge's batches are
 * delivered, then `ticks` admission ticks run on the DO's clock past the settle window (the
 * test does not sleep); then this isolate and location forget the room status they cached.
 */
export async function admitNow(showId: string, ticks = 1) {
  await deliverBatches(env);
  await runInDurableObject(env.SHOW.getByName(showId), (instance: ShowDO) => {
    for (let i = 0; i < ticks; i++) {
      const at = Math.max(Date.now() + SETTLE_MS, lastTickAt + 1000);
      lastTickAt = at;
      instance.clock = () => at;
      instance.alarm();
    }
    instance.clock = () => Date.now();
  });
  await forgetRoomStatus(showId);
}

/** A published show with its waiting room on, configured by `room` (organizer API). */
export async function showWithRoom(room: object) {
  const show = await createShow();
  await json(
    await api(`/v1/admin/shows/${show.showId}/waiting-room`, {
      method: "PATCH",
      headers: bearer(show.organizer.key),
      json: { enabled: true, ...room },
    }),
    200,
  );
  return { ...show, stub: env.SHOW.getByName(show.showId) };
}
