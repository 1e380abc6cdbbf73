import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { drawKey } from "../durable-objects/queue-key";
import type { ShowDO } from "../durable-objects/show";
import type { HoldOutcome, RoomConfigPatch, RoomStats } from "../durable-objects/types";
import { SETTLE_MS } from "../durable-objects/waiting-room";
import { deliverBatches } from "../src/waiting-room/edge-batches";
import { forgetRoomStatus } from "../src/waiting-room/edge-status";
import { signQueueTicket, verifyQueueTicket } from "../src/waiting-room/tokens";
import { createShow, gridSeatMap, json } from "./fixtures";
import { api, bearer, problem } from "./helpers";
import { newFan } from "./payments-helpers";
import { admitNow } from "./room-helpers";

// The queue tells the truth (issue 18): admission follows the show's inventory, and "sold out"
// (or "all held") travels in the room status the edge caches, so the whole line is told
// without the Show DO. The DO-level tests run ticks on a simulated clock, as the admission
// tests do; the HTTP tests go through the edge.

const T0 = 1_900_000_000_000;

const seatInit = (i: number) => ({
  seat_id: `A-1-${i}`,
  section_id: "A",
  row: "1",
  row_index: 0,
  seat_index: i,
  accessible: false,
  tier_id: "t",
  price_cents: 1000,
  blocked: false,
});

async function roomWith(seats: number, config: RoomConfigPatch) {
  const showId = `shw_truth_${crypto.randomUUID().slice(0, 8)}`;
  const stub = env.SHOW.getByName(showId);
  await stub.initialize({
    show_id: showId,
    venue_id: "ven_truth",
    seat_map_version: 1,
    on_sale_at_ms: 0,
    ticket_limit: 8,
    hold_ttl_ms: 600_000,
    currency: "EUR",
    seats: Array.from({ length: seats }, (_, i) => seatInit(i + 1)),
  });
  let now = T0;
  const at = async (time: number) => {
    now = time;
    await runInDurableObject(stub, (instance: ShowDO) => {
      instance.clock = () => now;
    });
  };
  await at(T0);
  expect((await stub.configureRoom({ enabled: true, max_active: 1_000_000, ...config })).ok).toBe(true);
  const tick = async (time: number) => {
    await at(time);
    await runInDurableObject(stub, (instance: ShowDO) => instance.alarm());
  };
  /** Ticks once a second from `from` (exclusive) to `to` (inclusive). */
  const ticks = async (from: number, to: number) => {
    for (let t = from + 1000; t <= to; t += 1000) await tick(t);
  };
  const arrive = async (count: number, prefix = "fan") => {
    await stub.queueArrivals(
      Array.from({ length: count }, (_, i) => ({
        session_id: `wrs_${prefix}_${i}_${crypto.randomUUID().slice(0, 6)}`,
        fan_id: `${prefix}_${i}`,
        key: { ...drawKey(now - SETTLE_MS, false), ms: now - SETTLE_MS - count + i },
        arrived_at_ms: now,
      })),
    );
  };
  const admitted = () =>
    runInDurableObject(
      stub,
      (_, state) =>
        state.storage.sql
          .exec<{ n: number }>("SELECT count(*) AS n FROM room_queue WHERE admitted_at_ms IS NOT NULL")
          .one().n,
    );
  const tokens = () =>
    runInDurableObject(
      stub,
      (_, state) => state.storage.sql.exec<{ t: number }>("SELECT tokens AS t FROM room_state").one().t,
    );
  const stats = async (): Promise<RoomStats> => {
    const outcome = await stub.roomStats();
    if (!outcome.ok) throw new Error(outcome.code);
    return outcome.value;
  };
  const hold = async (fan: string, seatIds: string[]) => {
    const outcome: HoldOutcome = await stub.hold({
      fan_id: fan,
      idempotency_key: crypto.randomUUID(),
      request_hash: "h",
      seat_ids: seatIds,
    });
    if (!outcome.ok) throw new Error(outcome.code);
    return outcome.hold.hold_id;
  };
  const sell = async (fan: string, holdId: string) => {
    expect((await stub.beginCheckout(fan, holdId, `ord_${holdId}`, 600_000)).ok).toBe(true);
    expect((await stub.sellHold(holdId)).ok).toBe(true);
  };
  return { showId, stub, at, tick, ticks, arrive, admitted, tokens, stats, hold, sell, now: () => now };
}

describe("admission follows inventory", () => {
  it("available → all held → available again: nobody admitted meanwhile, the bucket stays empty, the exact rate resumes", async () => {
    const room = await roomWith(2, { admit_per_minute: 60 });
    await room.arrive(200);
    await room.ticks(T0, T0 + 10_000);
    expect(await room.admitted()).toBe(10);
    expect((await room.stub.roomStatus())!.inventory).toBe("available");

    // Both seats held: nothing can be taken now, but the holds may come back.
    const holdId = await room.hold("fan_holder", ["A-1-1", "A-1-2"]);
    expect((await room.stub.roomStatus())!.inventory).toBe("all_held");
    await room.ticks(T0 + 10_000, T0 + 40_000);
    expect(await room.admitted()).toBe(10);
    expect(await room.tokens()).toBe(0);
    expect(await room.stats()).toMatchObject({ inventory: "all_held", admission_held_back: "nothing_available" });

    // A seat comes back: admission resumes at the configured rate, with no burst for the 30 s.
    await room.at(T0 + 40_500);
    expect((await room.stub.release("fan_holder", holdId)).ok).toBe(true);
    expect((await room.stub.roomStatus())!.inventory).toBe("available");
    await room.tick(T0 + 41_000);
    expect(await room.admitted()).toBe(11);
    await room.ticks(T0 + 41_000, T0 + 71_000);
    expect(await room.admitted()).toBe(41);
    expect((await room.stats()).admission_held_back).toBeNull();
  });

  it("→ sold out; sold out → refund → the waitlist is offered first, and the queue resumes only when seats are left", async () => {
    const room = await roomWith(2, { admit_per_minute: 60 });
    await room.arrive(50);
    await room.ticks(T0, T0 + 3_000);
    expect(await room.admitted()).toBe(3);

    const holdId = await room.hold("fan_buyer", ["A-1-1", "A-1-2"]);
    await room.sell("fan_buyer", holdId);
    expect((await room.stub.roomStatus())!.inventory).toBe("sold_out");
    await room.ticks(T0 + 3_000, T0 + 20_000);
    expect(await room.admitted()).toBe(3);
    expect(await room.stats()).toMatchObject({ inventory: "sold_out", admission_held_back: "nothing_available" });

    // A fan still in line (never admitted) is sent to the waitlist, and may join it.
    const joined = await room.stub.joinWaitlist("fan_10", null, 2, null, true);
    expect(joined).toMatchObject({ ok: true, entry: { status: "waiting", position: 1 } });

    // A refund: the waitlist is served first; its offer holds both seats, so the line still waits.
    await room.at(T0 + 20_500);
    await room.stub.refundHold(holdId);
    expect(await room.stub.waitlistStatus("fan_10")).toMatchObject({ status: "offered" });
    expect((await room.stub.roomStatus())!.inventory).toBe("all_held");
    await room.ticks(T0 + 20_000, T0 + 30_000);
    expect(await room.admitted()).toBe(3);

    // The offer is let go with nobody else on the waitlist: the seats are on sale, the line moves.
    await room.stub.leaveWaitlist("fan_10");
    expect((await room.stub.roomStatus())!.inventory).toBe("available");
    await room.ticks(T0 + 30_000, T0 + 35_000);
    expect(await room.admitted()).toBe(8);
  });

  it("optionally caps active checkouts by the seats still available (off by default); stats say why admission waits", async () => {
    const uncapped = await roomWith(4, { admit_per_minute: 6_000 });
    expect((await uncapped.stats()).max_active_per_available_seat).toBeNull();
    await uncapped.arrive(50);
    await uncapped.tick(T0 + 1_000);
    expect(await uncapped.admitted()).toBe(50);

    const capped = await roomWith(4, { admit_per_minute: 6_000, max_active_per_available_seat: 0.5 });
    await capped.arrive(50);
    await capped.tick(T0 + 1_000);
    expect(await capped.admitted()).toBe(2);
    expect(await capped.stats()).toMatchObject({ active_checkouts: 2, admission_held_back: "max_active" });
    // Two seats held: one left, so at most one active checkout; two are active already.
    await capped.hold("fan_0", ["A-1-1", "A-1-2"]);
    await capped.ticks(T0 + 1_000, T0 + 5_000);
    expect(await capped.admitted()).toBe(2);

    await capped.stub.configureRoom({ max_active_per_available_seat: null, paused: true });
    await capped.tick(T0 + 6_000);
    expect(await capped.stats()).toMatchObject({ admission_held_back: "paused_by_organizer" });
    await capped.stub.configureRoom({ paused: false });
    await capped.ticks(T0 + 6_000, T0 + 8_000);
    expect(await capped.admitted()).toBe(50);
  });
});

// ── through the edge ─────────────────────────────────────────────────────────────────────

interface Session {
  session_id: string;
  ticket: string;
  status: string;
  inventory?: string;
  position: number | null;
  estimated_wait_s: number;
  estimated_wait_range_s?: object;
  waitlist_url?: string;
  poll_after_ms: number;
}

type Fan = { id: string; auth: Record<string, string> };

const join = (showId: string, who: Fan) =>
  api("/v1/waiting-room/sessions", { method: "POST", headers: who.auth, json: { show_id: showId } });

async function pollable(ticket: string) {
  const claims = await verifyQueueTicket(env, ticket);
  if (claims === "expired") throw new Error("expired ticket");
  return signQueueTicket(env, { ...claims, nextPollAtMs: 0 });
}

const poll = async (session: { session_id: string; ticket: string }, who: Fan) =>
  json<Session>(
    await api(`/v1/waiting-room/sessions/${session.session_id}`, {
      headers: { ...who.auth, "waiting-room-ticket": await pollable(session.ticket) },
    }),
    200,
  );

async function twoSeatRoom(room: object) {
  const show = await createShow({ map: gridSeatMap({ sections: ["A"], rows: 1, seats: 2 }) });
  await json(
    await api(`/v1/admin/shows/${show.showId}/waiting-room`, {
      method: "PATCH",
      headers: bearer(show.organizer.key),
      json: { enabled: true, admit_per_minute: 1_000_000, max_active: 100, ...room },
    }),
    200,
  );
  const stub = env.SHOW.getByName(show.showId);
  /** Seats changed inside the DO: this isolate and location drop the room status they cached. */
  const changed = () => forgetRoomStatus(show.showId);
  const lastSeen = (fanId: string) =>
    runInDurableObject(
      stub,
      (_, state) =>
        state.storage.sql
          .exec<{ t: number }>("SELECT max(last_seen_ms) AS t FROM room_queue WHERE fan_id = ?", fanId)
          .one().t,
    );
  const places = (fanId: string) =>
    runInDurableObject(
      stub,
      (_, state) =>
        state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM room_queue WHERE fan_id = ?", fanId).one().n,
    );
  return { ...show, stub, changed, lastSeen, places };
}

describe("the line is told at the edge", () => {
  it("all held, then sold out: polls say so without the DO, a new join gets sold_out and no place, the line may join the waitlist", async () => {
    const show = await twoSeatRoom({});
    const alice = await newFan();
    const bob = await newFan();
    const aliceJoined = await json<Session>(await join(show.showId, alice), 201);
    expect(aliceJoined).toMatchObject({ status: "waiting", inventory: "available" });
    const bobJoined = await json<Session>(await join(show.showId, bob), 201);
    await deliverBatches(env);

    // Everything held: the line waits, told why, with no wait range it cannot promise.
    const hold = await show.stub.hold({
      fan_id: "fan_someone",
      idempotency_key: crypto.randomUUID(),
      request_hash: "h",
      seat_ids: ["A-1-1", "A-1-2"],
    });
    if (!hold.ok) throw new Error(hold.code);
    await show.changed();
    await admitNow(show.showId, 3);
    const allHeld = await poll(aliceJoined, alice);
    expect(allHeld).toMatchObject({ status: "waiting", inventory: "all_held" });
    expect(allHeld.estimated_wait_range_s).toBeUndefined();

    // Sold: every fan in line is told at its next poll, answered at the edge.
    await show.stub.beginCheckout("fan_someone", hold.hold.hold_id, "ord_truth", 600_000);
    await show.stub.sellHold(hold.hold.hold_id);
    await show.changed();
    const seenBefore = await show.lastSeen(bob.id);
    const told = await poll(bobJoined, bob);
    expect(told).toMatchObject({
      status: "sold_out",
      inventory: "sold_out",
      position: null,
      waitlist_url: `/v1/shows/${show.showId}/waitlist`,
    });
    expect(await show.lastSeen(bob.id)).toBe(seenBefore);
    expect((await poll(aliceJoined, alice)).status).toBe("sold_out");

    // A newcomer is told at once and given no place.
    const carol = await newFan();
    const carolJoined = await json<Session>(await join(show.showId, carol), 200);
    expect(carolJoined).toMatchObject({ status: "sold_out", position: null });
    await deliverBatches(env);
    expect(await show.places(carol.id)).toBe(0);
    expect((await poll(carolJoined, carol)).status).toBe("sold_out");

    // The seat map says so too.
    const overlay = await json<{ inventory: string }>(await api(`/v1/shows/${show.showId}/seat-map`), 200);
    expect(overlay.inventory).toBe("sold_out");

    // The waitlist is a door too: only fans who came through the queue's (bot-checked) join, with
    // their ticket for this show. A fan who never queued, or one showing someone else's ticket, is
    // refused; so is Bob without his ticket.
    const waitlist = (who: Fan, ticket?: string) =>
      api(told.waitlist_url!, {
        method: "POST",
        headers: { ...who.auth, ...(ticket ? { "waiting-room-ticket": ticket } : {}) },
        json: { quantity: 2 },
      });
    const refused = async (response: Response) => {
      expect(response.status).toBe(403);
      return (await problem(response)).code;
    };
    const stranger = await newFan();
    expect(await refused(await waitlist(stranger))).toBe("admission_required");
    expect(await refused(await waitlist(stranger, told.ticket))).toBe("ticket_mismatch");
    expect(await refused(await waitlist(bob))).toBe("admission_required");
    // A forged ticket is a 401; Bob's own ticket once expired opens nothing either.
    const [head, body] = told.ticket.split(".");
    const forged = await waitlist(bob, `${head}.${body}.${"A".repeat(43)}`);
    expect(forged.status).toBe(401);
    expect((await problem(forged)).code).toBe("invalid_ticket");
    const bobTicket = await verifyQueueTicket(env, told.ticket);
    if (bobTicket === "expired") throw new Error("Bob's ticket expired during the test");
    const stale = await signQueueTicket(env, { ...bobTicket, expiresAtMs: Date.now() - 1_000 });
    expect(await refused(await waitlist(bob, stale))).toBe("admission_required");
    expect(await show.stub.waitlistStatus(stranger.id)).toBeNull();
    expect(await show.stub.waitlistStatus(bob.id)).toBeNull();
    // Bob, in line but never admitted, follows the link with his ticket; a refund is offered to him.
    const entry = await json<{ status: string }>(await waitlist(bob, told.ticket), 200);
    expect(entry.status).toBe("waiting");
    // Carol, told sold out at her join, holds an ended ticket: it is her way in too.
    expect((await json<{ status: string }>(await waitlist(carol, carolJoined.ticket), 200)).status).toBe("waiting");
    await show.stub.refundHold(hold.hold.hold_id);
    await show.changed();
    expect(await show.stub.waitlistStatus(bob.id)).toMatchObject({ status: "offered" });
    // The offer holds both seats: the rest of the line is waiting again, nothing available.
    expect(await poll(aliceJoined, alice)).toMatchObject({ status: "waiting", inventory: "all_held" });
  });

  it("the pre-queue is told too", async () => {
    const show = await twoSeatRoom({ opens_at: new Date(Date.now() + 3_600_000).toISOString() });
    const dana = await newFan();
    const joined = await json<Session>(await join(show.showId, dana), 201);
    expect(joined.status).toBe("waiting");
    await show.stub.block(["A-1-1", "A-1-2"], "other");
    await show.changed();
    expect(await poll(joined, dana)).toMatchObject({ status: "sold_out", inventory: "sold_out" });
  });
});

describe("the organizer's view", () => {
  it("sets the optional cap by seats available (bad values are 422), and sees why admission is held back", async () => {
    const show = await twoSeatRoom({ paused: true });
    const patch = (body: object) =>
      api(`/v1/admin/shows/${show.showId}/waiting-room`, {
        method: "PATCH",
        headers: bearer(show.organizer.key),
        json: body,
      });
    expect((await patch({ max_active_per_available_seat: 0 })).status).toBe(422);
    const capped = await json<{ max_active_per_available_seat: number | null }>(
      await patch({ max_active_per_available_seat: 0.5 }),
      200,
    );
    expect(capped.max_active_per_available_seat).toBe(0.5);
    const fan = await newFan();
    await json(await join(show.showId, fan), 201);
    await deliverBatches(env);
    const stats = await json<{ inventory: string; admission_held_back: string | null }>(
      await api(`/v1/admin/shows/${show.showId}/waiting-room`, { headers: bearer(show.organizer.key) }),
      200,
    );
    expect(stats).toMatchObject({ inventory: "available", admission_held_back: "paused_by_organizer" });
    const off = await json<{ max_active_per_available_seat: number | null }>(
      await patch({ max_active_per_available_seat: null }),
      200,
    );
    expect(off.max_active_per_available_seat).toBeNull();
  });
});
