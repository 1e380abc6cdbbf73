import { and, asc, eq, inArray, min, type SQL } from "drizzle-orm";
import type { Database } from "../db/client";
import { events, priceTiers, shows, venues } from "../db/schema";
import { notFound } from "../lib/problem";
import { formatZoned } from "../lib/time";
import type { categories, Show } from "./schemas";

export const geometryUrl = (venueId: string, version: number) => `/v1/seat-maps/${venueId}/${version}`;

interface Scope {
  /** Organizer routes see their own objects in any state; fans see published ones only. */
  organizerId?: string;
}

const venueSummary = {
  venue_id: venues.id,
  name: venues.name,
  city: venues.city,
  country: venues.country,
};

export async function loadShows(db: Database, where: SQL, scope: Scope = {}): Promise<Show[]> {
  const rows = await db
    .select({
      show: shows,
      eventName: events.name,
      venue: venueSummary,
    })
    .from(shows)
    .innerJoin(events, eq(events.id, shows.eventId))
    .innerJoin(venues, eq(venues.id, shows.venueId))
    .where(
      and(
        where,
        scope.organizerId
          ? eq(events.organizerId, scope.organizerId)
          : inArray(shows.status, ["published", "cancelled"]),
      ),
    )
    .orderBy(asc(shows.startsAt), asc(shows.id));
  if (rows.length === 0) return [];
  const tiers = await db
    .select()
    .from(priceTiers)
    .where(
      inArray(
        priceTiers.showId,
        rows.map((r) => r.show.id),
      ),
    )
    .orderBy(asc(priceTiers.sortOrder), asc(priceTiers.name));
  return rows.map(({ show, eventName, venue }) => ({
    show_id: show.id,
    event_id: show.eventId,
    event_name: eventName,
    status: show.status as Show["status"],
    starts_at: show.startsAt.toISOString(),
    starts_at_local: formatZoned(show.startsAt, show.timezone),
    on_sale_at: show.onSaleAt.toISOString(),
    on_sale_at_local: formatZoned(show.onSaleAt, show.timezone),
    timezone: show.timezone,
    currency: show.currency,
    ticket_limit: show.ticketLimit,
    hold_ttl_s: show.holdTtlSeconds,
    venue,
    seat_map: {
      venue_id: show.venueId,
      version: show.seatMapVersion,
      geometry_url: geometryUrl(show.venueId, show.seatMapVersion),
    },
    price_tiers: tiers
      .filter((tier) => tier.showId === show.id)
      .map((tier) => ({
        tier_id: tier.id,
        name: tier.name,
        price_cents: tier.priceCents,
        currency: tier.currency,
        section_ids: tier.sectionIds,
        seat_ids: tier.seatIds,
      })),
  }));
}

export async function loadShow(db: Database, showId: string, scope: Scope = {}): Promise<Show> {
  const [show] = await loadShows(db, eq(shows.id, showId), scope);
  if (!show) throw notFound("Show");
  return show;
}

export async function loadEvents(db: Database, where: SQL, scope: Scope = {}) {
  const firstShow = db
    .select({ eventId: shows.eventId, at: min(shows.startsAt).as("at") })
    .from(shows)
    .where(eq(shows.status, "published"))
    .groupBy(shows.eventId)
    .as("first_show");
  const rows = await db
    .select({ event: events, venue: venueSummary, firstShowAt: firstShow.at })
    .from(events)
    .innerJoin(venues, eq(venues.id, events.venueId))
    .leftJoin(firstShow, eq(firstShow.eventId, events.id))
    .where(and(where, scope.organizerId ? eq(events.organizerId, scope.organizerId) : eq(events.status, "published")));
  return rows.map(({ event, venue, firstShowAt }) => ({
    event_id: event.id,
    name: event.name,
    description: event.description,
    category: event.category as (typeof categories)[number],
    performers: event.performers,
    status: event.status as "draft" | "published" | "cancelled",
    venue,
    first_show_at: firstShowAt ? new Date(firstShowAt as unknown as string).toISOString() : null,
  }));
}

export async function loadEvent(db: Database, eventId: string, scope: Scope = {}) {
  const [event] = await loadEvents(db, eq(events.id, eventId), scope);
  if (!event) throw notFound("Event");
  return event;
}

const BIGINT_MIN = -(2n ** 63n);
const BIGINT_MAX = 2n ** 63n - 1n;

/** Opaque keyset cursor: the sort key of the last row of the previous page. */
export const cursor = {
  encode: (at: string, id: string) => btoa(JSON.stringify([at, id])).replaceAll("=", ""),
  /** Null for anything this API did not issue, including a key Postgres could not compare. */
  decode(value: string): [string, string] | null {
    try {
      const parsed = JSON.parse(atob(value));
      const [at, id] = Array.isArray(parsed) ? parsed : [];
      if (parsed.length === 2 && typeof at === "string" && /^-?\d{1,20}$/.test(at) && typeof id === "string") {
        const key = BigInt(at);
        if (key >= BIGINT_MIN && key <= BIGINT_MAX && id.length <= 100) return parsed as [string, string];
      }
    } catch {}
    return null;
  },
};
