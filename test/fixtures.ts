import { expect } from "vitest";
import type { SeatMap } from "../src/catalog/seat-map";
import { api, bearer, newOrganizer } from "./helpers";

/** A rectangular seat map: `sections` side by side, each `rows` × `seats`, 10 units apart. */
export function gridSeatMap(options: { sections?: string[]; rows?: number; seats?: number } = {}): SeatMap {
  const { sections = ["A", "B"], rows = 3, seats = 4 } = options;
  return {
    sections: sections.map((sectionId, s) => {
      const x0 = s * (seats * 10 + 20);
      return {
        id: sectionId,
        name: `Section ${sectionId}`,
        shape: {
          type: "polygon" as const,
          points: [
            [x0, 0],
            [x0 + seats * 10 + 10, 0],
            [x0 + seats * 10 + 10, rows * 10 + 10],
            [x0, rows * 10 + 10],
          ] as [number, number][],
        },
        rows: Array.from({ length: rows }, (_, r) => ({
          label: String(r + 1),
          seats: Array.from({ length: seats }, (_, n) => ({
            id: `${sectionId}-${r + 1}-${n + 1}`,
            number: String(n + 1),
            x: x0 + 5 + n * 10,
            y: 5 + r * 10,
            accessible: r === 0 && n === 0,
            obstructed_view: false,
          })),
        })),
      };
    }),
  };
}

export async function json<T = Record<string, unknown>>(response: Response, status: number): Promise<T> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return JSON.parse(text) as T;
}

export interface ShowFixture {
  organizer: { id: string; key: string };
  venueId: string;
  eventId: string;
  showId: string;
}

/**
 * An organizer, venue, event and show created through the organizer API, published unless
 * told otherwise. Every call makes new objects, so tests never share a show.
 */
export async function createShow(
  options: {
    map?: SeatMap;
    publish?: boolean;
    onSaleAt?: string;
    ticketLimit?: number;
    holdTtlS?: number;
    tiers?: { name: string; price_cents: number; sections?: string[]; seats?: string[] }[];
    organizer?: { id: string; key: string };
    city?: string;
    eventName?: string;
    performers?: string[];
    startsAt?: string;
  } = {},
): Promise<ShowFixture> {
  const organizer = options.organizer ?? (await newOrganizer());
  const auth = bearer(organizer.key);
  const map = options.map ?? gridSeatMap();
  const venue = await json<{ venue_id: string }>(
    await api("/v1/admin/venues", {
      method: "POST",
      headers: auth,
      json: {
        name: "Test Hall",
        city: options.city ?? "Porto",
        country: "PT",
        timezone: "Europe/Lisbon",
        seat_map: map,
      },
    }),
    201,
  );
  const event = await json<{ event_id: string }>(
    await api("/v1/admin/events", {
      method: "POST",
      headers: auth,
      json: {
        name: options.eventName ?? "Test Concert",
        category: "concert",
        performers: options.performers ?? ["The Testers"],
        venue_id: venue.venue_id,
      },
    }),
    201,
  );
  const tiers = options.tiers ?? [{ name: "Standard", price_cents: 5000, sections: map.sections.map((s) => s.id) }];
  const show = await json<{ show_id: string }>(
    await api(`/v1/admin/events/${event.event_id}/shows`, {
      method: "POST",
      headers: auth,
      json: {
        starts_at: options.startsAt ?? new Date(Date.now() + 30 * 86_400_000).toISOString(),
        on_sale_at: options.onSaleAt ?? new Date(Date.now() - 60_000).toISOString(),
        currency: "EUR",
        ...(options.ticketLimit ? { ticket_limit: options.ticketLimit } : {}),
        ...(options.holdTtlS ? { hold_ttl_s: options.holdTtlS } : {}),
        price_tiers: tiers,
      },
    }),
    201,
  );
  if (options.publish !== false) {
    await json(await api(`/v1/admin/shows/${show.show_id}/publish`, { method: "POST", headers: auth }), 200);
  }
  return { organizer, venueId: venue.venue_id, eventId: event.event_id, showId: show.show_id };
}
