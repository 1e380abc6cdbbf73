import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ShowDO } from "../durable-objects/show";
import type { ShowInit } from "../durable-objects/types";

// Direct access to one Show DO per test: expiry is driven by moving the object's clock and
// running its alarm, never by sleeping.

const HOLD_TTL_MS = 120_000;

function showInit(showId: string): ShowInit {
  return {
    show_id: showId,
    venue_id: "ven_test",
    seat_map_version: 1,
    on_sale_at_ms: 0,
    ticket_limit: 8,
    hold_ttl_ms: HOLD_TTL_MS,
    currency: "EUR",
    seats: Array.from({ length: 6 }, (_, i) => ({
      seat_id: `A-1-${i + 1}`,
      section_id: "A",
      row: "1",
      row_index: 0,
      seat_index: i,
      accessible: false,
      tier_id: "tir_test",
      price_cents: 1000,
      blocked: false,
    })),
  };
}

async function freshShow(name: string) {
  const showId = `shw_${name}_${crypto.randomUUID().slice(0, 8)}`;
  const stub = env.SHOW.getByName(showId);
  await stub.initialize(showInit(showId));
  return stub;
}

const setClock = (stub: DurableObjectStub<ShowDO>, now: number) =>
  runInDurableObject(stub, (instance: ShowDO) => {
    instance.clock = () => now;
  });

const hold = (stub: DurableObjectStub<ShowDO>, fan: string, seats: string[], key = crypto.randomUUID()) =>
  stub.hold({ fan_id: fan, idempotency_key: key, request_hash: key, seat_ids: seats });

describe("hold expiry through the Show DO's alarm", () => {
  it("one alarm for the earliest expiry; when it fires the seats are on sale again", async () => {
    const stub = await freshShow("expiry");
    const t0 = 1_900_000_000_000;
    await setClock(stub, t0);
    const first = await hold(stub, "fan_a", ["A-1-1"]);
    await setClock(stub, t0 + 30_000);
    const second = await hold(stub, "fan_b", ["A-1-2"]);
    expect(first.ok && second.ok).toBe(true);
    const alarm = await runInDurableObject(stub, (_, state) => state.storage.getAlarm());
    expect(alarm).toBe(t0 + HOLD_TTL_MS);

    await setClock(stub, t0 + HOLD_TTL_MS);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.counts()).toMatchObject({ held: 1, available: 5 });
    // Re-armed for the next expiry, which then fires too.
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBe(t0 + 30_000 + HOLD_TTL_MS);
    await setClock(stub, t0 + 30_000 + HOLD_TTL_MS);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.counts()).toMatchObject({ held: 0, available: 6 });
    expect(await stub.getHold("fan_a", first.ok ? first.hold.hold_id : "")).toMatchObject({
      status: "expired",
      version: 2,
    });
    // Nothing left to expire: no alarm, and running one anyway changes nothing.
    expect(await runDurableObjectAlarm(stub)).toBe(false);
    await runInDurableObject(stub, (instance: ShowDO) => instance.alarm());
    expect(await stub.counts()).toMatchObject({ held: 0, available: 6 });
  });

  it("a late or repeated alarm is harmless, and a due hold is expired before anyone else is refused", async () => {
    const stub = await freshShow("late");
    const t0 = 1_900_000_000_000;
    await setClock(stub, t0);
    const mine = await hold(stub, "fan_a", ["A-1-1", "A-1-2"]);
    await setClock(stub, t0 + HOLD_TTL_MS + 5_000);
    // The alarm has not run yet, but the seats are already salable.
    const theirs = await hold(stub, "fan_b", ["A-1-1"]);
    expect(theirs.ok).toBe(true);
    await runInDurableObject(stub, (instance: ShowDO) => instance.alarm());
    await runInDurableObject(stub, (instance: ShowDO) => instance.alarm());
    expect(await stub.counts()).toMatchObject({ held: 1, available: 5 });
    expect(await stub.getHold("fan_a", mine.ok ? mine.hold.hold_id : "")).toMatchObject({ status: "expired" });
  });

  it("state and the pending expiry survive eviction; after a restart the hold still expires", async () => {
    const stub = await freshShow("evict");
    const t0 = 1_900_000_000_000;
    await setClock(stub, t0);
    const made = await hold(stub, "fan_a", ["A-1-3"], "key-evict");
    expect(made.ok).toBe(true);
    await evictDurableObject(stub);

    expect(await stub.counts()).toMatchObject({ held: 1 });
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBe(t0 + HOLD_TTL_MS);
    await setClock(stub, t0 + HOLD_TTL_MS);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.counts()).toMatchObject({ held: 0, available: 6 });
    // The idempotency record survived too.
    const replay = await hold(stub, "fan_a", ["A-1-3"], "key-evict");
    expect(replay).toMatchObject({ ok: true, replayed: true, hold: { status: "expired" } });
  });
});
