import { type SQLWrapper, sql } from "drizzle-orm";
import {
  bigserial,
  boolean,
  check,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";

// Postgres is the authority for catalog, money and tickets (ARCHITECTURE.md, "Who owns which
// data"). Per-seat state lives in the Show Durable Object; nothing here mirrors it.
// Every status column is text with a CHECK rather than a pg enum: adding a state is then a
// plain constraint swap inside a transaction.

const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp("updated_at", { withTimezone: true }).notNull().defaultNow();
const currency = () => text("currency").notNull().default("USD");
const currencyCheck = (name: string, column: SQLWrapper) => check(name, sql`${column} ~ '^[A-Z]{3}$'`);

export const organizers = pgTable("organizers", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  createdAt: createdAt(),
});

/** Only the SHA-256 of a key is stored; `prefix` lets an organizer tell keys apart. */
export const organizerApiKeys = pgTable(
  "organizer_api_keys",
  {
    id: text("id").primaryKey(),
    organizerId: text("organizer_id")
      .notNull()
      .references(() => organizers.id),
    name: text("name").notNull(),
    prefix: text("prefix").notNull(),
    keyHash: text("key_hash").notNull(),
    createdAt: createdAt(),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
  },
  (t) => [
    uniqueIndex("organizer_api_keys_key_hash_key").on(t.keyHash),
    check("organizer_api_keys_key_hash_hex", sql`${t.keyHash} ~ '^[0-9a-f]{64}$'`),
  ],
);

export const venues = pgTable(
  "venues",
  {
    id: text("id").primaryKey(),
    organizerId: text("organizer_id")
      .notNull()
      .references(() => organizers.id),
    name: text("name").notNull(),
    city: text("city").notNull(),
    country: text("country").notNull(),
    timezone: text("timezone").notNull(),
    address: text("address"),
    currentSeatMapVersion: integer("current_seat_map_version").notNull().default(1),
    createdAt: createdAt(),
  },
  (t) => [
    index("venues_organizer_idx").on(t.organizerId),
    index("venues_city_idx").on(sql`lower(${t.city})`),
    check("venues_country_iso", sql`${t.country} ~ '^[A-Z]{2}$'`),
    check("venues_seat_map_version_positive", sql`${t.currentSeatMapVersion} >= 1`),
  ],
);

/**
 * Each version of a venue's seat map is immutable once written; the geometry is also copied
 * to KV under `kv_key` and served from there with a strong ETag (`etag`).
 */
export const seatMapVersions = pgTable(
  "seat_map_versions",
  {
    venueId: text("venue_id")
      .notNull()
      .references(() => venues.id),
    version: integer("version").notNull(),
    document: jsonb("document").notNull(),
    kvKey: text("kv_key").notNull(),
    etag: text("etag").notNull(),
    sectionCount: integer("section_count").notNull(),
    seatCount: integer("seat_count").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.venueId, t.version] }),
    check("seat_map_versions_version_positive", sql`${t.version} >= 1`),
    check("seat_map_versions_counts", sql`${t.sectionCount} >= 1 AND ${t.seatCount} >= 0`),
  ],
);

export const events = pgTable(
  "events",
  {
    id: text("id").primaryKey(),
    organizerId: text("organizer_id")
      .notNull()
      .references(() => organizers.id),
    venueId: text("venue_id")
      .notNull()
      .references(() => venues.id),
    name: text("name").notNull(),
    description: text("description").notNull().default(""),
    category: text("category").notNull(),
    performers: text("performers").array().notNull().default(sql`'{}'::text[]`),
    status: text("status").notNull().default("draft"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("events_organizer_idx").on(t.organizerId),
    index("events_venue_idx").on(t.venueId),
    check(
      "events_category_known",
      sql`${t.category} IN ('concert', 'sports', 'theatre', 'comedy', 'family', 'festival', 'other')`,
    ),
    check("events_status_known", sql`${t.status} IN ('draft', 'published', 'cancelled')`),
    check("events_name_not_blank", sql`length(btrim(${t.name})) > 0`),
  ],
);

export const shows = pgTable(
  "shows",
  {
    id: text("id").primaryKey(),
    eventId: text("event_id")
      .notNull()
      .references(() => events.id),
    venueId: text("venue_id").notNull(),
    seatMapVersion: integer("seat_map_version").notNull(),
    startsAt: timestamp("starts_at", { withTimezone: true }).notNull(),
    onSaleAt: timestamp("on_sale_at", { withTimezone: true }).notNull(),
    timezone: text("timezone").notNull(),
    status: text("status").notNull().default("draft"),
    ticketLimit: integer("ticket_limit").notNull().default(8),
    holdTtlSeconds: integer("hold_ttl_s").notNull().default(600),
    currency: currency(),
    publishedAt: timestamp("published_at", { withTimezone: true }),
    cancelledAt: timestamp("cancelled_at", { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("shows_event_idx").on(t.eventId),
    index("shows_starts_at_idx").on(t.startsAt),
    foreignKey({
      columns: [t.venueId, t.seatMapVersion],
      foreignColumns: [seatMapVersions.venueId, seatMapVersions.version],
      name: "shows_seat_map_version_fk",
    }),
    check("shows_status_known", sql`${t.status} IN ('draft', 'published', 'cancelled')`),
    check("shows_ticket_limit_range", sql`${t.ticketLimit} BETWEEN 1 AND 50`),
    check("shows_hold_ttl_range", sql`${t.holdTtlSeconds} BETWEEN 60 AND 3600`),
    check("shows_on_sale_before_start", sql`${t.onSaleAt} <= ${t.startsAt}`),
    check(
      "shows_published_at_set",
      sql`${t.status} = 'draft' OR ${t.publishedAt} IS NOT NULL OR ${t.status} = 'cancelled'`,
    ),
    currencyCheck("shows_currency_iso", t.currency),
  ],
);

/** A tier covers whole sections and/or individual seats; seat-level coverage wins. */
export const priceTiers = pgTable(
  "price_tiers",
  {
    id: text("id").primaryKey(),
    showId: text("show_id")
      .notNull()
      .references(() => shows.id),
    name: text("name").notNull(),
    priceCents: integer("price_cents").notNull(),
    currency: currency(),
    sectionIds: text("section_ids").array().notNull().default(sql`'{}'::text[]`),
    seatIds: text("seat_ids").array().notNull().default(sql`'{}'::text[]`),
    sortOrder: integer("sort_order").notNull().default(0),
  },
  (t) => [
    uniqueIndex("price_tiers_show_name_key").on(t.showId, t.name),
    check("price_tiers_price_non_negative", sql`${t.priceCents} >= 0`),
    currencyCheck("price_tiers_currency_iso", t.currency),
  ],
);

export const orders = pgTable(
  "orders",
  {
    id: text("id").primaryKey(),
    showId: text("show_id")
      .notNull()
      .references(() => shows.id),
    fanId: text("fan_id").notNull(),
    /** From the fan token's `email` claim, when the identity provider sends one: where notices go. */
    fanEmail: text("fan_email"),
    holdId: text("hold_id").notNull(),
    status: text("status").notNull().default("pending_payment"),
    totalCents: integer("total_cents").notNull(),
    currency: currency(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    confirmedAt: timestamp("confirmed_at", { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    // One order per hold: a retried POST /v1/orders can never create a second one.
    uniqueIndex("orders_hold_id_key").on(t.holdId),
    index("orders_fan_created_idx").on(t.fanId, t.createdAt),
    // The console: a show's orders newest first, and its sales per minute.
    index("orders_show_created_idx").on(t.showId, t.createdAt),
    index("orders_pending_expiry_idx").on(t.expiresAt).where(sql`${t.status} = 'pending_payment'`),
    check(
      "orders_status_known",
      sql`${t.status} IN ('pending_payment', 'confirmed', 'payment_failed', 'cancelled', 'refund_pending', 'refunded')`,
    ),
    check("orders_total_non_negative", sql`${t.totalCents} >= 0`),
    check("orders_confirmed_at_set", sql`${t.status} <> 'confirmed' OR ${t.confirmedAt} IS NOT NULL`),
    currencyCheck("orders_currency_iso", t.currency),
  ],
);

export const orderItems = pgTable(
  "order_items",
  {
    orderId: text("order_id")
      .notNull()
      .references(() => orders.id),
    showId: text("show_id")
      .notNull()
      .references(() => shows.id),
    seatId: text("seat_id").notNull(),
    tierId: text("tier_id")
      .notNull()
      .references(() => priceTiers.id),
    priceCents: integer("price_cents").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.orderId, t.seatId] }),
    check("order_items_price_non_negative", sql`${t.priceCents} >= 0`),
  ],
);

export const payments = pgTable(
  "payments",
  {
    id: text("id").primaryKey(),
    orderId: text("order_id")
      .notNull()
      .references(() => orders.id),
    provider: text("provider").notNull().default("stripe"),
    providerPaymentId: text("provider_payment_id"),
    status: text("status").notNull().default("requires_payment_method"),
    amountCents: integer("amount_cents").notNull(),
    currency: currency(),
    lastError: text("last_error"),
    /** Stripe's `card.fingerprint` of the card paying: the per-card cap counts by it. */
    cardFingerprint: text("card_fingerprint"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("payments_order_id_key").on(t.orderId),
    index("payments_card_fingerprint_idx").on(t.cardFingerprint).where(sql`${t.cardFingerprint} IS NOT NULL`),
    uniqueIndex("payments_provider_payment_id_key").on(t.provider, t.providerPaymentId),
    check("payments_provider_known", sql`${t.provider} IN ('stripe')`),
    check(
      "payments_status_known",
      sql`${t.status} IN ('requires_payment_method', 'requires_confirmation', 'requires_action', 'processing', 'succeeded', 'failed', 'canceled')`,
    ),
    check("payments_amount_non_negative", sql`${t.amountCents} >= 0`),
    currencyCheck("payments_currency_iso", t.currency),
  ],
);

export const tickets = pgTable(
  "tickets",
  {
    id: text("id").primaryKey(),
    orderId: text("order_id")
      .notNull()
      .references(() => orders.id),
    showId: text("show_id")
      .notNull()
      .references(() => shows.id),
    /** The seat; null for a general-admission ticket, which has a section and a number instead. */
    seatId: text("seat_id"),
    gaSectionId: text("ga_section_id"),
    /** The ticket's number within its GA section (1..capacity), unique among its live tickets. */
    gaNumber: integer("ga_number"),
    /**
     * The place the ticket is for, as the Show DO names it: the seat id, or `<section>#<number>`
     * for GA. Derived, so the two can never disagree; the oversell guard is on it.
     */
    placeId: text("place_id").notNull().generatedAlwaysAs(sql`coalesce(seat_id, ga_section_id || '#' || ga_number)`),
    tierId: text("tier_id")
      .notNull()
      .references(() => priceTiers.id),
    priceCents: integer("price_cents").notNull(),
    holderFanId: text("holder_fan_id").notNull(),
    status: text("status").notNull().default("valid"),
    /** Bumped when a ticket is voided or re-issued, so older barcodes stop verifying. */
    barcodeVersion: integer("barcode_version").notNull().default(1),
    checkedInAt: timestamp("checked_in_at", { withTimezone: true }),
    voidedAt: timestamp("voided_at", { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    // The last line of defence against oversell: at most one live ticket per seat (or GA place,
    // so never more live tickets in a GA section than its capacity) per show.
    uniqueIndex("tickets_one_valid_per_place")
      .on(t.showId, t.placeId)
      .where(sql`${t.status} IN ('valid', 'checked_in')`),
    index("tickets_holder_idx").on(t.holderFanId, t.createdAt),
    index("tickets_order_idx").on(t.orderId),
    check(
      "tickets_seat_or_ga",
      sql`(${t.seatId} IS NULL) = (${t.gaNumber} IS NOT NULL) AND (${t.gaNumber} IS NULL) = (${t.gaSectionId} IS NULL)`,
    ),
    check("tickets_ga_number_positive", sql`${t.gaNumber} IS NULL OR ${t.gaNumber} >= 1`),
    check("tickets_status_known", sql`${t.status} IN ('valid', 'void', 'checked_in')`),
    check("tickets_checked_in_at_set", sql`${t.status} <> 'checked_in' OR ${t.checkedInAt} IS NOT NULL`),
    check("tickets_voided_at_set", sql`${t.status} <> 'void' OR ${t.voidedAt} IS NOT NULL`),
    check("tickets_barcode_version_positive", sql`${t.barcodeVersion} >= 1`),
  ],
);

export const refunds = pgTable(
  "refunds",
  {
    id: text("id").primaryKey(),
    paymentId: text("payment_id")
      .notNull()
      .references(() => payments.id),
    orderId: text("order_id")
      .notNull()
      .references(() => orders.id),
    providerRefundId: text("provider_refund_id"),
    amountCents: integer("amount_cents").notNull(),
    currency: currency(),
    reason: text("reason").notNull(),
    status: text("status").notNull().default("pending"),
    /** The tickets this refund pays back (void and their seats back on sale once it succeeds); null = money only or the whole order. */
    ticketIds: jsonb("ticket_ids").$type<string[]>(),
    /** Free text from the organizer, kept for the books and sent to Stripe as metadata. */
    note: text("note"),
    /** Stripe calls made for this row; each uses its own idempotency key `onsale:refund:<id>:<attempt>`. */
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
    /** While set in the future, one worker is talking to Stripe about this row; others keep off. */
    leaseUntil: timestamp("lease_until", { withTimezone: true }),
    /** The failed refund whose obligation this row takes over, and how many failures came before it. */
    reissueOf: text("reissue_of"),
    generation: integer("generation").notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("refunds_provider_refund_id_key").on(t.providerRefundId),
    index("refunds_order_idx").on(t.orderId),
    // A failed refund is re-issued once, whoever notices the failure first.
    uniqueIndex("refunds_reissue_of_key").on(t.reissueOf),
    // The cron's work list: refunds Onsale still owes.
    index("refunds_open_idx").on(t.createdAt).where(sql`${t.status} = 'pending'`),
    // Zero only for a free order, which is refunded without calling Stripe.
    check("refunds_amount_non_negative", sql`${t.amountCents} >= 0`),
    check("refunds_attempts_non_negative", sql`${t.attempts} >= 0`),
    check(
      "refunds_reason_known",
      sql`${t.reason} IN ('organizer_request', 'seat_conflict', 'show_cancelled', 'limit_exceeded', 'card_limit_exceeded', 'provider')`,
    ),
    check("refunds_status_known", sql`${t.status} IN ('pending', 'succeeded', 'failed', 'canceled')`),
    currencyCheck("refunds_currency_iso", t.currency),
  ],
);

/** Stripe retries and reorders webhooks; the unique event id makes a second delivery a no-op. */
export const webhookEvents = pgTable(
  "webhook_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    provider: text("provider").notNull().default("stripe"),
    providerEventId: text("provider_event_id").notNull(),
    type: text("type").notNull(),
    payload: jsonb("payload").notNull(),
    receivedAt: timestamp("received_at", { withTimezone: true }).notNull().defaultNow(),
    processedAt: timestamp("processed_at", { withTimezone: true }),
  },
  (t) => [uniqueIndex("webhook_events_provider_event_key").on(t.provider, t.providerEventId)],
);

/**
 * One row per (scope, route, key). `in_flight` rows make a concurrent retry answer 409
 * instead of doing the work twice; `completed` rows replay the stored response.
 */
export const idempotencyRecords = pgTable(
  "idempotency_records",
  {
    scope: text("scope").notNull(),
    route: text("route").notNull(),
    key: text("key").notNull(),
    requestHash: text("request_hash").notNull(),
    state: text("state").notNull().default("in_flight"),
    responseStatus: integer("response_status"),
    responseBody: jsonb("response_body"),
    createdAt: createdAt(),
    completedAt: timestamp("completed_at", { withTimezone: true }),
  },
  (t) => [
    primaryKey({ columns: [t.scope, t.route, t.key] }),
    check("idempotency_records_state_known", sql`${t.state} IN ('in_flight', 'completed')`),
    check("idempotency_records_key_length", sql`length(${t.key}) BETWEEN 1 AND 255`),
    check(
      "idempotency_records_completed_has_response",
      sql`${t.state} <> 'completed' OR (${t.responseStatus} IS NOT NULL AND ${t.completedAt} IS NOT NULL)`,
    ),
  ],
);

/**
 * Written in the same transaction as the state change a fan must hear about; a publisher
 * moves unpublished rows onto the notifications Queue (at least once, deduplicated by id).
 */
export const outbox = pgTable(
  "outbox",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    topic: text("topic").notNull(),
    aggregateId: text("aggregate_id").notNull(),
    payload: jsonb("payload").notNull(),
    createdAt: createdAt(),
    publishedAt: timestamp("published_at", { withTimezone: true }),
    /** Set once the message was handed to the email provider: duplicates of it are dropped. */
    sentAt: timestamp("sent_at", { withTimezone: true }),
    /** A consumer working on the message holds it until then, so a duplicate delivery waits. */
    sendingUntil: timestamp("sending_until", { withTimezone: true }),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
    deadLettered: boolean("dead_lettered").notNull().default(false),
  },
  (t) => [
    index("outbox_unpublished_idx").on(t.id).where(sql`${t.publishedAt} IS NULL`),
    check(
      "outbox_topic_known",
      sql`${t.topic} IN ('order.confirmed', 'order.payment_failed', 'hold.expired', 'order.refunded', 'waitlist.offer')`,
    ),
  ],
);
