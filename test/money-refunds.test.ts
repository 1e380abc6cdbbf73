import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../src/db/client";
import { outbox } from "../src/db/schema";
import worker from "../src/index";
import { createShow, json } from "./fixtures";
import { api, bearer, problem } from "./helpers";
import { buy, intentOf, orderRow, refundRows, standin, stripeFaults, ticketsOf } from "./payments-helpers";

interface OrderView {
  order_id: string;
  status: string;
  total_cents: number;
  refunded_cents: number;
  tickets: { ticket_id: string; seat_id: string; status: string }[];
}

const runCron = async () => {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: "* * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
  return env.SEAT_MAPS.get<{ refunds_stuck: { refund_id: string }[]; refunds_settled: number }>(
    "reconciliation:last",
    "json",
  );
};

const refund = (orderId: string, key: string, body?: object) =>
  api(`/v1/admin/orders/${orderId}/refund`, {
    method: "POST",
    headers: { ...bearer(currentOrganizer), "idempotency-key": key },
    ...(body ? { json: body } : {}),
  });
let currentOrganizer = "";

async function refundEvents(intentId: string) {
  const events = (await standin.events("refund.created")) as unknown as {
    data: { object: { payment_intent: string } };
    request: { idempotency_key: string | null };
  }[];
  return events.filter((e) => e.data.object.payment_intent === intentId);
}

async function scan(showId: string, barcode: string) {
  return json<{ result: string }>(
    await api(`/v1/admin/shows/${showId}/check-ins`, {
      method: "POST",
      headers: bearer(currentOrganizer),
      json: { barcode },
    }),
    200,
  );
}

describe("refund ledger", () => {
  it("a refund Stripe answers with a 500 stays owed and the cron pays it under a fresh key", async () => {
    const { organizer, showId } = await createShow();
    currentOrganizer = organizer.key;
    const { order } = await buy(showId, ["A-1-1", "A-1-2"]);
    const intentId = await intentOf(order.order_id);
    await stripeFaults.inject({ operation: "createRefund", match: { payment_intent: intentId } });

    const pending = await json<OrderView>(await refund(order.order_id, "r1"), 200);
    expect(pending).toMatchObject({ status: "refund_pending", refunded_cents: 0 });
    // Nothing is taken from the fan before the money is on its way back.
    expect(pending.tickets.map((t) => t.status)).toEqual(["valid", "valid"]);
    const [owed] = await refundRows(order.order_id);
    expect(owed).toMatchObject({ status: "pending", providerRefundId: null, attempts: 1, amountCents: 10_000 });
    expect(owed!.lastError).toBeTruthy();
    expect(await stripeFaults.refundsOf(intentId)).toHaveLength(0);

    await runCron();
    expect((await orderRow(order.order_id)).status).toBe("refunded");
    const rows = await refundRows(order.order_id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "succeeded", attempts: 2 });
    const atStripe = await stripeFaults.refundsOf(intentId);
    expect(atStripe).toHaveLength(1);
    expect(atStripe[0]!.metadata).toMatchObject({ order_id: order.order_id, onsale_refund_id: rows[0]!.id });
    // Each attempt has a key of its own: the failed first key is never sent again.
    expect((await refundEvents(intentId)).map((e) => e.request.idempotency_key)).toEqual([
      `onsale:refund:${rows[0]!.id}:2`,
    ]);
    expect(await env.SHOW.getByName(showId).counts()).toMatchObject({ sold: 0 });
    // Settled is settled: another pass changes nothing.
    await runCron();
    expect(await stripeFaults.refundsOf(intentId)).toHaveLength(1);
  });

  it("a refund Stripe made but whose answer was lost is adopted, never paid twice", async () => {
    const { organizer, showId } = await createShow();
    currentOrganizer = organizer.key;
    const { order } = await buy(showId, ["A-2-1"]);
    const intentId = await intentOf(order.order_id);
    await stripeFaults.inject({ operation: "createRefund", match: { payment_intent: intentId }, after: true });

    expect((await json<OrderView>(await refund(order.order_id, "r1"), 200)).status).toBe("refund_pending");
    expect(await stripeFaults.refundsOf(intentId)).toHaveLength(1);
    await runCron();
    const [row] = await refundRows(order.order_id);
    const atStripe = await stripeFaults.refundsOf(intentId);
    expect(atStripe).toHaveLength(1);
    expect(row).toMatchObject({ status: "succeeded", providerRefundId: atStripe[0]!.id });
    expect((await orderRow(order.order_id)).status).toBe("refunded");
  });

  it("organizer partial refunds: chosen tickets, goodwill money, refusals, then the rest", async () => {
    const { organizer, showId } = await createShow();
    currentOrganizer = organizer.key;
    const { order } = await buy(showId, ["B-1-1", "B-1-2", "B-1-3"]);
    const other = await buy(showId, ["B-2-1"]);
    const [t1, t2, t3] = (await ticketsOf(order.order_id)).sort((a, b) => a.placeId.localeCompare(b.placeId));

    const one = await json<OrderView>(await refund(order.order_id, "p1", { ticket_ids: [t1!.id] }), 200);
    expect(one).toMatchObject({ status: "confirmed", total_cents: 15_000, refunded_cents: 5000 });
    expect(one.tickets.map((t) => [t.seat_id, t.status])).toEqual([
      ["B-1-1", "void"],
      ["B-1-2", "valid"],
      ["B-1-3", "valid"],
    ]);
    // The refunded ticket's seat is on sale again; the others stay sold.
    const sold = (await env.SHOW.getByName(showId).soldSeats()).map((s) => s.seat_id);
    expect(sold).not.toContain("B-1-1");
    expect(sold).toEqual(expect.arrayContaining(["B-1-2", "B-1-3", "B-2-1"]));

    const goodwill = await json<OrderView>(await refund(order.order_id, "p2", { amount_cents: 1000 }), 200);
    expect(goodwill).toMatchObject({ status: "confirmed", refunded_cents: 6000 });
    expect(goodwill.tickets.filter((t) => t.status === "valid")).toHaveLength(2);

    const refused = async (key: string, body: object) => (await problem(await refund(order.order_id, key, body))).code;
    expect(await refused("x1", { amount_cents: 9001 })).toBe("refund_exceeds_remaining");
    expect(await refused("x2", { ticket_ids: [t1!.id] })).toBe("ticket_not_refundable");
    const [foreign] = await ticketsOf(other.order.order_id);
    expect(await refused("x3", { ticket_ids: [foreign!.id] })).toBe("ticket_not_refundable");
    expect(await refused("x4", { ticket_ids: [t2!.id], amount_cents: 5001 })).toBe("refund_exceeds_tickets");
    expect((await refund(order.order_id, "x5", { amount_cents: -5 })).status).toBe(422);

    const sales = await json<{ refunded_cents: number }>(
      await api(`/v1/admin/shows/${showId}/sales`, { headers: bearer(organizer.key) }),
      200,
    );
    expect(sales.refunded_cents).toBe(6000);

    // No body: what remains, and the order is refunded only now.
    const rest = await json<OrderView>(await refund(order.order_id, "p3"), 200);
    expect(rest).toMatchObject({ status: "refunded", refunded_cents: 15_000 });
    expect(rest.tickets.every((t) => t.status === "void")).toBe(true);
    expect(t3).toBeDefined();
    const rows = await refundRows(order.order_id);
    expect(rows.map((r) => r.amountCents)).toEqual([5000, 1000, 9000]);
    const atStripe = await stripeFaults.refundsOf(await intentOf(order.order_id));
    expect(atStripe.map((r) => r.amount).sort()).toEqual([1000, 5000, 9000]);
    expect((await env.SHOW.getByName(showId).soldSeats()).map((s) => s.seat_id)).toEqual(["B-2-1"]);
  });

  it("a refund the bank sends back is owed again, re-issued a bounded number of times, then reported", async () => {
    const { organizer, showId } = await createShow();
    currentOrganizer = organizer.key;
    const { fan, order } = await buy(showId, ["A-1-1", "A-1-2"]);
    const intentId = await intentOf(order.order_id);
    expect((await json<OrderView>(await refund(order.order_id, "r1"), 200)).status).toBe("refunded");

    const failLatest = async () => {
      const [latest] = await stripeFaults.refundsOf(intentId);
      await stripeFaults.failRefund(latest!.id);
      const event = (await standin.events("refund.updated")).find((e) => e.data.object.id === latest!.id);
      expect((await standin.deliver(event!.id)).status).toBe(200);
    };
    await failLatest();
    const view = await json<OrderView>(await api(`/v1/orders/${order.order_id}`, { headers: fan.auth }), 200);
    expect(view).toMatchObject({ status: "refund_pending", refunded_cents: 0 });
    let rows = await refundRows(order.order_id);
    expect(rows.map((r) => [r.status, r.generation])).toEqual([
      ["failed", 0],
      ["pending", 1],
    ]);

    await runCron();
    expect((await orderRow(order.order_id)).status).toBe("refunded");
    rows = await refundRows(order.order_id);
    expect(rows.map((r) => r.status)).toEqual(["failed", "succeeded"]);

    // Every later failure is owed again, up to the bound; past it operators hear of it.
    for (let round = 0; round < 3; round++) {
      await failLatest();
      await runCron();
    }
    rows = await refundRows(order.order_id);
    expect(rows.map((r) => [r.status, r.generation])).toEqual([
      ["failed", 0],
      ["failed", 1],
      ["failed", 2],
      ["failed", 3],
    ]);
    expect((await orderRow(order.order_id)).status).toBe("refund_pending");
    const report = await runCron();
    expect(report!.refunds_stuck.map((r) => r.refund_id)).toContain(rows.at(-1)!.id);
    // The money Stripe actually returned is never counted as refunded.
    const sales = await json<{ refunded_cents: number }>(
      await api(`/v1/admin/shows/${showId}/sales`, { headers: bearer(organizer.key) }),
      200,
    );
    expect(sales.refunded_cents).toBe(0);
  });

  it("a free order is refunded without calling Stripe", async () => {
    const { organizer, showId } = await createShow({
      tiers: [{ name: "Free", price_cents: 0, sections: ["A", "B"] }],
    });
    currentOrganizer = organizer.key;
    const { order } = await buy(showId, ["A-3-1"]);
    expect((await orderRow(order.order_id)).status).toBe("confirmed");
    const before = (await standin.events("refund.created")).length;
    const refunded = await json<OrderView>(await refund(order.order_id, "f1"), 200);
    expect(refunded).toMatchObject({ status: "refunded", refunded_cents: 0 });
    expect(refunded.tickets.map((t) => t.status)).toEqual(["void"]);
    expect((await standin.events("refund.created")).length).toBe(before);
    expect(await env.SHOW.getByName(showId).counts()).toMatchObject({ sold: 0 });
  });

  it("a ticket whose refund is pending does not get in at the gate", async () => {
    const { organizer, showId } = await createShow();
    currentOrganizer = organizer.key;
    const { fan, order } = await buy(showId, ["A-2-1", "A-2-2"]);
    const intentId = await intentOf(order.order_id);
    const mine = await json<{ data: { ticket_id: string; seat_id: string; barcode: string }[] }>(
      await api("/v1/me/tickets", { headers: fan.auth }),
      200,
    );
    const [first, second] = mine.data.sort((a, b) => a.seat_id.localeCompare(b.seat_id));
    await stripeFaults.inject({ operation: "createRefund", match: { payment_intent: intentId }, count: 1 });
    const partial = await json<OrderView>(await refund(order.order_id, "g1", { ticket_ids: [first!.ticket_id] }), 200);
    expect(partial).toMatchObject({ status: "confirmed", refunded_cents: 0 });
    expect((await scan(showId, first!.barcode)).result).toBe("refund_pending");
    expect((await scan(showId, second!.barcode)).result).toBe("valid");

    await runCron();
    expect((await scan(showId, first!.barcode)).result).toBe("void");
    const notices = await withDatabase(env, (db) =>
      db
        .select()
        .from(outbox)
        .where(and(eq(outbox.aggregateId, order.order_id), eq(outbox.topic, "order.refunded"))),
    );
    expect(notices).toHaveLength(1);
  });
});
