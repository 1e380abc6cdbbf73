import type { Hold, OrderCreated } from "../../api/types";
import { readJson, writeJson } from "../../lib/storage";

// The hold (and its order once payment starts) in sessionStorage: a reload during checkout
// comes back to the same countdown instead of a fresh map.

export interface CheckoutState {
  hold: Hold;
  order: OrderCreated | null;
  /** Seat id (or `gaLineKey` of a GA hold) → what the fan saw when choosing it (label and price). */
  seats: Record<string, { label: string; price_cents: number }>;
}

/** The one checkout line of a general-admission hold. */
export const gaLineKey = (sectionId: string) => `ga:${sectionId}`;

/** What checkout lists: the hold's seats, or its one GA line. */
export const holdLines = (hold: Hold) => (hold.ga ? [gaLineKey(hold.ga.section_id)] : hold.seat_ids);

const key = (fanId: string, showId: string) => `onsale.checkout.${fanId}.${showId}`;

export const loadCheckout = (fanId: string, showId: string) => readJson<CheckoutState>("session", key(fanId, showId));
export const saveCheckout = (fanId: string, showId: string, state: CheckoutState | null) =>
  writeJson("session", key(fanId, showId), state);
