import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { HoldView } from "../durable-objects/types";
import { createShow, gridSeatMap, json } from "./fixtures";
import { api, bearer, fanToken, problem, uniqueFan } from "./helpers";

async function fan() {
  const id = uniqueFan();
  return { id, auth: bearer(await fanToken(id)) };
}

const holdSeats = (showId: string, who: { auth: Record<string, string> }, body: object, key = crypto.randomUUID()) =>
  api(`/v1/shows/${showId}/holds`, {
    method: "POST",
    headers: { ...who.auth, "idempotency-key": key },
    json: body,
  });

describe("holding seats", () => {
  it("holds the seats asked for and answers with the contract's hold", async () => {
    const { showId } = await createShow();
    const alice = await fan();
    const before = Date.now();
    const hold = await json<HoldView>(await holdSeats(showId, alice, { seat_ids: ["A-1-1", "A-1-2"] }), 201);
    expect(hold).toMatchObject({
      show_id: showId,
      seat_ids: ["A-1-1", "A-1-2"],
      status: "active",
      price_cents: 10_000,
      currency: "EUR",
      version: 1,
    });
    expect(hold.hold_id).toMatch(/^hld_/);
    expect(hold.server_time_ms).toBeGreaterThanOrEqual(before);
    expect(hold.expires_at_ms - hold.server_time_ms).toBe(600_000);
    expect(await env.SHOW.getByName(showId).counts()).toMatchObject({ held: 2, available: 22 });
  });

  it("only the owner sees or releases a hold; releasing twice is harmless", async () => {
    const { showId } = await createShow();
    const alice = await fan();
    const bob = await fan();
    const hold = await json<HoldView>(await holdSeats(showId, alice, { seat_ids: ["B-1-1"] }), 201);
    expect((await json<HoldView>(await api(`/v1/holds/${hold.hold_id}`, { headers: alice.auth }), 200)).status).toBe(
      "active",
    );
    expect((await api(`/v1/holds/${hold.hold_id}`, { headers: bob.auth })).status).toBe(404);
    expect((await api(`/v1/holds/${hold.hold_id}`, { method: "DELETE", headers: bob.auth })).status).toBe(404);
    expect((await api("/v1/holds/hld_nonsense", { headers: alice.auth })).status).toBe(404);

    const released = await json<HoldView>(
      await api(`/v1/holds/${hold.hold_id}`, { method: "DELETE", headers: alice.auth }),
      200,
    );
    expect(released).toMatchObject({ status: "released", version: 2 });
    const again = await json<HoldView>(
      await api(`/v1/holds/${hold.hold_id}`, { method: "DELETE", headers: alice.auth }),
      200,
    );
    expect(again).toMatchObject({ status: "released", version: 2 });
    // Released seats are on sale again at once.
    await json(await holdSeats(showId, bob, { seat_ids: ["B-1-1"] }), 201);
  });

  it("idempotency: same key and body replay the hold; another body is 422; keys are per fan", async () => {
    const { showId } = await createShow();
    const alice = await fan();
    const bob = await fan();
    const first = await holdSeats(showId, alice, { seat_ids: ["A-2-1"] }, "checkout-1");
    const hold = await json<HoldView>(first, 201);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const replay = await holdSeats(showId, alice, { seat_ids: ["A-2-1"] }, "checkout-1");
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect((await json<HoldView>(replay, 201)).hold_id).toBe(hold.hold_id);

    const reused = await holdSeats(showId, alice, { seat_ids: ["A-2-2"] }, "checkout-1");
    expect(reused.status).toBe(422);
    expect((await problem(reused)).code).toBe("idempotency_key_reused");

    const bobs = await json<HoldView>(await holdSeats(showId, bob, { seat_ids: ["A-2-3"] }, "checkout-1"), 201);
    expect(bobs.hold_id).not.toBe(hold.hold_id);
    expect(await env.SHOW.getByName(showId).counts()).toMatchObject({ held: 2 });

    // Even after the hold ended, the key still answers with that hold.
    await api(`/v1/holds/${hold.hold_id}`, { method: "DELETE", headers: alice.auth });
    const late = await json<HoldView>(await holdSeats(showId, alice, { seat_ids: ["A-2-1"] }, "checkout-1"), 201);
    expect(late).toMatchObject({ hold_id: hold.hold_id, status: "released" });
  });

  it("enforces the per-fan limit across all of the fan's live holds", async () => {
    const { showId } = await createShow({ ticketLimit: 4 });
    const alice = await fan();
    await json(await holdSeats(showId, alice, { seat_ids: ["A-1-1", "A-1-2", "A-1-3"] }), 201);
    const over = await holdSeats(showId, alice, { seat_ids: ["B-1-1", "B-1-2"] });
    expect(over.status).toBe(409);
    expect(await problem(over)).toMatchObject({ code: "limit_exceeded", limit: 4, already: 3 });
    await json(await holdSeats(showId, alice, { seat_ids: ["B-1-1"] }), 201);
    expect((await problem(await holdSeats(showId, alice, { section_id: "B", quantity: 1 }))).code).toBe(
      "limit_exceeded",
    );
  });

  it("best available: adjacent seats in the frontmost row, centred; accessible when asked", async () => {
    const map = gridSeatMap({ sections: ["A"], rows: 3, seats: 6 });
    const { showId } = await createShow({ map, ticketLimit: 12 });
    const alice = await fan();
    const front = await json<HoldView>(await holdSeats(showId, alice, { section_id: "A", quantity: 2 }), 201);
    expect(front.seat_ids).toEqual(["A-1-3", "A-1-4"]);
    const accessible = await json<HoldView>(
      await holdSeats(showId, alice, { section_id: "A", quantity: 1, accessible: true }),
      201,
    );
    expect(accessible.seat_ids).toEqual(["A-1-1"]);
    // Row 1 now has free seats 2, 5, 6: no run of 3, so row 2 gives three together.
    const three = await json<HoldView>(await holdSeats(showId, alice, { section_id: "A", quantity: 3 }), 201);
    expect(three.seat_ids).toEqual(["A-2-2", "A-2-3", "A-2-4"]);
    const noMoreAccessible = await holdSeats(showId, alice, { section_id: "A", quantity: 1, accessible: true });
    expect((await problem(noMoreAccessible)).code).toBe("insufficient_availability");
    expect((await problem(await holdSeats(showId, alice, { section_id: "Q", quantity: 1 }))).code).toBe(
      "unknown_section",
    );
  });

  it("refuses shows that are not on sale yet, cancelled, or unknown", async () => {
    const later = await createShow({ onSaleAt: new Date(Date.now() + 86_400_000).toISOString() });
    const alice = await fan();
    const early = await holdSeats(later.showId, alice, { seat_ids: ["A-1-1"] });
    expect(early.status).toBe(409);
    expect(await problem(early)).toMatchObject({ code: "show_not_on_sale" });

    const { organizer, showId } = await createShow();
    const live = await json<HoldView>(await holdSeats(showId, alice, { seat_ids: ["A-1-1"] }), 201);
    await json(await api(`/v1/admin/shows/${showId}/cancel`, { method: "POST", headers: bearer(organizer.key) }), 200);
    expect((await problem(await holdSeats(showId, alice, { seat_ids: ["A-1-2"] }))).code).toBe("show_cancelled");
    expect((await json<HoldView>(await api(`/v1/holds/${live.hold_id}`, { headers: alice.auth }), 200)).status).toBe(
      "released",
    );
    expect((await holdSeats("shw_nosuchshow", alice, { seat_ids: ["A-1-1"] })).status).toBe(404);
  });

  it("bad input is a 4xx problem and holds nothing", async () => {
    const { showId } = await createShow();
    const other = await createShow({ map: gridSeatMap({ sections: ["Z"] }) });
    const alice = await fan();
    const cases: [object, number, string][] = [
      [{ seat_ids: [] }, 422, "validation_failed"],
      [{ seat_ids: ["A-1-1", "A-1-1"] }, 422, "validation_failed"],
      [{ seat_ids: ["A-1-1", "A-9-9"] }, 422, "unknown_seats"],
      [{ seat_ids: ["Z-1-1"] }, 422, "unknown_seats"],
      [{ section_id: "A", quantity: 0 }, 422, "validation_failed"],
      [{ section_id: "A", quantity: 51 }, 422, "validation_failed"],
      [{ section_id: "A", quantity: 9 }, 409, "limit_exceeded"],
      [{ seat_ids: ["A-1-1"], section_id: "A" }, 422, "validation_failed"],
    ];
    for (const [body, status, code] of cases) {
      const response = await holdSeats(showId, alice, body);
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect((await problem(response)).code).toBe(code);
    }
    const noKey = await api(`/v1/shows/${showId}/holds`, {
      method: "POST",
      headers: alice.auth,
      json: { seat_ids: ["A-1-1"] },
    });
    expect(noKey.status).toBe(400);
    expect((await problem(noKey)).code).toBe("idempotency_key_required");
    const noAuth = await api(`/v1/shows/${showId}/holds`, {
      method: "POST",
      headers: { "idempotency-key": "k" },
      json: { seat_ids: ["A-1-1"] },
    });
    expect(noAuth.status).toBe(401);
    const malformed = await api(`/v1/shows/${showId}/holds`, {
      method: "POST",
      headers: { ...alice.auth, "idempotency-key": "k", "content-type": "application/json" },
      body: "{seat_ids",
    });
    expect((await problem(malformed)).code).toBe("malformed_json");
    expect(await env.SHOW.getByName(showId).counts()).toMatchObject({ held: 0, available: 24 });
    expect(await env.SHOW.getByName(other.showId).counts()).toMatchObject({ held: 0 });
  });
});

describe("racing fans", () => {
  it("dozens of fans racing for the same seats: every seat held at most once", async () => {
    const map = gridSeatMap({ sections: ["A"], rows: 1, seats: 12 });
    const { showId } = await createShow({ map });
    const fans = await Promise.all(Array.from({ length: 40 }, () => fan()));
    // Every fan wants three seats out of the same twelve, so most requests overlap.
    const wanted = fans.map((_, i) => [0, 1, 2].map((k) => `A-1-${((i * 5 + k * 4) % 12) + 1}`));
    const responses = await Promise.all(fans.map((f, i) => holdSeats(showId, f, { seat_ids: wanted[i] })));
    const results = await Promise.all(
      responses.map(async (response) => ({
        status: response.status,
        body: (await response.json()) as Record<string, unknown>,
      })),
    );

    const winners = results.flatMap((r, i) => (r.status === 201 ? [{ i, hold: r.body as unknown as HoldView }] : []));
    const losers = results.flatMap((r, i) => (r.status === 409 ? [{ i, body: r.body }] : []));
    expect(winners.length + losers.length).toBe(40);
    expect(winners.length).toBeGreaterThan(0);
    expect(losers.length).toBeGreaterThan(0);

    const heldBy = new Map<string, number>();
    for (const { i, hold } of winners) {
      expect(hold.seat_ids.sort()).toEqual([...wanted[i]!].sort());
      for (const seat of hold.seat_ids) {
        expect(heldBy.has(seat), `${seat} held twice`).toBe(false);
        heldBy.set(seat, i);
      }
    }
    for (const { i, body } of losers) {
      expect(body.code).toBe("seats_unavailable");
      const lost = body.seat_ids as string[];
      expect(lost.length).toBeGreaterThan(0);
      for (const seat of lost) {
        expect(wanted[i]).toContain(seat);
        expect(heldBy.has(seat), `${seat} was named lost but nobody holds it`).toBe(true);
      }
    }
    const counts = await env.SHOW.getByName(showId).counts();
    expect(counts.held).toBe(heldBy.size);
    expect(counts.available + counts.held + counts.sold + counts.blocked).toBe(counts.capacity);
    expect(counts.capacity).toBe(12);
  });
});
