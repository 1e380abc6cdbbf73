ALTER TABLE "orders" ADD COLUMN "fan_email" text;--> statement-breakpoint
ALTER TABLE "outbox" ADD COLUMN "sent_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "outbox" ADD COLUMN "sending_until" timestamp with time zone;