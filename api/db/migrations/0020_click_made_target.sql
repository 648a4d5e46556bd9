-- Campaign results count the targets a campaign's clicks made, not every click that added evidence: a click whose prospect was already a target (a form, a rep) qualified nothing new. Clicks qualified before this column existed keep counting, as they did.
ALTER TABLE "click_events" ADD COLUMN "made_target_at" timestamp with time zone;--> statement-breakpoint
UPDATE "click_events" SET "made_target_at" = "qualified_at" WHERE "qualified_at" IS NOT NULL;
