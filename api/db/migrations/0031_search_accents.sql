-- Search matches accents either way: "hector" finds Héctor Núñez, "héctor" finds Hector. Every
-- searched text and every query goes through one function, search_fold: unaccent's rules (accents
-- off, and ß → ss, æ → ae, ø → o, ł → l, ligatures split), then lowercased. Both engines ship
-- unaccent (PostgreSQL in contrib, trusted since 13; PGlite as an extension every instance loads).
CREATE EXTENSION IF NOT EXISTS unaccent;
--> statement-breakpoint
-- IMMUTABLE, so indexes can be built on it: unaccent itself is STABLE only because its dictionary
-- could be edited, which nothing here does. The body names unaccent and its dictionary by the
-- schema the extension is in (a body is read without the caller's search_path when an index is
-- rebuilt or restored), wherever a database has it.
DO $$
DECLARE
  at text := (SELECT quote_ident(n.nspname) FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'unaccent');
BEGIN
  EXECUTE format('CREATE FUNCTION search_fold(t text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS %L',
    format('SELECT lower(%s.unaccent(%L::regdictionary, t))', at, at || '.unaccent'));
END $$;
--> statement-breakpoint
DROP INDEX "companies_search_trgm_idx";--> statement-breakpoint
DROP INDEX "companies_name_prefix_idx";--> statement-breakpoint
DROP INDEX "contacts_search_trgm_idx";--> statement-breakpoint
DROP INDEX "contacts_name_prefix_idx";--> statement-breakpoint
DROP INDEX "contacts_last_name_prefix_idx";--> statement-breakpoint
DROP INDEX "contacts_email_prefix_idx";--> statement-breakpoint
DROP INDEX "contacts_email_domain_idx";--> statement-breakpoint
DROP INDEX "deals_title_trgm_idx";--> statement-breakpoint
DROP INDEX "deals_title_prefix_idx";--> statement-breakpoint

-- The words of search_words folded as the query is (search.ts splits the query with this too).
CREATE OR REPLACE FUNCTION search_words_of(t text) RETURNS SETOF text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT DISTINCT w FROM regexp_split_to_table(search_fold(t), '[[:space:][:punct:][:digit:]]+') w WHERE length(w) >= 3
$$;
--> statement-breakpoint
-- The words again, folded, before their trigram index is built (in one go, as migration 0015).
DROP INDEX "search_words_trgm_idx";
--> statement-breakpoint
TRUNCATE search_words;
--> statement-breakpoint
INSERT INTO search_words (word)
SELECT search_words_of(concat_ws(' ', first_name, last_name, email_display)) FROM contacts
UNION SELECT search_words_of(concat_ws(' ', name, domain)) FROM companies
UNION SELECT search_words_of(title) FROM deals;
--> statement-breakpoint
CREATE INDEX "search_words_trgm_idx" ON "search_words" USING gin ("word" gin_trgm_ops) WITH (fastupdate=off);
--> statement-breakpoint
-- As in migration 0015, on the folded documents (the trigram indexes' expressions below).
CREATE OR REPLACE FUNCTION search_word_used(w text) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT FROM contacts c
      WHERE search_fold(coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '') || ' ' || c.email_display) LIKE '%' || w || '%'
        AND w IN (SELECT search_words_of(concat_ws(' ', c.first_name, c.last_name, c.email_display))))
    OR EXISTS (SELECT FROM companies c
      WHERE search_fold(c.name || ' ' || coalesce(c.domain, '')) LIKE '%' || w || '%'
        AND w IN (SELECT search_words_of(concat_ws(' ', c.name, c.domain))))
    OR EXISTS (SELECT FROM deals d
      WHERE search_fold(d.title) LIKE '%' || w || '%' AND w IN (SELECT search_words_of(d.title)))
$$;
--> statement-breakpoint
CREATE INDEX "companies_search_trgm_idx" ON "companies" USING gin (search_fold("name" || ' ' || coalesce("domain", '')) gin_trgm_ops);
--> statement-breakpoint
CREATE INDEX "companies_name_prefix_idx" ON "companies" USING btree (search_fold("name") text_pattern_ops);
--> statement-breakpoint
CREATE INDEX "contacts_search_trgm_idx" ON "contacts" USING gin (search_fold(coalesce("first_name", '') || ' ' || coalesce("last_name", '') || ' ' || "email_display") gin_trgm_ops);
--> statement-breakpoint
CREATE INDEX "contacts_name_prefix_idx" ON "contacts" USING btree (search_fold(trim(coalesce("first_name", '') || ' ' || coalesce("last_name", ''))) text_pattern_ops);
--> statement-breakpoint
CREATE INDEX "contacts_last_name_prefix_idx" ON "contacts" USING btree (search_fold("last_name") text_pattern_ops);
--> statement-breakpoint
CREATE INDEX "contacts_email_prefix_idx" ON "contacts" USING btree (search_fold("email_display") text_pattern_ops);
--> statement-breakpoint
CREATE INDEX "contacts_email_domain_idx" ON "contacts" USING btree (search_fold(split_part("email_display", '@', 2)) text_pattern_ops);
--> statement-breakpoint
CREATE INDEX "deals_title_trgm_idx" ON "deals" USING gin (search_fold("title") gin_trgm_ops);
--> statement-breakpoint
CREATE INDEX "deals_title_prefix_idx" ON "deals" USING btree (search_fold("title") text_pattern_ops);