// Setup and verification through the public HTTP API, outside every measured window: the
// organizer, a venue big enough for every hold of a run, its shows, fan tokens, and afterwards
// the seat-map overlay that proves no seat was held twice.
import { createHmac } from "node:crypto";

export async function call(base, method, path, { json, token, headers = {}, expect } = {}) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(json !== undefined ? { "content-type": "application/json" } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: json !== undefined ? JSON.stringify(json) : undefined,
  });
  const text = await response.text();
  if (expect !== undefined && response.status !== expect) {
    throw new Error(`${method} ${path} → ${response.status} (expected ${expect}): ${text.slice(0, 600)}`);
  }
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** Sections of 25 rows × 40 seats, laid out on a grid; ids as the API wants (`S01-7-12`). */
export function benchSeatMap(capacity) {
  const rows = 25;
  const perRow = 40;
  const sections = Math.ceil(capacity / (rows * perRow));
  return {
    sections: Array.from({ length: sections }, (_, s) => {
      const id = `S${String(s + 1).padStart(2, "0")}`;
      const x0 = (s % 10) * 500;
      const y0 = Math.floor(s / 10) * 300;
      return {
        id,
        name: `Section ${id}`,
        shape: {
          type: "polygon",
          points: [
            [x0, y0],
            [x0 + perRow * 10 + 10, y0],
            [x0 + perRow * 10 + 10, y0 + rows * 10 + 10],
            [x0, y0 + rows * 10 + 10],
          ],
        },
        rows: Array.from({ length: rows }, (_, r) => ({
          label: String(r + 1),
          seats: Array.from({ length: perRow }, (_, n) => ({
            id: `${id}-${r + 1}-${n + 1}`,
            number: String(n + 1),
            x: x0 + 5 + n * 10,
            y: y0 + 5 + r * 10,
          })),
        })),
      };
    }),
  };
}

/** A deterministic shuffle (xorshift): holds take seats all over the venue, not in order. */
export function shuffled(items, seed) {
  const out = [...items];
  let x = seed || 1;
  for (let i = out.length - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = (x >>> 0) % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * The demo organizer with our key (POST /v1/dev/seed), then one venue of `capacity` seats, one
 * event and `count` published shows on it (ticket limit 8, hold TTL one hour so nothing
 * expires during the run). Returns each show with its seat ids in hold order.
 */
export async function createBenchShows(base, { organizerKey, capacity, count, log }) {
  await call(base, "POST", "/v1/dev/seed", { json: { organizer_api_key: organizerKey }, expect: 200 });
  const map = benchSeatMap(capacity);
  const seatIds = map.sections.flatMap((s) => s.rows.flatMap((r) => r.seats.map((seat) => seat.id)));
  const t0 = performance.now();
  const venue = await call(base, "POST", "/v1/admin/venues", {
    token: organizerKey,
    json: { name: "Bench Stadium", city: "Porto", country: "PT", timezone: "Europe/Lisbon", seat_map: map },
    expect: 201,
  });
  const event = await call(base, "POST", "/v1/admin/events", {
    token: organizerKey,
    json: { name: "Bench Night", category: "concert", performers: ["The Benchmarks"], venue_id: venue.body.venue_id },
    expect: 201,
  });
  const shows = [];
  for (let i = 0; i < count; i++) {
    const show = await call(base, "POST", `/v1/admin/events/${event.body.event_id}/shows`, {
      token: organizerKey,
      json: {
        starts_at: new Date(Date.now() + (30 + i) * 86_400_000).toISOString(),
        on_sale_at: new Date(Date.now() - 60_000).toISOString(),
        currency: "EUR",
        ticket_limit: 8,
        hold_ttl_s: 3600,
        price_tiers: [{ name: "Standard", price_cents: 5000, sections: map.sections.map((s) => s.id) }],
      },
      expect: 201,
    });
    const published = await call(base, "POST", `/v1/admin/shows/${show.body.show_id}/publish`, {
      token: organizerKey,
      expect: 200,
    });
    if (published.body.counts?.available !== seatIds.length) {
      throw new Error(`show ${show.body.show_id} published with ${JSON.stringify(published.body.counts)}`);
    }
    shows.push({ showId: show.body.show_id, seats: shuffled(seatIds, 1 + i) });
  }
  log?.(`${count} shows of ${seatIds.length} seats set up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return shows;
}

const b64url = (value) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

/** HS256 fan tokens as POST /v1/dev/tokens makes them, signed here (thousands in milliseconds). */
export function signFanTokens(fanIds, { secret, issuer, audience, ttlS = 7200 }) {
  const header = b64url({ alg: "HS256", typ: "JWT" });
  const iat = Math.floor(Date.now() / 1000);
  return fanIds.map((sub) => {
    const payload = b64url({ sub, iss: issuer, aud: audience, iat, exp: iat + ttlS });
    const signature = createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url");
    return `${header}.${payload}.${signature}`;
  });
}

/** Fan tokens through the development endpoint, when the stack's secret is not known here. */
export async function mintFanTokens(base, fanIds) {
  const tokens = [];
  for (let i = 0; i < fanIds.length; i += 32) {
    const batch = fanIds.slice(i, i + 32);
    const minted = await Promise.all(
      batch.map((fan_id) => call(base, "POST", "/v1/dev/tokens", { json: { fan_id, ttl_s: 7200 }, expect: 201 })),
    );
    tokens.push(...minted.map((m) => m.body.token));
  }
  return tokens;
}

/**
 * The public overlay of a show (GET /v1/shows/{id}/seat-map, then per section), as the set of
 * seats that are not available, plus the per-section totals.
 */
export async function overlay(base, showId) {
  const top = await call(base, "GET", `/v1/shows/${showId}/seat-map`, { expect: 200 });
  const unavailable = new Set();
  let total = 0;
  let available = 0;
  for (const section of top.body.sections) {
    total += section.total;
    available += section.available;
    const detail = await call(base, "GET", `/v1/shows/${showId}/seat-map?section=${section.section_id}`, {
      expect: 200,
    });
    for (const seat of detail.body.seats) if (seat.status !== "available") unavailable.add(seat.seat_id);
  }
  return { total, available, unavailable };
}

/**
 * Zero double holds: no seat in two successful holds, no hold id twice, every confirmed hold
 * still holding its seat in the overlay, and nothing held that no request asked for.
 */
export function verifyShow({ showId, seats, attempted, held, unanswered, view }) {
  const owner = new Map();
  const holdIds = new Set();
  const doubles = [];
  let duplicateHoldIds = 0;
  for (const [holdId, seatIds] of held) {
    if (holdIds.has(holdId)) duplicateHoldIds++;
    holdIds.add(holdId);
    for (const seat of seatIds) {
      if (owner.has(seat)) doubles.push({ seat, holds: [owner.get(seat), holdId] });
      else owner.set(seat, holdId);
    }
  }
  const attemptedSeats = new Set(seats.slice(0, Math.min(attempted, seats.length)));
  const confirmedMissing = [...owner.keys()].filter((seat) => !view.unavailable.has(seat));
  const heldNotAsked = [...view.unavailable].filter((seat) => !attemptedSeats.has(seat));
  const heldUnseen = [...view.unavailable].filter((seat) => !owner.has(seat));
  const ok =
    doubles.length === 0 &&
    duplicateHoldIds === 0 &&
    confirmedMissing.length === 0 &&
    heldNotAsked.length === 0 &&
    heldUnseen.length <= unanswered &&
    view.total === seats.length &&
    view.available + view.unavailable.size === view.total;
  return {
    show_id: showId,
    ok,
    capacity: view.total,
    holds_confirmed: holdIds.size,
    seats_confirmed: owner.size,
    seats_unavailable_in_overlay: view.unavailable.size,
    seats_held_twice: doubles.length,
    duplicate_hold_ids: duplicateHoldIds,
    confirmed_but_available: confirmedMissing.length,
    held_but_never_requested: heldNotAsked.length,
    held_without_a_seen_response: heldUnseen.length,
    requests_without_response: unanswered,
    examples: doubles.slice(0, 5),
  };
}
