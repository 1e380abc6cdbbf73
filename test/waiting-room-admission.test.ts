import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ShowDO } from "../durable-objects/show";
import type { QueueSession, RoomConfigPatch } from "../durable-objects/types";

// Admission inside the Show DO, on a simulated clock: every tick is an alarm run by hand at a
// chosen instant, so a three-minute sale takes milliseconds and nothing sleeps.

const T0 = 1_900_000_000_000;

async function roomWith(config: RoomConfigPatch) {
  const showId = `shw_room_${crypto.randomUUID().slice(0, 8)}`;
  const stub = env.SHOW.getByName(showId);
  await stub.initialize({
    show_id: showId,
    venue_id: "ven_room",
    seat_map_version: 1,
    on_sale_at_ms: 0,
    ticket_limit: 8,
    hold_ttl_ms: 600_000,
    currency: "EUR",
    seats: [],
  });
  let now = T0;
  const at = async (time: number) => {
    now = time;
    await runInDurableObject(stub, (instance: ShowDO) => {
      instance.clock = () => now;
    });
  };
  await at(T0);
  const configured = await stub.configureRoom({ enabled: true, max_active: 1_000_000, ...config });
  expect(configured.ok).toBe(true);
  const tick = async (time: number) => {
    await at(time);
    await runInDurableObject(stub, (instance: ShowDO) => instance.alarm());
  };
  const join = async (fan: string) => {
    const outcome = await stub.joinQueue(fan);
    if (!outcome.ok) throw new Error(outcome.code);
    return outcome.value;
  };
  const admittedFans = () =>
    runInDurableObject(stub, (_, state) =>
      state.storage.sql
        .exec<{ fan_id: string; seq: number; admitted_at_ms: number }>(
          "SELECT fan_id, seq, admitted_at_ms FROM room_queue WHERE admitted_at_ms IS NOT NULL ORDER BY admitted_at_ms, seq",
        )
        .toArray(),
    );
  return { stub, at, tick, join, admittedFans, now: () => now };
}

describe("waiting-room admission", () => {
  it("FIFO: concurrent joins get distinct numbers, and nobody is admitted before an earlier joiner", async () => {
    const room = await roomWith({ admit_per_minute: 120 });
    const sessions = await Promise.all(Array.from({ length: 30 }, (_, i) => room.join(`fan_${i}`)));
    const seqs = sessions.map((s) => s.seq!).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    for (let second = 1; second <= 20; second++) {
      await room.tick(T0 + second * 1000);
      const admitted = await room.admittedFans();
      // Whatever has been admitted so far is exactly the first k numbers.
      expect(admitted.map((a) => a.seq).sort((a, b) => a - b)).toEqual(
        Array.from({ length: admitted.length }, (_, i) => i + 1),
      );
    }
    expect((await room.admittedFans()).length).toBe(30);
  });

  it("joining twice returns the same place", async () => {
    const room = await roomWith({ admit_per_minute: 60 });
    const first = await room.join("fan_twice");
    const again = await room.join("fan_twice");
    expect(again).toMatchObject({ session_id: first.session_id, seq: first.seq, created: false });
    expect(first.created).toBe(true);
  });

  it("admits at the configured rate, smoothly: within ±1 per minute while fans wait", async () => {
    const room = await roomWith({ admit_per_minute: 90 });
    for (let i = 0; i < 400; i++) await room.join(`fan_${i}`);
    for (let second = 1; second <= 180; second++) await room.tick(T0 + second * 1000);
    const admitted = await room.admittedFans();
    for (let minute = 0; minute < 3; minute++) {
      const inMinute = admitted.filter(
        (a) => a.admitted_at_ms > T0 + minute * 60_000 && a.admitted_at_ms <= T0 + (minute + 1) * 60_000,
      ).length;
      expect(Math.abs(inMinute - 90), `minute ${minute}: ${inMinute}`).toBeLessThanOrEqual(1);
    }
    // Smooth, not a burst a minute: no single second admits more than its share plus one.
    const perSecond = new Map<number, number>();
    for (const a of admitted) perSecond.set(a.admitted_at_ms, (perSecond.get(a.admitted_at_ms) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(2);
  });

  it("a late alarm catches up a few seconds at most: never a burst of the whole gap", async () => {
    const room = await roomWith({ admit_per_minute: 60 });
    for (let i = 0; i < 50; i++) await room.join(`fan_${i}`);
    await room.tick(T0 + 1000);
    expect((await room.admittedFans()).length).toBe(1);
    await room.tick(T0 + 31_000);
    // Thirty seconds late: five seconds' worth (plus the bucket's one) come through, not thirty.
    expect((await room.admittedFans()).length).toBe(7);
  });

  it("respects max_active, and a lapsed admission frees its slot", async () => {
    const room = await roomWith({ admit_per_minute: 6000, max_active: 5, checkout_window_ms: 60_000 });
    for (let i = 0; i < 20; i++) await room.join(`fan_${i}`);
    for (let second = 1; second <= 30; second++) await room.tick(T0 + second * 1000);
    expect((await room.admittedFans()).length).toBe(5);
    expect((await room.stub.roomStats()).ok && (await room.stub.roomStats())).toMatchObject({
      value: { active_checkouts: 5, queued: 15 },
    });
    await room.tick(T0 + 61_000);
    expect((await room.admittedFans()).length).toBe(10);
  });

  it("pause stops admission without losing places; config changes apply on the next tick", async () => {
    const room = await roomWith({ admit_per_minute: 60 });
    for (let i = 0; i < 200; i++) await room.join(`fan_${i}`);
    for (let s = 1; s <= 10; s++) await room.tick(T0 + s * 1000);
    const beforePause = (await room.admittedFans()).length;
    await room.stub.configureRoom({ paused: true });
    for (let s = 11; s <= 40; s++) await room.tick(T0 + s * 1000);
    expect((await room.admittedFans()).length).toBe(beforePause);
    const stats = await room.stub.roomStats();
    expect(stats.ok && stats.value.queued).toBe(200 - beforePause);

    await room.stub.configureRoom({ paused: false, admit_per_minute: 600 });
    await room.tick(T0 + 41_000);
    await room.tick(T0 + 42_000);
    const afterChange = (await room.admittedFans()).length;
    // Ten a second now: the first tick after resuming already runs at the new rate.
    expect(afterChange - beforePause).toBeGreaterThanOrEqual(10);
    expect(afterChange - beforePause).toBeLessThanOrEqual(21);
  });

  it("the pre-queue is shuffled at opening: every fan gets one place, in an order unlike arrival", async () => {
    const opensAt = T0 + 10 * 60_000;
    const room = await roomWith({ admit_per_minute: 6000, opens_at_ms: opensAt });
    const early: QueueSession[] = [];
    for (let i = 0; i < 60; i++) {
      await room.at(T0 + i * 1000);
      early.push(await room.join(`fan_${i}`));
    }
    expect(early.every((s) => s.seq === null)).toBe(true);
    await room.tick(opensAt);
    await room.at(opensAt + 1);
    const late = await room.join("fan_late");
    const seqs = await runInDurableObject(room.stub, (_, state) =>
      state.storage.sql
        .exec<{ fan_id: string; seq: number }>("SELECT fan_id, seq FROM room_queue ORDER BY seq")
        .toArray(),
    );
    const arrivalOrder = early.map((_, i) => `fan_${i}`);
    const drawnOrder = seqs.filter((s) => s.fan_id !== "fan_late").map((s) => s.fan_id);
    expect([...drawnOrder].sort()).toEqual([...arrivalOrder].sort());
    expect(drawnOrder).not.toEqual(arrivalOrder);
    expect(new Set(seqs.map((s) => s.seq)).size).toBe(61);
    // Whoever comes after opening queues behind the whole pre-queue.
    expect(late.seq).toBe(61);
    for (let s = 1; s <= 5; s++) await room.tick(opensAt + s * 1000);
    const admitted = await room.admittedFans();
    expect(admitted).toHaveLength(61);
    expect(new Set(admitted.map((a) => a.fan_id)).size).toBe(61);
  });

  it("a place not seen for five minutes is dropped when its turn comes", async () => {
    const room = await roomWith({ admit_per_minute: 60 });
    await room.stub.configureRoom({ paused: true });
    const gone = await room.join("fan_gone");
    const present = await room.join("fan_present");
    await room.at(T0 + 6 * 60_000);
    await room.stub.pollQueue("fan_present", present.session_id);
    await room.stub.configureRoom({ paused: false });
    for (let s = 1; s <= 3; s++) await room.tick(T0 + 6 * 60_000 + s * 1000);
    const poll = await room.stub.pollQueue("fan_gone", gone.session_id);
    expect(poll.ok && poll.value?.status).toBe("dropped");
    expect((await room.admittedFans()).map((a) => a.fan_id)).toEqual(["fan_present"]);
  });
});
