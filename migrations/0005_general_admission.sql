ALTER TABLE "tickets" ALTER COLUMN "seat_id" DROP NOT NULL;
--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "ga_section_id" text;
--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "ga_number" integer;
--> statement-breakpoint
ALTER TABLE "tickets" ADD COLUMN "place_id" text GENERATED ALWAYS AS (coalesce(seat_id, ga_section_id || '#' || ga_number)) STORED NOT NULL;
--> statement-breakpoint
CREATE UNIQUE INDEX "tickets_one_valid_per_place" ON "tickets" USING btree ("show_id","place_id") WHERE "tickets"."status" IN ('valid', 'checked_in');
--> statement-breakpoint
DROP INDEX "tickets_one_valid_per_seat";
--> statement-breakpoint
ALTER TABLE "tickets" ADD CONSTRAINT "tickets_seat_or_ga" CHECK (("tickets"."seat_id" IS NULL) = ("tickets"."ga_number" IS NOT NULL) AND ("tickets"."ga_number" IS NULL) = ("tickets"."ga_section_id" IS NULL));
--> statement-breakpoint
ALTER TABLE "tickets" ADD CONSTRAINT "tickets_ga_number_positive" CHECK ("tickets"."ga_number" IS NULL OR "tickets"."ga_number" >= 1);
