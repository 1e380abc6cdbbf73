import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ShowDO } from "../durable-objects/show";
import { createShow, gridSeatMap, json } from "./fixtures";
import { api, bearer, problem } from "./helpers";
import {
  confirmPayment,
  expireHoldsAt,
  holdSeats,
  intentOf,
  newFan,
  type OrderCreated,
  orderRow,
  placeOrder,
  standin,
  ticketsOf,
} from "./payments-helpers";

// The per-fan limit against every sequence of hold / release / order / pay / expire / waitlist
// / replay, and the side doors around it, checked against the Show DO's own storage.

type Stub = DurableObjectStub<ShowDO>;

const setClock = (stub: Stub, at: number) =>
  runInDurableObject(stub, (instance: ShowDO) => {
    instance.clock = () => at;
  });

const runAlarm = (stub: Stub) => runInDurableObject(stub, async (instance: ShowDO) => instance.alarm());

/** Seats each fan owns, read from the seats themselves (held or sold), not from the holds' bookkeeping. */
const seatsByFan = (stub: Stub) =>
  runInDurableObject(stub, (_, state) =>
    Object.fromEntries(
      state.storage.sql
        .exec<{ fan_id: string; n: number }>(
          `SELECT holds.fan_id, count(*) AS n FROM seats JOIN holds ON holds.hold_id = seats.hold_id
           WHERE seats.status IN ('held', 'sold') GROUP BY holds.fan_id`,
        )
        .toArray()
        .map((row) => [row.fan_id, row.n]),
    ),
  );

const holdRequest = (fan: string, key: string, seatIds: string[]) => ({
  fan_id: fan,
  idempotency_key: key,
  request_hash: `hash:${seatIds.join(",")}`,
  seat_ids: seatIds,
});

async function limitedShow(seats: number, ticketLimit: number, extra: Parameters<typeof createShow>[0] = {}) {
  const show = await createShow({
    map: gridSeatMap({ sections: ["A"], rows: 1, seats }),
    ticketLimit,
    ...extra,
  });
  return { ...show, stub: env.SHOW.getByName(show.showId) };
}

/** Rows SQLite read while `work` ran inside the object (every collaborator shares one SqlStorage). */
function rowsReadBy(stub: Stub, work: (instance: ShowDO) => void): Promise<number> {
  return runInDurableObject(stub, (instance: ShowDO, state) => {
    const sql = state.storage.sql;
    const exec = sql.exec;
    const cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];
    sql.exec = ((query: string, ...bindings: unknown[]) => {
      const cursor = exec.call(sql, query, ...bindings);
      cursors.push(cursor);
      return cursor;
    }) as typeof sql.exec;
    try {
      work(instance);
    } finally {
      sql.exec = exec;
    }
    return cursors.reduce((n, cursor) => n + cursor.rowsRead, 0);
  });
}

describe("one cheap request costs the Show DO little", () => {
  it("the overlay and a waitlist join read per section, not per seat", async () => {
    const map = gridSeatMap({ sections: ["A", "B", "C", "D"], rows: 20, seats: 50 });
    const show = await createShow({ map });
    const stub = env.SHOW.getByName(show.showId);
    const overlay = await rowsReadBy(stub, (instance) => expect(instance.availability()?.sections).toHaveLength(4));
    const join = await rowsReadBy(stub, (instance) =>
      expect(instance.joinWaitlist("fan_cheap", null, 1, "A")).toMatchObject({ code: "not_sold_out" }),
    );
    // 4,000 seats: a scan of them would read thousands of rows.
    expect(overlay).toBeGreaterThan(0);
    expect(overlay).toBeLessThan(50);
    expect(join).toBeLessThan(50);
  });
});

describe("the per-fan limit holds against any sequence", () => {
  it("property: held + bought seats never exceed the limit, and the tallies match the seats", async () => {
    const SEATS = Array.from({ length: 6 }, (_, i) => `A-1-${i + 1}`);
    const LIMIT = 2;
    const FANS = ["fan_p0", "fan_p1"];
    const seatList = fc.uniqueArray(fc.constantFrom(...SEATS), { minLength: 1, maxLength: 2 });
    const step = fc.oneof(
      { weight: 4, arbitrary: fc.record({ kind: fc.constant("hold" as const), fan: fc.nat(1), seats: seatList }) },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant("best" as const),
          fan: fc.nat(1),
          quantity: fc.integer({ min: 1, max: 2 }),
        }),
      },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant("release" as const), fan: fc.nat(1), pick: fc.nat(9) }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant("order" as const), fan: fc.nat(1), pick: fc.nat(9) }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant("pay" as const), fan: fc.nat(1), pick: fc.nat(9) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("replay" as const), fan: fc.nat(1), pick: fc.nat(9) }) },
      {
        weight: 2,
        arbitrary: fc.record({
          kind: fc.constant("expire" as const),
          advance: fc.integer({ min: 0, max: 20 * 60_000 }),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant("waitlist" as const),
          fan: fc.nat(1),
          quantity: fc.integer({ min: 1, max: 2 }),
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("leave" as const), fan: fc.nat(1) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("block" as const), seats: seatList }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("unblock" as const), seats: seatList }) },
    );

    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 30 }), async (steps) => {
        // A fresh show per run, so runs never share state; seeded straight into its DO.
        const showId = `shw_prop${run}x${crypto.randomUUID().slice(0, 8)}`;
        const stub = env.SHOW.getByName(showId);
        await stub.initialize({
          show_id: showId,
          venue_id: "ven_prop",
          seat_map_version: 1,
          on_sale_at_ms: 0,
          ticket_limit: LIMIT,
          hold_ttl_ms: 5 * 60_000,
          currency: "EUR",
          seats: SEATS.map((seatId, i) => ({
            seat_id: seatId,
            section_id: "A",
            row: "1",
            row_index: 0,
            seat_index: i,
            accessible: false,
            tier_id: "tir_prop",
            price_cents: 1000 + (i % 2) * 500,
            blocked: false,
          })),
        });
        let now = Date.now();
        await setClock(stub, now);
        const holds: { fan: string; id: string; key: string; seats: string[] }[] = [];
        const own = (fan: string, pick: number) => {
          const mine = holds.filter((h) => h.fan === fan);
          return mine[pick % Math.max(mine.length, 1)];
        };
        for (const s of steps) {
          const fan = "fan" in s ? FANS[s.fan]! : "";
          if (s.kind === "hold" || s.kind === "best") {
            const key = `k${run}-${holds.length}-${Math.random()}`;
            const outcome =
              s.kind === "hold"
                ? await stub.hold(holdRequest(fan, key, s.seats))
                : await stub.hold({
                    fan_id: fan,
                    idempotency_key: key,
                    request_hash: "best",
                    section_id: "A",
                    quantity: s.quantity,
                  });
            if (outcome.ok) holds.push({ fan, id: outcome.hold.hold_id, key, seats: outcome.hold.seat_ids });
          } else if (s.kind === "release") {
            const target = own(fan, s.pick);
            if (target) await stub.release(fan, target.id);
          } else if (s.kind === "order") {
            const target = own(fan, s.pick);
            if (target) await stub.beginCheckout(fan, target.id, `ord_${target.id}`, 15 * 60_000);
          } else if (s.kind === "pay") {
            // A payment can arrive for any hold that ever got an order, at any time (late too).
            const target = own(fan, s.pick);
            if (target) {
              const checkout = await stub.beginCheckout(fan, target.id, `ord_${target.id}`, 15 * 60_000);
              if (checkout.ok || (await stub.getHold(fan, target.id))?.status !== "active")
                await stub.sellHold(target.id);
            }
          } else if (s.kind === "replay") {
            const target = own(fan, s.pick);
            if (target) await stub.hold(holdRequest(fan, target.key, target.seats));
          } else if (s.kind === "expire") {
            now += s.advance;
            await setClock(stub, now);
            await runAlarm(stub);
          } else if (s.kind === "waitlist") {
            await stub.joinWaitlist(fan, null, s.quantity, null);
          } else if (s.kind === "leave") {
            await stub.leaveWaitlist(fan);
          } else if (s.kind === "block") {
            await stub.block(s.seats, "other");
          } else {
            await stub.unblock(s.seats);
          }
          for (const [owner, n] of Object.entries(await seatsByFan(stub))) {
            expect(n, `${owner} after ${JSON.stringify(s)}`).toBeLessThanOrEqual(LIMIT);
          }
        }
        const tallies = await runInDurableObject(stub, (_, state) => ({
          tallied: state.storage.sql
            .exec("SELECT status, sum(n) AS n FROM seat_tallies GROUP BY status HAVING sum(n) > 0 ORDER BY status")
            .toArray(),
          counted: state.storage.sql
            .exec("SELECT status, count(*) AS n FROM seats GROUP BY status ORDER BY status")
            .toArray(),
        }));
        expect(tallies.tallied).toEqual(tallies.counted);
        run++;
      }),
      { numRuns: 80 },
    );
  }, 120_000);

  it("the scalper's door is shut: a hold in checkout cannot be released to hold the limit again", async () => {
    const { showId } = await limitedShow(16, 8);
    const fan = await newFan();
    const first = await holdSeats(
      showId,
      fan,
      Array.from({ length: 8 }, (_, i) => `A-1-${i + 1}`),
    );
    await json<OrderCreated>(await placeOrder(fan, first.hold_id), 201);
    const release = await api(`/v1/holds/${first.hold_id}`, { method: "DELETE", headers: fan.auth });
    expect(release.status).toBe(409);
    expect((await problem(release)).code).toBe("hold_in_checkout");
    // The order still holds the seats, so the limit is still taken.
    const again = await api(`/v1/shows/${showId}/holds`, {
      method: "POST",
      headers: { ...fan.auth, "idempotency-key": crypto.randomUUID() },
      json: { seat_ids: ["A-1-9", "A-1-10"] },
    });
    expect((await problem(again)).code).toBe("limit_exceeded");
    expect(await env.SHOW.getByName(showId).counts()).toMatchObject({ held: 8, available: 8 });
  });

  it("a late payment for a lapsed hold re-checks the limit; on a cancelled show it is refused", async () => {
    const { stub } = await limitedShow(6, 2);
    const t0 = Date.now();
    await setClock(stub, t0);
    const first = await stub.hold(holdRequest("fan_late", "a", ["A-1-1", "A-1-2"]));
    if (!first.ok) throw new Error(first.code);
    expect((await stub.beginCheckout("fan_late", first.hold.hold_id, "ord_late_1", 60_000)).ok).toBe(true);
    // The payment window lapses; the fan holds and buys two other seats.
    await setClock(stub, t0 + 60 * 60_000);
    await runAlarm(stub);
    const second = await stub.hold(holdRequest("fan_late", "b", ["A-1-3", "A-1-4"]));
    if (!second.ok) throw new Error(second.code);
    await stub.beginCheckout("fan_late", second.hold.hold_id, "ord_late_2", 60_000);
    expect((await stub.sellHold(second.hold.hold_id)).ok).toBe(true);
    // Now the first payment arrives: its seats are free, but taking them would make four.
    expect(await stub.sellHold(first.hold.hold_id)).toEqual({ ok: false, code: "limit_exceeded", limit: 2 });
    expect(await seatsByFan(stub)).toEqual({ fan_late: 2 });

    const other = await stub.hold(holdRequest("fan_cancel", "c", ["A-1-5"]));
    if (!other.ok) throw new Error(other.code);
    await stub.beginCheckout("fan_cancel", other.hold.hold_id, "ord_cancel", 60_000);
    await stub.cancel();
    expect(await stub.sellHold(other.hold.hold_id)).toEqual({ ok: false, code: "show_cancelled" });
    expect(await stub.counts()).toMatchObject({ sold: 2, held: 0 });
  });
});

describe("partial refunds in the Show DO", () => {
  it("refunded seats go back on sale and stop counting against the fan's limit; the rest stay sold", async () => {
    const { stub } = await limitedShow(4, 3);
    const bought = await stub.hold(holdRequest("fan_partial", "p", ["A-1-1", "A-1-2", "A-1-3"]));
    if (!bought.ok) throw new Error(bought.code);
    await stub.beginCheckout("fan_partial", bought.hold.hold_id, "ord_partial", 60_000);
    expect((await stub.sellHold(bought.hold.hold_id)).ok).toBe(true);
    expect((await stub.hold(holdRequest("fan_partial", "q", ["A-1-4"]))).ok).toBe(false);

    expect(await stub.refundSeats(bought.hold.hold_id, ["A-1-2", "A-1-9"])).toEqual({ returned: ["A-1-2"] });
    expect(await stub.refundSeats(bought.hold.hold_id, ["A-1-2"])).toEqual({ returned: [] });
    expect(await stub.counts()).toMatchObject({ sold: 2, available: 2 });
    expect(await seatsByFan(stub)).toEqual({ fan_partial: 2 });
    expect((await stub.hold(holdRequest("fan_partial", "r", ["A-1-4"]))).ok).toBe(true);
    // Finalize running again for the order changes nothing.
    expect(await stub.sellHold(bought.hold.hold_id)).toEqual({ ok: true, seat_ids: ["A-1-1", "A-1-3"] });
    expect(await stub.counts()).toMatchObject({ sold: 2, held: 1, available: 1 });
  });
});

describe("the per-fan limit end to end, through Stripe", () => {
  it("a lapsed order paid after the fan bought the limit again is refunded, never ticketed", async () => {
    const { showId } = await limitedShow(16, 8);
    const fan = await newFan();
    const seats = (from: number) => Array.from({ length: 8 }, (_, i) => `A-1-${from + i}`);
    const first = await holdSeats(showId, fan, seats(1));
    const lapsed = await json<OrderCreated>(await placeOrder(fan, first.hold_id), 201);
    await expireHoldsAt(showId, Date.now() + 20 * 60_000);

    const second = await holdSeats(showId, fan, seats(9));
    const bought = await json<OrderCreated>(await placeOrder(fan, second.hold_id), 201);
    const paid = await json<{ order_status: string }>(
      await confirmPayment(fan, bought.payment.payment_id, { payment_method: "pm_card_visa" }),
      200,
    );
    expect(paid.order_status).toBe("confirmed");

    // The fan pays the lapsed order anyway: its seats are free, but they would make sixteen.
    // Another card: the same card would be refused before the charge by the per-card cap
    // (test/abuse-card-limit.test.ts); this door is the per-fan limit's.
    // Paid in the browser (the confirm route refuses a lapsed hold before any charge).
    expect((await standin.payInBrowser(await intentOf(lapsed.order_id), "pm_card_mastercard")).status).toBe(200);
    expect((await orderRow(lapsed.order_id)).status).toMatch(/^refund(ed|_pending)$/);
    expect((await ticketsOf(lapsed.order_id)).filter((t) => t.status === "valid")).toHaveLength(0);
    expect((await ticketsOf(bought.order_id)).filter((t) => t.status === "valid")).toHaveLength(8);
    expect(await env.SHOW.getByName(showId).counts()).toMatchObject({ sold: 8, available: 8 });
  });
});

describe("the waitlist is no side door", () => {
  const blockAll = (stub: Stub, seats: number) =>
    stub.block(
      Array.from({ length: seats }, (_, i) => `A-1-${i + 1}`),
      "other",
    );

  it("not before the on-sale time, not around the waiting room, and only when sold (not merely held) out", async () => {
    const early = await limitedShow(2, 4, { onSaleAt: new Date(Date.now() + 86_400_000).toISOString() });
    await blockAll(early.stub, 2);
    expect(await early.stub.joinWaitlist("fan_w1", null, 1, null)).toMatchObject({
      ok: false,
      code: "show_not_on_sale",
    });

    const roomed = await limitedShow(2, 4);
    await json(
      await api(`/v1/admin/shows/${roomed.showId}/waiting-room`, {
        method: "PATCH",
        headers: bearer(roomed.organizer.key),
        json: { enabled: true },
      }),
      200,
    );
    // Seats left: the queue still has turns to give, and only an admitted fan may wait for more.
    await roomed.stub.block(["A-1-1"], "other");
    expect(await roomed.stub.joinWaitlist("fan_w2", null, 1, null)).toEqual({ ok: false, code: "admission_required" });
    // Sold out as a whole: the line has no turn to give, and is sent to the waitlist; a fan who
    // never came through the door (no queue ticket, checked at the edge) is not.
    await blockAll(roomed.stub, 2);
    expect(await roomed.stub.joinWaitlist("fan_w2", null, 1, null)).toEqual({ ok: false, code: "admission_required" });
    expect(await roomed.stub.joinWaitlist("fan_w2", null, 1, null, true)).toMatchObject({
      ok: true,
      entry: { status: "waiting" },
    });

    const held = await limitedShow(2, 4);
    const hold = await held.stub.hold(holdRequest("fan_holder", "h", ["A-1-1", "A-1-2"]));
    expect(hold.ok).toBe(true);
    expect(await held.stub.joinWaitlist("fan_w3", null, 1, null)).toEqual({ ok: false, code: "not_sold_out" });
    // Sold or blocked is sold out.
    await held.stub.beginCheckout("fan_holder", (hold as { hold: { hold_id: string } }).hold.hold_id, "ord_h", 60_000);
    await held.stub.sellHold((hold as { hold: { hold_id: string } }).hold.hold_id);
    expect(await held.stub.joinWaitlist("fan_w3", null, 1, null)).toMatchObject({
      ok: true,
      entry: { status: "waiting" },
    });
  });

  it("a fan who pre-uses the waitlist's internal keys jams nothing: every entry is served", async () => {
    const { stub } = await limitedShow(3, 4);
    // The jammer buys a seat under the key an internal offer used to take (`waitlist:<entry>`).
    const jam = await stub.hold(holdRequest("fan_jammer", "waitlist:1", ["A-1-1"]));
    if (!jam.ok) throw new Error(jam.code);
    await stub.beginCheckout("fan_jammer", jam.hold.hold_id, "ord_jam", 60_000);
    await stub.sellHold(jam.hold.hold_id);
    await stub.block(["A-1-2", "A-1-3"], "other");
    expect((await stub.joinWaitlist("fan_jammer", null, 1, null)).ok).toBe(true);
    expect((await stub.joinWaitlist("fan_behind", null, 1, null)).ok).toBe(true);

    expect((await stub.unblock(["A-1-2", "A-1-3"])).ok).toBe(true);
    expect(await stub.waitlistStatus("fan_jammer")).toMatchObject({ status: "offered" });
    expect(await stub.waitlistStatus("fan_behind")).toMatchObject({ status: "offered" });
  });

  it("serving the waitlist costs what came back, not the length of the list", async () => {
    const { stub } = await limitedShow(400, 8);
    const seats = Array.from({ length: 400 }, (_, i) => `A-1-${i + 1}`);
    await stub.block(seats, "other");
    for (let i = 0; i < 300; i++) expect((await stub.joinWaitlist(`fan_q${i}`, null, 2, null)).ok).toBe(true);
    // One seat comes back: nobody in the list can use one seat alone.
    const rowsRead = await rowsReadBy(stub, (instance) => expect(instance.unblock(["A-1-1"]).ok).toBe(true));
    expect(await stub.waitlistStatus("fan_q0")).toMatchObject({ status: "waiting", position: 1 });
    // Reading the 300 entries alone would be 300 rows; scanning seats per entry, 100,000s.
    expect(rowsRead).toBeGreaterThan(0);
    expect(rowsRead).toBeLessThan(100);
  });
});

describe("queue order at opening", () => {
  it("a fan who joins after opens_at but before the first tick goes behind the whole shuffled pre-queue", async () => {
    const { showId, organizer, stub } = await limitedShow(4, 4);
    const opensAt = Date.now() + 60_000;
    await json(
      await api(`/v1/admin/shows/${showId}/waiting-room`, {
        method: "PATCH",
        headers: bearer(organizer.key),
        json: { enabled: true, opens_at: new Date(opensAt).toISOString() },
      }),
      200,
    );
    await setClock(stub, opensAt - 10_000);
    for (let i = 0; i < 20; i++) expect((await stub.joinQueue(`fan_pre${i}`)).ok).toBe(true);
    // Opening time passes; the late fan arrives before any tick has run.
    await setClock(stub, opensAt + 100);
    const late = await stub.joinQueue("fan_late");
    if (!late.ok) throw new Error(late.code);
    const pre = await runInDurableObject(stub, (_, state) =>
      state.storage.sql
        .exec<{ key_ms: number }>("SELECT key_ms FROM room_queue WHERE fan_id LIKE 'fan_pre%'")
        .toArray(),
    );
    expect(pre.every((place) => place.key_ms === 0)).toBe(true);
    expect(late.value.key.ms).toBeGreaterThan(0);
    // Admitted: the whole pre-queue first, then the late fan.
    for (let s = 1; s <= 4; s++) {
      await setClock(stub, opensAt + s * 1000);
      await runAlarm(stub);
    }
    const order = await runInDurableObject(stub, (_, state) =>
      state.storage.sql
        .exec<{ fan_id: string }>("SELECT fan_id FROM room_queue WHERE seq IS NOT NULL ORDER BY seq")
        .toArray()
        .map((r) => r.fan_id),
    );
    expect(order).toHaveLength(21);
    expect(order.at(-1)).toBe("fan_late");
  });
});

describe("the alarm never awaits the outside world", () => {
  it("admission, expiry and waitlist offers run while the notices' Queue hangs", async () => {
    const { showId, organizer, stub } = await limitedShow(2, 4, { holdTtlS: 60 });
    const room = (json_: object) =>
      api(`/v1/admin/shows/${showId}/waiting-room`, { method: "PATCH", headers: bearer(organizer.key), json: json_ });
    await stub.block(["A-1-1", "A-1-2"], "other");
    expect((await stub.joinWaitlist("fan_w_first", null, 1, null)).ok).toBe(true);
    expect((await stub.joinWaitlist("fan_w_second", null, 1, null)).ok).toBe(true);
    await json(await room({ enabled: true, admit_per_minute: 60_000 }), 200);
    expect((await stub.joinQueue("fan_in_line")).ok).toBe(true);
    await stub.unblock(["A-1-1"]);
    expect(await stub.waitlistStatus("fan_w_first")).toMatchObject({ status: "offered" });

    // From here every send to the outside world hangs for ever.
    await runInDurableObject(stub, (instance: ShowDO) => {
      const hang = () => new Promise<never>(() => {});
      const self = instance as unknown as { env: Env };
      self.env = { ...self.env, NOTIFICATIONS: { send: hang, sendBatch: hang } as unknown as Queue };
    });
    // The first offer lapses: the alarm expires it, offers the seat on, and admits the queue.
    await setClock(stub, Date.now() + 2 * 60_000);
    const outcome = await Promise.race([
      runAlarm(stub).then(() => "ran" as const),
      new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), 5_000)),
    ]);
    expect(outcome).toBe("ran");
    expect(await stub.waitlistStatus("fan_w_first")).toMatchObject({ status: "lapsed" });
    expect(await stub.waitlistStatus("fan_w_second")).toMatchObject({ status: "offered" });
    // Every seat is held (the offer) or blocked: the queue is truthfully held back.
    const heldBack = await stub.roomStats();
    expect(heldBack.ok && heldBack.value).toMatchObject({
      admitted_last_minute: 0,
      admission_held_back: "nothing_available",
    });
    // A seat comes back with nobody left on the waitlist: the next tick admits the line.
    await stub.unblock(["A-1-2"]);
    await setClock(stub, Date.now() + 2 * 60_000 + 1_000);
    await runAlarm(stub);
    const stats = await stub.roomStats();
    expect(stats.ok && stats.value.admitted_last_minute).toBe(1);
    // The notice waits in the DO's outbox for the Queue to come back.
    const unsent = await runInDurableObject(
      stub,
      (_, state) =>
        state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM notices WHERE sent_at_ms IS NULL").one().n,
    );
    expect(unsent).toBeGreaterThanOrEqual(1);
  });
});
