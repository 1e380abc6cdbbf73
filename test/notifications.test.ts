import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../src/db/client";
import { outbox } from "../src/db/schema";
import worker from "../src/index";
import {
  deliverNotification,
  type NotificationMessage,
  publishOutbox,
  retryDelaySeconds,
} from "../src/notifications/delivery";
import { enqueueNotification } from "../src/notifications/outbox";
import { createShow, gridSeatMap, json } from "./fixtures";
import { api, bearer, problem } from "./helpers";
import { confirmPayment, expireHoldsAt, holdSeats, newFan, type OrderCreated, placeOrder } from "./payments-helpers";

async function newNotification(payload: Record<string, unknown> = {}) {
  return withDatabase(env, async (db) => {
    const orderId = `ord_note_${crypto.randomUUID().slice(0, 8)}`;
    await enqueueNotification(db, "order.payment_failed", orderId, {
      fan_id: "fan_note",
      order_id: orderId,
      reason: "test",
      ...payload,
    });
    const [row] = await db.select().from(outbox).where(eq(outbox.aggregateId, orderId));
    return {
      outbox_id: row!.id,
      topic: row!.topic,
      payload: row!.payload as Record<string, unknown>,
    } satisfies NotificationMessage;
  });
}

const mailboxEntry = (outboxId: number) =>
  env.MAILBOX.get<{ to: string; subject: string; text: string; sent_at: string }>(`mailbox:outbox-${outboxId}`, "json");

/** Waits for background work (a queue consumer, a waitUntil) with a bound, never a fixed sleep. */
async function eventually<T>(probe: () => Promise<T | null | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const value = await probe();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("notifications", () => {
  it("outbox → queue → mailbox, end to end, for a confirmed order", async () => {
    const { showId } = await createShow();
    const fan = await newFan();
    const hold = await holdSeats(showId, fan, ["A-1-1"]);
    const order = await json<OrderCreated>(await placeOrder(fan, hold.hold_id), 201);
    await json(await confirmPayment(fan, order.payment.payment_id, { payment_method: "pm_card_visa" }), 200);
    const row = await withDatabase(env, async (db) => {
      await publishOutbox(env, db);
      return (await db.select().from(outbox).where(eq(outbox.aggregateId, order.order_id)))[0]!;
    });
    expect(row.topic).toBe("order.confirmed");
    const mail = await eventually(() => mailboxEntry(row.id), "the confirmation email");
    expect(mail.to).toBe(`${fan.id}@fans.onsale.test`);
    expect(mail.subject).toContain(order.order_id);
    expect(mail.text).toMatch(/Seat A-1-1: \/v1\/tickets\/tkt_\w+\/pdf/);
    const listed = await json<{ data: { id: string }[] }>(await api("/v1/dev/mailbox"), 200);
    expect(listed.data.map((m) => m.id)).toContain(`outbox-${row.id}`);
  });

  it("a duplicate delivery of the same message mails it once", async () => {
    const message = await newNotification();
    const first = await withDatabase(env, (db) => deliverNotification(env, db, message));
    const sent = await mailboxEntry(message.outbox_id);
    const second = await withDatabase(env, (db) => deliverNotification(env, db, message));
    expect([first, second]).toEqual(["sent", "duplicate"]);
    expect((await mailboxEntry(message.outbox_id))?.sent_at).toBe(sent?.sent_at);
    const [row] = await withDatabase(env, (db) => db.select().from(outbox).where(eq(outbox.id, message.outbox_id)));
    expect(row!.attempts).toBe(1);
  });

  it("a failing provider is retried with growing delays, then dead-lettered and visible", async () => {
    const message = await newNotification({ email: "fan@example.com" });
    // The real Resend client against a server that is not Resend: every send is refused.
    const failing = { ...env, RESEND_API_KEY: "re_test", RESEND_API_URL: `${env.STRIPE_API_URL}/not-resend` };
    const delays: number[] = [];
    for (const attempts of [1, 2, 3]) {
      const batch = createMessageBatch<NotificationMessage>("onsale-notifications", [
        { id: `m${attempts}`, timestamp: new Date(), attempts, body: message },
      ]);
      const ctx = createExecutionContext();
      await worker.queue(batch, failing, ctx);
      const result = await getQueueResult(batch, ctx);
      expect(result.explicitAcks).toEqual([]);
      expect(result.retryMessages.map((m) => m.msgId)).toEqual([`m${attempts}`]);
      delays.push(retryDelaySeconds(attempts));
    }
    expect(delays).toEqual([5, 10, 20]);
    expect(retryDelaySeconds(20)).toBe(600);
    const [failed] = await withDatabase(env, (db) => db.select().from(outbox).where(eq(outbox.id, message.outbox_id)));
    expect(failed).toMatchObject({ sentAt: null, attempts: 3 });
    expect(failed!.lastError).toMatch(/^resend answered 4\d\d/);

    const dead = createMessageBatch<NotificationMessage>("onsale-notifications-dlq", [
      { id: "dead", timestamp: new Date(), attempts: 6, body: message },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(dead, env, ctx);
    expect((await getQueueResult(dead, ctx)).explicitAcks).toEqual(["dead"]);
    const [row] = await withDatabase(env, (db) => db.select().from(outbox).where(eq(outbox.id, message.outbox_id)));
    expect(row!.deadLettered).toBe(true);
    expect(await mailboxEntry(message.outbox_id)).toBeNull();
  });
});

describe("waitlist", () => {
  /** Sold out: every seat is blocked by the organizer; unblocking brings them back. */
  async function soldOutShow() {
    const map = gridSeatMap({ sections: ["A"], rows: 1, seats: 2 });
    const show = await createShow({ map, holdTtlS: 120 });
    const seats = { seat_ids: ["A-1-1", "A-1-2"] };
    const organizer = bearer(show.organizer.key);
    await json(
      await api(`/v1/admin/shows/${show.showId}/seats/block`, {
        method: "POST",
        headers: organizer,
        json: { ...seats, reason: "production_kill" },
      }),
      200,
    );
    const bringBack = async () =>
      json(
        await api(`/v1/admin/shows/${show.showId}/seats/unblock`, { method: "POST", headers: organizer, json: seats }),
        200,
      );
    return { ...show, bringBack };
  }
  const joinWaitlist = (showId: string, fan: { auth: Record<string, string> }, body: object) =>
    api(`/v1/shows/${showId}/waitlist`, { method: "POST", headers: fan.auth, json: body });

  it("offers seats that come back to the next fan in line; an unanswered offer moves on", async () => {
    const { showId, bringBack } = await soldOutShow();
    const first = await newFan();
    const second = await newFan();
    expect(await json(await joinWaitlist(showId, first, { quantity: 2 }), 200)).toMatchObject({
      status: "waiting",
      position: 1,
    });
    expect(await json(await joinWaitlist(showId, second, { quantity: 2, section_id: "A" }), 200)).toMatchObject({
      position: 2,
    });

    // The seats come back: the first fan is offered both as a hold of their own.
    await bringBack();
    const offered = await json<{ status: string; offer_hold_id: string }>(
      await api(`/v1/shows/${showId}/waitlist`, { headers: first.auth }),
      200,
    );
    expect(offered.status).toBe("offered");
    const offerHold = await json<{ seat_ids: string[]; status: string }>(
      await api(`/v1/holds/${offered.offer_hold_id}`, { headers: first.auth }),
      200,
    );
    expect(offerHold).toMatchObject({ seat_ids: ["A-1-1", "A-1-2"], status: "active" });
    expect(await json(await api(`/v1/shows/${showId}/waitlist`, { headers: second.auth }), 200)).toMatchObject({
      status: "waiting",
      position: 1,
    });
    const notice = await eventually(
      () =>
        withDatabase(
          env,
          async (db) => (await db.select().from(outbox).where(eq(outbox.aggregateId, offered.offer_hold_id)))[0],
        ),
      "the offer notice",
    );
    expect(notice.topic).toBe("waitlist.offer");

    // The first fan never answers: at expiry the same seats go to the second fan, never to both.
    await expireHoldsAt(showId, Date.now() + 10 * 60_000);
    expect(await json(await api(`/v1/shows/${showId}/waitlist`, { headers: first.auth }), 200)).toMatchObject({
      status: "lapsed",
    });
    const next = await json<{ status: string; offer_hold_id: string }>(
      await api(`/v1/shows/${showId}/waitlist`, { headers: second.auth }),
      200,
    );
    expect(next.status).toBe("offered");
    expect(await env.SHOW.getByName(showId).counts()).toMatchObject({ held: 2, available: 0 });

    // The second fan takes the offer and buys it.
    const order = await json<OrderCreated>(await placeOrder(second, next.offer_hold_id), 201);
    await json(await confirmPayment(second, order.payment.payment_id, { payment_method: "pm_card_visa" }), 200);
    expect(await json(await api(`/v1/shows/${showId}/waitlist`, { headers: second.auth }), 200)).toMatchObject({
      status: "fulfilled",
    });
  });

  it("joining a show that is not sold out is 409; leaving passes an offer on", async () => {
    const { showId } = await createShow();
    const fan = await newFan();
    const response = await joinWaitlist(showId, fan, { quantity: 1 });
    expect(response.status).toBe(409);
    expect((await problem(response)).code).toBe("not_sold_out");
    expect((await joinWaitlist(showId, fan, { quantity: 0 })).status).toBe(422);
    expect((await problem(await joinWaitlist(showId, fan, { quantity: 1, section_id: "Q" }))).code).toBe(
      "unknown_section",
    );
    expect((await joinWaitlist("shw_nosuchshow", fan, { quantity: 1 })).status).toBe(404);

    const sold = await soldOutShow();
    const leaver = await newFan();
    const stayer = await newFan();
    await json(await joinWaitlist(sold.showId, leaver, { quantity: 1 }), 200);
    await json(await joinWaitlist(sold.showId, stayer, { quantity: 1 }), 200);
    await sold.bringBack();
    // Two seats came back and both fans want one: each gets their own.
    const a = await json<{ offer_hold_id: string }>(
      await api(`/v1/shows/${sold.showId}/waitlist`, { headers: leaver.auth }),
      200,
    );
    const b = await json<{ offer_hold_id: string }>(
      await api(`/v1/shows/${sold.showId}/waitlist`, { headers: stayer.auth }),
      200,
    );
    expect(a.offer_hold_id).not.toBe(b.offer_hold_id);
    const left = await json(
      await api(`/v1/shows/${sold.showId}/waitlist`, { method: "DELETE", headers: leaver.auth }),
      200,
    );
    expect(left).toMatchObject({ status: "left" });
    expect(await env.SHOW.getByName(sold.showId).counts()).toMatchObject({ held: 1, available: 1 });
  });
});
