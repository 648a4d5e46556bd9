CREATE INDEX "companies_name_prefix_idx" ON "companies" USING btree (lower("name") text_pattern_ops);--> statement-breakpoint
CREATE INDEX "companies_domain_prefix_idx" ON "companies" USING btree ("domain" text_pattern_ops);--> statement-breakpoint
CREATE INDEX "contacts_name_prefix_idx" ON "contacts" USING btree (lower(trim(coalesce("first_name", '') || ' ' || coalesce("last_name", ''))) text_pattern_ops);--> statement-breakpoint
CREATE INDEX "contacts_last_name_prefix_idx" ON "contacts" USING btree (lower("last_name") text_pattern_ops);--> statement-breakpoint
CREATE INDEX "contacts_email_prefix_idx" ON "contacts" USING btree (lower("email_display") text_pattern_ops);--> statement-breakpoint
CREATE INDEX "contacts_email_domain_idx" ON "contacts" USING btree (lower(split_part("email_display", '@', 2)) text_pattern_ops);--> statement-breakpoint
CREATE INDEX "deals_title_prefix_idx" ON "deals" USING btree (lower("title") text_pattern_ops);