// The Show DO's RPC vocabulary, shared with the Worker. Outcomes are plain data with a `code`
// rather than thrown errors, because an Error crossing RPC keeps only its message.

import type { QueueKey } from "./queue-key";
import type { SeatStatus } from "./seat-state";

export type { QueueKey } from "./queue-key";

export interface ShowSeatInit {
  seat_id: string;
  section_id: string;
  row: string;
  row_index: number;
  seat_index: number;
  accessible: boolean;
  tier_id: string;
  price_cents: number;
  blocked: boolean;
}

/** A general-admission section: sold by quantity up to its capacity, at one tier's price. */
export interface GaSectionInit {
  section_id: string;
  capacity: number;
  tier_id: string;
  price_cents: number;
}

export interface ShowInit {
  show_id: string;
  venue_id: string;
  seat_map_version: number;
  on_sale_at_ms: number;
  ticket_limit: number;
  hold_ttl_ms: number;
  currency: string;
  seats: ShowSeatInit[];
  /** GA sections of the map (absent: none). */
  ga_sections?: GaSectionInit[];
}

export type SeatCounts = Record<SeatStatus, number> & { capacity: number };

export interface ShowSnapshot {
  show_id: string;
  status: "published" | "cancelled";
  on_sale_at_ms: number;
  ticket_limit: number;
  hold_ttl_ms: number;
  currency: string;
  venue_id: string;
  seat_map_version: number;
  counts: SeatCounts;
  server_time_ms: number;
}

export type SectionAvailability = {
  section_id: string;
  available: number;
  total: number;
  min_price_cents: number | null;
};

export interface SeatAvailability {
  seat_id: string;
  status: "available" | "unavailable";
  tier_id: string;
  price_cents: number;
  accessible: boolean;
}

/** A seat as its organizer sees it (block and unblock on the map): the true state. */
export interface OrganizerSeat {
  seat_id: string;
  status: "available" | "held" | "sold" | "blocked";
  block_reason: string | null;
  tier_id: string;
  price_cents: number;
  accessible: boolean;
}

/**
 * What the show has left, from the seat tallies: seats to take now; none now but held seats
 * that may come back (held or in checkout); or none that can come back except by a refund or
 * an unblock.
 */
export type Inventory = "available" | "all_held" | "sold_out";

export interface ShowAvailability {
  show_id: string;
  status: "published" | "cancelled";
  inventory: Inventory;
  currency: string;
  venue_id: string;
  seat_map_version: number;
  sections: SectionAvailability[];
  seats?: SeatAvailability[];
  as_of_ms: number;
}

export type BlockResult =
  | { ok: true; changed: string[]; unchanged: string[]; counts: SeatCounts }
  | {
      ok: false;
      code:
        | "show_not_published"
        | "unknown_seats"
        | "seats_unavailable"
        | "unknown_section"
        | "insufficient_availability";
      seat_ids: string[];
    };

export type HoldRequest = { fan_id: string; idempotency_key: string; request_hash: string } & (
  | { seat_ids: string[] }
  | { section_id: string; quantity: number; accessible?: boolean }
);

export interface HoldView {
  hold_id: string;
  show_id: string;
  /** The hold's seats; empty for a GA hold, which takes capacity (`ga`), not seats. */
  seat_ids: string[];
  /** A GA hold: its section and how many places it takes; null for a hold of seats. */
  ga: { section_id: string; quantity: number } | null;
  status: "active" | "checkout" | "sold" | "released" | "expired" | "refunded";
  expires_at_ms: number;
  server_time_ms: number;
  price_cents: number;
  currency: string;
  version: number;
}

export type HoldOutcome =
  | { ok: true; replayed: boolean; hold: HoldView }
  | { ok: false; code: "show_not_found" | "show_cancelled" | "idempotency_key_reused" | "unknown_section" }
  | { ok: false; code: "show_not_on_sale"; on_sale_at_ms: number }
  | { ok: false; code: "limit_exceeded"; limit: number; already: number }
  | { ok: false; code: "unknown_seats" | "seats_unavailable" | "insufficient_availability"; seat_ids: string[] };

export interface RoomConfig {
  enabled: boolean;
  paused: boolean;
  admit_per_minute: number;
  max_active: number;
  checkout_window_ms: number;
  opens_at_ms: number | null;
  /**
   * Optional cap on active checkouts relative to the seats still available (active ≤
   * ceil(available × this)); null: off, only `max_active` applies.
   */
  max_active_per_available_seat: number | null;
}

export type RoomConfigPatch = Partial<RoomConfig>;

/** The part of the room the edge caches: enough to answer joins and most polls without the DO. */
export interface RoomStatus {
  enabled: boolean;
  paused: boolean;
  admit_per_minute: number;
  opens_at_ms: number | null;
  /** Past the opening time (or opened): arrivals are ordered by time, not drawn at random. */
  opened: boolean;
  /** Key of the last place whose turn came; null before the first. */
  watermark: QueueKey | null;
  /** Places taken per arrival second from the watermark's second on (bucket 0 = the pre-queue). */
  arrivals: { bucket_ms: number; n: number }[];
  /** Places in seconds past the last bucket listed. */
  arrivals_beyond: number;
  /** The show's seats as the queue sees them: no admissions unless `available`. */
  inventory: Inventory;
  server_time_ms: number;
}

/** One fan's arrival, answered and signed at the edge, reported to the DO in a batch. */
export interface QueueArrival {
  session_id: string;
  fan_id: string;
  key: QueueKey;
  arrived_at_ms: number;
}

export interface QueueSession {
  session_id: string;
  fan_id: string;
  key: QueueKey;
  status: "waiting" | "admitted" | "expired" | "dropped";
  joined_at_ms: number;
  admission_expires_at_ms: number | null;
  server_time_ms: number;
  /** Set by a join: false when the fan already had a live place. */
  created?: boolean;
}

/** Why the tick admits nobody while fans wait (null: it admits at the configured rate). */
export type AdmissionHeldBack = "paused_by_organizer" | "nothing_available" | "max_active";

export interface RoomStats extends RoomConfig {
  inventory: Inventory;
  admission_held_back: AdmissionHeldBack | null;
  queued: number;
  admitted_last_minute: number;
  active_checkouts: number;
  observed_admit_per_minute: number;
  oldest_wait_s: number;
  watermark: number;
  server_time_ms: number;
}

export type RoomOutcome<T> =
  | { ok: true; value: T }
  | { ok: false; code: "show_not_found" | "show_cancelled" | "room_disabled" };

/** A poll that reached the DO sooner than the place's poll floor is refused without work. */
export type PollOutcome =
  | RoomOutcome<QueueSession | null>
  | { ok: false; code: "polling_too_fast"; retry_after_ms: number };

export type CheckoutSeat = {
  seat_id: string;
  tier_id: string;
  price_cents: number;
};

export type CheckoutOutcome =
  | { ok: true; order_id: string; hold: HoldView; seats: CheckoutSeat[] }
  | { ok: false; code: "hold_not_found" | "hold_expired" | "hold_released" | "show_cancelled" };

/** Finalize's answer: the seats are the order's now, or someone else has some of them. */
export type SellOutcome =
  | { ok: true; seat_ids: string[] }
  | { ok: false; code: "hold_not_found" | "show_cancelled" }
  | { ok: false; code: "seats_taken"; seat_ids: string[] }
  /** A lapsed hold's late payment would put the fan over the per-fan limit: refund it. */
  | { ok: false; code: "limit_exceeded"; limit: number };

/** A fan's release: a hold in checkout is the order's now, and is let go by cancelling the order. */
export type ReleaseOutcome = { ok: true; hold: HoldView } | { ok: false; code: "hold_not_found" | "hold_in_checkout" };

export type SoldSeat = {
  seat_id: string;
  hold_id: string;
  order_id: string | null;
  /** When the hold was sold (null for seats sold before this was recorded). */
  sold_at_ms: number | null;
};

export interface WaitlistEntry {
  fan_id: string;
  quantity: number;
  section_id: string | null;
  status: "waiting" | "offered" | "lapsed" | "fulfilled" | "left";
  /** 1 for the next fan to be offered seats; null once no longer waiting. */
  position: number | null;
  joined_at_ms: number;
  offer_hold_id: string | null;
}

export type WaitlistOutcome =
  | { ok: true; entry: WaitlistEntry }
  | {
      ok: false;
      code: "show_not_found" | "show_cancelled" | "not_sold_out" | "unknown_section" | "admission_required";
    }
  | { ok: false; code: "show_not_on_sale"; on_sale_at_ms: number }
  | { ok: false; code: "limit_exceeded"; limit: number };
