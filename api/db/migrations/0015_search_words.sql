CREATE TABLE "search_words" (
	"word" text PRIMARY KEY NOT NULL
);
--> statement-breakpoint
-- The words of a searched text: lowercased, split at spaces, punctuation and digits (so neither
-- "%" nor "_" is ever part of one), 3 letters or more. api/search/search.ts splits the query the
-- same way, with this function.
CREATE FUNCTION search_words_of(t text) RETURNS SETOF text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT DISTINCT w FROM regexp_split_to_table(lower(t), '[[:space:][:punct:][:digit:]]+') w WHERE length(w) >= 3
$$;
--> statement-breakpoint
-- The words already there, before the trigram index (built in one go, not word by word).
INSERT INTO search_words (word)
SELECT search_words_of(concat_ws(' ', first_name, last_name, email_display)) FROM contacts
UNION SELECT search_words_of(concat_ws(' ', name, domain)) FROM companies
UNION SELECT search_words_of(title) FROM deals;
--> statement-breakpoint
CREATE INDEX "search_words_trgm_idx" ON "search_words" USING gin ("word" gin_trgm_ops) WITH (fastupdate=off);
--> statement-breakpoint
-- Whether some contact, company or deal still holds the word: its trigram index narrows the rows
-- down to those containing it, then the rows' own words are compared. A word on most rows
-- ("example") costs a scan of its index entries (~0.2 s at 300,000 contacts); words are removed
-- only when a delete or an edit takes them out of a row, which no everyday path does in bulk.
CREATE FUNCTION search_word_used(w text) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT FROM contacts c
      WHERE (coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '') || ' ' || c.email_display) ILIKE '%' || w || '%'
        AND w IN (SELECT search_words_of(concat_ws(' ', c.first_name, c.last_name, c.email_display))))
    OR EXISTS (SELECT FROM companies c
      WHERE (c.name || ' ' || coalesce(c.domain, '')) ILIKE '%' || w || '%'
        AND w IN (SELECT search_words_of(concat_ws(' ', c.name, c.domain))))
    OR EXISTS (SELECT FROM deals d
      WHERE d.title ILIKE '%' || w || '%' AND w IN (SELECT search_words_of(d.title)))
$$;
--> statement-breakpoint
-- Once per statement (a 50,000-row import is one set-based pass, not 50,000 calls): the words the
-- statement's rows gained are added, the words they lost are removed unless another row holds
-- them. The trigger's arguments name the searched columns; an UPDATE that leaves them as they
-- were costs a comparison per row.
CREATE FUNCTION search_words_follow() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  new_text text := (SELECT format('concat_ws('' '', %s)', string_agg(format('n.%I', c), ', ')) FROM unnest(TG_ARGV) c);
  old_text text := (SELECT format('concat_ws('' '', %s)', string_agg(format('o.%I', c), ', ')) FROM unnest(TG_ARGV) c);
  changed text := format('FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE %s IS DISTINCT FROM %s', new_text, old_text);
  added text := 'SELECT NULL::text WHERE false';
  removed text := 'SELECT NULL::text WHERE false';
BEGIN
  IF TG_OP = 'INSERT' THEN
    added := format('SELECT search_words_of(%s) FROM new_rows n', new_text);
  ELSIF TG_OP = 'DELETE' THEN
    removed := format('SELECT search_words_of(%s) FROM old_rows o', old_text);
  ELSE
    added := format('SELECT search_words_of(%s) %s', new_text, changed);
    removed := format('SELECT search_words_of(%s) %s', old_text, changed);
  END IF;
  EXECUTE format('INSERT INTO search_words (word) %s EXCEPT %s ON CONFLICT DO NOTHING', added, removed);
  EXECUTE format('DELETE FROM search_words s WHERE s.word IN (%s EXCEPT %s) AND NOT search_word_used(s.word)', removed, added);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER contacts_search_words_insert AFTER INSERT ON contacts
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_words_follow('first_name', 'last_name', 'email_display');
--> statement-breakpoint
CREATE TRIGGER contacts_search_words_update AFTER UPDATE ON contacts
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_words_follow('first_name', 'last_name', 'email_display');
--> statement-breakpoint
CREATE TRIGGER contacts_search_words_delete AFTER DELETE ON contacts
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION search_words_follow('first_name', 'last_name', 'email_display');
--> statement-breakpoint
CREATE TRIGGER companies_search_words_insert AFTER INSERT ON companies
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_words_follow('name', 'domain');
--> statement-breakpoint
CREATE TRIGGER companies_search_words_update AFTER UPDATE ON companies
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_words_follow('name', 'domain');
--> statement-breakpoint
CREATE TRIGGER companies_search_words_delete AFTER DELETE ON companies
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION search_words_follow('name', 'domain');
--> statement-breakpoint
CREATE TRIGGER deals_search_words_insert AFTER INSERT ON deals
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_words_follow('title');
--> statement-breakpoint
CREATE TRIGGER deals_search_words_update AFTER UPDATE ON deals
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_words_follow('title');
--> statement-breakpoint
CREATE TRIGGER deals_search_words_delete AFTER DELETE ON deals
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION search_words_follow('title');
