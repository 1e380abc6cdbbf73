import { and, asc, eq, sql } from "drizzle-orm";
import type { GaSectionInit, ShowSeatInit } from "../../durable-objects/types";
import type { Database } from "../db/client";
import { events, priceTiers, seatMapVersions, shows } from "../db/schema";
import { ApiError, notFound } from "../lib/problem";
import { flattenSeats, type SeatMap } from "./seat-map";
import { recordShow } from "./show-directory";

interface Tier {
  id: string;
  name: string;
  priceCents: number;
  sectionIds: string[];
  seatIds: string[];
}

/**
 * Prices every seat of the map: a tier naming the seat wins, then the tier the seat map
 * itself names for the seat, then the tier covering the seat's section. Seats (and GA sections)
 * no tier covers are returned as `unpriced`.
 */
export function priceSeats(map: SeatMap, tiers: Tier[]) {
  const bySeat = new Map<string, Tier>();
  const bySection = new Map<string, Tier>();
  const byName = new Map(tiers.map((tier) => [tier.name, tier]));
  for (const tier of tiers) {
    for (const seatId of tier.seatIds) bySeat.set(seatId, tier);
    for (const sectionId of tier.sectionIds) bySection.set(sectionId, tier);
  }
  const priced: ShowSeatInit[] = [];
  const unpriced: string[] = [];
  for (const seat of flattenSeats(map)) {
    const tier = bySeat.get(seat.seat_id) ?? (seat.tier && byName.get(seat.tier)) ?? bySection.get(seat.section_id);
    if (!tier) {
      unpriced.push(seat.seat_id);
      continue;
    }
    priced.push({
      seat_id: seat.seat_id,
      section_id: seat.section_id,
      row: seat.row,
      row_index: seat.row_index,
      seat_index: seat.seat_index,
      accessible: seat.accessible,
      tier_id: tier.id,
      price_cents: tier.priceCents,
      blocked: false,
    });
  }
  // A GA section is priced by the tier covering the section (its places have no ids to name).
  const gaSections: GaSectionInit[] = [];
  for (const section of map.sections) {
    if (section.ga_capacity === undefined) continue;
    const tier = bySection.get(section.id);
    if (!tier) {
      unpriced.push(section.id);
      continue;
    }
    gaSections.push({
      section_id: section.id,
      capacity: section.ga_capacity,
      tier_id: tier.id,
      price_cents: tier.priceCents,
    });
  }
  return { priced, unpriced, gaSections };
}

/**
 * Publishes a show: loads every seat with its tier and price into the show's Durable Object,
 * then marks the show (and its event) published, then lists it in the edge's show directory.
 * The DO goes first and keeps existing seat states, so a retry after any failure, or a second
 * publish, is harmless (which is also how a show published before the directory gets listed).
 */
export async function publishShow(db: Database, env: Env, showId: string, organizerId: string) {
  const [show] = await db
    .select({
      id: shows.id,
      status: shows.status,
      eventId: shows.eventId,
      venueId: shows.venueId,
      seatMapVersion: shows.seatMapVersion,
      onSaleAt: shows.onSaleAt,
      ticketLimit: shows.ticketLimit,
      holdTtlSeconds: shows.holdTtlSeconds,
      currency: shows.currency,
      document: seatMapVersions.document,
    })
    .from(shows)
    .innerJoin(events, eq(events.id, shows.eventId))
    .innerJoin(
      seatMapVersions,
      and(eq(seatMapVersions.venueId, shows.venueId), eq(seatMapVersions.version, shows.seatMapVersion)),
    )
    .where(and(eq(shows.id, showId), eq(events.organizerId, organizerId)));
  if (!show) throw notFound("Show");
  if (show.status === "cancelled") throw new ApiError(409, "show_cancelled", "A cancelled show cannot be published");

  const tiers = await db
    .select({
      id: priceTiers.id,
      name: priceTiers.name,
      priceCents: priceTiers.priceCents,
      sectionIds: priceTiers.sectionIds,
      seatIds: priceTiers.seatIds,
    })
    .from(priceTiers)
    .where(eq(priceTiers.showId, showId))
    .orderBy(asc(priceTiers.sortOrder));
  const { priced, unpriced, gaSections } = priceSeats(show.document as SeatMap, tiers);
  if (unpriced.length > 0) {
    throw new ApiError(
      422,
      "unpriced_seats",
      `${unpriced.length} sellable seats have no price tier`,
      unpriced.slice(0, 100).map((seatId) => ({ path: `seats.${seatId}`, message: "no price tier covers this seat" })),
    );
  }

  const counts = await env.SHOW.getByName(show.id).initialize({
    show_id: show.id,
    venue_id: show.venueId,
    seat_map_version: show.seatMapVersion,
    on_sale_at_ms: show.onSaleAt.getTime(),
    ticket_limit: show.ticketLimit,
    hold_ttl_ms: show.holdTtlSeconds * 1000,
    currency: show.currency,
    seats: priced,
    ga_sections: gaSections,
  });

  await db.transaction(async (tx) => {
    await tx
      .update(shows)
      .set({ status: "published", publishedAt: sql`coalesce(${shows.publishedAt}, now())`, updatedAt: sql`now()` })
      .where(eq(shows.id, show.id));
    await tx.update(events).set({ status: "published", updatedAt: sql`now()` }).where(eq(events.id, show.eventId));
  });
  // Last, so fans find the show only once Postgres agrees it is published.
  await recordShow(env, show.id, { status: "published" });
  return counts;
}
