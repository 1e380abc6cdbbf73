import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { and, eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { ShowDO } from "../durable-objects/show";
import type { HoldView } from "../durable-objects/types";
import type { SeatMap } from "../src/catalog/seat-map";
import { withDatabase } from "../src/db/client";
import { tickets } from "../src/db/schema";
import { createShow, gridSeatMap, json } from "./fixtures";
import { api, bearer, problem } from "./helpers";
import {
  confirmPayment,
  expireHoldsAt,
  type Fan,
  holdSeats,
  newFan,
  type OrderCreated,
  placeOrder,
  ticketsOf,
} from "./payments-helpers";

/** Seated section A (3 × 4) and a general-admission floor of `capacity`, at €50 and €30. */
function mixedMap(capacity: number): SeatMap {
  const map = gridSeatMap({ sections: ["A"] });
  map.sections.push({
    id: "FLOOR",
    name: "Standing floor",
    shape: {
      type: "polygon",
      points: [
        [0, 100],
        [200, 100],
        [200, 200],
        [0, 200],
      ],
    },
    ga_capacity: capacity,
    rows: [],
  });
  return map;
}

const mixedShow = (capacity: number, ticketLimit = 8) =>
  createShow({
    map: mixedMap(capacity),
    ticketLimit,
    tiers: [
      { name: "Seated", price_cents: 5000, sections: ["A"] },
      { name: "Floor", price_cents: 3000, sections: ["FLOOR"] },
    ],
  });

const holdGa = (showId: string, fan: Fan, quantity: number, key = crypto.randomUUID()) =>
  api(`/v1/shows/${showId}/holds`, {
    method: "POST",
    headers: { ...fan.auth, "idempotency-key": key },
    json: { section_id: "FLOOR", quantity },
  });

/** The floor as the Show DO counts it now (the public overlay is cached at the edge for a second). */
const floor = async (showId: string) => {
  const overlay = (await env.SHOW.getByName(showId).availability("FLOOR"))!;
  return { ...overlay.sections.find((s) => s.section_id === "FLOOR")!, seats: overlay.seats };
};

async function buyGa(showId: string, fan: Fan, quantity: number) {
  const hold = await json<HoldView>(await holdGa(showId, fan, quantity), 201);
  const order = await json<OrderCreated>(await placeOrder(fan, hold.hold_id), 201);
  await json(await confirmPayment(fan, order.payment.payment_id, { payment_method: "pm_card_visa" }), 200);
  return { hold, order };
}

describe("general admission", () => {
  it("holds capacity by quantity, sells tickets with a section and a number (no seat), and the gate admits them", async () => {
    const { organizer, showId } = await mixedShow(5);
    const overlay = await json<{ sections: { section_id: string; available: number; total: number }[]; seats: [] }>(
      await api(`/v1/shows/${showId}/seat-map?section=FLOOR`),
      200,
    );
    expect(overlay.seats).toEqual([]);
    expect(overlay.sections.find((s) => s.section_id === "FLOOR")).toMatchObject({ available: 5, total: 5 });

    const fan = await newFan();
    const seated = await holdSeats(showId, fan, ["A-1-1"]);
    expect(seated.ga).toBeNull();
    const held = await json<HoldView>(await holdGa(showId, fan, 2), 201);
    expect(held).toMatchObject({ seat_ids: [], ga: { section_id: "FLOOR", quantity: 2 }, price_cents: 6000 });
    expect(await floor(showId)).toMatchObject({ available: 3 });

    const order = await json<OrderCreated>(await placeOrder(fan, held.hold_id), 201);
    expect(order.total_cents).toBe(6000);
    await json(await confirmPayment(fan, order.payment.payment_id, { payment_method: "pm_card_visa" }), 200);
    const view = await json<{
      items: { seat_id: string | null; section_id: string; ga_number: number | null }[];
      tickets: { ticket_id: string; seat_id: string | null; section_id: string; ga_number: number | null }[];
    }>(await api(`/v1/orders/${order.order_id}`, { headers: fan.auth }), 200);
    expect(view.items.map((i) => [i.seat_id, i.section_id, i.ga_number])).toEqual([
      [null, "FLOOR", 1],
      [null, "FLOOR", 2],
    ]);
    expect(view.tickets.map((t) => [t.seat_id, t.section_id, t.ga_number])).toEqual([
      [null, "FLOOR", 1],
      [null, "FLOOR", 2],
    ]);
    const rows = await ticketsOf(order.order_id);
    expect(rows.map((t) => [t.seatId, t.gaSectionId, t.gaNumber, t.placeId]).sort()).toEqual([
      [null, "FLOOR", 1, "FLOOR#1"],
      [null, "FLOOR", 2, "FLOOR#2"],
    ]);

    const ticketId = view.tickets[0]!.ticket_id;
    const ticket = await json<{ seat_id: string | null; section: string; row: string | null; ga_number: number }>(
      await api(`/v1/tickets/${ticketId}`, { headers: fan.auth }),
      200,
    );
    expect(ticket).toMatchObject({ seat_id: null, section: "FLOOR", row: null, seat: null, ga_number: 1 });
    const pdf = await api(`/v1/tickets/${ticketId}/pdf`, { headers: fan.auth });
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get("content-type")).toBe("application/pdf");
    const qr = await api(`/v1/tickets/${ticketId}/qr.svg`, { headers: fan.auth });
    expect(qr.status).toBe(200);

    const { barcode } = await json<{ barcode: string }>(
      await api(`/v1/tickets/${ticketId}`, { headers: fan.auth }),
      200,
    );
    const scan = () =>
      api(`/v1/admin/shows/${showId}/check-ins`, { method: "POST", headers: bearer(organizer.key), json: { barcode } });
    expect(await json(await scan(), 200)).toMatchObject({
      result: "valid",
      ticket_id: ticketId,
      seat_id: null,
      section_id: "FLOOR",
      ga_number: 1,
    });
    expect(await json(await scan(), 200)).toMatchObject({ result: "already_checked_in" });
  });

  it("GA and seats count together toward the per-fan limit; a place id is no seat; too many is refused", async () => {
    const { showId } = await mixedShow(5, 4);
    const fan = await newFan();
    await holdSeats(showId, fan, ["A-1-1", "A-1-2"]);
    expect(await problem(await holdGa(showId, fan, 3))).toMatchObject({ status: 409, code: "limit_exceeded" });
    await json(await holdGa(showId, fan, 2), 201);
    expect(await problem(await holdGa(showId, fan, 1))).toMatchObject({ code: "limit_exceeded" });

    const other = await newFan();
    const byId = await api(`/v1/shows/${showId}/holds`, {
      method: "POST",
      headers: { ...other.auth, "idempotency-key": "k" },
      json: { seat_ids: ["FLOOR#5"] },
    });
    expect(await problem(byId)).toMatchObject({ status: 422, code: "unknown_seats" });
    expect(await problem(await holdGa(showId, other, 4))).toMatchObject({
      status: 409,
      code: "insufficient_availability",
    });
    expect(await floor(showId)).toMatchObject({ available: 3 });
  });

  it("expiry and release put capacity back; a replay returns the same GA hold", async () => {
    const { showId } = await mixedShow(3);
    const fan = await newFan();
    const first = await json<HoldView>(await holdGa(showId, fan, 2, "same"), 201);
    const replay = await json<HoldView>(await holdGa(showId, fan, 2, "same"), 201);
    expect(replay.hold_id).toBe(first.hold_id);
    expect(await floor(showId)).toMatchObject({ available: 1 });
    await expireHoldsAt(showId, first.expires_at_ms + 1);
    expect(await floor(showId)).toMatchObject({ available: 3 });

    const again = await json<HoldView>(await holdGa(showId, fan, 3), 201);
    await json(await api(`/v1/holds/${again.hold_id}`, { method: "DELETE", headers: fan.auth }), 200);
    expect(await floor(showId)).toMatchObject({ available: 3 });
  });

  it("a partial refund of GA tickets puts that capacity back; the rest stay valid", async () => {
    const { organizer, showId } = await mixedShow(4);
    const fan = await newFan();
    const { order } = await buyGa(showId, fan, 3);
    expect(await floor(showId)).toMatchObject({ available: 1 });
    const [first] = (await ticketsOf(order.order_id)).sort((a, b) => a.gaNumber! - b.gaNumber!);
    const refunded = await api(`/v1/admin/orders/${order.order_id}/refund`, {
      method: "POST",
      headers: { ...bearer(organizer.key), "idempotency-key": "r1" },
      json: { ticket_ids: [first!.id] },
    });
    expect(refunded.status).toBe(200);
    expect(await floor(showId)).toMatchObject({ available: 2 });
    const statuses = (await ticketsOf(order.order_id)).map((t) => [t.gaNumber, t.status]).sort();
    expect(statuses).toEqual([
      [1, "void"],
      [2, "valid"],
      [3, "valid"],
    ]);
    // The place refunded is sold again, under a new ticket with the same number.
    const next = await buyGa(showId, await newFan(), 2);
    const numbers = (await ticketsOf(next.order.order_id)).map((t) => t.gaNumber).sort();
    expect(numbers).toEqual([1, 4]);
  });

  it("the organizer blocks and unblocks GA capacity by quantity; bad requests are problems that change nothing", async () => {
    const { organizer, showId } = await mixedShow(5);
    const block = (body: object, action = "block") =>
      api(`/v1/admin/shows/${showId}/seats/${action}`, { method: "POST", headers: bearer(organizer.key), json: body });
    const blocked = await json<{ changed: string[]; counts: { blocked: number } }>(
      await block({ section_id: "FLOOR", quantity: 2, reason: "production_kill" }),
      200,
    );
    expect(blocked.changed).toHaveLength(2);
    expect(await floor(showId)).toMatchObject({ available: 3 });
    expect(await problem(await block({ section_id: "FLOOR", quantity: 4, reason: "other" }))).toMatchObject({
      status: 409,
      code: "insufficient_availability",
    });
    expect(await problem(await block({ section_id: "A", quantity: 1, reason: "other" }))).toMatchObject({
      status: 422,
      code: "unknown_section",
    });
    expect(await problem(await block({ section_id: "FLOOR", quantity: 3 }, "unblock"))).toMatchObject({
      code: "insufficient_availability",
    });
    // A GA place id is no seat, for the organizer either: capacity is blocked by quantity only.
    expect(await problem(await block({ seat_ids: ["FLOOR#5"], reason: "other" }))).toMatchObject({
      status: 422,
      code: "unknown_seats",
    });
    expect(await problem(await block({ seat_ids: ["FLOOR#1"] }, "unblock"))).toMatchObject({
      status: 422,
      code: "unknown_seats",
    });
    expect(await floor(showId)).toMatchObject({ available: 3 });
    await json(await block({ section_id: "FLOOR", quantity: 2 }, "unblock"), 200);
    expect(await floor(showId)).toMatchObject({ available: 5 });
  });

  it("race: concurrent GA holds through the Worker never take, nor sell, more than the capacity", async () => {
    const CAPACITY = 7;
    const { showId } = await mixedShow(CAPACITY);
    const fans = await Promise.all(Array.from({ length: 16 }, () => newFan()));
    const attempts = await Promise.all(fans.map((fan, i) => holdGa(showId, fan, 1 + (i % 3))));
    const won: { fan: Fan; hold: HoldView }[] = [];
    for (const [i, response] of attempts.entries()) {
      if (response.status === 201) won.push({ fan: fans[i]!, hold: (await response.json()) as HoldView });
      else expect((await problem(response)).code).toBe("insufficient_availability");
    }
    const held = won.reduce((n, w) => n + w.hold.ga!.quantity, 0);
    expect(held).toBeLessThanOrEqual(CAPACITY);
    expect(held).toBeGreaterThan(CAPACITY - 3);

    await Promise.all(
      won.map(async ({ fan, hold }) => {
        const order = await json<OrderCreated>(await placeOrder(fan, hold.hold_id), 201);
        await json(await confirmPayment(fan, order.payment.payment_id, { payment_method: "pm_card_visa" }), 200);
      }),
    );
    const valid = await withDatabase(env, (db) =>
      db
        .select({ number: tickets.gaNumber })
        .from(tickets)
        .where(
          and(
            eq(tickets.showId, showId),
            eq(tickets.gaSectionId, "FLOOR"),
            inArray(tickets.status, ["valid", "checked_in"]),
          ),
        ),
    );
    expect(valid.length).toBe(held);
    expect(valid.length).toBeLessThanOrEqual(CAPACITY);
    expect(new Set(valid.map((t) => t.number)).size).toBe(valid.length);
    expect(valid.every((t) => t.number! >= 1 && t.number! <= CAPACITY)).toBe(true);
    const counts = await env.SHOW.getByName(showId).counts();
    expect(counts.sold).toBe(held);
  });

  it("the live feed carries a GA section's count, never its places; the waitlist offers GA capacity", async () => {
    const { organizer, showId } = await mixedShow(3);
    const stub = env.SHOW.getByName(showId);
    const fan = await newFan();
    const { order } = await buyGa(showId, fan, 2);
    // A hold and the publication in one turn of the object, so the batch timer cannot send it first.
    const batch = await runInDurableObject(stub, (instance: ShowDO) => {
      const held = instance.hold({
        fan_id: "fan_live",
        idempotency_key: "k",
        request_hash: "h",
        section_id: "FLOOR",
        quantity: 1,
      });
      if (held.ok) instance.sellHold(held.hold.hold_id);
      return instance.publishLive();
    });
    expect(batch!.sections).toEqual([{ section_id: "FLOOR", available: 0 }]);
    expect(batch!.seats).toEqual({ FLOOR: {} });
    const snapshot = await stub.liveSnapshot(["FLOOR", "A"]);
    expect(snapshot!.seats.FLOOR).toEqual({});
    expect(Object.keys(snapshot!.seats.A!)).toHaveLength(12);

    const waiting = await newFan();
    const joined = await api(`/v1/shows/${showId}/waitlist`, {
      method: "POST",
      headers: waiting.auth,
      json: { quantity: 1, section_id: "FLOOR" },
    });
    expect(joined.status).toBe(200);
    const sold = await ticketsOf(order.order_id);
    const refunded = await api(`/v1/admin/orders/${order.order_id}/refund`, {
      method: "POST",
      headers: { ...bearer(organizer.key), "idempotency-key": "r1" },
      json: { ticket_ids: [sold.find((t) => t.gaNumber === 2)!.id] },
    });
    expect(refunded.status).toBe(200);
    const entry = await stub.waitlistStatus(waiting.id);
    expect(entry).toMatchObject({ status: "offered" });
    const offer = await json<HoldView>(await api(`/v1/holds/${entry!.offer_hold_id}`, { headers: waiting.auth }), 200);
    expect(offer).toMatchObject({ seat_ids: [], ga: { section_id: "FLOOR", quantity: 1 }, status: "active" });
  });
});
