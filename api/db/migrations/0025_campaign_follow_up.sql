ALTER TABLE "campaigns" ADD COLUMN "follow_up_of" text;--> statement-breakpoint
ALTER TABLE "campaigns" ADD COLUMN "follow_up_count" integer;--> statement-breakpoint
ALTER TABLE "campaigns" ADD CONSTRAINT "campaigns_follow_up_of_campaigns_id_fk" FOREIGN KEY ("follow_up_of") REFERENCES "public"."campaigns"("id") ON DELETE set null ON UPDATE no action;