import { gaPlaceOf } from "../../durable-objects/ga";

// A ticket is for a place: a seat, or a numbered place in a general-admission section. The Show
// DO and order lines name both by one id (`<section>-<row>-<seat>` or `<section>#<number>`);
// a ticket stores a seat id, or a GA section and number, never a place id a fan would read.

/** The ticket columns for a place id. */
export function ticketPlaceColumns(placeId: string) {
  const ga = gaPlaceOf(placeId);
  return ga
    ? { seatId: null, gaSectionId: ga.section_id, gaNumber: ga.number }
    : { seatId: placeId, gaSectionId: null, gaNumber: null };
}

/** What an API shows for a place: the seat, or the GA section and number (seat_id null). */
export function placeView(placeId: string) {
  const ga = gaPlaceOf(placeId);
  return ga
    ? { seat_id: null, section_id: ga.section_id, ga_number: ga.number }
    : { seat_id: placeId, section_id: seatParts(placeId).section, ga_number: null };
}

/** How a person reads a place: "Seat A-1-3" or "General admission FLOOR, no. 17". */
export function placeLabel(placeId: string): string {
  const ga = gaPlaceOf(placeId);
  return ga ? `General admission ${ga.section_id}, no. ${ga.number}` : `Seat ${placeId}`;
}

/** `SECTION-ROW-SEAT`: seat-map validation guarantees the three parts. */
export function seatParts(seatId: string) {
  const [section = "", row = "", seat = ""] = seatId.split("-");
  return { section, row, seat };
}
