import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createShow, gridSeatMap, json } from "./fixtures";
import { api, bearer, problem } from "./helpers";
import {
  confirmPayment,
  type Fan,
  holdSeats,
  intentOf,
  newFan,
  type OrderCreated,
  orderRow,
  placeOrder,
  refundRows,
  standin,
  ticketsOf,
} from "./payments-helpers";

const LIMIT = 2;

async function checkout(showId: string, seatIds: string[], fan?: Fan) {
  const buyer = fan ?? (await newFan());
  const hold = await holdSeats(showId, buyer, seatIds);
  const order = await json<OrderCreated>(await placeOrder(buyer, hold.hold_id), 201);
  return { fan: buyer, hold, order };
}

/** The fan pays in the browser (Stripe.js): the charge happens at Stripe before Onsale hears of it. */
async function payAtStripe(orderId: string, paymentMethod: string) {
  const intentId = await intentOf(orderId);
  const response = await fetch(`${env.STRIPE_API_URL}/v1/payment_intents/${intentId}/confirm`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${env.STRIPE_SECRET_KEY}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ payment_method: paymentMethod }),
  });
  expect(response.status).toBe(200);
  return intentId;
}

const seatIsFree = async (showId: string, seatId: string) => {
  const taker = await newFan();
  const response = await api(`/v1/shows/${showId}/holds`, {
    method: "POST",
    headers: { ...taker.auth, "idempotency-key": crypto.randomUUID() },
    json: { seat_ids: [seatId] },
  });
  return response.status === 201;
};

describe("per-card cap: one card buys at most the show's per-fan limit, across all fans", () => {
  it("the stand-in gives one card one fingerprint, whichever PaymentMethod carries it", async () => {
    const method = async (id: string) =>
      (await (
        await fetch(`${env.STRIPE_API_URL}/v1/payment_methods/${id}`, {
          headers: { authorization: `Bearer ${env.STRIPE_SECRET_KEY}` },
        })
      ).json()) as { id: string; card: { fingerprint: string } };
    const [a, b, other] = [
      await method("pm_card_visa"),
      await method("pm_card_visa"),
      await method("pm_card_mastercard"),
    ];
    expect(a.id).not.toBe(b.id);
    expect(a.card.fingerprint).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(b.card.fingerprint).toBe(a.card.fingerprint);
    expect(other.card.fingerprint).not.toBe(a.card.fingerprint);
  });

  it("a second fan paying with the same card over the cap is refused before the charge; another card is fine", async () => {
    const { showId } = await createShow({ ticketLimit: LIMIT });
    const first = await checkout(showId, ["A-1-1", "A-1-2"]);
    await json(
      await confirmPayment(first.fan, first.order.payment.payment_id, { payment_method: "pm_card_visa" }),
      200,
    );
    expect((await orderRow(first.order.order_id)).status).toBe("confirmed");

    const second = await checkout(showId, ["A-2-1"]);
    const refused = await confirmPayment(second.fan, second.order.payment.payment_id, {
      payment_method: "pm_card_visa",
    });
    expect(refused.status).toBe(409);
    const body = (await problem(refused)) as unknown as { code: string; limit: number; already: number };
    expect(body).toMatchObject({ code: "card_limit_exceeded", limit: LIMIT, already: 2 });
    // Nothing was charged, and the order still waits for a payment.
    expect((await standin.intent(await intentOf(second.order.order_id))).status).toBe("requires_payment_method");
    expect((await orderRow(second.order.order_id)).status).toBe("pending_payment");

    const other = await json<{ order_status: string }>(
      await confirmPayment(second.fan, second.order.payment.payment_id, { payment_method: "pm_card_mastercard" }),
      200,
    );
    expect(other.order_status).toBe("confirmed");
  });

  it("counts the card's orders still being paid: two fans cannot both reserve the card's last seats", async () => {
    const { showId } = await createShow({ ticketLimit: LIMIT });
    const first = await checkout(showId, ["B-1-1", "B-1-2"]);
    const second = await checkout(showId, ["B-2-1"]);
    // The first payment is asked for 3-D Secure: in flight, not yet paid, but its card is known.
    await json(
      await confirmPayment(first.fan, first.order.payment.payment_id, {
        payment_method: "pm_card_authenticationRequired",
      }),
      200,
    );
    const refused = await confirmPayment(second.fan, second.order.payment.payment_id, {
      payment_method: "pm_card_authenticationRequired",
    });
    expect(refused.status).toBe(409);
    expect((await problem(refused)).code).toBe("card_limit_exceeded");
  });

  it("a card over the cap that paid in the browser is refunded, and the seats go back on sale", async () => {
    const { showId } = await createShow({ ticketLimit: LIMIT });
    const first = await checkout(showId, ["A-1-1", "A-1-2"]);
    await payAtStripe(first.order.order_id, "pm_card_visa");
    await json(await confirmPayment(first.fan, first.order.payment.payment_id), 200);
    expect((await orderRow(first.order.order_id)).status).toBe("confirmed");

    const second = await checkout(showId, ["A-3-1"]);
    await payAtStripe(second.order.order_id, "pm_card_visa");
    const result = await json<{ order_status: string }>(
      await confirmPayment(second.fan, second.order.payment.payment_id),
      200,
    );
    expect(["refund_pending", "refunded"]).toContain(result.order_status);
    const refunds = await refundRows(second.order.order_id);
    expect(refunds).toHaveLength(1);
    expect(refunds[0]).toMatchObject({ reason: "card_limit_exceeded", amountCents: second.order.total_cents });
    expect(refunds[0]!.status).toBe("succeeded");
    expect(await ticketsOf(second.order.order_id)).toHaveLength(0);
    expect(await seatIsFree(showId, "A-3-1")).toBe(true);
    // The first fan keeps what the card bought first.
    expect(await ticketsOf(first.order.order_id)).toHaveLength(2);
  });

  it("two orders of one card finalized at once: exactly one keeps its seats", async () => {
    const { showId } = await createShow({ ticketLimit: LIMIT });
    const a = await checkout(showId, ["B-1-1", "B-1-2"]);
    const b = await checkout(showId, ["B-2-1"]);
    await payAtStripe(a.order.order_id, "pm_card_mastercard");
    await payAtStripe(b.order.order_id, "pm_card_mastercard");
    await Promise.all([
      confirmPayment(a.fan, a.order.payment.payment_id),
      confirmPayment(b.fan, b.order.payment.payment_id),
    ]);
    const statuses = [(await orderRow(a.order.order_id)).status, (await orderRow(b.order.order_id)).status];
    expect(statuses.filter((status) => status === "confirmed")).toHaveLength(1);
    const tickets = (await ticketsOf(a.order.order_id)).length + (await ticketsOf(b.order.order_id)).length;
    expect(tickets).toBeLessThanOrEqual(LIMIT);
  });
  it("GA tickets count toward the card's cap like seats, and a refunded GA ticket gives its share back", async () => {
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
      ga_capacity: 10,
      rows: [],
    });
    const { organizer, showId } = await createShow({
      map,
      ticketLimit: LIMIT,
      tiers: [
        { name: "Seated", price_cents: 5000, sections: ["A"] },
        { name: "Floor", price_cents: 3000, sections: ["FLOOR"] },
      ],
    });
    // One fan buys the card's whole share as GA places.
    const gaFan = await newFan();
    const gaHold = await json<{ hold_id: string }>(
      await api(`/v1/shows/${showId}/holds`, {
        method: "POST",
        headers: { ...gaFan.auth, "idempotency-key": crypto.randomUUID() },
        json: { section_id: "FLOOR", quantity: LIMIT },
      }),
      201,
    );
    const gaOrder = await json<OrderCreated>(await placeOrder(gaFan, gaHold.hold_id), 201);
    await json(await confirmPayment(gaFan, gaOrder.payment.payment_id, { payment_method: "pm_card_visa" }), 200);
    expect(await ticketsOf(gaOrder.order_id)).toHaveLength(LIMIT);

    // Another account, the same card, a seat: over the cap, refused before the charge.
    const seated = await checkout(showId, ["A-1-1"]);
    const refused = await confirmPayment(seated.fan, seated.order.payment.payment_id, {
      payment_method: "pm_card_visa",
    });
    expect((await problem(refused)) as unknown).toMatchObject({ code: "card_limit_exceeded", already: LIMIT });

    // The organizer refunds one GA ticket: the card has one ticket left, and may buy one more.
    const [ticket] = await ticketsOf(gaOrder.order_id);
    await json(
      await api(`/v1/admin/orders/${gaOrder.order_id}/refund`, {
        method: "POST",
        headers: { ...bearer(organizer.key), "idempotency-key": crypto.randomUUID() },
        json: { ticket_ids: [ticket!.id] },
      }),
      200,
    );
    const paid = await json<{ order_status: string }>(
      await confirmPayment(seated.fan, seated.order.payment.payment_id, { payment_method: "pm_card_visa" }),
      200,
    );
    expect(paid.order_status).toBe("confirmed");
  });
});
