CREATE TABLE "activities" (
	"id" text PRIMARY KEY NOT NULL,
	"deal_id" text NOT NULL,
	"type" text NOT NULL,
	"due_on" date,
	"due_time" text,
	"time_zone" text NOT NULL,
	"note" text,
	"done_at" timestamp with time zone,
	"outcome" text,
	"created_by" text,
	"done_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "deals" ADD COLUMN "next_step_on" date;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "time_zone" text DEFAULT 'UTC' NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "daily_digest" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "activities" ADD CONSTRAINT "activities_deal_id_deals_id_fk" FOREIGN KEY ("deal_id") REFERENCES "public"."deals"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "activities" ADD CONSTRAINT "activities_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "activities" ADD CONSTRAINT "activities_done_by_users_id_fk" FOREIGN KEY ("done_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "activities_deal_idx" ON "activities" USING btree ("deal_id","created_at");--> statement-breakpoint
CREATE INDEX "activities_open_idx" ON "activities" USING btree ("deal_id","due_on","due_time") WHERE done_at is null;--> statement-breakpoint
CREATE INDEX "deals_owner_next_step_idx" ON "deals" USING btree ("owner_id","next_step_on") WHERE next_step_on is not null and stage not in ('won', 'lost');--> statement-breakpoint
CREATE INDEX "deals_owner_no_next_step_idx" ON "deals" USING btree ("owner_id","stage_entered_at") WHERE next_step_on is null and stage not in ('won', 'lost');