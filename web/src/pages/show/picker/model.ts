import type { Geometry, GeometrySection, Point, PriceTier, SeatAvailability, Show } from "../../../api/types";
import { money, t } from "../../../i18n";

// Pure helpers over the geometry document and the availability overlay: what the map, the
// list and the selection agree on.

export interface Bounds {
  x: number;
  y: number;
  width: number;
  height: number;
}

export function boundsOf(points: Point[], pad = 0): Bounds {
  let minX = Number.POSITIVE_INFINITY;
  let minY = Number.POSITIVE_INFINITY;
  let maxX = Number.NEGATIVE_INFINITY;
  let maxY = Number.NEGATIVE_INFINITY;
  for (const [x, y] of points) {
    minX = Math.min(minX, x);
    minY = Math.min(minY, y);
    maxX = Math.max(maxX, x);
    maxY = Math.max(maxY, y);
  }
  return { x: minX - pad, y: minY - pad, width: maxX - minX + 2 * pad, height: maxY - minY + 2 * pad };
}

export function venueBounds(geometry: Geometry): Bounds {
  const points = geometry.sections.flatMap((s) => s.shape.points).concat(geometry.stage?.points ?? []);
  const b = boundsOf(points);
  return boundsOf(points, Math.max(b.width, b.height) * 0.03);
}

/** Distance between neighbouring seats of a section, so seats are drawn at a size that fits. */
export function seatPitch(section: GeometrySection): number {
  let pitch = Number.POSITIVE_INFINITY;
  for (const row of section.rows) {
    for (let i = 1; i < row.seats.length; i++) {
      const a = row.seats[i - 1]!;
      const b = row.seats[i]!;
      const d = Math.hypot(b.x - a.x, b.y - a.y);
      if (d > 0) pitch = Math.min(pitch, d);
    }
  }
  if (Number.isFinite(pitch)) return pitch;
  const b = boundsOf(section.shape.points);
  return Math.min(b.width, b.height) / 10;
}

/**
 * Tier colours: a light tint fills a section (dark text stays readable on it) and a strong
 * shade fills an available seat (at least 3:1 against the map's white, WCAG 1.4.11).
 */
const PALETTE = [
  { tint: "#dbe7ff", strong: "#1d4ed8" },
  { tint: "#ffe4c7", strong: "#b45309" },
  { tint: "#d7f5dc", strong: "#15803d" },
  { tint: "#fbdcef", strong: "#a21caf" },
  { tint: "#d9f3f7", strong: "#0e7490" },
  { tint: "#ede0ff", strong: "#6d28d9" },
];
export const tierColour = (show: Show, tierId: string | undefined) => {
  const index = show.price_tiers.findIndex((tier) => tier.tier_id === tierId);
  return PALETTE[Math.max(index, 0) % PALETTE.length]!;
};

/** The tier a whole section is sold at, when one tier covers it. */
export function sectionTier(show: Show, sectionId: string): PriceTier | undefined {
  return show.price_tiers.find((tier) => tier.section_ids.includes(sectionId));
}

export interface Filters {
  maxPriceCents: number | null;
  accessibleOnly: boolean;
}

export const seatMatches = (seat: SeatAvailability, filters: Filters) =>
  seat.status === "available" &&
  (filters.maxPriceCents === null || seat.price_cents <= filters.maxPriceCents) &&
  (!filters.accessibleOnly || seat.accessible);

/** Whether a section can have anything for these filters (from prices and geometry alone). */
export function sectionMatches(section: GeometrySection, minPriceCents: number | null, filters: Filters) {
  if (filters.maxPriceCents !== null && minPriceCents !== null && minPriceCents > filters.maxPriceCents) return false;
  if (filters.accessibleOnly && !section.rows.some((row) => row.seats.some((seat) => seat.accessible))) return false;
  return true;
}

export interface SeatPick {
  seat_id: string;
  label: string;
  short: string;
  price_cents: number;
}

/** `SECTION-ROW-SEAT`: every seat id says where it is (seat-map validation guarantees it). */
export function seatPlace(geometry: Geometry, seatId: string) {
  const [sectionId = "", row = "", number = ""] = seatId.split("-");
  const name = geometry.sections.find((s) => s.id === sectionId)?.name ?? sectionId;
  return { sectionId, sectionName: name, row, number };
}

export function seatPick(geometry: Geometry, seat: SeatAvailability, currency: string): SeatPick {
  const place = seatPlace(geometry, seat.seat_id);
  const price = money(seat.price_cents, currency);
  return {
    seat_id: seat.seat_id,
    label: t.picker.seatLabel(place.sectionName, place.row, place.number, price),
    short: t.picker.seatShort(place.sectionName, place.row, place.number),
    price_cents: seat.price_cents,
  };
}
