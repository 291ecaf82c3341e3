-- 0002: the revocation feed (DESIGN §5).
--
-- Every change that ends or restores a token's validity appends a row here in the same
-- transaction as the change. NOTIFY is only a wake-up; readers always re-read from their cursor.
--
-- Ordering: ids are taken when a row is inserted, but transactions commit in any order, so
-- "id > cursor" would skip a row whose transaction commits after a later id was read. Each row
-- therefore records its transaction id (xid8), and readers only take rows whose transaction is
-- older than the oldest transaction still running (pg_snapshot_xmin of the current snapshot):
-- those transactions have all finished, so nothing can appear below that horizon any more.
-- Rows are delivered in (xid, id) order and the cursor is that pair.

CREATE TABLE revocation_feed (
  id             integer PRIMARY KEY CHECK (id = 1),
  feed_id        text NOT NULL,                    -- makes cursors of other deployments foreign
  floor_xid      xid8 NOT NULL DEFAULT '0',        -- everything at or below (floor_xid, floor_id)
  floor_id       bigint NOT NULL DEFAULT 0         --   has been pruned: older cursors are OUT_OF_RANGE
);
INSERT INTO revocation_feed (id, feed_id) VALUES (1, substr(md5(gen_random_uuid()::text), 1, 8));

CREATE TABLE revocation_events (
  id         bigserial PRIMARY KEY,
  xid        xid8 NOT NULL DEFAULT pg_current_xact_id(),
  org_id     uuid NOT NULL REFERENCES organizations(id),
  token_id   uuid NOT NULL,                        -- no FK: deleted tokens keep their events
  reason     text NOT NULL CHECK (reason IN
               ('DISABLED','DELETED','ROTATED','EXPIRED','OWNER_REMOVED','ORG_DISABLED','ENABLED')),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX revocation_events_position ON revocation_events (xid, id);

ALTER TABLE revocation_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE revocation_events FORCE ROW LEVEL SECURITY;
CREATE POLICY org_isolation ON revocation_events
  USING (org_id = tessera_current_org()) WITH CHECK (org_id = tessera_current_org());

ALTER TABLE tokens ADD COLUMN expiry_announced boolean NOT NULL DEFAULT false;
CREATE INDEX tokens_pending_expiry ON tokens (expires_at) WHERE expires_at IS NOT NULL AND NOT expiry_announced;

-- The wake-up: one notification per transaction that appended events, sent at commit.
CREATE FUNCTION tessera_notify_revocations() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('tessera_revocations', '');
  RETURN NULL;
END
$$;
CREATE TRIGGER revocation_events_notify AFTER INSERT ON revocation_events
  FOR EACH STATEMENT EXECUTE FUNCTION tessera_notify_revocations();

-- The feed's state: its id, the prune floor, and the current safe horizon (first xid that may
-- still be running) with the highest delivered-safe position below it.
CREATE FUNCTION tessera_feed_state()
RETURNS TABLE (feed_id text, floor_xid xid8, floor_id bigint, horizon xid8)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
  SELECT f.feed_id, f.floor_xid, f.floor_id, pg_snapshot_xmin(pg_current_snapshot())
    FROM revocation_feed f
$$;

-- Events after (p_xid, p_id) from transactions older than p_horizon (a horizon read earlier
-- with tessera_feed_state: every transaction below it had finished then), in delivery order.
CREATE FUNCTION tessera_read_revocations(p_xid xid8, p_id bigint, p_horizon xid8, p_limit integer)
RETURNS TABLE (id bigint, xid xid8, org_id uuid, token_id uuid, reason text, created_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
  SELECT e.id, e.xid, e.org_id, e.token_id, e.reason, e.created_at
    FROM revocation_events e
   WHERE (e.xid, e.id) > (p_xid, p_id) AND e.xid < p_horizon
   ORDER BY e.xid, e.id
   LIMIT p_limit
$$;

-- Appends EXPIRED events for tokens whose expiry has passed at p_now, once each. Only one
-- instance does it at a time (transaction advisory lock); the others skip.
CREATE FUNCTION tessera_announce_expiries(p_now timestamptz, p_limit integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE n integer;
BEGIN
  IF NOT pg_try_advisory_xact_lock(7415296002) THEN
    RETURN 0;
  END IF;
  WITH due AS (
    UPDATE tokens SET expiry_announced = true
     WHERE id IN (SELECT t.id FROM tokens t
                   WHERE t.expires_at IS NOT NULL AND NOT t.expiry_announced AND t.expires_at <= p_now
                   ORDER BY t.expires_at LIMIT p_limit)
    RETURNING id, org_id
  ), ins AS (
    INSERT INTO revocation_events (org_id, token_id, reason) SELECT org_id, id, 'EXPIRED' FROM due RETURNING 1
  )
  SELECT count(*) INTO n FROM ins;
  RETURN n;
END
$$;

-- Prunes events older than p_before; moves the floor so older cursors answer OUT_OF_RANGE.
CREATE FUNCTION tessera_prune_revocations(p_before timestamptz) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE last_xid xid8; last_id bigint; n integer;
BEGIN
  SELECT e.xid, e.id INTO last_xid, last_id FROM revocation_events e
   WHERE e.created_at < p_before AND e.xid < pg_snapshot_xmin(pg_current_snapshot())
   ORDER BY e.xid DESC, e.id DESC LIMIT 1;
  IF last_xid IS NULL THEN
    RETURN 0;
  END IF;
  DELETE FROM revocation_events e WHERE (e.xid, e.id) <= (last_xid, last_id);
  GET DIAGNOSTICS n = ROW_COUNT;
  UPDATE revocation_feed SET floor_xid = last_xid, floor_id = last_id
   WHERE (floor_xid, floor_id) < (last_xid, last_id);
  RETURN n;
END
$$;

-- Deleting a user (replaces 0001's): ends its memberships and announces every token it ends.
CREATE OR REPLACE FUNCTION tessera_delete_user(p_user uuid) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
BEGIN
  UPDATE users SET deleted_at = now() WHERE id = p_user AND deleted_at IS NULL;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  DELETE FROM memberships WHERE user_id = p_user;
  INSERT INTO revocation_events (org_id, token_id, reason)
    SELECT org_id, id, 'OWNER_REMOVED' FROM tokens WHERE owner_user_id = p_user;
  RETURN true;
END
$$;

REVOKE ALL ON FUNCTION tessera_feed_state() FROM PUBLIC;
REVOKE ALL ON FUNCTION tessera_read_revocations(xid8, bigint, xid8, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION tessera_announce_expiries(timestamptz, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION tessera_prune_revocations(timestamptz) FROM PUBLIC;
