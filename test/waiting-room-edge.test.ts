import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import type { ShowDO } from "../durable-objects/show";
import { deliverBatches } from "../src/waiting-room/edge-batches";
import { forgetRoomStatus } from "../src/waiting-room/edge-status";
import { signQueueTicket, verifyQueueTicket } from "../src/waiting-room/tokens";
import { json } from "./fixtures";
import { api } from "./helpers";
import { newFan } from "./payments-helpers";
import { admitNow, showWithRoom } from "./room-helpers";

// Joins answered at the edge, through the real Worker: the DO hears of arrivals in batches.

interface Session {
  session_id: string;
  ticket: string;
  status: string;
  position: number | null;
  position_range?: { low: number; high: number };
  estimated_wait_s: number;
}

const fan = newFan;

const roomShow = (config: object = {}) => showWithRoom({ admit_per_minute: 60, max_active: 100_000, ...config });

const join = (showId: string, who: { auth: Record<string, string> }, headers: Record<string, string> = {}) =>
  api("/v1/waiting-room/sessions", { method: "POST", headers: { ...who.auth, ...headers }, json: { show_id: showId } });

const poll = async (session: { session_id: string; ticket: string }, who: { auth: Record<string, string> }) => {
  const claims = await verifyQueueTicket(env, session.ticket);
  if (claims === "expired") throw new Error("expired ticket");
  return api(`/v1/waiting-room/sessions/${session.session_id}`, {
    headers: { ...who.auth, "waiting-room-ticket": await signQueueTicket(env, { ...claims, nextPollAtMs: 0 }) },
  });
};

const admit = (_stub: unknown, showId: string, ticks = 1) => admitNow(showId, ticks);

const admittedOrder = (stub: DurableObjectStub<ShowDO>) =>
  runInDurableObject(stub, (_, state) =>
    state.storage.sql
      .exec<{ fan_id: string }>("SELECT fan_id FROM room_queue WHERE seq IS NOT NULL ORDER BY seq")
      .toArray()
      .map((row) => row.fan_id),
  );

describe("joins answered at the edge", () => {
  it("200 joins reach the DO as a handful of batches, and are admitted in the order they arrived", async () => {
    const { showId, stub } = await roomShow({ admit_per_minute: 1_000_000 });
    const batchesBefore = await runInDurableObject(stub, (instance: ShowDO) => instance.arrivalBatches);
    const fans = await Promise.all(Array.from({ length: 200 }, () => fan()));
    const started = Date.now();
    for (const f of fans) await json<Session>(await join(showId, f), 201);
    const elapsedMs = Date.now() - started;
    await deliverBatches(env);
    const batches = (await runInDurableObject(stub, (instance: ShowDO) => instance.arrivalBatches)) - batchesBefore;
    // One batch per quarter second per isolate, whatever the number of fans.
    expect(batches).toBeLessThanOrEqual(Math.ceil(elapsedMs / 250) + 1);
    expect(batches).toBeLessThan(200 / 10);
    await admit(stub, showId, 3);
    expect(await admittedOrder(stub)).toEqual(fans.map((f) => f.id));
  });

  it("a wave of first joins and polls shares one room-status read and every request is answered", async () => {
    // Concurrent misses share one Show DO call's promise across requests; a call bound to the
    // request that made it (a trace span, an I/O object) failed the others with workerd's
    // "Cannot perform I/O on behalf of a different request".
    const { showId } = await roomShow();
    const fans = await Promise.all(Array.from({ length: 40 }, () => fan()));
    await forgetRoomStatus(showId);
    const joins = await Promise.all(fans.map((f) => join(showId, f)));
    expect(joins.map((r) => r.status)).toEqual(fans.map(() => 201));
    const sessions = await Promise.all(joins.map((r) => r.json() as Promise<Session>));
    await forgetRoomStatus(showId);
    const polls = await Promise.all(fans.map((f, i) => poll(sessions[i]!, f)));
    expect(polls.map((r) => r.status)).toEqual(fans.map(() => 200));
  });

  it("joining again from the same device or isolate returns the same place", async () => {
    const { showId } = await roomShow();
    const alice = await fan();
    const first = await json<Session>(await join(showId, alice), 201);
    const again = await json<Session>(await join(showId, alice), 200);
    expect(again.session_id).toBe(first.session_id);
    const withTicket = await json<Session>(await join(showId, alice, { "waiting-room-ticket": first.ticket }), 200);
    expect(withTicket.session_id).toBe(first.session_id);
  });

  it("before opening, a join's key carries no arrival time: the pre-queue is drawn at random", async () => {
    const { showId } = await roomShow({ opens_at: new Date(Date.now() + 3_600_000).toISOString() });
    const alice = await fan();
    const joined = await json<Session>(await join(showId, alice), 201);
    const [ms, random] = decodeJwt(joined.ticket).k as [number, number];
    expect(ms).toBe(0);
    expect(random).toBeGreaterThanOrEqual(0);
    expect(joined.estimated_wait_s).toBeGreaterThan(3_500);
  });

  it("positions are truthful: every fan's real place lies within the range it is told", async () => {
    const { showId, stub } = await roomShow({ admit_per_minute: 60 });
    const fans = await Promise.all(Array.from({ length: 5 }, () => fan()));
    for (const f of fans) await json<Session>(await join(showId, f), 201);
    await admit(stub, showId, 2);
    // Forty more arrive over about two seconds while five were admitted ahead of them.
    const later = await Promise.all(Array.from({ length: 40 }, () => fan()));
    const sessions: Session[] = [];
    for (const [i, f] of later.entries()) {
      sessions.push(await json<Session>(await join(showId, f), 201));
      if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await deliverBatches(env);
    await forgetRoomStatus(showId);
    const truth = await runInDurableObject(stub, (_, state) =>
      state.storage.sql
        .exec<{ session_id: string }>(
          "SELECT session_id FROM room_queue WHERE status = 'waiting' ORDER BY key_ms, key_rnd",
        )
        .toArray()
        .map((row) => row.session_id),
    );
    let exact = 0;
    for (const [i, f] of later.entries()) {
      const answer = await json<Session>(await poll(sessions[i]!, f), 200);
      const real = truth.indexOf(sessions[i]!.session_id) + 1;
      expect(real, `fan ${i}`).toBeGreaterThan(0);
      expect(answer.position_range!.low, `fan ${i}: ${JSON.stringify(answer)} vs ${real}`).toBeLessThanOrEqual(real);
      expect(answer.position_range!.high, `fan ${i}: ${JSON.stringify(answer)} vs ${real}`).toBeGreaterThanOrEqual(
        real,
      );
      if (answer.position === real) exact++;
    }
    expect(exact).toBeGreaterThan(0);
  });

  it("a fan whose arrival batch was lost keeps its place: the signed ticket is taken at its turn", async () => {
    const { showId, stub } = await roomShow({ admit_per_minute: 1_000_000 });
    const ahead = await fan();
    await json<Session>(await join(showId, ahead), 201);
    await deliverBatches(env);
    // This fan's ticket is signed at the edge, but its batch never reaches the DO.
    const lost = await fan();
    const now = Date.now();
    const ticket = await signQueueTicket(env, {
      fanId: lost.id,
      showId,
      sessionId: "wrs_lostbatch0000000000",
      key: { ms: now, rnd: 1 },
      nextPollAtMs: 0,
      expiresAtMs: now + 300_000,
    });
    const behind = await fan();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await json<Session>(await join(showId, behind), 201);
    await admit(stub, showId, 2);
    expect(await admittedOrder(stub)).toEqual([ahead.id, behind.id]);
    // Its turn has passed: its poll reaches the DO, which takes the place and admits it next.
    const answer = await json<Session>(await poll({ session_id: "wrs_lostbatch0000000000", ticket }, lost), 200);
    expect(answer.status).toBe("waiting");
    await admit(stub, showId, 1);
    expect(await admittedOrder(stub)).toEqual([ahead.id, behind.id, lost.id]);
  });
});
