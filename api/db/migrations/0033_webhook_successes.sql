CREATE TABLE "webhook_successes" (
	"id" text PRIMARY KEY NOT NULL,
	"subscription_id" text NOT NULL,
	"first_delivered_at" timestamp with time zone NOT NULL,
	"last_delivered_at" timestamp with time zone NOT NULL,
	"first_event_id" text NOT NULL,
	"last_event_id" text NOT NULL,
	"count" integer NOT NULL,
	"deliveries" json NOT NULL
);
--> statement-breakpoint
DROP INDEX "webhook_deliveries_log_idx";--> statement-breakpoint
ALTER TABLE "webhook_successes" ADD CONSTRAINT "webhook_successes_subscription_id_webhook_subscriptions_id_fk" FOREIGN KEY ("subscription_id") REFERENCES "public"."webhook_subscriptions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "webhook_successes_log_idx" ON "webhook_successes" USING btree ("subscription_id","last_delivered_at");--> statement-breakpoint
CREATE INDEX "webhook_successes_event_idx" ON "webhook_successes" USING btree ("subscription_id","first_event_id");--> statement-breakpoint
CREATE INDEX "webhook_successes_retention_idx" ON "webhook_successes" USING btree ("last_delivered_at");--> statement-breakpoint
-- The worker's successes so far, one row each; then the delivered rows leave the queue (a success
-- sent by hand is in webhook_attempts already).
INSERT INTO "webhook_successes" ("id", "subscription_id", "first_delivered_at", "last_delivered_at", "first_event_id", "last_event_id", "count", "deliveries")
SELECT gen_random_uuid()::text, "subscription_id", "delivered_at", "delivered_at", "event_id", "event_id", 1,
  json_build_array(json_build_array("event_id", floor(extract(epoch from "delivered_at") * 1000)::bigint, "attempts", coalesce("last_status_code", 200), "latency_ms", "response_excerpt"))
FROM "webhook_deliveries"
WHERE "status" = 'delivered' AND "latency_ms" IS NOT NULL AND "delivered_at" IS NOT NULL;--> statement-breakpoint
DELETE FROM "webhook_deliveries" WHERE "status" = 'delivered';--> statement-breakpoint
ALTER TABLE "webhook_deliveries" DROP COLUMN "delivered_at";--> statement-breakpoint
ALTER TABLE "webhook_deliveries" DROP COLUMN "latency_ms";--> statement-breakpoint
ALTER TABLE "webhook_deliveries" DROP COLUMN "response_excerpt";