import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from "jose";
import { PDFDocument } from "pdf-lib";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { createShow, json } from "./fixtures";
import { api, bearer, problem } from "./helpers";
import { confirmPayment, holdSeats, newFan, type OrderCreated, placeOrder } from "./payments-helpers";

interface Ticket {
  ticket_id: string;
  seat_id: string;
  status: string;
  barcode: string | null;
  qr_url: string;
  pdf_url: string;
  checked_in_at: string | null;
}

async function boughtTickets(seatIds: string[], show?: Awaited<ReturnType<typeof createShow>>) {
  const fixture = show ?? (await createShow());
  const fan = await newFan();
  const hold = await holdSeats(fixture.showId, fan, seatIds);
  const order = await json<OrderCreated>(await placeOrder(fan, hold.hold_id), 201);
  await json(await confirmPayment(fan, order.payment.payment_id, { payment_method: "pm_card_visa" }), 200);
  const mine = await json<{ data: Ticket[] }>(await api("/v1/me/tickets", { headers: fan.auth }), 200);
  return { ...fixture, fan, order, tickets: mine.data };
}

const scan = (showId: string, key: string, barcode: string) =>
  api(`/v1/admin/shows/${showId}/check-ins`, { method: "POST", headers: bearer(key), json: { barcode } });

describe("tickets", () => {
  it("one ticket per seat, each with a barcode that verifies offline against the published JWKS", async () => {
    const { tickets, fan, showId } = await boughtTickets(["A-1-1", "A-1-2"]);
    expect(tickets.map((t) => [t.seat_id, t.status]).sort()).toEqual([
      ["A-1-1", "valid"],
      ["A-1-2", "valid"],
    ]);
    const jwks = await json<{ keys: Record<string, unknown>[] }>(await api("/.well-known/jwks.json"), 200);
    expect(jwks.keys.every((k) => !("d" in k))).toBe(true);
    const { payload, protectedHeader } = await jwtVerify(tickets[0]!.barcode!, createLocalJWKSet(jwks as never), {
      algorithms: ["EdDSA"],
    });
    expect(protectedHeader.typ).toBe("onsale-ticket+jwt");
    expect(payload).toMatchObject({ tid: tickets[0]!.ticket_id, sid: showId, v: 1 });

    const one = await json<Ticket>(await api(`/v1/tickets/${tickets[0]!.ticket_id}`, { headers: fan.auth }), 200);
    expect(one.ticket_id).toBe(tickets[0]!.ticket_id);
    const stranger = await newFan();
    expect((await api(`/v1/tickets/${tickets[0]!.ticket_id}`, { headers: stranger.auth })).status).toBe(404);
    expect((await api(`/v1/tickets/${tickets[0]!.ticket_id}/pdf`, { headers: stranger.auth })).status).toBe(404);
    expect((await api("/v1/tickets/tkt_nosuchticket", { headers: fan.auth })).status).toBe(404);
  });

  it("serves the QR code as SVG and a one-page PDF ticket", async () => {
    const { tickets, fan } = await boughtTickets(["B-1-1"]);
    const qr = await api(tickets[0]!.qr_url, { headers: fan.auth });
    expect(qr.headers.get("content-type")).toBe("image/svg+xml");
    expect(await qr.text()).toMatch(/^<svg/);
    const pdf = await api(tickets[0]!.pdf_url, { headers: fan.auth });
    expect(pdf.headers.get("content-type")).toBe("application/pdf");
    const bytes = new Uint8Array(await pdf.arrayBuffer());
    expect(new TextDecoder().decode(bytes.slice(0, 5))).toBe("%PDF-");
    const document = await PDFDocument.load(bytes);
    expect(document.getPageCount()).toBe(1);
    expect(document.getTitle()).toContain(tickets[0]!.ticket_id);
  });

  it("the fan's order history, newest first, paged by cursor", async () => {
    const show = await createShow();
    const fan = await newFan();
    const placed: string[] = [];
    for (const seat of ["A-2-1", "A-2-2", "A-2-3"]) {
      const hold = await holdSeats(show.showId, fan, [seat]);
      placed.unshift((await json<OrderCreated>(await placeOrder(fan, hold.hold_id), 201)).order_id);
    }
    const first = await json<{ data: { order_id: string; items: unknown[]; payment: unknown }[]; next_cursor: string }>(
      await api("/v1/me/orders?limit=2", { headers: fan.auth }),
      200,
    );
    expect(first.data.map((o) => o.order_id)).toEqual(placed.slice(0, 2));
    expect(first.data[0]!.items).toHaveLength(1);
    const second = await json<{ data: { order_id: string }[]; next_cursor: string | null }>(
      await api(`/v1/me/orders?limit=2&cursor=${first.next_cursor}`, { headers: fan.auth }),
      200,
    );
    expect(second.data.map((o) => o.order_id)).toEqual(placed.slice(2));
    expect(second.next_cursor).toBeNull();
    expect((await api("/v1/me/orders?cursor=nope", { headers: fan.auth })).status).toBe(400);
    const stranger = await newFan();
    expect((await json<{ data: unknown[] }>(await api("/v1/me/orders", { headers: stranger.auth }), 200)).data).toEqual(
      [],
    );
  });
});

describe("gate check-in", () => {
  it("valid once, then already checked in with when; two gates at once: exactly one wins", async () => {
    const { tickets, organizer, showId } = await boughtTickets(["A-3-1", "A-3-2"]);
    const first = await json<{ result: string; checked_in_at: string }>(
      await scan(showId, organizer.key, tickets[0]!.barcode!),
      200,
    );
    expect(first.result).toBe("valid");
    const again = await json<{ result: string; checked_in_at: string }>(
      await scan(showId, organizer.key, tickets[0]!.barcode!),
      200,
    );
    expect(again).toMatchObject({ result: "already_checked_in", checked_in_at: first.checked_in_at });

    const racing = await Promise.all(
      Array.from({ length: 8 }, () => scan(showId, organizer.key, tickets[1]!.barcode!)),
    );
    const results = await Promise.all(racing.map(async (r) => ((await r.json()) as { result: string }).result));
    expect(results.filter((r) => r === "valid")).toHaveLength(1);
    expect(results.filter((r) => r === "already_checked_in")).toHaveLength(7);
  });

  it("void, tampered, forged, garbage and other shows' barcodes are refused with a clear answer", async () => {
    const bought = await boughtTickets(["B-2-1", "B-2-2"]);
    const other = await boughtTickets(["A-1-1"]);
    const { organizer, showId, tickets } = bought;
    await json(
      await api(`/v1/admin/orders/${bought.order.order_id}/refund`, {
        method: "POST",
        headers: { ...bearer(organizer.key), "idempotency-key": "refund" },
      }),
      200,
    );
    expect((await json<{ result: string }>(await scan(showId, organizer.key, tickets[0]!.barcode!), 200)).result).toBe(
      "void",
    );

    const [header, payload, signature] = tickets[1]!.barcode!.split(".");
    const tampered = `${header}.${payload!.slice(0, -2)}AA.${signature}`;
    const { privateKey } = await generateKeyPair("EdDSA");
    const forged = await new SignJWT({ tid: tickets[1]!.ticket_id, sid: showId, seat: "B-2-2", v: 1 })
      .setProtectedHeader({ alg: "EdDSA", kid: "test-2026-11", typ: "onsale-ticket+jwt" })
      .setIssuedAt()
      .sign(privateKey);
    for (const barcode of [tampered, forged, "garbage", "", "a.b.c", "x".repeat(4000)]) {
      const response = await scan(showId, organizer.key, barcode);
      expect(response.status).toBe(200);
      expect(((await response.json()) as { result: string }).result).toBe("invalid");
    }
    expect(
      (await json<{ result: string }>(await scan(showId, organizer.key, other.tickets[0]!.barcode!), 200)).result,
    ).toBe("wrong_show");
    // A scanner of another organizer does not even see the show.
    expect((await scan(showId, other.organizer.key, tickets[1]!.barcode!)).status).toBe(404);
  });

  it("after a key rotation, barcodes signed with the retired key still verify while it is listed", async () => {
    const { organizer, showId, tickets } = await boughtTickets(["B-3-1"]);
    const { privateKey } = await generateKeyPair("EdDSA", { extractable: true });
    const newPrivate = { ...(await exportJWK(privateKey)), kid: "rotated-2027", alg: "EdDSA" };
    const oldPublic = JSON.parse(env.TICKET_SIGNING_JWK!);
    delete oldPublic.d;
    const call = async (path: string, init: RequestInit, overrides: Partial<Env>) => {
      const ctx = createExecutionContext();
      const response = await worker.fetch(
        new Request(`http://onsale.test${path}`, init),
        { ...env, ...overrides },
        ctx,
      );
      await waitOnExecutionContext(ctx);
      return response;
    };
    const scanWith = (overrides: Partial<Env>) =>
      call(
        `/v1/admin/shows/${showId}/check-ins`,
        {
          method: "POST",
          headers: { ...bearer(organizer.key), "content-type": "application/json" },
          body: JSON.stringify({ barcode: tickets[0]!.barcode }),
        },
        overrides,
      );
    const rotated = { TICKET_SIGNING_JWK: JSON.stringify(newPrivate) };
    expect(((await (await scanWith(rotated)).json()) as { result: string }).result).toBe("invalid");
    const withRetired = { ...rotated, TICKET_PREVIOUS_PUBLIC_JWKS: JSON.stringify({ keys: [oldPublic] }) };
    const jwks = (await (await call("/.well-known/jwks.json", {}, withRetired)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((k) => k.kid)).toEqual(["rotated-2027", "test-2026-11"]);
    expect(((await (await scanWith(withRetired)).json()) as { result: string }).result).toBe("valid");
  });

  it("a malformed scan request is 422, never a 500", async () => {
    const { organizer, showId } = await createShow();
    const response = await api(`/v1/admin/shows/${showId}/check-ins`, {
      method: "POST",
      headers: bearer(organizer.key),
      json: { barcode: 42 },
    });
    expect(response.status).toBe(422);
    expect((await problem(response)).code).toBe("validation_failed");
  });
});
