// The life of one seat in one show. Every change of a seat's status in the Show DO goes
// through `nextSeatStatus`, so an impossible move (selling a blocked seat, holding a sold one)
// is refused in one place.

export const seatStatuses = ["available", "held", "sold", "blocked"] as const;
export type SeatStatus = (typeof seatStatuses)[number];

export type SeatEvent =
  | "hold" // a fan holds an available seat
  | "release" // the hold is released: explicitly, on expiry, or on payment failure
  | "sell" // payment finalized
  | "refund" // a sold seat goes back on sale after a refund
  | "block" // organizer holds the seat back (artist, accessibility, production kill)
  | "unblock";

const transitions: { readonly [S in SeatStatus]: { readonly [E in SeatEvent]: SeatStatus | null } } = {
  available: { hold: "held", release: null, sell: null, refund: null, block: "blocked", unblock: null },
  held: { hold: null, release: "available", sell: "sold", refund: null, block: null, unblock: null },
  sold: { hold: null, release: null, sell: null, refund: "available", block: null, unblock: null },
  blocked: { hold: null, release: null, sell: null, refund: null, block: null, unblock: "available" },
};

/** The status after `event`, or null when the event is not allowed from `from`. */
export function nextSeatStatus(from: SeatStatus, event: SeatEvent): SeatStatus | null {
  return transitions[from][event];
}
