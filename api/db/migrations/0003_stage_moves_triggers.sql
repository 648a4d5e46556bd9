-- stage_moves is kept by the database: a row for each stage event as it is written, and the
-- owner copied along when a deal changes hands.
-- Time in stage comes from the move's own record (data.secondsInStage, written by moveDealStage)
-- or else from the deal's previous stage event; a deal's creation has none.
CREATE FUNCTION stage_moves_seconds(e deal_events) RETURNS double precision LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN e.type = 'stage_changed' THEN coalesce(
    (e.data->>'secondsInStage')::float8,
    extract(epoch FROM e.created_at - (SELECT max(p.created_at) FROM deal_events p
      WHERE p.deal_id = e.deal_id AND p.type IN ('created', 'stage_changed') AND p.created_at < e.created_at))::float8) END
$$;
--> statement-breakpoint
CREATE FUNCTION stage_moves_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO stage_moves (event_id, deal_id, owner_id, from_stage, to_stage, moved_at, seconds_in_stage)
  SELECT NEW.id, NEW.deal_id, d.owner_id, NEW.from_stage, NEW.to_stage, NEW.created_at, stage_moves_seconds(NEW)
  FROM deals d WHERE d.id = NEW.deal_id;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER deal_events_stage_moves AFTER INSERT ON deal_events FOR EACH ROW
  WHEN (NEW.type IN ('created', 'stage_changed') AND NEW.to_stage IS NOT NULL)
  EXECUTE FUNCTION stage_moves_record();
--> statement-breakpoint
CREATE FUNCTION stage_moves_follow_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE stage_moves SET owner_id = NEW.owner_id WHERE deal_id = NEW.id;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER deals_stage_moves_owner AFTER UPDATE OF owner_id ON deals FOR EACH ROW
  WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id)
  EXECUTE FUNCTION stage_moves_follow_owner();
--> statement-breakpoint
-- The history written before this migration.
INSERT INTO stage_moves (event_id, deal_id, owner_id, from_stage, to_stage, moved_at, seconds_in_stage)
SELECT e.id, e.deal_id, d.owner_id, e.from_stage, e.to_stage, e.created_at, stage_moves_seconds(e)
FROM deal_events e JOIN deals d ON d.id = e.deal_id
WHERE e.type IN ('created', 'stage_changed') AND e.to_stage IS NOT NULL;
