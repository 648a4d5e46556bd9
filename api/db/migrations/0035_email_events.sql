CREATE TABLE "email_events" (
	"id" text PRIMARY KEY NOT NULL,
	"outbox_id" text NOT NULL,
	"type" text NOT NULL,
	"detail" text,
	"occurred_at" timestamp with time zone NOT NULL,
	"received_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "email_events_outbox_idx" ON "email_events" USING btree ("outbox_id","type");--> statement-breakpoint
CREATE INDEX "outbox_provider_idx" ON "outbox" USING btree ("provider_id") WHERE provider_id is not null;