ALTER TABLE "click_events" ADD COLUMN "qualified_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "click_events" ADD COLUMN "beacon_ref" text;--> statement-breakpoint
ALTER TABLE "click_events" ADD COLUMN "confirmed_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "click_events_unjudged_idx" ON "click_events" USING btree ("created_at") WHERE processed_at is null;--> statement-breakpoint
CREATE INDEX "click_events_campaign_idx" ON "click_events" USING btree ("campaign_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "click_events_beacon_ref_idx" ON "click_events" USING btree ("beacon_ref") WHERE beacon_ref is not null;