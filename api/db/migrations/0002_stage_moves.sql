CREATE TABLE "stage_moves" (
	"event_id" text PRIMARY KEY NOT NULL,
	"deal_id" text NOT NULL,
	"owner_id" text,
	"from_stage" text,
	"to_stage" text NOT NULL,
	"moved_at" timestamp with time zone NOT NULL,
	"seconds_in_stage" double precision
);
--> statement-breakpoint
ALTER TABLE "stage_moves" ADD CONSTRAINT "stage_moves_event_id_deal_events_id_fk" FOREIGN KEY ("event_id") REFERENCES "public"."deal_events"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "stage_moves" ADD CONSTRAINT "stage_moves_deal_id_deals_id_fk" FOREIGN KEY ("deal_id") REFERENCES "public"."deals"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "stage_moves" ADD CONSTRAINT "stage_moves_owner_id_users_id_fk" FOREIGN KEY ("owner_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "stage_moves_pair_idx" ON "stage_moves" USING btree ("from_stage","to_stage","moved_at","seconds_in_stage");--> statement-breakpoint
CREATE INDEX "stage_moves_period_idx" ON "stage_moves" USING btree ("moved_at","from_stage","to_stage","seconds_in_stage");--> statement-breakpoint
CREATE INDEX "stage_moves_owner_idx" ON "stage_moves" USING btree ("owner_id","moved_at","from_stage","to_stage","seconds_in_stage");--> statement-breakpoint
CREATE INDEX "stage_moves_deal_idx" ON "stage_moves" USING btree ("deal_id");