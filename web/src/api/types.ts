// The wire shapes the app reads, as /openapi.json documents them (zod schemas in src/ are the
// source). Only the fields the app uses are listed; the API may send more.

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export interface VenueRef {
  venue_id: string;
  name: string;
  city: string;
  country: string;
}

export interface Event {
  event_id: string;
  name: string;
  description: string;
  category: string;
  performers: string[];
  status: "draft" | "published" | "cancelled";
  venue: VenueRef;
  first_show_at: string | null;
}

export interface PriceTier {
  tier_id: string;
  name: string;
  price_cents: number;
  currency: string;
  section_ids: string[];
  seat_ids: string[];
}

export interface Show {
  show_id: string;
  event_id: string;
  event_name: string;
  status: "draft" | "published" | "cancelled";
  starts_at: string;
  on_sale_at: string;
  timezone: string;
  currency: string;
  ticket_limit: number;
  hold_ttl_s: number;
  venue: VenueRef;
  seat_map: { venue_id: string; version: number; geometry_url: string };
  price_tiers: PriceTier[];
  waiting_room?: { enabled: boolean; paused: boolean; opens_at: string | null };
}

export interface SectionAvailability {
  section_id: string;
  available: number;
  total: number;
  min_price_cents: number | null;
}

export interface SeatAvailability {
  seat_id: string;
  status: "available" | "unavailable";
  tier_id: string;
  price_cents: number;
  accessible: boolean;
}

export interface SeatMapOverlay {
  show_id: string;
  status: "published" | "cancelled";
  inventory?: "available" | "all_held" | "sold_out";
  currency: string;
  geometry: { venue_id: string; version: number; geometry_url: string };
  sections: SectionAvailability[];
  seats?: SeatAvailability[];
  as_of_ms: number;
}

export type Point = [number, number];

export interface GeometrySeat {
  id: string;
  number: string;
  x: number;
  y: number;
  accessible?: boolean;
  obstructed_view?: boolean;
}

export interface GeometrySection {
  id: string;
  name: string;
  shape: { type: "polygon"; points: Point[] };
  ga_capacity?: number;
  rows: { label: string; seats: GeometrySeat[] }[];
}

export interface Geometry {
  sections: GeometrySection[];
  stage?: { points: Point[] };
}

export interface QueueSession {
  session_id: string;
  ticket: string;
  status: "waiting" | "admitted" | "expired" | "sold_out";
  /** `all_held`: nothing available now, held seats may come back (no wait range is promised). */
  inventory?: "available" | "all_held" | "sold_out";
  /** On `sold_out`: where to join the waitlist. */
  waitlist_url?: string;
  /** An estimate (1 = next); null once the place ended. */
  position: number | null;
  position_range?: { low: number; high: number };
  estimated_wait_s: number;
  estimated_wait_range_s?: { low: number; high: number };
  poll_after_ms: number;
  server_time_ms: number;
  admission_token?: string;
  admission_expires_at_ms?: number;
}

export interface Hold {
  hold_id: string;
  show_id: string;
  /** Empty for a general-admission hold (`ga`). */
  seat_ids: string[];
  ga: { section_id: string; quantity: number } | null;
  status: "active" | "checkout" | "sold" | "released" | "expired" | "refunded";
  expires_at_ms: number;
  server_time_ms: number;
  price_cents: number;
  currency: string;
}

export interface OrderCreated {
  order_id: string;
  status: OrderStatus;
  total_cents: number;
  currency: string;
  payment: { payment_id: string; client_secret: string | null; status: string };
  expires_at_ms: number;
  server_time_ms: number;
}

export type OrderStatus =
  | "pending_payment"
  | "confirmed"
  | "payment_failed"
  | "cancelled"
  | "refund_pending"
  | "refunded";

export interface OrderTicketRef {
  ticket_id: string;
  seat_id: string | null;
  section_id: string;
  ga_number: number | null;
  status: "valid" | "void" | "checked_in";
  qr_url: string;
  pdf_url: string;
}

export interface Order {
  order_id: string;
  status: OrderStatus;
  show_id: string;
  hold_id: string;
  total_cents: number;
  refunded_cents: number;
  currency: string;
  expires_at_ms: number;
  created_at: string;
  items: {
    seat_id: string | null;
    section_id: string;
    ga_number: number | null;
    tier_id: string;
    price_cents: number;
  }[];
  payment: { payment_id: string; status: string };
  tickets: OrderTicketRef[];
}

export interface PaymentConfirmation {
  payment_id: string;
  status: string;
  order_status: OrderStatus;
  decline_code?: string;
}

export interface Ticket {
  ticket_id: string;
  order_id: string;
  show_id: string;
  /** Null for a general-admission ticket (its `section` and `ga_number` say where). */
  seat_id: string | null;
  section: string;
  row: string | null;
  seat: string | null;
  ga_number: number | null;
  tier: { tier_id: string; name: string };
  price_cents: number;
  currency: string;
  status: "valid" | "void" | "checked_in";
  checked_in_at: string | null;
  event_name: string;
  starts_at: string;
  venue: { name: string; city: string };
  qr_url: string;
  pdf_url: string;
}

export interface DevToken {
  token: string;
  fan_id: string;
  expires_at_ms: number;
}

export interface WaitlistEntry {
  fan_id: string;
  quantity: number;
  section_id: string | null;
  status: "waiting" | "offered" | "lapsed" | "fulfilled" | "left";
  position: number | null;
  joined_at_ms: number;
  offer_hold_id: string | null;
}
