import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { liveFeedCount, liveFeedName } from "../durable-objects/live";
import type { ShowDO } from "../durable-objects/show";
import type { HoldView } from "../durable-objects/types";
import { createShow, json } from "./fixtures";
import { api, bearer, fanToken, problem, uniqueFan } from "./helpers";

// The live seat map end to end: a fan's socket through the Worker to a feed object, seat
// changes made through the API (or the Show DO where no route reaches: expiry, a late sale),
// published by the Show DO's own timer. Nothing here calls the publisher by hand.

type Message = {
  type: "snapshot" | "delta";
  seq: number;
  prev?: number;
  inventory: "available" | "all_held" | "sold_out";
  sections: { section_id: string; available: number }[];
  seats?: Record<string, "available" | "unavailable">;
};

/** A connected socket with its messages in order, and a way to wait for the next one matching. */
async function connect(showId: string, query = "") {
  const response = await api(`/v1/shows/${showId}/seat-map/live${query}`, { headers: { upgrade: "websocket" } });
  expect(response.status).toBe(101);
  const ws = response.webSocket!;
  const messages: Message[] = [];
  const closed: { code: number; reason: string }[] = [];
  let wake = () => {};
  ws.addEventListener("message", (event) => {
    messages.push(JSON.parse(event.data as string));
    wake();
  });
  ws.addEventListener("close", (event) => {
    closed.push({ code: event.code, reason: event.reason });
    wake();
  });
  ws.accept();
  let read = 0;
  const next = async (what: (m: Message) => boolean = () => true, timeoutMs = 5_000): Promise<Message> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (read < messages.length) {
        const message = messages[read++]!;
        if (what(message)) return message;
      }
      if (Date.now() > deadline) throw new Error(`no matching message in ${timeoutMs} ms: ${JSON.stringify(messages)}`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 100);
      });
    }
  };
  const whenClosed = async (timeoutMs = 5_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!closed.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return closed[0];
  };
  return { ws, messages, next, whenClosed };
}

const delta = (m: Message) => m.type === "delta";
const availableIn = (m: Message, section: string) => m.sections.find((s) => s.section_id === section)?.available;

async function fan() {
  const id = uniqueFan();
  return { id, auth: bearer(await fanToken(id)) };
}

async function hold(showId: string, who: { auth: Record<string, string> }, seatIds: string[]) {
  return json<HoldView>(
    await api(`/v1/shows/${showId}/holds`, {
      method: "POST",
      headers: { ...who.auth, "idempotency-key": crypto.randomUUID() },
      json: { seat_ids: seatIds },
    }),
    201,
  );
}

const feedsOf = (showId: string) =>
  Array.from({ length: liveFeedCount(env) }, (_, i) => env.FEED.getByName(liveFeedName(showId, i)));

describe("GET /v1/shows/{id}/seat-map/live", () => {
  it("a snapshot first: every section's count, per-seat detail only for the subscribed sections", async () => {
    const { showId } = await createShow();
    const live = await connect(showId, "?sections=A");
    const snapshot = await live.next();
    expect(snapshot.type).toBe("snapshot");
    expect(snapshot.sections).toEqual([
      { section_id: "A", available: 12 },
      { section_id: "B", available: 12 },
    ]);
    expect(Object.keys(snapshot.seats!)).toHaveLength(12);
    expect(Object.keys(snapshot.seats!).every((id) => id.startsWith("A-"))).toBe(true);
    expect(snapshot.seats!["A-1-1"]).toBe("available");
    live.ws.close();
  });

  it("a hold and its release each reach a subscribed socket as a delta with the right seats", async () => {
    const { showId } = await createShow();
    const live = await connect(showId, "?sections=A");
    const snapshot = await live.next();
    const alice = await fan();
    const held = await hold(showId, alice, ["A-1-1", "A-1-2"]);
    const first = await live.next(delta);
    expect(first.seats).toEqual({ "A-1-1": "unavailable", "A-1-2": "unavailable" });
    expect(availableIn(first, "A")).toBe(10);
    expect(first.prev).toBeLessThanOrEqual(snapshot.seq);
    expect(first.seq).toBeGreaterThan(snapshot.seq);

    await json(await api(`/v1/holds/${held.hold_id}`, { method: "DELETE", headers: alice.auth }), 200);
    const second = await live.next(delta);
    expect(second.seats).toEqual({ "A-1-1": "available", "A-1-2": "available" });
    expect(second.prev).toBe(first.seq);
    expect(availableIn(second, "A")).toBe(12);
    live.ws.close();
  });

  it("a change in a section not subscribed to brings its count, not its seats", async () => {
    const { showId } = await createShow();
    const live = await connect(showId, "?sections=A");
    await live.next();
    await hold(showId, await fan(), ["B-2-2"]);
    const change = await live.next(delta);
    expect(change.seats).toBeUndefined();
    expect(change.sections).toEqual([{ section_id: "B", available: 11 }]);
    live.ws.close();
  });

  it("an expiry, a late sale, a refund and a block each reach the socket as a delta", async () => {
    const { organizer, showId } = await createShow();
    const live = await connect(showId, "?sections=A,B");
    await live.next();
    const stub = env.SHOW.getByName(showId);
    const alice = await fan();
    const held = await hold(showId, alice, ["A-3-1"]);
    await live.next(delta);

    // Expiry: the object's clock moves past the hold's expiry and its alarm runs.
    await runInDurableObject(stub, (instance: ShowDO) => {
      const later = held.expires_at_ms + 1;
      instance.clock = () => later;
    });
    await runDurableObjectAlarm(stub);
    expect((await live.next(delta)).seats).toEqual({ "A-3-1": "available" });

    // A sale: the payment for the lapsed hold completes and takes its seat back.
    const checkout = await stub.beginCheckout(alice.id, held.hold_id, "ord_live_test", 600_000);
    expect(checkout.ok).toBe(false); // lapsed: no new checkout, but a payment already in flight may still finish
    const sold = await stub.sellHold(held.hold_id);
    expect(sold).toEqual({ ok: true, seat_ids: ["A-3-1"] });
    expect((await live.next(delta)).seats).toEqual({ "A-3-1": "unavailable" });

    // A refund puts it back on sale.
    await stub.refundHold(held.hold_id);
    expect((await live.next(delta)).seats).toEqual({ "A-3-1": "available" });

    // An organizer block.
    await json(
      await api(`/v1/admin/shows/${showId}/seats/block`, {
        method: "POST",
        headers: bearer(organizer.key),
        json: { seat_ids: ["B-1-3", "B-1-4"], reason: "production_kill" },
      }),
      200,
    );
    const blocked = await live.next(delta);
    expect(blocked.seats).toEqual({ "B-1-3": "unavailable", "B-1-4": "unavailable" });
    expect(availableIn(blocked, "B")).toBe(10);
    live.ws.close();
  });

  it("coalesces a burst: the first change goes out at once, the rest of the burst as one delta", async () => {
    const { showId } = await createShow();
    const live = await connect(showId, "?sections=A");
    await live.next();
    const stub = env.SHOW.getByName(showId);
    const burst = Array.from({ length: 12 }, (_, i) => `A-${Math.floor(i / 4) + 1}-${(i % 4) + 1}`);
    const held = await Promise.all(
      burst.map((seat) =>
        stub.hold({ fan_id: uniqueFan(), idempotency_key: seat, request_hash: seat, seat_ids: [seat] }),
      ),
    );
    expect(held.every((outcome) => outcome.ok)).toBe(true);
    const seen = new Set<string>();
    let deltas = 0;
    while (seen.size < burst.length) {
      for (const seat of Object.keys((await live.next(delta)).seats!)) seen.add(seat);
      deltas++;
    }
    expect([...seen].sort()).toEqual([...burst].sort());
    expect(deltas).toBeLessThanOrEqual(2);
    live.ws.close();
  });

  it("says what the show has left: all held, then sold out when the last held seats are sold (a delta with no seat), then available after a refund", async () => {
    const { organizer, showId } = await createShow();
    const live = await connect(showId, "?sections=A");
    expect((await live.next()).inventory).toBe("available");
    const stub = env.SHOW.getByName(showId);
    const all = [..."AB"].flatMap((section) =>
      Array.from({ length: 12 }, (_, i) => `${section}-${Math.floor(i / 4) + 1}-${(i % 4) + 1}`),
    );
    await json(
      await api(`/v1/admin/shows/${showId}/seats/block`, {
        method: "POST",
        headers: bearer(organizer.key),
        json: { seat_ids: all.slice(1), reason: "production_kill" },
      }),
      200,
    );
    const alice = await fan();
    const held = await hold(showId, alice, [all[0]!]);
    await live.next((m) => m.type === "delta" && m.inventory === "all_held");
    expect((await stub.beginCheckout(alice.id, held.hold_id, "ord_live_sold", 600_000)).ok).toBe(true);
    expect((await stub.sellHold(held.hold_id)).ok).toBe(true);
    const soldOut = await live.next(delta);
    expect(soldOut).toMatchObject({ inventory: "sold_out", sections: [] });
    expect(soldOut.seats).toBeUndefined();
    expect(soldOut.prev).toBeLessThan(soldOut.seq);
    // A newcomer's snapshot says it too.
    const late = await connect(showId, "?sections=A");
    expect((await late.next()).inventory).toBe("sold_out");
    await stub.refundHold(held.hold_id);
    expect(await live.next(delta)).toMatchObject({ inventory: "available", seats: { [all[0]!]: "available" } });
    live.ws.close();
    late.ws.close();
  });

  it("`since` resumes with the deltas missed; a stale `since` gets a snapshot", async () => {
    const { showId } = await createShow();
    const first = await connect(showId, "?sections=A");
    const snapshot = await first.next();
    await hold(showId, await fan(), ["A-2-1"]);
    const missed = await first.next(delta);
    first.ws.close();

    // Every feed of the show got the same batches, so whichever the Worker picks can resume.
    const resumed = await connect(showId, `?sections=A&since=${snapshot.seq}`);
    const again = await resumed.next();
    expect(again).toMatchObject({ type: "delta", seq: missed.seq, seats: { "A-2-1": "unavailable" } });
    resumed.ws.close();

    const stale = await connect(showId, `?sections=A&since=${snapshot.seq + 1_000_000}`);
    expect((await stale.next()).type).toBe("snapshot");
    stale.ws.close();
  });

  it("a batch after a missed one sends a fresh snapshot instead of the delta", async () => {
    const { showId } = await createShow();
    const live = await connect(showId, "?sections=A");
    await live.next();
    const stub = env.SHOW.getByName(showId);
    await stub.hold({ fan_id: uniqueFan(), idempotency_key: "k1", request_hash: "k1", seat_ids: ["A-1-1"] });
    // That change's batch is lost on its way to every feed (as when they are unreachable)...
    const lost = await runInDurableObject(stub, (instance: ShowDO) => {
      const own = instance as unknown as { env: Env };
      const real = own.env;
      const unreachable = { publish: () => Promise.reject(new Error("unreachable")) };
      own.env = { ...real, FEED: { getByName: () => unreachable } as unknown as Env["FEED"] };
      try {
        return instance.publishLive();
      } finally {
        own.env = real;
      }
    });
    expect(lost?.seats).toEqual({ A: { "A-1-1": "unavailable" } });
    // ...so the next batch follows one the feeds never saw: the socket gets a snapshot with both.
    await hold(showId, await fan(), ["A-1-2"]);
    const fresh = await live.next();
    expect(fresh.type).toBe("snapshot");
    expect(fresh.seats).toMatchObject({ "A-1-1": "unavailable", "A-1-2": "unavailable" });
    expect(availableIn(fresh, "A")).toBe(10);
    live.ws.close();
  });

  it("a malformed message closes that socket with a reason, and nothing else", async () => {
    const { showId } = await createShow();
    const bad = await connect(showId, "?sections=A");
    const binary = await connect(showId, "?sections=A");
    const good = await connect(showId, "?sections=A");
    await Promise.all([bad.next(), binary.next(), good.next()]);
    bad.ws.send("{not json");
    binary.ws.send(new Uint8Array([1, 2, 3]));
    expect(await bad.whenClosed()).toMatchObject({ code: 1008, reason: expect.stringContaining("subscribe") });
    expect(await binary.whenClosed()).toMatchObject({ code: 1003 });

    const wrongShape = await connect(showId, "");
    await wrongShape.next();
    wrongShape.ws.send(JSON.stringify({ type: "subscribe", sections: ["../../etc"] }));
    expect((await wrongShape.whenClosed())?.code).toBe(1008);

    await hold(showId, await fan(), ["A-3-4"]);
    expect((await good.next(delta)).seats).toEqual({ "A-3-4": "unavailable" });
    good.ws.close();
  });

  it("a feed survives hibernation with its sockets and their subscriptions", async () => {
    const { showId } = await createShow();
    const live = await connect(showId, "?sections=A");
    await live.next();
    // Change the subscription by message: it now lives only in the socket's attachment.
    live.ws.send(JSON.stringify({ type: "subscribe", sections: ["B"] }));
    const resubscribed = await live.next();
    expect(resubscribed.type).toBe("snapshot");
    expect(Object.keys(resubscribed.seats!).every((id) => id.startsWith("B-"))).toBe(true);

    let evicted = 0;
    for (const feed of feedsOf(showId)) {
      const sockets = await feed.watchers().catch(() => 0);
      if (sockets === 0) continue;
      await evictDurableObject(feed); // hibernates the sockets (the default), drops all memory
      evicted++;
    }
    expect(evicted).toBe(1);

    await hold(showId, await fan(), ["B-3-3"]);
    const change = await live.next(delta);
    expect(change.seats).toEqual({ "B-3-3": "unavailable" });
    // Still subscribed by message after waking: a new subscription works too.
    live.ws.send(JSON.stringify({ type: "subscribe", sections: ["A", "B"] }));
    const both = await live.next();
    expect(both.type).toBe("snapshot");
    expect(both.seats!["B-3-3"]).toBe("unavailable");
    expect(Object.keys(both.seats!)).toHaveLength(24);
    live.ws.close();
  });

  it("the same messages over SSE for clients without WebSockets", async () => {
    const { showId } = await createShow();
    const response = await api(`/v1/shows/${showId}/seat-map/live?sections=A`, {
      headers: { accept: "text/event-stream" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    const nextEvent = async (): Promise<Message> => {
      for (;;) {
        const end = buffer.indexOf("\n\n");
        if (end >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          return JSON.parse(event.replace(/^data: /, ""));
        }
        const { value, done } = await reader.read();
        if (done) throw new Error("stream ended");
        buffer += value;
      }
    };
    expect((await nextEvent()).type).toBe("snapshot");
    await hold(showId, await fan(), ["A-2-3"]);
    const change = await nextEvent();
    expect(change).toMatchObject({ type: "delta", seats: { "A-2-3": "unavailable" } });
    await reader.cancel();
  });

  it("refuses a plain GET (426), bad sections or since (400) and an unknown show (404) as problems", async () => {
    const { showId } = await createShow();
    const plain = await api(`/v1/shows/${showId}/seat-map/live`);
    expect(plain.status).toBe(426);
    expect((await problem(plain)).code).toBe("upgrade_required");
    const ws = { headers: { upgrade: "websocket" } };
    for (const query of ["?sections=A,,B", "?sections=%2E%2E", "?since=-1", "?since=x", "?other=1"]) {
      const bad = await api(`/v1/shows/${showId}/seat-map/live${query}`, ws);
      expect(bad.status, query).toBe(400);
      expect((await problem(bad)).code).toBe("invalid_query");
    }
    const unknown = await api("/v1/shows/shw_doesnotexist00/seat-map/live", ws);
    expect(unknown.status).toBe(404);
    expect((await problem(unknown)).code).toBe("not_found");
  });
});
