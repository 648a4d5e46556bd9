-- The sync's clock apart from the person's activity. Integrations sync contacts by keyset on
-- (sync_at, id) (api/integrations/sync.ts); the retention job keeps reading updated_at
-- (api/pipeline/contact-retention.ts). A change of a contact's do-not-email state (a bounce, an
-- admin's entry: api/email/suppressions.ts) stamps sync_at only, so it reaches a polling CRM
-- without keeping the person's data up to 24 months longer.
DROP INDEX "contacts_updated_idx";--> statement-breakpoint
ALTER TABLE "contacts" ADD COLUMN "sync_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
UPDATE "contacts" SET "sync_at" = "updated_at";--> statement-breakpoint
CREATE INDEX "contacts_sync_idx" ON "contacts" USING btree ("sync_at","id");--> statement-breakpoint
-- Every write that stamps updated_at moves sync_at with it, whichever code wrote it (lead posts,
-- edits, imports, erasures, the seed): no writer has to remember the second column. Past the
-- row's own sync_at too, which a suppression change may have moved beyond updated_at, so the
-- contact always comes again after a cursor that already handed it out.
CREATE FUNCTION contacts_sync_at_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    NEW.sync_at := NEW.updated_at;
  ELSE
    NEW.sync_at := greatest(NEW.updated_at, NEW.sync_at, OLD.sync_at + interval '1 microsecond');
  END IF;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER contacts_sync_at_insert BEFORE INSERT ON contacts FOR EACH ROW
  EXECUTE FUNCTION contacts_sync_at_follow();
--> statement-breakpoint
CREATE TRIGGER contacts_sync_at_update BEFORE UPDATE OF updated_at ON contacts FOR EACH ROW
  WHEN (OLD.updated_at IS DISTINCT FROM NEW.updated_at)
  EXECUTE FUNCTION contacts_sync_at_follow();
