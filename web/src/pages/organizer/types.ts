import type { Event, Show } from "../../api/types";

// Wire shapes of the organizer API the console reads (mirrors of /openapi.json).

export type OrganizerEvent = Event & { shows: Show[] };

export interface RoomStats {
  enabled: boolean;
  paused: boolean;
  admit_per_minute: number;
  max_active: number;
  checkout_window_s: number;
  opens_at: string | null;
  max_active_per_available_seat: number | null;
  inventory: "available" | "all_held" | "sold_out";
  admission_held_back: "paused_by_organizer" | "nothing_available" | "max_active" | null;
  queued: number;
  admitted_last_minute: number;
  active_checkouts: number;
  observed_admit_per_minute: number;
  oldest_wait_s: number;
  server_time_ms: number;
}

export interface Sales {
  counts: { available: number; held: number; sold: number; blocked: number; capacity: number };
  confirmed_orders: number;
  revenue_cents: number;
  refunded_cents: number;
  currency: string;
}

export interface SalesTimeline {
  currency: string;
  minutes: { minute: string; orders: number; revenue_cents: number }[];
}

export type SeatState = "available" | "held" | "sold" | "blocked";

export interface OrganizerSeat {
  seat_id: string;
  status: SeatState;
  block_reason: string | null;
  tier_id: string;
  price_cents: number;
  accessible: boolean;
}

export interface BlockChange {
  changed: string[];
  unchanged: string[];
}

export interface AdminOrder {
  order_id: string;
  status: string;
  show_id: string;
  total_cents: number;
  refunded_cents: number;
  currency: string;
  created_at: string;
  items: { seat_id: string; tier_id: string; price_cents: number }[];
  tickets: { ticket_id: string; seat_id: string; status: "valid" | "void" | "checked_in" }[];
}

export type SloStatus = "ok" | "breached" | "no_data";

interface Latency {
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
}

/** `GET /v1/admin/shows/{id}/slo`: the show's service levels against the SLO targets. */
export interface SloReport {
  show_id: string;
  window_minutes: number;
  generated_at: string;
  hold: Latency & {
    count: number;
    held: number;
    refused: number;
    errors: number;
    availability: number | null;
    target: { p95_ms: number; availability: number };
    status: SloStatus;
  };
  confirm: Latency & {
    count: number;
    ok: number;
    errors: number;
    target: { p95_ms: number; p99_ms: number };
    status: SloStatus;
  };
  server_errors: {
    requests: number;
    errors: number;
    rate: number | null;
    target: { max_rate: number };
    status: SloStatus;
  };
  admission: {
    configured_per_minute: number | null;
    observed_per_minute: number | null;
    seen_at_edge_last_minute: number;
    queued: number | null;
    target: { min_ratio: number };
    status: SloStatus;
  };
  webhook_lag: Latency & { count: number; target: { p95_ms: number }; status: SloStatus };
}
