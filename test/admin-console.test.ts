import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../src/db/client";
import { orders } from "../src/db/schema";
import { createShow, json } from "./fixtures";
import { api, bearer, newOrganizer, problem } from "./helpers";
import { buy } from "./payments-helpers";

// The organizer console's API: my events, sales per minute, a show's orders, one order, and a
// section's seats in their true states. Each is scoped to the key's organizer.

interface Page<T> {
  data: T[];
  next_cursor: string | null;
}
interface OrganizerEvent {
  event_id: string;
  status: string;
  shows: { show_id: string; status: string }[];
}
interface OrderView {
  order_id: string;
  status: string;
  total_cents: number;
  refunded_cents: number;
  tickets: { ticket_id: string }[];
}
interface Timeline {
  currency: string;
  minutes: { minute: string; orders: number; revenue_cents: number }[];
}

const get = (path: string, key: string) => api(path, { headers: bearer(key) });

describe("GET /v1/admin/events", () => {
  it("lists only the organizer's events with their shows in any state, newest first, paged by cursor", async () => {
    const organizer = await newOrganizer();
    const first = await createShow({ organizer, eventName: "First", publish: false });
    const second = await createShow({ organizer, eventName: "Second" });
    const third = await createShow({ organizer, eventName: "Third" });
    // Another organizer's event never shows up.
    const stranger = await createShow();

    const all = await json<Page<OrganizerEvent>>(await get("/v1/admin/events", organizer.key), 200);
    expect(all.data.map((e) => e.event_id)).toEqual([third.eventId, second.eventId, first.eventId]);
    expect(all.next_cursor).toBeNull();
    // The draft show is listed: the console sees shows the public catalog does not.
    expect(all.data[2]!.shows).toEqual([expect.objectContaining({ show_id: first.showId, status: "draft" })]);
    expect(all.data[0]!.shows.map((s) => s.show_id)).toEqual([third.showId]);

    const pageOne = await json<Page<OrganizerEvent>>(await get("/v1/admin/events?limit=2", organizer.key), 200);
    expect(pageOne.data.map((e) => e.event_id)).toEqual([third.eventId, second.eventId]);
    expect(pageOne.next_cursor).toBeTruthy();
    const pageTwo = await json<Page<OrganizerEvent>>(
      await get(`/v1/admin/events?limit=2&cursor=${pageOne.next_cursor}`, organizer.key),
      200,
    );
    expect(pageTwo.data.map((e) => e.event_id)).toEqual([first.eventId]);
    expect(pageTwo.next_cursor).toBeNull();

    const mine = await json<Page<OrganizerEvent>>(await get("/v1/admin/events", stranger.organizer.key), 200);
    expect(mine.data.map((e) => e.event_id)).toEqual([stranger.eventId]);
    const empty = await json<Page<OrganizerEvent>>(await get("/v1/admin/events", (await newOrganizer()).key), 200);
    expect(empty).toEqual({ data: [], next_cursor: null });
  });

  it("bad input is a 400 problem with a stable code; no key is 401", async () => {
    const { key } = await newOrganizer();
    expect((await problem(await get("/v1/admin/events?cursor=nonsense", key))).code).toBe("invalid_cursor");
    expect((await problem(await get("/v1/admin/events?limit=0", key))).code).toBe("invalid_query");
    expect((await problem(await get("/v1/admin/events?limit=101", key))).code).toBe("invalid_query");
    expect((await problem(await get("/v1/admin/events?status=sold", key))).code).toBe("invalid_query");
    expect((await problem(await get("/v1/admin/events?colour=red", key))).code).toBe("invalid_query");
    const anonymous = await api("/v1/admin/events");
    expect(anonymous.status).toBe(401);
    await problem(anonymous);
  });
});

describe("GET /v1/admin/shows/{id}/sales/timeline", () => {
  it("counts paid orders and their revenue per minute, empty minutes included, for the owner only", async () => {
    const { organizer, showId } = await createShow();
    await buy(showId, ["A-1-1", "A-1-2"]);
    const { order } = await buy(showId, ["B-1-1"]);
    // An order paid five minutes ago lands in its own minute.
    await withDatabase(env, (db) =>
      db.update(orders).set({ confirmedAt: sql`now() - interval '5 minutes'` }).where(eq(orders.id, order.order_id)),
    );

    const timeline = await json<Timeline>(await get(`/v1/admin/shows/${showId}/sales/timeline`, organizer.key), 200);
    expect(timeline.currency).toBe("EUR");
    expect(timeline.minutes).toHaveLength(15);
    const starts = timeline.minutes.map((m) => Date.parse(m.minute));
    expect(starts.every((at, i) => i === 0 || at - starts[i - 1]! === 60_000)).toBe(true);
    const last = timeline.minutes.at(-1)!;
    expect(Date.now() - Date.parse(last.minute)).toBeLessThan(120_000);
    // Both the now-minute and the one before it may hold the two fresh orders (a minute can turn).
    const recent = timeline.minutes.slice(-2);
    expect(recent.reduce((n, m) => n + m.orders, 0)).toBe(1);
    expect(recent.reduce((n, m) => n + m.revenue_cents, 0)).toBe(10_000);
    const fiveAgo = timeline.minutes.slice(-7, -4);
    expect(fiveAgo.reduce((n, m) => n + m.orders, 0)).toBe(1);
    expect(fiveAgo.reduce((n, m) => n + m.revenue_cents, 0)).toBe(5000);
    expect(timeline.minutes.reduce((n, m) => n + m.orders, 0)).toBe(2);

    const short = await json<Timeline>(
      await get(`/v1/admin/shows/${showId}/sales/timeline?minutes=3`, organizer.key),
      200,
    );
    expect(short.minutes).toHaveLength(3);

    const stranger = await newOrganizer();
    expect((await problem(await get(`/v1/admin/shows/${showId}/sales/timeline`, stranger.key))).code).toBe("not_found");
    for (const bad of ["minutes=0", "minutes=181", "minutes=abc", "from=1"]) {
      const response = await get(`/v1/admin/shows/${showId}/sales/timeline?${bad}`, organizer.key);
      expect(response.status, bad).toBe(400);
      expect((await problem(response)).code).toBe("invalid_query");
    }
    expect((await problem(await get("/v1/admin/shows/nope/sales/timeline", organizer.key))).code).toBe("invalid_path");
  });
});

describe("GET /v1/admin/shows/{id}/orders and /v1/admin/orders/{id}", () => {
  it("pages the show's orders newest first, filters by status, and shows refunds", async () => {
    const { organizer, showId } = await createShow();
    const bought = [];
    for (const seat of ["A-1-1", "A-1-2", "A-1-3"]) bought.push((await buy(showId, [seat])).order);
    const refundedOrder = bought[0]!;
    const refunded = await json<OrderView>(
      await api(`/v1/admin/orders/${refundedOrder.order_id}/refund`, {
        method: "POST",
        headers: { ...bearer(organizer.key), "idempotency-key": crypto.randomUUID() },
        json: { amount_cents: 1200 },
      }),
      200,
    );
    expect(refunded.refunded_cents).toBe(1200);

    const newestFirst = bought.map((o) => o.order_id).reverse();
    const pageOne = await json<Page<OrderView>>(
      await get(`/v1/admin/shows/${showId}/orders?limit=2`, organizer.key),
      200,
    );
    expect(pageOne.data.map((o) => o.order_id)).toEqual(newestFirst.slice(0, 2));
    const pageTwo = await json<Page<OrderView>>(
      await get(`/v1/admin/shows/${showId}/orders?limit=2&cursor=${pageOne.next_cursor}`, organizer.key),
      200,
    );
    expect(pageTwo.data.map((o) => o.order_id)).toEqual(newestFirst.slice(2));
    expect(pageTwo.next_cursor).toBeNull();
    expect(pageTwo.data[0]).toMatchObject({ status: "confirmed", total_cents: 5000, refunded_cents: 1200 });
    expect(pageTwo.data[0]!.tickets).toHaveLength(1);

    const confirmed = await json<Page<OrderView>>(
      await get(`/v1/admin/shows/${showId}/orders?status=confirmed`, organizer.key),
      200,
    );
    expect(confirmed.data).toHaveLength(3);
    const none = await json<Page<OrderView>>(
      await get(`/v1/admin/shows/${showId}/orders?status=refunded`, organizer.key),
      200,
    );
    expect(none.data).toEqual([]);

    const one = await json<OrderView>(await get(`/v1/admin/orders/${refundedOrder.order_id}`, organizer.key), 200);
    expect(one).toMatchObject({ order_id: refundedOrder.order_id, refunded_cents: 1200 });
  });

  it("another organizer gets 404 for the show's orders and for the order; bad input is 400", async () => {
    const { organizer, showId } = await createShow();
    const { order } = await buy(showId, ["A-2-1"]);
    const stranger = await newOrganizer();
    expect((await problem(await get(`/v1/admin/shows/${showId}/orders`, stranger.key))).code).toBe("not_found");
    expect((await problem(await get(`/v1/admin/orders/${order.order_id}`, stranger.key))).code).toBe("not_found");
    expect((await problem(await get("/v1/admin/orders/ord_missing", organizer.key))).code).toBe("not_found");
    for (const bad of ["status=paid", "limit=0", "limit=abc", "cursor=%%%"]) {
      const response = await get(`/v1/admin/shows/${showId}/orders?${bad}`, organizer.key);
      expect(response.status, bad).toBe(400);
      expect((await problem(response)).code, bad).toMatch(/^(invalid_query|invalid_cursor)$/);
    }
    expect((await problem(await get(`/v1/admin/shows/${showId}/orders?cursor=abc`, organizer.key))).code).toBe(
      "invalid_cursor",
    );
  });
});

describe("GET /v1/admin/shows/{id}/seats", () => {
  it("shows each seat's true state and block reason to the owner; 404 for others and unknown sections", async () => {
    const { organizer, showId } = await createShow();
    await buy(showId, ["A-1-1"]);
    await json(
      await api(`/v1/admin/shows/${showId}/seats/block`, {
        method: "POST",
        headers: bearer(organizer.key),
        json: { seat_ids: ["A-2-2"], reason: "production_kill" },
      }),
      200,
    );
    const section = await json<{
      section_id: string;
      seats: { seat_id: string; status: string; block_reason: string | null }[];
    }>(await get(`/v1/admin/shows/${showId}/seats?section=A`, organizer.key), 200);
    expect(section.section_id).toBe("A");
    expect(section.seats).toHaveLength(12);
    const byId = new Map(section.seats.map((s) => [s.seat_id, s]));
    expect(byId.get("A-1-1")).toMatchObject({ status: "sold", block_reason: null });
    expect(byId.get("A-2-2")).toMatchObject({ status: "blocked", block_reason: "production_kill" });
    expect(byId.get("A-3-4")).toMatchObject({ status: "available", block_reason: null });

    const stranger = await newOrganizer();
    expect((await problem(await get(`/v1/admin/shows/${showId}/seats?section=A`, stranger.key))).code).toBe(
      "not_found",
    );
    expect((await problem(await get(`/v1/admin/shows/${showId}/seats?section=Z`, organizer.key))).code).toBe(
      "not_found",
    );
    expect((await problem(await get(`/v1/admin/shows/${showId}/seats`, organizer.key))).code).toBe("invalid_query");
    const draft = await createShow({ organizer, publish: false });
    expect((await problem(await get(`/v1/admin/shows/${draft.showId}/seats?section=A`, organizer.key))).code).toBe(
      "show_not_published",
    );
  });
});
