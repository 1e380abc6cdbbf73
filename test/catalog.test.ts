import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createShow, gridSeatMap, json } from "./fixtures";
import { api, bearer, newOrganizer, problem } from "./helpers";

const unique = (prefix: string) => `${prefix}${crypto.randomUUID().slice(0, 8)}`;

interface Overlay {
  sections: { section_id: string; available: number; total: number; min_price_cents: number | null }[];
  seats?: { seat_id: string; status: string; price_cents: number }[];
  as_of_ms: number;
  geometry: { venue_id: string; version: number; geometry_url: string };
}

describe("organizer venues and seat maps", () => {
  it("creates a venue whose geometry is served immutable, with an ETag and 304", async () => {
    const organizer = await newOrganizer();
    const venue = await json<{ venue_id: string; seat_map: { etag: string; geometry_url: string; seats: number } }>(
      await api("/v1/admin/venues", {
        method: "POST",
        headers: bearer(organizer.key),
        json: { name: "Hall", city: "Faro", country: "PT", timezone: "Europe/Lisbon", seat_map: gridSeatMap() },
      }),
      201,
    );
    expect(venue.seat_map.seats).toBe(24);
    const geometry = await api(venue.seat_map.geometry_url);
    expect(geometry.status).toBe(200);
    expect(geometry.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(geometry.headers.get("etag")).toBe(venue.seat_map.etag);
    expect(((await geometry.json()) as { sections: unknown[] }).sections).toHaveLength(2);

    const again = await api(venue.seat_map.geometry_url, { headers: { "if-none-match": venue.seat_map.etag } });
    expect(again.status).toBe(304);
    expect(again.headers.get("etag")).toBe(venue.seat_map.etag);
    expect(await again.text()).toBe("");
    expect((await api(venue.seat_map.geometry_url, { headers: { "if-none-match": '"other"' } })).status).toBe(200);

    expect((await problem(await api(`/v1/seat-maps/${venue.venue_id}/2`))).code).toBe("not_found");
    expect((await problem(await api(`/v1/seat-maps/${venue.venue_id}/zero`))).code).toBe("invalid_path");
  });

  it("serves geometry from KV even when the edge cache is cold, without Postgres", async () => {
    const { venueId } = await createShow({ publish: false });
    const stored = await env.SEAT_MAPS.getWithMetadata<{ etag: string }>(`seat-map:${venueId}:v1`);
    expect(stored.value).toContain('"sections"');
    const response = await api(`/v1/seat-maps/${venueId}/1`);
    expect(response.headers.get("etag")).toBe(stored.metadata?.etag);
  });

  it("rejects a bad seat map with 422 listing every problem by path, and writes nothing", async () => {
    const organizer = await newOrganizer();
    const map = gridSeatMap();
    map.sections[0]!.rows[0]!.seats[1]!.id = "A-1-1";
    map.sections[0]!.rows[1]!.seats[0]!.x = 9_999;
    map.sections[1]!.rows = [];
    const response = await api("/v1/admin/venues", {
      method: "POST",
      headers: bearer(organizer.key),
      json: { name: "Broken", city: "Faro", country: "PT", timezone: "Europe/Lisbon", seat_map: map },
    });
    expect(response.status).toBe(422);
    const body = await problem(response);
    expect(body.code).toBe("invalid_seat_map");
    expect(body.errors?.map((e) => e.path)).toEqual(
      expect.arrayContaining([
        "seat_map.sections.0.rows.0.seats.1.id",
        "seat_map.sections.0.rows.1.seats.0",
        "seat_map.sections.1",
      ]),
    );
    expect(body.errors!.length).toBeGreaterThanOrEqual(4);
  });

  it("rejects malformed venues: missing pieces, bad country, unknown time zone, absurd sizes", async () => {
    const organizer = await newOrganizer();
    const huge = gridSeatMap({ sections: ["A"], rows: 1, seats: 1 });
    huge.sections = Array.from({ length: 2001 }, (_, i) => ({ ...huge.sections[0]!, id: `S${i}` }));
    for (const [body, path] of [
      [{ name: "X", city: "Faro", country: "Portugal", timezone: "Europe/Lisbon", seat_map: gridSeatMap() }, "country"],
      [{ name: "X", city: "Faro", country: "PT", timezone: "Mars/Olympus", seat_map: gridSeatMap() }, "timezone"],
      [
        { name: "X", city: "Faro", country: "PT", timezone: "Europe/Lisbon", seat_map: { sections: [] } },
        "seat_map.sections",
      ],
      [{ name: "X", city: "Faro", country: "PT", timezone: "Europe/Lisbon", seat_map: huge }, "seat_map.sections"],
      [{ name: "X", city: "Faro", country: "PT", timezone: "Europe/Lisbon" }, "seat_map"],
    ] as const) {
      const response = await api("/v1/admin/venues", { method: "POST", headers: bearer(organizer.key), json: body });
      expect(response.status).toBe(422);
      const found = await problem(response);
      expect(found.code).toBe("validation_failed");
      expect(found.errors?.map((e) => e.path)).toContain(path);
    }
  });

  it("another organizer's venue is not found", async () => {
    const { venueId } = await createShow({ publish: false });
    const stranger = await newOrganizer();
    expect((await api(`/v1/admin/venues/${venueId}`, { headers: bearer(stranger.key) })).status).toBe(404);
    const upload = await api(`/v1/admin/venues/${venueId}/seat-maps`, {
      method: "POST",
      headers: bearer(stranger.key),
      json: { seat_map: gridSeatMap() },
    });
    expect((await problem(upload)).code).toBe("not_found");
  });

  it("a new seat-map version leaves a published show on its frozen version", async () => {
    const { organizer, venueId, showId } = await createShow();
    const next = await json<{ version: number }>(
      await api(`/v1/admin/venues/${venueId}/seat-maps`, {
        method: "POST",
        headers: bearer(organizer.key),
        json: { seat_map: gridSeatMap({ sections: ["A", "B", "C"] }) },
      }),
      201,
    );
    expect(next.version).toBe(2);
    const show = await json<{ seat_map: { version: number } }>(await api(`/v1/shows/${showId}`), 200);
    expect(show.seat_map.version).toBe(1);
    const overlay = await json<Overlay>(await api(`/v1/shows/${showId}/seat-map`), 200);
    expect(overlay.geometry.version).toBe(1);
    expect(overlay.sections.map((s) => s.section_id)).toEqual(["A", "B"]);
  });

  it("accepts and publishes a 60,000-seat stadium", async () => {
    const sections = Array.from({ length: 60 }, (_, i) => `S${i + 1}`);
    const map = gridSeatMap({ sections, rows: 25, seats: 40 });
    const started = performance.now();
    const { showId } = await createShow({
      map,
      tiers: [
        { name: "Lower", price_cents: 12_000, sections: sections.slice(0, 20) },
        { name: "Middle", price_cents: 8_000, sections: sections.slice(20, 40) },
        { name: "Upper", price_cents: 4_500, sections: sections.slice(40) },
      ],
    });
    const elapsed = performance.now() - started;
    console.log(`60,000-seat venue created, show created and published in ${Math.round(elapsed)} ms`);
    const overlay = await json<Overlay>(await api(`/v1/shows/${showId}/seat-map`), 200);
    expect(overlay.sections).toHaveLength(60);
    expect(overlay.sections.reduce((n, s) => n + s.available, 0)).toBe(60_000);
    expect(overlay.sections.find((s) => s.section_id === "S60")?.min_price_cents).toBe(4_500);
  }, 120_000);
});

describe("organizer events and shows", () => {
  it("edits an event, but moves it to another venue only while it has no shows", async () => {
    const { organizer, eventId } = await createShow({ publish: false });
    const auth = bearer(organizer.key);
    const edited = await json<{ name: string; performers: string[] }>(
      await api(`/v1/admin/events/${eventId}`, {
        method: "PATCH",
        headers: auth,
        json: { name: "Renamed", performers: ["A", "B"] },
      }),
      200,
    );
    expect(edited).toMatchObject({ name: "Renamed", performers: ["A", "B"] });
    const other = await createShow({ organizer, publish: false });
    const move = await api(`/v1/admin/events/${eventId}`, {
      method: "PATCH",
      headers: auth,
      json: { venue_id: other.venueId },
    });
    expect((await problem(move)).code).toBe("event_has_shows");
    const empty = await api(`/v1/admin/events/${eventId}`, { method: "PATCH", headers: auth, json: {} });
    expect(empty.status).toBe(422);
    const stranger = await newOrganizer();
    const foreign = await api(`/v1/admin/events/${eventId}`, {
      method: "PATCH",
      headers: bearer(stranger.key),
      json: { name: "Hijacked" },
    });
    expect(foreign.status).toBe(404);
  });

  it("an event at another organizer's venue is not found", async () => {
    const { venueId } = await createShow({ publish: false });
    const stranger = await newOrganizer();
    const response = await api("/v1/admin/events", {
      method: "POST",
      headers: bearer(stranger.key),
      json: { name: "Squat", category: "concert", venue_id: venueId },
    });
    expect((await problem(response)).code).toBe("not_found");
  });

  it("takes venue wall-clock times in the venue's time zone, across DST", async () => {
    const { organizer, eventId } = await createShow({ publish: false });
    const create = (body: object) =>
      api(`/v1/admin/events/${eventId}/shows`, {
        method: "POST",
        headers: bearer(organizer.key),
        json: { price_tiers: [{ name: "All", price_cents: 1000, sections: ["A", "B"] }], ...body },
      });
    const winter = await json<{ starts_at: string; starts_at_local: string }>(
      await create({ starts_at: "2027-01-15T20:00", on_sale_at: "2026-12-01T10:00" }),
      201,
    );
    expect(winter.starts_at).toBe("2027-01-15T20:00:00.000Z");
    expect(winter.starts_at_local).toBe("2027-01-15T20:00:00+00:00");
    const summer = await json<{ starts_at: string; starts_at_local: string }>(
      await create({ starts_at: "2027-07-04T20:00", on_sale_at: "2027-05-01T10:00", timezone: "America/New_York" }),
      201,
    );
    expect(summer.starts_at).toBe("2027-07-05T00:00:00.000Z");
    expect(summer.starts_at_local).toBe("2027-07-04T20:00:00-04:00");
  });

  it("rejects impossible shows with 422 listing each problem, and creates nothing", async () => {
    const { organizer, eventId } = await createShow({ publish: false });
    const response = await api(`/v1/admin/events/${eventId}/shows`, {
      method: "POST",
      headers: bearer(organizer.key),
      json: {
        starts_at: "2027-02-30T20:00",
        on_sale_at: "2027-03-01T10:00",
        price_tiers: [
          { name: "Floor", price_cents: 1000, sections: ["A", "Z"] },
          { name: "Floor", price_cents: 2000, sections: ["A"], seats: ["B-9-9"] },
          { name: "Empty", price_cents: 10 },
        ],
      },
    });
    expect(response.status).toBe(422);
    const body = await problem(response);
    expect(body.code).toBe("invalid_show");
    expect(body.errors?.map((e) => e.path).sort()).toEqual(
      [
        "starts_at",
        "price_tiers.0.sections.1",
        "price_tiers.1.name",
        "price_tiers.1.sections.0",
        "price_tiers.1.seats.0",
        "price_tiers.2",
      ].sort(),
    );
    const late = await api(`/v1/admin/events/${eventId}/shows`, {
      method: "POST",
      headers: bearer(organizer.key),
      json: {
        starts_at: "2027-03-01T20:00",
        on_sale_at: "2027-03-02T10:00",
        price_tiers: [{ name: "All", price_cents: 1, sections: ["A", "B"] }],
      },
    });
    expect((await problem(late)).errors?.map((e) => e.path)).toEqual(["on_sale_at"]);
  });

  it("refuses to publish a show with unpriced seats (422), leaving it a draft", async () => {
    const { organizer, showId } = await createShow({
      publish: false,
      tiers: [{ name: "Only A", price_cents: 1000, sections: ["A"] }],
    });
    const response = await api(`/v1/admin/shows/${showId}/publish`, { method: "POST", headers: bearer(organizer.key) });
    expect(response.status).toBe(422);
    const body = await problem(response);
    expect(body.code).toBe("unpriced_seats");
    expect(body.errors).toHaveLength(12);
    expect((await api(`/v1/shows/${showId}`)).status).toBe(404);
    expect((await api(`/v1/shows/${showId}/seat-map`)).status).toBe(404);
  });

  it("prices seat-level tiers over section tiers, and publishing twice is harmless", async () => {
    const { organizer, showId } = await createShow({
      tiers: [
        { name: "Front", price_cents: 9000, seats: ["A-1-1", "A-1-2"] },
        { name: "Rest", price_cents: 3000, sections: ["A", "B"] },
      ],
    });
    const again = await json<{ counts: { available: number; capacity: number } }>(
      await api(`/v1/admin/shows/${showId}/publish`, { method: "POST", headers: bearer(organizer.key) }),
      200,
    );
    expect(again.counts).toMatchObject({ available: 24, capacity: 24 });
    const overlay = await json<Overlay>(await api(`/v1/shows/${showId}/seat-map?section=A`), 200);
    const price = (seat: string) => overlay.seats?.find((s) => s.seat_id === seat)?.price_cents;
    expect([price("A-1-1"), price("A-1-2"), price("A-1-3")]).toEqual([9000, 9000, 3000]);
  });

  it("another organizer cannot see, publish, cancel or block the show", async () => {
    const { showId } = await createShow();
    const stranger = bearer((await newOrganizer()).key);
    for (const [method, path, body] of [
      ["GET", `/v1/admin/shows/${showId}`, undefined],
      ["POST", `/v1/admin/shows/${showId}/publish`, undefined],
      ["POST", `/v1/admin/shows/${showId}/cancel`, undefined],
      ["POST", `/v1/admin/shows/${showId}/seats/block`, { seat_ids: ["A-1-1"], reason: "artist_hold" }],
    ] as const) {
      const response = await api(path, { method, headers: stranger, ...(body ? { json: body } : {}) });
      expect(response.status, path).toBe(404);
    }
  });
});

describe("blocks and the availability overlay", () => {
  it("a blocked seat reads unavailable until unblocked; held reads the same as blocked", async () => {
    const { organizer, showId } = await createShow();
    const auth = bearer(organizer.key);
    const blocked = await json<{ changed: string[]; counts: { blocked: number } }>(
      await api(`/v1/admin/shows/${showId}/seats/block`, {
        method: "POST",
        headers: auth,
        json: { seat_ids: ["A-1-1", "A-1-2"], reason: "production_kill" },
      }),
      200,
    );
    expect(blocked).toMatchObject({ changed: ["A-1-1", "A-1-2"], counts: { blocked: 2 } });
    const stub = env.SHOW.getByName(showId);
    const hold = await stub.hold({
      fan_id: "fan_overlay",
      idempotency_key: "k1",
      request_hash: "h",
      seat_ids: ["A-2-1"],
    });
    expect(hold.ok).toBe(true);

    const overlay = await json<Overlay>(await api(`/v1/shows/${showId}/seat-map?section=A`), 200);
    const status = (seat: string) => overlay.seats?.find((s) => s.seat_id === seat)?.status;
    expect([status("A-1-1"), status("A-1-2"), status("A-2-1"), status("A-1-3")]).toEqual([
      "unavailable",
      "unavailable",
      "unavailable",
      "available",
    ]);
    expect(overlay.sections.find((s) => s.section_id === "A")).toMatchObject({ available: 9, total: 12 });
    expect(overlay.as_of_ms).toBeGreaterThan(Date.now() - 60_000);

    // A blocked seat is never sellable; a held one cannot be blocked.
    const grab = await stub.hold({
      fan_id: "fan_overlay2",
      idempotency_key: "k2",
      request_hash: "h",
      seat_ids: ["A-1-1"],
    });
    expect(grab).toMatchObject({ ok: false, code: "seats_unavailable", seat_ids: ["A-1-1"] });
    const blockHeld = await api(`/v1/admin/shows/${showId}/seats/block`, {
      method: "POST",
      headers: auth,
      json: { seat_ids: ["A-2-1", "A-3-1"], reason: "artist_hold" },
    });
    expect(blockHeld.status).toBe(409);
    expect((await problem(blockHeld)).errors?.map((e) => e.path)).toEqual(["seat_ids.A-2-1"]);

    await json(
      await api(`/v1/admin/shows/${showId}/seats/unblock`, {
        method: "POST",
        headers: auth,
        json: { seat_ids: ["A-1-1"] },
      }),
      200,
    );
    // The overlay is served from an edge copy up to a second old: the unblock shows after it.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const after = await json<Overlay>(await api(`/v1/shows/${showId}/seat-map?section=A`), 200);
    expect(after.seats?.find((s) => s.seat_id === "A-1-1")?.status).toBe("available");
    expect(await stub.counts()).toEqual({ available: 22, held: 1, sold: 0, blocked: 1, capacity: 24 });
  });

  it("blocking bad seat lists: unknown seats 422, duplicates and empty lists 422, unpublished 409", async () => {
    const { organizer, showId } = await createShow();
    const draft = await createShow({ organizer, publish: false });
    const block = (id: string, body: object) =>
      api(`/v1/admin/shows/${id}/seats/block`, { method: "POST", headers: bearer(organizer.key), json: body });
    expect((await problem(await block(showId, { seat_ids: ["A-1-1", "Z-1-1"], reason: "other" }))).code).toBe(
      "unknown_seats",
    );
    expect((await block(showId, { seat_ids: ["A-1-1", "A-1-1"], reason: "other" })).status).toBe(422);
    expect((await block(showId, { seat_ids: [], reason: "other" })).status).toBe(422);
    expect((await block(showId, { seat_ids: ["A-1-1"], reason: "because" })).status).toBe(422);
    expect((await problem(await block(draft.showId, { seat_ids: ["A-1-1"], reason: "other" }))).code).toBe(
      "show_not_published",
    );
    expect(await env.SHOW.getByName(showId).counts()).toMatchObject({ blocked: 0, available: 24 });
  });

  it("an unknown section or show on the overlay is 404; a bad section name 400", async () => {
    const { showId } = await createShow();
    expect((await api(`/v1/shows/${showId}/seat-map?section=Q`)).status).toBe(404);
    expect((await api("/v1/shows/shw_doesnotexist/seat-map")).status).toBe(404);
    expect((await api(`/v1/shows/${showId}/seat-map?section=${"x".repeat(40)}`)).status).toBe(400);
    const overlay = await api(`/v1/shows/${showId}/seat-map`);
    expect(overlay.headers.get("cache-control")).toMatch(/max-age=1\b/);
  });
});

describe("fans browse published events", () => {
  it("filters by city, performer, venue, free text and date range; only published events", async () => {
    const city = unique("City");
    const band = unique("Band");
    const published = await createShow({ city, performers: [band], eventName: "Midnight Express" });
    await createShow({ city, performers: [band], publish: false });
    const list = async (query: string) =>
      (await json<{ data: { event_id: string }[] }>(await api(`/v1/events?${query}`), 200)).data.map((e) => e.event_id);
    expect(await list(`city=${city.toLowerCase()}`)).toEqual([published.eventId]);
    expect(await list(`performer=${band.slice(0, 8)}`)).toEqual([published.eventId]);
    expect(await list(`venue_id=${published.venueId}`)).toEqual([published.eventId]);
    expect(await list(`q=midnight&city=${city}`)).toEqual([published.eventId]);
    expect(await list(`q=${band}`)).toEqual([published.eventId]);
    const in30days = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    expect(await list(`city=${city}&from=${in30days}&to=${in30days}`)).toEqual([published.eventId]);
    expect(await list(`city=${city}&to=${new Date().toISOString().slice(0, 10)}`)).toEqual([]);
  });

  it("pages with a cursor in date order, without repeats or gaps", async () => {
    const city = unique("Paged");
    const organizer = await newOrganizer();
    const created: string[] = [];
    for (let day = 5; day >= 1; day--) {
      const show = await createShow({
        organizer,
        city,
        startsAt: new Date(Date.now() + day * 86_400_000).toISOString(),
      });
      created.unshift(show.eventId);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { data: { event_id: string }[]; next_cursor: string | null } = await json(
        await api(`/v1/events?city=${city}&limit=2${cursor ? `&cursor=${cursor}` : ""}`),
        200,
      );
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((e) => e.event_id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual(created);
  });

  it("bad filters are 400 with the offending parameter", async () => {
    for (const [query, path] of [
      ["from=yesterday", "from"],
      ["from=2027-02-01&to=2027-01-01", "from"],
      ["limit=0", "limit"],
      ["limit=1000", "limit"],
      ["venue_id=nope", "venue_id"],
      ["colour=blue", "(root)"],
    ]) {
      const response = await api(`/v1/events?${query}`);
      expect(response.status, query).toBe(400);
      const body = await problem(response);
      expect(body.code).toBe("invalid_query");
      expect(body.errors?.map((e) => e.path)).toContain(path);
    }
    expect((await problem(await api("/v1/events?cursor=garbage"))).code).toBe("invalid_cursor");
  });

  it("an event, its shows and a show; drafts and unknown ids are 404", async () => {
    const { eventId, showId } = await createShow();
    const draft = await createShow({ publish: false });
    const event = await json<{ event_id: string; first_show_at: string }>(await api(`/v1/events/${eventId}`), 200);
    expect(event.first_show_at).not.toBeNull();
    const shows = await json<{ data: { show_id: string; price_tiers: unknown[] }[] }>(
      await api(`/v1/events/${eventId}/shows`),
      200,
    );
    expect(shows.data.map((s) => s.show_id)).toEqual([showId]);
    expect(shows.data[0]!.price_tiers).toHaveLength(1);
    const show = await json<{ status: string; seat_map: { geometry_url: string } }>(
      await api(`/v1/shows/${showId}`),
      200,
    );
    expect(show.status).toBe("published");
    expect((await api(show.seat_map.geometry_url)).status).toBe(200);
    expect((await api(`/v1/events/${draft.eventId}`)).status).toBe(404);
    expect((await api(`/v1/shows/${draft.showId}`)).status).toBe(404);
    expect((await api("/v1/events/evt_unknown")).status).toBe(404);
    expect((await problem(await api("/v1/events/not-an-id"))).code).toBe("invalid_path");
  });
});
