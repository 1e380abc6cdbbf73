import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { base64url, decodeJwt, importJWK, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import type { HoldView } from "../durable-objects/types";
import { deliverBatches } from "../src/waiting-room/edge-batches";
import { signAdmissionToken, signQueueTicket, verifyQueueTicket } from "../src/waiting-room/tokens";
import { createShow, json } from "./fixtures";
import { api, bearer, problem } from "./helpers";
import { newFan } from "./payments-helpers";
import { admitNow, showWithRoom } from "./room-helpers";

interface Session {
  session_id: string;
  ticket: string;
  status: string;
  position: number | null;
  estimated_wait_s: number;
  poll_after_ms: number;
  admission_token?: string;
  admission_expires_at_ms?: number;
}

const fan = newFan;

const roomShow = (config: object = {}) => showWithRoom({ admit_per_minute: 1_000_000, max_active: 100, ...config });

const join = (showId: string, who: { auth: Record<string, string> }) =>
  api("/v1/waiting-room/sessions", { method: "POST", headers: who.auth, json: { show_id: showId } });

/** Tests may poll at once: they re-sign the ticket with no "not before next poll" time. */
async function pollable(ticket: string) {
  const claims = await verifyQueueTicket(env, ticket);
  if (claims === "expired") throw new Error("expired ticket");
  return signQueueTicket(env, { ...claims, nextPollAtMs: 0 });
}

const poll = async (session: { session_id: string; ticket: string }, who: { auth: Record<string, string> }) =>
  api(`/v1/waiting-room/sessions/${session.session_id}`, {
    headers: { ...who.auth, "waiting-room-ticket": await pollable(session.ticket) },
  });

const hold = (showId: string, who: { auth: Record<string, string> }, headers: Record<string, string> = {}) =>
  api(`/v1/shows/${showId}/holds`, {
    method: "POST",
    headers: { ...who.auth, "idempotency-key": crypto.randomUUID(), ...headers },
    json: { seat_ids: ["A-1-1"] },
  });

describe("waiting room through HTTP", () => {
  it("join, wait, get admitted, and hold seats with the admission token", async () => {
    const { showId } = await roomShow();
    const alice = await fan();
    expect((await problem(await hold(showId, alice))).code).toBe("admission_required");

    const joined = await json<Session>(await join(showId, alice), 201);
    expect(joined).toMatchObject({ status: "waiting", position: 1 });
    const claims = decodeJwt(joined.ticket);
    expect(claims).toMatchObject({
      sub: alice.id,
      show: showId,
      sid: joined.session_id,
      k: [expect.any(Number), expect.any(Number)],
    });
    const again = await json<Session>(await join(showId, alice), 200);
    expect(again.session_id).toBe(joined.session_id);

    await admitNow(showId);
    const admitted = await json<Session>(await poll(joined, alice), 200);
    expect(admitted.status).toBe("admitted");
    expect(decodeJwt(admitted.admission_token!)).toMatchObject({ sub: alice.id, show: showId });
    expect(admitted.admission_expires_at_ms).toBeGreaterThan(Date.now());

    const held = await json<HoldView>(await hold(showId, alice, { "admission-token": admitted.admission_token! }), 201);
    expect(held.seat_ids).toEqual(["A-1-1"]);
  });

  it("a waiting fan's polls are answered at the edge and reach the DO only as a batched heartbeat", async () => {
    const { organizer, showId } = await roomShow({ paused: true });
    const alice = await fan();
    const joined = await json<Session>(await join(showId, alice), 201);
    await deliverBatches(env);
    const before = await json<{ queued: number }>(
      await api(`/v1/admin/shows/${showId}/waiting-room`, { headers: bearer(organizer.key) }),
      200,
    );
    expect(before.queued).toBe(1);
    const lastSeen = () =>
      runInDurableObject(
        env.SHOW.getByName(showId),
        (_, state) => state.storage.sql.exec<{ t: number }>("SELECT last_seen_ms AS t FROM room_queue").one().t,
      );
    const seenAtJoin = await lastSeen();
    await new Promise((resolve) => setTimeout(resolve, 5));
    for (let i = 0; i < 5; i++) {
      const answer = await json<Session>(await poll(joined, alice), 200);
      expect(answer).toMatchObject({ status: "waiting", position: 1 });
    }
    // A poll that reached the DO would have marked the place as seen; these five did not...
    expect(await lastSeen()).toBe(seenAtJoin);
    // ...but the edge tells the DO, in one batch a second later, that the fan is still there.
    for (let i = 0; i < 50 && (await lastSeen()) === seenAtJoin; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await lastSeen()).toBeGreaterThan(seenAtJoin);
  });

  it("polling faster than poll_after_ms is answered 429 with Retry-After, doing no work", async () => {
    const { showId } = await roomShow({ paused: true });
    const alice = await fan();
    const joined = await json<Session>(await join(showId, alice), 201);
    const tooSoon = await api(`/v1/waiting-room/sessions/${joined.session_id}`, {
      headers: { ...alice.auth, "waiting-room-ticket": joined.ticket },
    });
    expect(tooSoon.status).toBe(429);
    expect(Number(tooSoon.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await problem(tooSoon)).code).toBe("polling_too_fast");
  });

  it("exactly one admission however many polls race for it", async () => {
    const { organizer, showId } = await roomShow();
    const alice = await fan();
    const joined = await json<Session>(await join(showId, alice), 201);
    await admitNow(showId);
    const answers = await Promise.all(Array.from({ length: 12 }, () => poll(joined, alice)));
    // The DO answers one place at most once per poll floor: the others are told to slow down.
    const admitted = answers.filter((a) => a.status === 200);
    expect(admitted.length).toBeGreaterThanOrEqual(1);
    expect(answers.filter((a) => a.status !== 200).map((a) => a.status)).toEqual(Array(12 - admitted.length).fill(429));
    const bodies = await Promise.all(admitted.map((a) => json<Session>(a, 200)));
    expect(new Set(bodies.map((b) => b.status))).toEqual(new Set(["admitted"]));
    expect(new Set(bodies.map((b) => b.admission_expires_at_ms)).size).toBe(1);
    const stats = await json<{ admitted_last_minute: number; active_checkouts: number }>(
      await api(`/v1/admin/shows/${showId}/waiting-room`, { headers: bearer(organizer.key) }),
      200,
    );
    expect(stats).toMatchObject({ admitted_last_minute: 1, active_checkouts: 1 });
  });

  it("a place under the watermark cannot poll the DO at will: settled answers come from the edge", async () => {
    const { showId } = await roomShow();
    const alice = await fan();
    const joined = await json<Session>(await join(showId, alice), 201);
    await admitNow(showId);
    const stub = env.SHOW.getByName(showId);
    const placeState = () =>
      runInDurableObject(stub, (_, state) => ({
        place: state.storage.sql
          .exec<{ next_poll_at_ms: number | null }>(
            "SELECT next_poll_at_ms FROM room_queue WHERE session_id = ?",
            joined.session_id,
          )
          .one(),
        lastTick: state.storage.sql.exec<{ last_tick_ms: number }>("SELECT last_tick_ms FROM room_state").one(),
      }));
    const admitted = await json<Session>(await poll(joined, alice), 200);
    expect(admitted.status).toBe("admitted");
    const afterFirst = await placeState();

    // Replaying the old (still valid) ticket as fast as possible: the DO refuses without work.
    const replays = await Promise.all(Array.from({ length: 20 }, () => poll(joined, alice)));
    expect(replays.map((r) => r.status)).toEqual(Array(20).fill(429));
    for (const r of replays) expect((await problem(r)).code).toBe("polling_too_fast");
    expect(await placeState()).toEqual(afterFirst);

    // The ticket the DO handed back carries the settlement: polls with it never reach the DO.
    for (let i = 0; i < 5; i++) {
      const again = await json<Session>(await poll(admitted, alice), 200);
      expect(again).toMatchObject({ status: "admitted", admission_expires_at_ms: admitted.admission_expires_at_ms });
      expect(again.admission_token).toBeTruthy();
    }
    expect(await placeState()).toEqual(afterFirst);
  });

  it("max_active holds back the rest of the queue", async () => {
    const { organizer, showId } = await roomShow({ max_active: 3 });
    const fans = await Promise.all(Array.from({ length: 8 }, () => fan()));
    const sessions = [];
    for (const f of fans) sessions.push(await json<Session>(await join(showId, f), 201));
    await admitNow(showId);
    const statuses = [];
    for (const [i, f] of fans.entries()) statuses.push((await json<Session>(await poll(sessions[i]!, f), 200)).status);
    expect(statuses).toEqual([
      "admitted",
      "admitted",
      "admitted",
      "waiting",
      "waiting",
      "waiting",
      "waiting",
      "waiting",
    ]);
    const stats = await json<{ active_checkouts: number; queued: number }>(
      await api(`/v1/admin/shows/${showId}/waiting-room`, { headers: bearer(organizer.key) }),
      200,
    );
    expect(stats).toMatchObject({ active_checkouts: 3, queued: 5 });
  });
});

describe("tickets and admission tokens are checked at the edge", () => {
  it("rejects forged, expired, swapped and mismatched tickets", async () => {
    const { showId } = await roomShow({ paused: true });
    const alice = await fan();
    const bob = await fan();
    const mine = await json<Session>(await join(showId, alice), 201);
    const theirs = await json<Session>(await join(showId, bob), 201);
    const pollWith = (sessionId: string, ticket: string, who = alice) =>
      api(`/v1/waiting-room/sessions/${sessionId}`, { headers: { ...who.auth, "waiting-room-ticket": ticket } });
    const claims = decodeJwt(mine.ticket);
    const encode = (header: object, payload: object) =>
      `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(payload))}`;
    const ticketKey = await importJWK(JSON.parse(env.TICKET_SIGNING_JWK!), "EdDSA");

    const cases: [string, string, number, string][] = [
      [theirs.session_id, await pollable(mine.ticket), 403, "ticket_mismatch"],
      [mine.session_id, await pollable(theirs.ticket), 403, "ticket_mismatch"],
      [
        mine.session_id,
        `${encode({ alg: "none", typ: "onsale-queue+jwt" }, { ...claims, nxt: 0 })}.`,
        401,
        "invalid_ticket",
      ],
      [
        mine.session_id,
        await new SignJWT({ ...claims, nxt: 0 })
          .setProtectedHeader({ alg: "HS256", typ: "onsale-queue+jwt" })
          .sign(new TextEncoder().encode("a-different-secret-of-enough-length")),
        401,
        "invalid_ticket",
      ],
      [
        mine.session_id,
        await new SignJWT({ ...claims, nxt: 0 })
          .setProtectedHeader({ alg: "EdDSA", typ: "onsale-queue+jwt" })
          .sign(ticketKey),
        401,
        "invalid_ticket",
      ],
      [
        mine.session_id,
        await signAdmissionToken(env, {
          fanId: alice.id,
          showId,
          sessionId: mine.session_id,
          expiresAtMs: Date.now() + 60_000,
        }),
        401,
        "invalid_ticket",
      ],
      [
        mine.session_id,
        await signQueueTicket(env, {
          fanId: alice.id,
          showId,
          sessionId: mine.session_id,
          key: { ms: 1, rnd: 1 },
          nextPollAtMs: 0,
          expiresAtMs: Date.now() - 60_000,
        }),
        401,
        "ticket_expired",
      ],
      [mine.session_id, "not.a.ticket", 401, "invalid_ticket"],
    ];
    for (const [sessionId, ticket, status, code] of cases) {
      const response = await pollWith(sessionId, ticket);
      expect(response.status, code).toBe(status);
      expect((await problem(response)).code).toBe(code);
    }
    const missing = await api(`/v1/waiting-room/sessions/${mine.session_id}`, { headers: alice.auth });
    expect(missing.status).toBe(400);
  });

  it("an admission token of another show or fan, expired or forged, cannot hold seats", async () => {
    const { showId } = await roomShow();
    const other = await roomShow();
    const alice = await fan();
    const bob = await fan();
    const token = (fanId: string, forShow: string, expiresAtMs = Date.now() + 60_000) =>
      signAdmissionToken(env, { fanId, showId: forShow, sessionId: "wrs_test", expiresAtMs });
    const cases: [string, number, string][] = [
      [await token(alice.id, other.showId), 403, "admission_mismatch"],
      [await token(bob.id, showId), 403, "admission_mismatch"],
      [await token(alice.id, showId, Date.now() - 60_000), 401, "admission_expired"],
      [
        await new SignJWT({ show: showId, sid: "wrs_test" })
          .setProtectedHeader({ alg: "HS256", typ: "onsale-admission+jwt" })
          .setSubject(alice.id)
          .setExpirationTime("1h")
          .sign(new TextEncoder().encode("a-different-secret-of-enough-length")),
        401,
        "invalid_admission_token",
      ],
      [
        await signQueueTicket(env, {
          fanId: alice.id,
          showId,
          sessionId: "wrs_test",
          key: { ms: 1, rnd: 1 },
          nextPollAtMs: 0,
          expiresAtMs: Date.now() + 60_000,
        }),
        401,
        "invalid_admission_token",
      ],
    ];
    for (const [admission, status, code] of cases) {
      const response = await hold(showId, alice, { "admission-token": admission });
      expect(response.status, code).toBe(status);
      expect((await problem(response)).code).toBe(code);
    }
    expect(await env.SHOW.getByName(showId).counts()).toMatchObject({ held: 0 });
  });

  it("bad joins: unknown show 404, room disabled 409, no bearer 401, bad body 422; nothing enqueued", async () => {
    const { showId } = await createShow();
    const alice = await fan();
    expect((await problem(await join("shw_nosuchshow", alice))).code).toBe("not_found");
    expect((await problem(await join(showId, alice))).code).toBe("waiting_room_disabled");
    const noBearer = await api("/v1/waiting-room/sessions", { method: "POST", json: { show_id: showId } });
    expect(noBearer.status).toBe(401);
    const badBody = await api("/v1/waiting-room/sessions", {
      method: "POST",
      headers: alice.auth,
      json: { show: showId },
    });
    expect(badBody.status).toBe(422);
    const stats = await env.SHOW.getByName(showId).roomStats();
    expect(stats.ok && stats.value.queued).toBe(0);
  });
});

describe("organizer waiting-room settings", () => {
  it("validates the patch and reports live stats", async () => {
    const { organizer, showId } = await createShow();
    const patch = (body: object) =>
      api(`/v1/admin/shows/${showId}/waiting-room`, { method: "PATCH", headers: bearer(organizer.key), json: body });
    for (const body of [
      { admit_per_minute: 0 },
      { max_active: -1 },
      { checkout_window_s: 5 },
      { checkout_window_s: 86_400 },
      { opens_at: "tomorrow" },
      { enabled: "yes" },
      {},
    ]) {
      expect((await patch(body)).status, JSON.stringify(body)).toBe(422);
    }
    const opensAt = new Date(Date.now() + 3_600_000).toISOString();
    const stats = await json<Record<string, unknown>>(
      await patch({ enabled: true, admit_per_minute: 300, max_active: 50, checkout_window_s: 300, opens_at: opensAt }),
      200,
    );
    expect(stats).toMatchObject({
      enabled: true,
      paused: false,
      admit_per_minute: 300,
      max_active: 50,
      checkout_window_s: 300,
      opens_at: opensAt,
      queued: 0,
      active_checkouts: 0,
    });
    const draft = await createShow({ organizer, publish: false });
    const unpublished = await api(`/v1/admin/shows/${draft.showId}/waiting-room`, {
      method: "PATCH",
      headers: bearer(organizer.key),
      json: { enabled: true },
    });
    expect((await problem(unpublished)).code).toBe("show_not_published");
  });
});
