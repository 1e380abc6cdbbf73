CREATE TABLE "events" (
	"id" text PRIMARY KEY NOT NULL,
	"organizer_id" text NOT NULL,
	"venue_id" text NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"category" text NOT NULL,
	"performers" text[] DEFAULT '{}'::text[] NOT NULL,
	"status" text DEFAULT 'draft' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "events_category_known" CHECK ("events"."category" IN ('concert', 'sports', 'theatre', 'comedy', 'family', 'festival', 'other')),
	CONSTRAINT "events_status_known" CHECK ("events"."status" IN ('draft', 'published', 'cancelled')),
	CONSTRAINT "events_name_not_blank" CHECK (length(btrim("events"."name")) > 0)
);
--> statement-breakpoint
CREATE TABLE "idempotency_records" (
	"scope" text NOT NULL,
	"route" text NOT NULL,
	"key" text NOT NULL,
	"request_hash" text NOT NULL,
	"state" text DEFAULT 'in_flight' NOT NULL,
	"response_status" integer,
	"response_body" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone,
	CONSTRAINT "idempotency_records_scope_route_key_pk" PRIMARY KEY("scope","route","key"),
	CONSTRAINT "idempotency_records_state_known" CHECK ("idempotency_records"."state" IN ('in_flight', 'completed')),
	CONSTRAINT "idempotency_records_key_length" CHECK (length("idempotency_records"."key") BETWEEN 1 AND 255),
	CONSTRAINT "idempotency_records_completed_has_response" CHECK ("idempotency_records"."state" <> 'completed' OR ("idempotency_records"."response_status" IS NOT NULL AND "idempotency_records"."completed_at" IS NOT NULL))
);
--> statement-breakpoint
CREATE TABLE "order_items" (
	"order_id" text NOT NULL,
	"show_id" text NOT NULL,
	"seat_id" text NOT NULL,
	"tier_id" text NOT NULL,
	"price_cents" integer NOT NULL,
	CONSTRAINT "order_items_order_id_seat_id_pk" PRIMARY KEY("order_id","seat_id"),
	CONSTRAINT "order_items_price_non_negative" CHECK ("order_items"."price_cents" >= 0)
);
--> statement-breakpoint
CREATE TABLE "orders" (
	"id" text PRIMARY KEY NOT NULL,
	"show_id" text NOT NULL,
	"fan_id" text NOT NULL,
	"hold_id" text NOT NULL,
	"status" text DEFAULT 'pending_payment' NOT NULL,
	"total_cents" integer NOT NULL,
	"currency" text DEFAULT 'USD' NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"confirmed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "orders_status_known" CHECK ("orders"."status" IN ('pending_payment', 'confirmed', 'payment_failed', 'cancelled', 'refund_pending', 'refunded')),
	CONSTRAINT "orders_total_non_negative" CHECK ("orders"."total_cents" >= 0),
	CONSTRAINT "orders_confirmed_at_set" CHECK ("orders"."status" <> 'confirmed' OR "orders"."confirmed_at" IS NOT NULL),
	CONSTRAINT "orders_currency_iso" CHECK ("orders"."currency" ~ '^[A-Z]{3}$')
);
--> statement-breakpoint
CREATE TABLE "organizer_api_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"organizer_id" text NOT NULL,
	"name" text NOT NULL,
	"prefix" text NOT NULL,
	"key_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "organizer_api_keys_key_hash_hex" CHECK ("organizer_api_keys"."key_hash" ~ '^[0-9a-f]{64}$')
);
--> statement-breakpoint
CREATE TABLE "organizers" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"topic" text NOT NULL,
	"aggregate_id" text NOT NULL,
	"payload" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"published_at" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"dead_lettered" boolean DEFAULT false NOT NULL,
	CONSTRAINT "outbox_topic_known" CHECK ("outbox"."topic" IN ('order.confirmed', 'order.payment_failed', 'hold.expired', 'order.refunded', 'waitlist.offer'))
);
--> statement-breakpoint
CREATE TABLE "payments" (
	"id" text PRIMARY KEY NOT NULL,
	"order_id" text NOT NULL,
	"provider" text DEFAULT 'stripe' NOT NULL,
	"provider_payment_id" text,
	"status" text DEFAULT 'requires_payment_method' NOT NULL,
	"amount_cents" integer NOT NULL,
	"currency" text DEFAULT 'USD' NOT NULL,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "payments_provider_known" CHECK ("payments"."provider" IN ('stripe')),
	CONSTRAINT "payments_status_known" CHECK ("payments"."status" IN ('requires_payment_method', 'requires_confirmation', 'requires_action', 'processing', 'succeeded', 'failed', 'canceled')),
	CONSTRAINT "payments_amount_non_negative" CHECK ("payments"."amount_cents" >= 0),
	CONSTRAINT "payments_currency_iso" CHECK ("payments"."currency" ~ '^[A-Z]{3}$')
);
--> statement-breakpoint
CREATE TABLE "price_tiers" (
	"id" text PRIMARY KEY NOT NULL,
	"show_id" text NOT NULL,
	"name" text NOT NULL,
	"price_cents" integer NOT NULL,
	"currency" text DEFAULT 'USD' NOT NULL,
	"section_ids" text[] DEFAULT '{}'::text[] NOT NULL,
	"seat_ids" text[] DEFAULT '{}'::text[] NOT NULL,
	"sort_order" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "price_tiers_price_non_negative" CHECK ("price_tiers"."price_cents" >= 0),
	CONSTRAINT "price_tiers_currency_iso" CHECK ("price_tiers"."currency" ~ '^[A-Z]{3}$')
);
--> statement-breakpoint
CREATE TABLE "refunds" (
	"id" text PRIMARY KEY NOT NULL,
	"payment_id" text NOT NULL,
	"order_id" text NOT NULL,
	"provider_refund_id" text,
	"amount_cents" integer NOT NULL,
	"currency" text DEFAULT 'USD' NOT NULL,
	"reason" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "refunds_amount_positive" CHECK ("refunds"."amount_cents" > 0),
	CONSTRAINT "refunds_reason_known" CHECK ("refunds"."reason" IN ('organizer_request', 'seat_conflict', 'show_cancelled', 'provider')),
	CONSTRAINT "refunds_status_known" CHECK ("refunds"."status" IN ('pending', 'succeeded', 'failed', 'canceled')),
	CONSTRAINT "refunds_currency_iso" CHECK ("refunds"."currency" ~ '^[A-Z]{3}$')
);
--> statement-breakpoint
CREATE TABLE "seat_map_versions" (
	"venue_id" text NOT NULL,
	"version" integer NOT NULL,
	"document" jsonb NOT NULL,
	"kv_key" text NOT NULL,
	"etag" text NOT NULL,
	"section_count" integer NOT NULL,
	"seat_count" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "seat_map_versions_venue_id_version_pk" PRIMARY KEY("venue_id","version"),
	CONSTRAINT "seat_map_versions_version_positive" CHECK ("seat_map_versions"."version" >= 1),
	CONSTRAINT "seat_map_versions_counts" CHECK ("seat_map_versions"."section_count" >= 1 AND "seat_map_versions"."seat_count" >= 0)
);
--> statement-breakpoint
CREATE TABLE "shows" (
	"id" text PRIMARY KEY NOT NULL,
	"event_id" text NOT NULL,
	"venue_id" text NOT NULL,
	"seat_map_version" integer NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"on_sale_at" timestamp with time zone NOT NULL,
	"timezone" text NOT NULL,
	"status" text DEFAULT 'draft' NOT NULL,
	"ticket_limit" integer DEFAULT 8 NOT NULL,
	"hold_ttl_s" integer DEFAULT 600 NOT NULL,
	"currency" text DEFAULT 'USD' NOT NULL,
	"published_at" timestamp with time zone,
	"cancelled_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "shows_status_known" CHECK ("shows"."status" IN ('draft', 'published', 'cancelled')),
	CONSTRAINT "shows_ticket_limit_range" CHECK ("shows"."ticket_limit" BETWEEN 1 AND 50),
	CONSTRAINT "shows_hold_ttl_range" CHECK ("shows"."hold_ttl_s" BETWEEN 60 AND 3600),
	CONSTRAINT "shows_on_sale_before_start" CHECK ("shows"."on_sale_at" <= "shows"."starts_at"),
	CONSTRAINT "shows_published_at_set" CHECK ("shows"."status" = 'draft' OR "shows"."published_at" IS NOT NULL OR "shows"."status" = 'cancelled'),
	CONSTRAINT "shows_currency_iso" CHECK ("shows"."currency" ~ '^[A-Z]{3}$')
);
--> statement-breakpoint
CREATE TABLE "tickets" (
	"id" text PRIMARY KEY NOT NULL,
	"order_id" text NOT NULL,
	"show_id" text NOT NULL,
	"seat_id" text NOT NULL,
	"tier_id" text NOT NULL,
	"price_cents" integer NOT NULL,
	"holder_fan_id" text NOT NULL,
	"status" text DEFAULT 'valid' NOT NULL,
	"barcode_version" integer DEFAULT 1 NOT NULL,
	"checked_in_at" timestamp with time zone,
	"voided_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tickets_status_known" CHECK ("tickets"."status" IN ('valid', 'void', 'checked_in')),
	CONSTRAINT "tickets_checked_in_at_set" CHECK ("tickets"."status" <> 'checked_in' OR "tickets"."checked_in_at" IS NOT NULL),
	CONSTRAINT "tickets_voided_at_set" CHECK ("tickets"."status" <> 'void' OR "tickets"."voided_at" IS NOT NULL),
	CONSTRAINT "tickets_barcode_version_positive" CHECK ("tickets"."barcode_version" >= 1)
);
--> statement-breakpoint
CREATE TABLE "venues" (
	"id" text PRIMARY KEY NOT NULL,
	"organizer_id" text NOT NULL,
	"name" text NOT NULL,
	"city" text NOT NULL,
	"country" text NOT NULL,
	"timezone" text NOT NULL,
	"address" text,
	"current_seat_map_version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "venues_country_iso" CHECK ("venues"."country" ~ '^[A-Z]{2}$'),
	CONSTRAINT "venues_seat_map_version_positive" CHECK ("venues"."current_seat_map_version" >= 1)
);
--> statement-breakpoint
CREATE TABLE "webhook_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"provider" text DEFAULT 'stripe' NOT NULL,
	"provider_event_id" text NOT NULL,
	"type" text NOT NULL,
	"payload" jsonb NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"processed_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "events" ADD CONSTRAINT "events_organizer_id_organizers_id_fk" FOREIGN KEY ("organizer_id") REFERENCES "public"."organizers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "events" ADD CONSTRAINT "events_venue_id_venues_id_fk" FOREIGN KEY ("venue_id") REFERENCES "public"."venues"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "order_items" ADD CONSTRAINT "order_items_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "order_items" ADD CONSTRAINT "order_items_show_id_shows_id_fk" FOREIGN KEY ("show_id") REFERENCES "public"."shows"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "order_items" ADD CONSTRAINT "order_items_tier_id_price_tiers_id_fk" FOREIGN KEY ("tier_id") REFERENCES "public"."price_tiers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_show_id_shows_id_fk" FOREIGN KEY ("show_id") REFERENCES "public"."shows"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "organizer_api_keys" ADD CONSTRAINT "organizer_api_keys_organizer_id_organizers_id_fk" FOREIGN KEY ("organizer_id") REFERENCES "public"."organizers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "price_tiers" ADD CONSTRAINT "price_tiers_show_id_shows_id_fk" FOREIGN KEY ("show_id") REFERENCES "public"."shows"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_payment_id_payments_id_fk" FOREIGN KEY ("payment_id") REFERENCES "public"."payments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "seat_map_versions" ADD CONSTRAINT "seat_map_versions_venue_id_venues_id_fk" FOREIGN KEY ("venue_id") REFERENCES "public"."venues"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "shows" ADD CONSTRAINT "shows_event_id_events_id_fk" FOREIGN KEY ("event_id") REFERENCES "public"."events"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "shows" ADD CONSTRAINT "shows_seat_map_version_fk" FOREIGN KEY ("venue_id","seat_map_version") REFERENCES "public"."seat_map_versions"("venue_id","version") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tickets" ADD CONSTRAINT "tickets_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tickets" ADD CONSTRAINT "tickets_show_id_shows_id_fk" FOREIGN KEY ("show_id") REFERENCES "public"."shows"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tickets" ADD CONSTRAINT "tickets_tier_id_price_tiers_id_fk" FOREIGN KEY ("tier_id") REFERENCES "public"."price_tiers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "venues" ADD CONSTRAINT "venues_organizer_id_organizers_id_fk" FOREIGN KEY ("organizer_id") REFERENCES "public"."organizers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "events_organizer_idx" ON "events" USING btree ("organizer_id");--> statement-breakpoint
CREATE INDEX "events_venue_idx" ON "events" USING btree ("venue_id");--> statement-breakpoint
CREATE UNIQUE INDEX "orders_hold_id_key" ON "orders" USING btree ("hold_id");--> statement-breakpoint
CREATE INDEX "orders_fan_created_idx" ON "orders" USING btree ("fan_id","created_at");--> statement-breakpoint
CREATE INDEX "orders_pending_expiry_idx" ON "orders" USING btree ("expires_at") WHERE "orders"."status" = 'pending_payment';--> statement-breakpoint
CREATE UNIQUE INDEX "organizer_api_keys_key_hash_key" ON "organizer_api_keys" USING btree ("key_hash");--> statement-breakpoint
CREATE INDEX "outbox_unpublished_idx" ON "outbox" USING btree ("id") WHERE "outbox"."published_at" IS NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "payments_order_id_key" ON "payments" USING btree ("order_id");--> statement-breakpoint
CREATE UNIQUE INDEX "payments_provider_payment_id_key" ON "payments" USING btree ("provider","provider_payment_id");--> statement-breakpoint
CREATE UNIQUE INDEX "price_tiers_show_name_key" ON "price_tiers" USING btree ("show_id","name");--> statement-breakpoint
CREATE UNIQUE INDEX "refunds_provider_refund_id_key" ON "refunds" USING btree ("provider_refund_id");--> statement-breakpoint
CREATE INDEX "refunds_order_idx" ON "refunds" USING btree ("order_id");--> statement-breakpoint
CREATE INDEX "shows_event_idx" ON "shows" USING btree ("event_id");--> statement-breakpoint
CREATE INDEX "shows_starts_at_idx" ON "shows" USING btree ("starts_at");--> statement-breakpoint
CREATE UNIQUE INDEX "tickets_one_valid_per_seat" ON "tickets" USING btree ("show_id","seat_id") WHERE "tickets"."status" IN ('valid', 'checked_in');--> statement-breakpoint
CREATE INDEX "tickets_holder_idx" ON "tickets" USING btree ("holder_fan_id","created_at");--> statement-breakpoint
CREATE INDEX "tickets_order_idx" ON "tickets" USING btree ("order_id");--> statement-breakpoint
CREATE INDEX "venues_organizer_idx" ON "venues" USING btree ("organizer_id");--> statement-breakpoint
CREATE INDEX "venues_city_idx" ON "venues" USING btree (lower("city"));--> statement-breakpoint
CREATE UNIQUE INDEX "webhook_events_provider_event_key" ON "webhook_events" USING btree ("provider","provider_event_id");