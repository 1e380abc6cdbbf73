// General admission. A GA section's capacity is kept as numbered places: rows of the `seats`
// table with the id `<section>#<n>` (n = 1..capacity), which no seat id can take (seat ids are
// letters, digits and dashes). So a GA hold takes capacity through the very same conditional
// UPDATE, transaction, tallies, expiry, sale, refund, limit, waitlist and live-feed trigger as
// a seat hold, and inherits every guarantee already proved for seats: no place is ever in two
// holds, and the number of places sold never exceeds the capacity. What differs is only what a
// fan sees and asks for: a quantity in, capacity out, never a place id; the number a ticket
// carries is its place's number.

import type { GaSectionInit } from "./types";

const SEPARATOR = "#";

export const gaPlaceId = (sectionId: string, number: number) => `${sectionId}${SEPARATOR}${number}`;

/** The section and number of a GA place id, or null for a seat id. */
export function gaPlaceOf(placeId: string): { section_id: string; number: number } | null {
  const at = placeId.indexOf(SEPARATOR);
  if (at < 0) return null;
  return { section_id: placeId.slice(0, at), number: Number(placeId.slice(at + 1)) };
}

export const isGaPlace = (id: string) => id.includes(SEPARATOR);

/**
 * What a hold on GA places amounts to: one section and a quantity. Null for a hold of seats
 * (a hold is one or the other, never both: the DO only ever creates it from one request shape).
 */
export function gaOfPlaces(placeIds: readonly string[]): { section_id: string; quantity: number } | null {
  const first = placeIds[0] === undefined ? null : gaPlaceOf(placeIds[0]);
  return first ? { section_id: first.section_id, quantity: placeIds.length } : null;
}

export class GaSections {
  /** Ids of the show's GA sections; they change only when the show is (re)published. */
  #ids: Set<string> | undefined;

  constructor(private readonly sql: SqlStorage) {}

  /**
   * Creates the places of each GA section, once: a re-publish leaves existing places (held,
   * sold, blocked) as they are. One statement per section, so a 100,000-place floor is not
   * 100,000 round trips into SQLite. Call inside the initialize transaction.
   */
  load(sections: readonly GaSectionInit[]) {
    for (const section of sections) {
      this.sql.exec(
        "INSERT INTO ga_sections (section_id, capacity) VALUES (?, ?) ON CONFLICT (section_id) DO NOTHING",
        section.section_id,
        section.capacity,
      );
      this.sql.exec(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO seats (seat_id, section_id, row_label, row_index, seat_index, accessible, tier_id,
           price_cents, status)
         SELECT ? || '${SEPARATOR}' || i, ?, 'GA', 0, i, 0, ?, ?, 'available' FROM n WHERE true
         ON CONFLICT (seat_id) DO NOTHING`,
        section.capacity,
        section.section_id,
        section.section_id,
        section.tier_id,
        section.price_cents,
      );
    }
    this.#ids = undefined;
  }

  has(sectionId: string): boolean {
    this.#ids ??= new Set(
      this.sql
        .exec<{ section_id: string }>("SELECT section_id FROM ga_sections")
        .toArray()
        .map((row) => row.section_id),
    );
    return this.#ids.has(sectionId);
  }

  /**
   * `quantity` free places of a GA section, lowest numbers first (no adjacency: a GA ticket is
   * a place on the floor, not a chair), or null when fewer are free.
   */
  pick(sectionId: string, quantity: number, status: "available" | "blocked" = "available"): string[] | null {
    const free = this.sql
      .exec<{ seat_id: string }>(
        "SELECT seat_id FROM seats WHERE section_id = ? AND status = ? ORDER BY seat_index LIMIT ?",
        sectionId,
        status,
        quantity,
      )
      .toArray()
      .map((row) => row.seat_id);
    return free.length === quantity ? free : null;
  }
}
