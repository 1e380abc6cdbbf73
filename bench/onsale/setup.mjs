// The stadium of `npm run bench:onsale`, made through the organizer API (outside every
// measured window): the bench organizer (POST /v1/dev/seed with our key), one venue of
// `capacity` seats in sections of 25 rows × 40 seats (smaller ones for --quick), one
// event, and shows on that venue priced in four tiers:
//   - the flash-crowd show: short hold TTL, published, waiting room on;
//   - the race shows: one per round of the side-by-side hold race (no waiting room, hold TTL
//     one hour: the hold path alone).
// Besides the seated sections, a general-admission floor (`GA`, `gaCapacity` places, its own
// tier) in front of the stage: fans buy it by quantity, and the audit counts it.
import { call } from "../lib/api.mjs";

/** Sections of `rows` × `perRow` seats on a grid, ids as the API wants (`S01-7-12`). */
export function stadiumMap(capacity, { rows = 25, perRow = 40 } = {}) {
  const sections = Math.ceil(capacity / (rows * perRow));
  const w = perRow * 10 + 10;
  const h = rows * 10 + 10;
  return {
    sections: Array.from({ length: sections }, (_, s) => {
      const id = `S${String(s + 1).padStart(2, "0")}`;
      const x0 = (s % 10) * (w + 40);
      const y0 = Math.floor(s / 10) * (h + 40);
      return {
        id,
        name: `Section ${id}`,
        shape: {
          type: "polygon",
          points: [
            [x0, y0],
            [x0 + w, y0],
            [x0 + w, y0 + h],
            [x0, y0 + h],
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

/** Four tiers, front to back: the first sections are the most expensive and the most wanted. */
export function stadiumTiers(sectionIds) {
  const n = sectionIds.length;
  const cut = (share) => Math.max(1, Math.round(n * share));
  const bounds = [cut(0.12), cut(0.4), cut(0.8), n];
  const tiers = [
    { name: "Floor", price_cents: 19_500 },
    { name: "Lower Bowl", price_cents: 12_500 },
    { name: "Upper Bowl", price_cents: 7_500 },
    { name: "Balcony", price_cents: 4_500 },
  ];
  let start = 0;
  const out = [];
  for (const [i, tier] of tiers.entries()) {
    const end = Math.max(start, Math.min(n, bounds[i]));
    if (end > start) out.push({ ...tier, sections: sectionIds.slice(start, end) });
    start = end;
  }
  return out;
}

/** The standing floor: a GA section drawn in front of the seated sections. */
export const GA_SECTION = "GA";
export const GA_PRICE_CENTS = 6_500;

export async function createStadium(
  base,
  { organizerKey, capacity, layout, gaCapacity = 0, holdTtlS, ticketLimit, raceShows = 1, log },
) {
  await call(base, "POST", "/v1/dev/seed", { json: { organizer_api_key: organizerKey }, expect: 200 });
  const map = stadiumMap(capacity, layout);
  const ga = gaCapacity > 0 ? { id: GA_SECTION, capacity: gaCapacity } : null;
  if (ga) {
    map.sections.push({
      id: ga.id,
      name: "General admission floor",
      shape: {
        type: "polygon",
        points: [
          [0, -400],
          [2000, -400],
          [2000, -100],
          [0, -100],
        ],
      },
      ga_capacity: ga.capacity,
      rows: [],
    });
  }
  const sections = map.sections
    .filter((s) => s.ga_capacity === undefined)
    .map((s) => ({
      id: s.id,
      seats: s.rows.map((r) => r.seats.map((seat) => seat.id)),
      total: s.rows.reduce((n, r) => n + r.seats.length, 0),
    }));
  const seatCount = sections.reduce((n, s) => n + s.total, 0);
  const t0 = performance.now();
  const venue = await call(base, "POST", "/v1/admin/venues", {
    token: organizerKey,
    json: { name: "Bench Stadium", city: "Lisbon", country: "PT", timezone: "Europe/Lisbon", seat_map: map },
    expect: 201,
  });
  const event = await call(base, "POST", "/v1/admin/events", {
    token: organizerKey,
    json: {
      name: "Flash Crowd Live",
      category: "concert",
      performers: ["The Benchmarks"],
      venue_id: venue.body.venue_id,
    },
    expect: 201,
  });
  const tiers = stadiumTiers(sections.map((s) => s.id));
  const showTiers = ga
    ? [...tiers, { name: "General Admission", price_cents: GA_PRICE_CENTS, sections: [ga.id] }]
    : tiers;
  const makeShow = async (days, ttl) => {
    const show = await call(base, "POST", `/v1/admin/events/${event.body.event_id}/shows`, {
      token: organizerKey,
      json: {
        starts_at: new Date(Date.now() + days * 86_400_000).toISOString(),
        on_sale_at: new Date(Date.now() - 60_000).toISOString(),
        currency: "EUR",
        ticket_limit: ticketLimit,
        hold_ttl_s: ttl,
        price_tiers: showTiers,
      },
      expect: 201,
    });
    const published = await call(base, "POST", `/v1/admin/shows/${show.body.show_id}/publish`, {
      token: organizerKey,
      expect: 200,
    });
    if (published.body.counts?.available !== seatCount + (ga?.capacity ?? 0)) {
      throw new Error(`show ${show.body.show_id} published with ${JSON.stringify(published.body.counts)}`);
    }
    return show.body.show_id;
  };
  const flashShowId = await makeShow(60, holdTtlS);
  const raceShowIds = [];
  for (let i = 0; i < raceShows; i++) raceShowIds.push(await makeShow(61 + i, 3600));
  log?.(
    `stadium: ${seatCount.toLocaleString("en-US")} seats in ${sections.length} sections, ${tiers.length} tiers${ga ? `, and a GA floor of ${ga.capacity.toLocaleString("en-US")}` : ""}; show ${flashShowId} (flash crowd) and ${raceShowIds.length} for the hold race, set up in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const tierOf = {};
  for (const tier of tiers)
    for (const s of tier.sections) tierOf[s] = { name: tier.name, price_cents: tier.price_cents };
  if (ga) tierOf[ga.id] = { name: "General Admission", price_cents: GA_PRICE_CENTS };
  return { venueId: venue.body.venue_id, sections, seatCount, ga, tiers, tierOf, flashShowId, raceShowIds };
}

export async function configureWaitingRoom(base, { organizerKey, showId, room }) {
  const patched = await call(base, "PATCH", `/v1/admin/shows/${showId}/waiting-room`, {
    token: organizerKey,
    json: room,
    expect: 200,
  });
  return patched.body;
}
