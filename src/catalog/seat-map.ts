import { z } from "@hono/zod-openapi";
import type { ProblemFieldError } from "../lib/problem";

// A seat map is a document: sections with a shape, rows, seats. The zod schema checks each
// piece; `seatMapProblems` checks what only the whole document can tell (duplicates, seats
// outside their section, sizes), so a bad map is answered with every problem at once.

export const MAX_SEATS = 150_000;
export const MAX_SECTIONS = 2_000;
const label = z.string().regex(/^[A-Za-z0-9]{1,12}$/, "1–12 letters or digits");
const coordinate = z.number().finite().min(-100_000).max(100_000);

export const SeatMapSeat = z
  .strictObject({
    id: z.string().min(1).max(40),
    number: label,
    x: coordinate,
    y: coordinate,
    accessible: z.boolean().default(false),
    obstructed_view: z.boolean().default(false),
    tier: z.string().min(1).max(64).optional(),
  })
  .openapi("SeatMapSeat");

export const SeatMapRow = z.strictObject({ label, seats: z.array(SeatMapSeat) }).openapi("SeatMapRow");

export const SeatMapSection = z
  .strictObject({
    id: label,
    name: z.string().min(1).max(120),
    shape: z.strictObject({
      type: z.literal("polygon"),
      points: z
        .array(z.tuple([coordinate, coordinate]))
        .min(3)
        .max(256),
    }),
    /** General admission: a capacity instead of rows of numbered seats. */
    ga_capacity: z.number().int().min(1).max(100_000).optional(),
    rows: z.array(SeatMapRow).default([]),
  })
  .openapi("SeatMapSection");

export const SeatMap = z
  .strictObject({
    sections: z.array(SeatMapSection).min(1).max(MAX_SECTIONS),
    stage: z
      .strictObject({
        points: z
          .array(z.tuple([coordinate, coordinate]))
          .min(3)
          .max(256),
      })
      .optional(),
  })
  .openapi("SeatMap");
export type SeatMap = z.infer<typeof SeatMap>;

/** Ray casting; points on an edge count as inside so seats drawn on a boundary are fine. */
function insidePolygon(x: number, y: number, points: [number, number][]): boolean {
  let inside = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const [xi, yi] = points[i]!;
    const [xj, yj] = points[j]!;
    const onEdge =
      Math.abs((xj - xi) * (y - yi) - (yj - yi) * (x - xi)) < 1e-9 &&
      Math.min(xi, xj) <= x &&
      x <= Math.max(xi, xj) &&
      Math.min(yi, yj) <= y &&
      y <= Math.max(yi, yj);
    if (onEdge) return true;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Every problem the document has as a whole, each with its JSON path. Empty when valid. */
export function seatMapProblems(map: SeatMap): ProblemFieldError[] {
  const problems: ProblemFieldError[] = [];
  const sectionIds = new Set<string>();
  const seatIds = new Set<string>();
  let seatCount = 0;
  map.sections.forEach((section, s) => {
    const at = `sections.${s}`;
    if (sectionIds.has(section.id)) problems.push({ path: `${at}.id`, message: `duplicate section id ${section.id}` });
    sectionIds.add(section.id);
    const seatsHere = section.rows.reduce((n, row) => n + row.seats.length, 0);
    if (seatsHere === 0 && section.ga_capacity === undefined) {
      problems.push({ path: at, message: "section has no seats and no ga_capacity" });
    }
    if (seatsHere > 0 && section.ga_capacity !== undefined) {
      problems.push({
        path: `${at}.ga_capacity`,
        message: "a section is either seated or general admission, not both",
      });
    }
    const rowLabels = new Set<string>();
    section.rows.forEach((row, r) => {
      if (rowLabels.has(row.label))
        problems.push({ path: `${at}.rows.${r}.label`, message: `duplicate row ${row.label}` });
      rowLabels.add(row.label);
      if (row.seats.length === 0) problems.push({ path: `${at}.rows.${r}.seats`, message: "row has no seats" });
      row.seats.forEach((seat, i) => {
        const seatAt = `${at}.rows.${r}.seats.${i}`;
        const expected = `${section.id}-${row.label}-${seat.number}`;
        if (seat.id !== expected) problems.push({ path: `${seatAt}.id`, message: `seat id must be ${expected}` });
        if (seatIds.has(seat.id)) problems.push({ path: `${seatAt}.id`, message: `duplicate seat id ${seat.id}` });
        seatIds.add(seat.id);
        if (!insidePolygon(seat.x, seat.y, section.shape.points)) {
          problems.push({ path: seatAt, message: `seat ${seat.id} lies outside section ${section.id}` });
        }
      });
    });
    // A GA place is a row in the Show DO like a seat, so it counts against the same ceiling.
    seatCount += seatsHere + (section.ga_capacity ?? 0);
  });
  if (seatCount > MAX_SEATS) {
    problems.push({
      path: "sections",
      message: `${seatCount} seats and GA places is more than the ${MAX_SEATS} a map may have`,
    });
  }
  return problems.slice(0, 1000);
}

export interface FlatSeat {
  seat_id: string;
  section_id: string;
  row: string;
  /** Rows are listed front to back and seats left to right; adjacency follows that order. */
  row_index: number;
  seat_index: number;
  accessible: boolean;
  obstructed_view: boolean;
  tier?: string;
}

/** Every numbered seat of the map, in section, row and seat order. */
export function flattenSeats(map: SeatMap): FlatSeat[] {
  return map.sections.flatMap((section) =>
    section.rows.flatMap((row, rowIndex) =>
      row.seats.map((seat, seatIndex) => ({
        seat_id: seat.id,
        section_id: section.id,
        row: row.label,
        row_index: rowIndex,
        seat_index: seatIndex,
        accessible: seat.accessible,
        obstructed_view: seat.obstructed_view,
        ...(seat.tier ? { tier: seat.tier } : {}),
      })),
    ),
  );
}

/** Immutable versioned KV key of a seat map's geometry. */
export const seatMapKvKey = (venueId: string, version: number) => `seat-map:${venueId}:v${version}`;
