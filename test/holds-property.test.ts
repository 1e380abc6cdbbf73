import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SeatStatus } from "../durable-objects/seat-state";
import type { ShowDO } from "../durable-objects/show";

// Random sequences of hold / release / expire / block / unblock against a real Show DO,
// checked after every step against a model that is too simple to be wrong. The show has a
// general-admission section too: GA holds take a quantity, the organizer blocks GA capacity by
// quantity, and GA counts toward the same per-fan limit as seats.

const SEATS = Array.from({ length: 8 }, (_, i) => `A-1-${i + 1}`);
const GA = "G";
const GA_CAPACITY = 5;
const LIMIT = 4;
const TTL = 1_000;
const T0 = 1_900_000_000_000;

type Action =
  | { kind: "hold"; fan: number; seats: string[] }
  | { kind: "holdGa"; fan: number; quantity: number }
  | { kind: "blockGa"; quantity: number }
  | { kind: "unblockGa"; quantity: number }
  | { kind: "release"; fan: number; pick: number }
  | { kind: "expire"; advance: number }
  | { kind: "block"; seats: string[] }
  | { kind: "unblock"; seats: string[] };

const seatList = fc.uniqueArray(fc.constantFrom(...SEATS), { minLength: 1, maxLength: 3 });
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("hold" as const), fan: fc.nat(3), seats: seatList }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("holdGa" as const),
      fan: fc.nat(3),
      quantity: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom<"blockGa" | "unblockGa">("blockGa", "unblockGa"),
      quantity: fc.integer({ min: 1, max: 2 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("release" as const), fan: fc.nat(3), pick: fc.nat(20) }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("expire" as const), advance: fc.integer({ min: 0, max: 1_500 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("block" as const), seats: seatList }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("unblock" as const), seats: seatList }) },
);

interface ModelHold {
  id: string;
  fan: number;
  seats: string[];
  /** GA places taken (a GA hold has no seats). */
  ga: number;
  live: boolean;
  expiresAt: number;
}

class Model {
  now = T0;
  seats = new Map<string, SeatStatus>(SEATS.map((s) => [s, "available"]));
  holds: ModelHold[] = [];
  gaBlocked = 0;

  gaHeld() {
    return this.holds.filter((h) => h.live).reduce((n, h) => n + h.ga, 0);
  }

  gaFree() {
    return GA_CAPACITY - this.gaHeld() - this.gaBlocked;
  }

  expireDue() {
    for (const hold of this.holds) {
      if (hold.live && hold.expiresAt <= this.now) this.end(hold);
    }
  }

  end(hold: ModelHold) {
    hold.live = false;
    for (const seat of hold.seats) this.seats.set(seat, "available");
  }

  heldBy(fan: number) {
    return this.holds.filter((h) => h.live && h.fan === fan).reduce((n, h) => n + h.seats.length + h.ga, 0);
  }
}

describe("Show DO against a model", () => {
  it("keeps every invariant through random hold / release / expire / block / unblock", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 30 }), async (actions) => {
        const showId = `shw_prop_${run++}_${crypto.randomUUID().slice(0, 6)}`;
        const stub = env.SHOW.getByName(showId);
        const model = new Model();
        await stub.initialize({
          show_id: showId,
          venue_id: "ven_prop",
          seat_map_version: 1,
          on_sale_at_ms: 0,
          ticket_limit: LIMIT,
          hold_ttl_ms: TTL,
          currency: "EUR",
          seats: SEATS.map((seat_id, i) => ({
            seat_id,
            section_id: "A",
            row: "1",
            row_index: 0,
            seat_index: i,
            accessible: false,
            tier_id: "tir_prop",
            price_cents: 100,
            blocked: false,
          })),
          ga_sections: [{ section_id: GA, capacity: GA_CAPACITY, tier_id: "tir_prop", price_cents: 50 }],
        });
        const setClock = (now: number) =>
          runInDurableObject(stub, (instance: ShowDO) => {
            instance.clock = () => now;
          });
        await setClock(model.now);

        for (const step of actions) {
          if (step.kind === "hold") {
            const outcome = await stub.hold({
              fan_id: `fan_${step.fan}`,
              idempotency_key: crypto.randomUUID(),
              request_hash: "h",
              seat_ids: step.seats,
            });
            model.expireDue();
            if (model.heldBy(step.fan) + step.seats.length > LIMIT) {
              expect(outcome).toMatchObject({ ok: false, code: "limit_exceeded" });
            } else {
              const lost = step.seats.filter((s) => model.seats.get(s) !== "available");
              if (lost.length) {
                expect(outcome).toEqual({ ok: false, code: "seats_unavailable", seat_ids: lost });
              } else {
                expect(outcome.ok).toBe(true);
                if (!outcome.ok) return;
                for (const seat of step.seats) model.seats.set(seat, "held");
                model.holds.push({
                  id: outcome.hold.hold_id,
                  fan: step.fan,
                  seats: step.seats,
                  ga: 0,
                  live: true,
                  expiresAt: model.now + TTL,
                });
              }
            }
          } else if (step.kind === "holdGa") {
            const outcome = await stub.hold({
              fan_id: `fan_${step.fan}`,
              idempotency_key: crypto.randomUUID(),
              request_hash: "h",
              section_id: GA,
              quantity: step.quantity,
            });
            model.expireDue();
            if (model.heldBy(step.fan) + step.quantity > LIMIT) {
              expect(outcome).toMatchObject({ ok: false, code: "limit_exceeded" });
            } else if (model.gaFree() < step.quantity) {
              expect(outcome).toEqual({ ok: false, code: "insufficient_availability", seat_ids: [] });
            } else {
              expect(outcome.ok).toBe(true);
              if (!outcome.ok) return;
              expect(outcome.hold).toMatchObject({ seat_ids: [], ga: { section_id: GA, quantity: step.quantity } });
              model.holds.push({
                id: outcome.hold.hold_id,
                fan: step.fan,
                seats: [],
                ga: step.quantity,
                live: true,
                expiresAt: model.now + TTL,
              });
            }
          } else if (step.kind === "blockGa" || step.kind === "unblockGa") {
            const result =
              step.kind === "blockGa"
                ? await stub.blockCapacity(GA, step.quantity, "other")
                : await stub.unblockCapacity(GA, step.quantity);
            model.expireDue();
            const enough = step.kind === "blockGa" ? model.gaFree() : model.gaBlocked;
            if (enough < step.quantity) {
              expect(result).toEqual({ ok: false, code: "insufficient_availability", seat_ids: [] });
            } else {
              expect(result.ok).toBe(true);
              model.gaBlocked += step.kind === "blockGa" ? step.quantity : -step.quantity;
            }
          } else if (step.kind === "release") {
            const own = model.holds.filter((h) => h.fan === step.fan);
            const target = own[step.pick % Math.max(own.length, 1)];
            if (!target) continue;
            const view = await stub.release(`fan_${step.fan}`, target.id);
            model.expireDue();
            if (target.live) model.end(target);
            expect(view.ok && view.hold.status).toMatch(/released|expired/);
            // Another fan can never release it.
            expect(await stub.release(`fan_${(step.fan + 1) % 4}`, target.id)).toEqual({
              ok: false,
              code: "hold_not_found",
            });
          } else if (step.kind === "expire") {
            model.now += step.advance;
            await setClock(model.now);
            await runInDurableObject(stub, (instance: ShowDO) => instance.alarm());
            model.expireDue();
          } else {
            const result =
              step.kind === "block" ? await stub.block(step.seats, "other") : await stub.unblock(step.seats);
            model.expireDue();
            const conflicting = step.seats.filter((s) => model.seats.get(s) === "held");
            if (conflicting.length) {
              expect(result).toEqual({ ok: false, code: "seats_unavailable", seat_ids: conflicting });
            } else {
              expect(result.ok).toBe(true);
              for (const seat of step.seats) model.seats.set(seat, step.kind === "block" ? "blocked" : "available");
            }
          }

          const stored = await runInDurableObject(stub, (_, state) => ({
            seats: state.storage.sql
              .exec<{ seat_id: string; status: SeatStatus; hold_id: string | null }>(
                "SELECT seat_id, status, hold_id FROM seats ORDER BY seat_id",
              )
              .toArray(),
            live: state.storage.sql
              .exec<{ hold_id: string; seat_ids: string }>(
                "SELECT hold_id, seat_ids FROM holds WHERE status IN ('active', 'checkout')",
              )
              .toArray(),
          }));
          for (const seat of stored.seats.filter((s) => model.seats.has(s.seat_id))) {
            expect(seat.status, seat.seat_id).toBe(model.seats.get(seat.seat_id));
          }
          // Every held seat or GA place belongs to exactly one live hold that lists it.
          for (const seat of stored.seats.filter((s) => s.status === "held")) {
            const owners = stored.live.filter((h) => (JSON.parse(h.seat_ids) as string[]).includes(seat.seat_id));
            expect(owners.map((h) => h.hold_id)).toEqual([seat.hold_id]);
          }
          const counts = await stub.counts();
          expect(counts.available + counts.held + counts.sold + counts.blocked).toBe(counts.capacity);
          expect(counts.capacity).toBe(SEATS.length + GA_CAPACITY);
          const ga = await stub.counts(GA);
          expect(ga).toMatchObject({ held: model.gaHeld(), blocked: model.gaBlocked, available: model.gaFree() });
          // A GA place is held by the hold that lists it, and never more taken than the capacity.
          expect(ga.held + ga.sold + ga.blocked).toBeLessThanOrEqual(GA_CAPACITY);
          for (let fan = 0; fan < 4; fan++) expect(model.heldBy(fan)).toBeLessThanOrEqual(LIMIT);
        }
      }),
      { numRuns: 100 },
    );
  }, 120_000);
});
