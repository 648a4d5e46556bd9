-- A campaign stopped by a person, told apart from one that sent everything (both stay
-- `completed`): when and who, and its recipients never sent as `stopped` rather than waiting.
-- Stops before this: who and when from the campaign.completed event the stop recorded, where it is
-- still kept; and any completed campaign with recipients still pending was stopped (the scheduler
-- completed none with anyone left to send).
ALTER TABLE "campaigns" ADD COLUMN "stopped_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "campaigns" ADD COLUMN "stopped_by" text;--> statement-breakpoint
ALTER TABLE "campaigns" ADD CONSTRAINT "campaigns_stopped_by_users_id_fk" FOREIGN KEY ("stopped_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
UPDATE "campaigns" c
SET "stopped_at" = coalesce(c."completed_at", c."updated_at"),
    "stopped_by" = (SELECT u."id" FROM "users" u WHERE u."id" = e.actor)
FROM (
  SELECT DISTINCT ON (data->'campaign'->>'id') data->'campaign'->>'id' AS campaign_id, data->>'actorId' AS actor
  FROM "webhook_events"
  WHERE "type" = 'campaign.completed' AND data->>'reason' = 'stopped'
  ORDER BY data->'campaign'->>'id', "id" DESC
) e
WHERE c."id" = e.campaign_id AND c."status" = 'completed';--> statement-breakpoint
UPDATE "campaigns" c
SET "stopped_at" = coalesce(c."completed_at", c."updated_at")
WHERE c."status" = 'completed' AND c."stopped_at" IS NULL
  AND EXISTS (SELECT 1 FROM "campaign_recipients" r WHERE r."campaign_id" = c."id" AND r."status" = 'pending');--> statement-breakpoint
UPDATE "campaign_recipients" r
SET "status" = 'stopped'
FROM "campaigns" c
WHERE c."id" = r."campaign_id" AND c."status" = 'completed' AND r."status" = 'pending';
