-- A refused plain form's values too long for its cookie wait here for the page, once (api/http/form-flash.ts).
CREATE TABLE "form_flashes" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"flash" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "form_flashes" ADD CONSTRAINT "form_flashes_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;