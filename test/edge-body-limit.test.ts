import { describe, expect, it } from "vitest";
import { maxBodyBytes } from "../src/middleware/body-limit";
import { createShow, gridSeatMap } from "./fixtures";
import { api, bearer, fanToken, newOrganizer, problem, uniqueFan } from "./helpers";

const MiB = 1024 * 1024;

/** A JSON body of about `bytes` bytes, streamed in chunks so no Content-Length is sent. */
function chunkedJson(bytes: number, prefix = '{"seat_ids":["'): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const chunk = encoder.encode("x".repeat(64 * 1024));
  let sent = 0;
  return new ReadableStream({
    start(controller) {
      controller.enqueue(encoder.encode(prefix));
    },
    pull(controller) {
      if (sent >= bytes) {
        controller.enqueue(encoder.encode('"]}'));
        controller.close();
        return;
      }
      controller.enqueue(chunk);
      sent += chunk.length;
    },
  });
}

async function expectTooLarge(response: Response) {
  expect(response.status).toBe(413);
  expect((await problem(response)).code).toBe("payload_too_large");
}

describe("every route has a body-size limit: 413 payload_too_large before the body is read", () => {
  it("a fan route refuses a body of a few hundred KB", async () => {
    const { showId } = await createShow();
    const response = await api(`/v1/shows/${showId}/holds`, {
      method: "POST",
      headers: { ...bearer(await fanToken(uniqueFan())), "idempotency-key": crypto.randomUUID() },
      json: { seat_ids: Array.from({ length: 20_000 }, (_, i) => `A-1-${i}`) },
    });
    await expectTooLarge(response);
  });

  it("the limit is checked before authentication and before the body is parsed", async () => {
    const response = await api("/v1/waiting-room/sessions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: `{"show_id":"${"x".repeat(64 * 1024)}`,
    });
    await expectTooLarge(response);
  });

  it("an organizer route refuses a block list far beyond 10,000 seats, but takes one of 10,000", async () => {
    const { organizer, showId } = await createShow();
    const auth = bearer(organizer.key);
    const huge = await api(`/v1/admin/shows/${showId}/seats/block`, {
      method: "POST",
      headers: auth,
      json: { seat_ids: Array.from({ length: 100_000 }, (_, i) => `seat-${i}-${"x".repeat(30)}`), reason: "other" },
    });
    await expectTooLarge(huge);
    // 10,000 long seat ids fit: the schema, not the size limit, answers (unknown seats).
    const big = await api(`/v1/admin/shows/${showId}/seats/block`, {
      method: "POST",
      headers: auth,
      json: { seat_ids: Array.from({ length: 10_000 }, (_, i) => `s-${i}-${"x".repeat(30)}`), reason: "other" },
    });
    expect(big.status).toBe(422);
  });

  it("a seat map of 150,000 seats fits its organizer route; a far larger body does not", async () => {
    const sections = Array.from({ length: 100 }, (_, i) => `S${i + 1}`);
    const stadium = gridSeatMap({ sections, rows: 30, seats: 50 });
    const size = new TextEncoder().encode(
      JSON.stringify(
        { name: "Stadium", city: "Porto", country: "PT", timezone: "Europe/Lisbon", seat_map: stadium },
        null,
        2,
      ),
    ).length;
    expect(size).toBeLessThan(maxBodyBytes("POST", "/v1/admin/venues"));
    expect(size).toBeLessThan(maxBodyBytes("POST", "/v1/admin/venues/ven_x/seat-maps"));
    const { key } = await newOrganizer();
    const huge = await api("/v1/admin/venues", {
      method: "POST",
      headers: { ...bearer(key), "content-type": "application/json" },
      body: chunkedJson(60 * MiB, '{"name":"'),
    });
    await expectTooLarge(huge);
  });

  it("the Stripe webhook refuses an oversized body even with a valid-looking signature header", async () => {
    const response = await api("/v1/webhooks/stripe", {
      method: "POST",
      headers: { "stripe-signature": "t=1,v1=abc", "content-type": "application/json" },
      body: JSON.stringify({ id: "evt_big", padding: "x".repeat(2 * MiB) }),
    });
    await expectTooLarge(response);
  });

  it("a chunked body with no Content-Length is counted as it streams", async () => {
    const { showId } = await createShow();
    const response = await api(`/v1/shows/${showId}/holds`, {
      method: "POST",
      headers: {
        ...bearer(await fanToken(uniqueFan())),
        "idempotency-key": crypto.randomUUID(),
        "content-type": "application/json",
      },
      body: chunkedJson(2 * MiB),
    });
    await expectTooLarge(response);
  });

  it("a Content-Length over the limit is refused without reading, even if the body is short", async () => {
    const response = await api("/v1/waiting-room/sessions", {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(10 * MiB) },
      body: chunkedJson(1024),
    });
    await expectTooLarge(response);
  });

  it("a Content-Length that lies low over a big chunked body is not believed: the bytes are counted", async () => {
    const { showId } = await createShow();
    const response = await api(`/v1/shows/${showId}/holds`, {
      method: "POST",
      headers: {
        ...bearer(await fanToken(uniqueFan())),
        "idempotency-key": crypto.randomUUID(),
        "content-type": "application/json",
        "content-length": "20",
      },
      body: chunkedJson(2 * MiB),
    });
    await expectTooLarge(response);
  });

  it("through Cloudflare's edge (CF-Connecting-IP) the framed Content-Length is the bound: over it 413, within it the route reads the body", async () => {
    const edge = { "cf-connecting-ip": "203.0.113.9", "content-type": "application/json" };
    const over = await api("/v1/waiting-room/sessions", {
      method: "POST",
      headers: { ...edge, "content-length": String(64 * 1024) },
      body: chunkedJson(1024),
    });
    await expectTooLarge(over);
    const { showId } = await createShow();
    const body = JSON.stringify({ show_id: showId });
    const within = await api("/v1/waiting-room/sessions", {
      method: "POST",
      headers: { ...edge, ...bearer(await fanToken(uniqueFan())), "content-length": String(body.length) },
      body,
    });
    // The route parsed the body: this show has no waiting room on.
    expect(within.status).toBe(409);
    expect((await problem(within)).code).toBe("waiting_room_disabled");
  });
});
