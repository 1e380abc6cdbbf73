import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { describe, expect, inject, it, vi } from "vitest";
import type { HoldView } from "../durable-objects/types";
import { withDatabase } from "../src/db/client";
import { BREAKER_FAILURES } from "../src/lib/breaker";
import { PG_CONNECT_TIMEOUT_MS, PG_STATEMENT_TIMEOUT_MS } from "../src/lib/deadline";
import { apiErrorWithin } from "../src/lib/problem";
import { reconcile } from "../src/orders/reconcile";
import { signQueueTicket, verifyQueueTicket } from "../src/waiting-room/tokens";
import { apiWith, expectUnavailable, postgresDown } from "./faults-helpers";
import { createShow, json } from "./fixtures";
import { api } from "./helpers";
import {
  confirmPayment,
  expireHoldsAt,
  type Fan,
  holdSeats,
  intentOf,
  newFan,
  type OrderCreated,
  orderRow,
  placeOrder,
  standin,
  ticketsOf,
} from "./payments-helpers";
import { admitNow, showWithRoom } from "./room-helpers";

// Postgres is made unreachable per request: the Worker is called with PG_WS_PROXY pointing at a
// tunnel that accepts the connection and never answers (test/global-setup.ts), as a frozen
// server would. Everything else (the Show DO, KV, the Stripe stand-in) is the real one, and the
// breaker of that address is the isolate's own, so other test files never see it trip.

/** A bound on a request that waits out one connection timeout (plus workerd's overhead). */
const ONE_TIMEOUT_MS = Math.max(PG_CONNECT_TIMEOUT_MS, PG_STATEMENT_TIMEOUT_MS) + 1_000;

const down = (path: string, init: RequestInit & { json?: unknown } = {}) => apiWith(postgresDown(), path, init);

async function holdOf(fan: Fan, holdId: string) {
  return json<HoldView>(await api(`/v1/holds/${holdId}`, { headers: fan.auth }), 200);
}

describe("Postgres frozen", () => {
  it("the hot path stays up: join, poll, hold, overlay and release never need Postgres", async () => {
    const { showId } = await showWithRoom({ admit_per_minute: 1_000_000, max_active: 100 });
    const fan = await newFan();
    const joined = await down("/v1/waiting-room/sessions", {
      method: "POST",
      headers: fan.auth,
      json: { show_id: showId },
    });
    const session = await json<{ session_id: string; ticket: string }>(joined, 201);
    expect(joined.ms).toBeLessThan(1_000);
    await admitNow(showId);
    const claims = await verifyQueueTicket(env, session.ticket);
    if (claims === "expired") throw new Error("expired ticket");
    const polled = await down(`/v1/waiting-room/sessions/${session.session_id}`, {
      headers: { ...fan.auth, "waiting-room-ticket": await signQueueTicket(env, { ...claims, nextPollAtMs: 0 }) },
    });
    const admitted = await json<{ status: string; admission_token: string }>(polled, 200);
    expect(admitted.status).toBe("admitted");
    const held = await down(`/v1/shows/${showId}/holds`, {
      method: "POST",
      headers: { ...fan.auth, "idempotency-key": crypto.randomUUID(), "admission-token": admitted.admission_token },
      json: { seat_ids: ["A-1-1", "A-1-2"] },
    });
    const hold = await json<HoldView>(held, 201);
    expect(held.ms).toBeLessThan(1_000);
    const overlay = await down(`/v1/shows/${showId}/seat-map?section=A`);
    const seats = (await json<{ seats: { seat_id: string; status: string }[] }>(overlay, 200)).seats;
    expect(overlay.ms).toBeLessThan(1_000);
    expect(seats.find((s) => s.seat_id === "A-1-1")?.status).toBe("unavailable");
    const released = await down(`/v1/holds/${hold.hold_id}`, { method: "DELETE", headers: fan.auth });
    expect((await json<HoldView>(released, 200)).status).toBe("released");
    expect(released.ms).toBeLessThan(1_000);
  });

  it("/healthz answers within a second, naming Postgres as degraded", async () => {
    const response = await apiWith(postgresDown(), "/healthz");
    expect(response.ms).toBeLessThan(1_000);
    expect(response.status).toBe(503);
    const body = (await response.json()) as { degraded: string[]; checks: Record<string, { ok: boolean }> };
    expect(body.degraded).toEqual(["postgres"]);
    expect(body.checks.show_do?.ok).toBe(true);
  });

  it("placing an order answers 503 with Retry-After within one timeout, and the hold is kept as it was", async () => {
    const { showId } = await createShow();
    const fan = await newFan();
    const hold = await holdSeats(showId, fan, ["A-2-1"]);
    const key = crypto.randomUUID();
    const refused = await down("/v1/orders", {
      method: "POST",
      headers: { ...fan.auth, "idempotency-key": key },
      json: { hold_id: hold.hold_id },
    });
    await expectUnavailable(refused, "postgres");
    expect(refused.ms).toBeLessThan(ONE_TIMEOUT_MS);
    // Refused before the Show DO was asked: the hold is neither in checkout nor shortened.
    const after = await holdOf(fan, hold.hold_id);
    expect(after).toMatchObject({ status: hold.status, expires_at_ms: hold.expires_at_ms, version: hold.version });

    // Postgres back: the same key goes through, and the sale completes.
    const order = await json<OrderCreated>(await placeOrder(fan, hold.hold_id, key), 201);
    await json(await confirmPayment(fan, order.payment.payment_id, { payment_method: "pm_card_visa" }), 200);
    expect((await orderRow(order.order_id)).status).toBe("confirmed");
    expect(await ticketsOf(order.order_id)).toHaveLength(1);
  });

  it("confirming answers 503 with Retry-After and charges nothing; retried after, it pays once", async () => {
    const { showId } = await createShow();
    const fan = await newFan();
    const hold = await holdSeats(showId, fan, ["A-2-2"]);
    const order = await json<OrderCreated>(await placeOrder(fan, hold.hold_id), 201);
    const key = crypto.randomUUID();
    const refused = await down(`/v1/payments/${order.payment.payment_id}/confirm`, {
      method: "POST",
      headers: { ...fan.auth, "idempotency-key": key },
      json: { payment_method: "pm_card_visa" },
    });
    await expectUnavailable(refused, "postgres");
    expect(refused.ms).toBeLessThan(ONE_TIMEOUT_MS);
    expect((await standin.intent(await intentOf(order.order_id))).status).not.toBe("succeeded");
    await json(await confirmPayment(fan, order.payment.payment_id, { payment_method: "pm_card_visa" }, key), 200);
    expect((await orderRow(order.order_id)).status).toBe("confirmed");
    expect(await ticketsOf(order.order_id)).toHaveLength(1);
  });

  it("a webhook that arrives during the outage is answered 5xx, and applied once when it is redelivered", async () => {
    const { showId } = await createShow();
    const fan = await newFan();
    const hold = await holdSeats(showId, fan, ["A-2-3"]);
    const order = await json<OrderCreated>(await placeOrder(fan, hold.hold_id), 201);
    const intentId = await intentOf(order.order_id);
    // The fan paid with Stripe.js: Stripe knows, Onsale hears it only through the webhook.
    await standin.succeedAsync(intentId);
    const event = await standin.eventFor("payment_intent.succeeded", intentId);
    const signed = async () => {
      const response = await fetch(`${env.STRIPE_API_URL}/_standin/events/${event.id}/webhook`);
      const request = (await response.json()) as { headers: Record<string, string>; body: string };
      return { method: "POST", headers: request.headers, body: request.body };
    };
    const refused = await down("/v1/webhooks/stripe", await signed());
    await expectUnavailable(refused, "postgres");
    expect((await orderRow(order.order_id)).status).toBe("pending_payment");
    const applied = await apiWith({}, "/v1/webhooks/stripe", await signed());
    expect(await json(applied, 200)).toEqual({ received: true, duplicate: false });
    const again = await apiWith({}, "/v1/webhooks/stripe", await signed());
    expect(await json(again, 200)).toEqual({ received: true, duplicate: true });
    expect((await orderRow(order.order_id)).status).toBe("confirmed");
    expect(await ticketsOf(order.order_id)).toHaveLength(1);
  });

  it("a payment whose webhook was lost in the outage is ticketed by the reconciliation cron", async () => {
    const { showId } = await createShow();
    const fan = await newFan();
    const hold = await holdSeats(showId, fan, ["A-2-4"]);
    const order = await json<OrderCreated>(await placeOrder(fan, hold.hold_id), 201);
    await standin.succeedAsync(await intentOf(order.order_id));
    // Stripe gave up on the webhook; the cron runs after the checkout window.
    const report = await withDatabase(env, (db) => reconcile(env, db, order.expires_at_ms + 1_000));
    expect(report.errors).toEqual([]);
    expect((await orderRow(order.order_id)).status).toBe("confirmed");
    expect(await ticketsOf(order.order_id)).toHaveLength(1);
  });

  it(`after ${BREAKER_FAILURES} failures in a row the breaker answers at once, and the real database is untouched`, async () => {
    const fan = await newFan();
    const order = () =>
      down("/v1/orders", {
        method: "POST",
        headers: { ...fan.auth, "idempotency-key": crypto.randomUUID() },
        json: { hold_id: `hld_${"a".repeat(20)}_nonexistent` },
      });
    // Whatever earlier tests left, these fail (each within its timeout) and open the breaker.
    for (const response of await Promise.all(Array.from({ length: BREAKER_FAILURES }, order))) {
      await expectUnavailable(response, "postgres");
    }
    for (let i = 0; i < 5; i++) {
      const fast = await order();
      await expectUnavailable(fast, "postgres");
      expect(fast.ms).toBeLessThan(200);
    }
    // The breaker is per address: the same isolate still reaches the real Postgres.
    expect((await api("/v1/orders/ord_none", { headers: fan.auth })).status).toBe(404);
  });
});

describe("checkout cut off between the Show DO and Postgres", () => {
  it("the hold gets the payment window only once its order exists; before, at most a minute", async () => {
    const { showId } = await createShow({ holdTtlS: 60 });
    const fan = await newFan();
    const hold = await holdSeats(showId, fan, ["B-1-4"]);
    // What POST /v1/orders does first; then Postgres fails and no order row is ever written.
    const stub = env.SHOW.getByName(showId);
    const checkout = await stub.beginCheckout(fan.id, hold.hold_id, "ord_never_written", 60_000);
    expect(checkout.ok && checkout.hold.expires_at_ms).toBeLessThan(Date.now() + 5 * 60_000);
    await expireHoldsAt(showId, Math.max(hold.expires_at_ms, Date.now() + 60_000) + 1_000);
    expect((await holdOf(fan, hold.hold_id)).status).toBe("expired");

    // An order that reached Postgres: its hold lasts the payment window.
    const other = await holdSeats(showId, fan, ["B-1-3"]);
    const order = await json<OrderCreated>(await placeOrder(fan, other.hold_id), 201);
    const stretched = await holdOf(fan, other.hold_id);
    expect(stretched.expires_at_ms).toBeGreaterThanOrEqual(order.expires_at_ms);
    expect(order.expires_at_ms).toBeGreaterThan(Date.now() + 14 * 60_000);
  });

  it("an order written whose answer was lost: the retry gives the hold its payment window, and no more", async () => {
    const { showId } = await createShow({ holdTtlS: 60 });
    const fan = await newFan();
    const hold = await holdSeats(showId, fan, ["B-1-2"]);
    const order = await json<OrderCreated>(await placeOrder(fan, hold.hold_id), 201);
    // As if the first attempt's stretch never ran: the hold is back on checkout's first minute.
    await runInDurableObject(env.SHOW.getByName(showId), (_, state) => {
      state.storage.sql.exec("UPDATE holds SET expires_at_ms = ? WHERE hold_id = ?", Date.now() + 60_000, hold.hold_id);
    });
    // The fan retries with a new key: the same order, and its hold lasts as long as the order.
    const again = await json<OrderCreated>(await placeOrder(fan, hold.hold_id), 201);
    expect(again.order_id).toBe(order.order_id);
    const kept = await holdOf(fan, hold.hold_id);
    expect(kept.expires_at_ms).toBeGreaterThanOrEqual(order.expires_at_ms);
    // Asking again never keeps the seats beyond the order.
    await placeOrder(fan, hold.hold_id);
    expect((await holdOf(fan, hold.hold_id)).expires_at_ms).toBe(kept.expires_at_ms);
  });
});

describe("a busy Postgres is not an outage", () => {
  it("a statement slower than the deadline is waited for while Postgres keeps answering others", async () => {
    await withDatabase(env, async (db) => {
      const slowS = (PG_STATEMENT_TIMEOUT_MS + 1_500) / 1_000;
      // Started now (drizzle's query runs once awaited), answered after the deadline.
      const slow = db.execute(sql`select pg_sleep(${slowS})`).then((result) => result.rows.length);
      // The isolate's other statements are answered meanwhile: a queue, not a frozen server.
      const until = Date.now() + slowS * 1_000;
      while (Date.now() < until) {
        await db.execute(sql`select 1`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      await expect(slow).resolves.toBe(1);
    });
    // A frozen server is still known within the deadline (the tests above); this one stays closed.
    expect((await api("/v1/orders/ord_none", { headers: (await newFan()).auth })).status).toBe(404);
  });
});

describe("a connection given up on", () => {
  it("is closed at once, even when its BEGIN met the deadline and the client was never given back", async () => {
    // Postgres answers the login, then freezes: the transaction's BEGIN gets no answer. drizzle
    // sends BEGIN outside its try, so the client stays checked out; left open, its session would
    // keep a pooled backend idle in that transaction for good once Postgres answers it.
    const relay = inject("pgStallingRelay");
    const state = async (action?: "stall" | "resume") =>
      (await (await fetch(`http://${relay}/${action ?? "open"}`, { method: action ? "POST" : "GET" })).json()) as {
        open: number;
      };
    try {
      const failed = await withDatabase({ ...env, PG_WS_PROXY: relay }, async (db) => {
        await db.execute(sql`select 1`);
        expect((await state()).open).toBe(1);
        await state("stall");
        return db
          .transaction((tx) => tx.execute(sql`select 1`))
          .then(
            () => "answered",
            (error: unknown) => error,
          );
      });
      expect(apiErrorWithin(failed)).toMatchObject({ status: 503, code: "dependency_unavailable" });
      await vi.waitFor(async () => expect((await state()).open).toBe(0), { timeout: 2_000, interval: 100 });
    } finally {
      await state("resume");
    }
  });
});
