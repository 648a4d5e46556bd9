CREATE EXTENSION IF NOT EXISTS pg_trgm;--> statement-breakpoint
CREATE INDEX "companies_search_trgm_idx" ON "companies" USING gin (("name" || ' ' || coalesce("domain", '')) gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "contacts_search_trgm_idx" ON "contacts" USING gin ((coalesce("first_name", '') || ' ' || coalesce("last_name", '') || ' ' || "email_display") gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "deals_title_trgm_idx" ON "deals" USING gin ("title" gin_trgm_ops);