-- 0015: the audit trail.
--
-- Every admin change and every refused admin call is one row of audit_events, written by the
-- service in the transaction of the change (refusals in their own), with a keyed BLAKE2b MAC over
-- its content computed by the service with a key the database never sees.
--
-- Each organization's entries are then linked into a hash chain by the sealer (every instance runs
-- it in its upkeep; one at a time): audit_seals holds, per organization, seal 1, 2, 3, … each naming
-- one entry and carrying a MAC over the entry's MAC and the previous seal's hash. Linking after
-- commit instead of inside the writer's transaction is what keeps writers of one organization from
-- queueing behind each other's commits. Whoever can write these tables without the key (a
-- superuser, a restored dump) can change, remove or add rows but cannot make a trail that
-- verifies: `tessera audit verify` walks it (src/services/audit/verify-trail.ts).
--
-- Sealing order: as for the revocation feed (0002), ids are taken at insert but transactions commit
-- in any order, so the sealer only takes entries whose transaction is older than the oldest one
-- still running, in (xid, pos) order; nothing can appear below that horizon any more, so the
-- newest seal's (entry_xid, entry_pos) is a cursor that never skips an entry.
--
-- org_id is the organization whose trail holds the row, or the all-zero UUID for the instance's
-- own trail (refused calls whose credential names no organization, digest-key changes): a
-- context only operators set. No foreign key: a trail outlives what it talks about.
--
-- The service role may only INSERT and SELECT both tables (grants in migrate.ts); nothing it can
-- run removes a row except tessera_audit_prune, which removes only sealed entries older than the
-- retention the service asks for and never any younger than a day, and whose every run is recorded.
CREATE TABLE audit_events (
  pos        bigserial   PRIMARY KEY,
  xid        xid8        NOT NULL DEFAULT pg_current_xact_id(),
  id         uuid        NOT NULL UNIQUE,
  org_id     uuid        NOT NULL,
  at         timestamptz NOT NULL,
  actor      jsonb       NOT NULL,
  action     text        NOT NULL CHECK (length(action) BETWEEN 1 AND 64),
  target     jsonb       NOT NULL,
  before     jsonb,
  after      jsonb,
  request_id text        NOT NULL,
  peer       text        NOT NULL,
  user_agent text        NOT NULL,
  rpc        text        NOT NULL,
  outcome    text        NOT NULL CHECK (outcome IN ('OK', 'PERMISSION_DENIED', 'UNAUTHENTICATED')),
  reason     text        NOT NULL,
  key_id     integer     NOT NULL,
  mac        bytea       NOT NULL
);
CREATE INDEX audit_events_sealing ON audit_events (xid, pos);
-- ListAuditEvents (newest first within an organization) and its filters.
CREATE INDEX audit_events_org ON audit_events (org_id, pos DESC);
CREATE INDEX audit_events_at ON audit_events (org_id, at DESC, pos DESC);
CREATE INDEX audit_events_actor ON audit_events (org_id, ((actor->>'token_id')), pos DESC);
CREATE INDEX audit_events_target ON audit_events (org_id, ((target->>'id')), pos DESC);

CREATE TABLE audit_seals (
  org_id     uuid    NOT NULL,
  seq        bigint  NOT NULL CHECK (seq > 0),
  entry_id   uuid    NOT NULL UNIQUE,
  entry_xid  xid8    NOT NULL,
  entry_pos  bigint  NOT NULL,
  -- The entry's MAC as sealed: the seal checks without the entry, the entry against the seal.
  entry_mac  bytea   NOT NULL,
  -- False when the sealer found the entry's MAC wrong (a row the service did not write): it is
  -- sealed all the same, so the cursor moves on, and verification reports it.
  entry_ok   boolean NOT NULL,
  key_id     integer NOT NULL,
  prev_hash  bytea   NOT NULL,
  hash       bytea   NOT NULL,
  PRIMARY KEY (org_id, seq)
);
CREATE INDEX audit_seals_cursor ON audit_seals (entry_xid, entry_pos);

ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY org_isolation ON audit_events
  USING (org_id = tessera_current_org()) WITH CHECK (org_id = tessera_current_org());
ALTER TABLE audit_seals ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_seals FORCE ROW LEVEL SECURITY;
CREATE POLICY org_isolation ON audit_seals
  USING (org_id = tessera_current_org()) WITH CHECK (org_id = tessera_current_org());

-- The sealer's work: entries of every trail after the newest seal's cursor whose transactions have
-- all finished, in sealing order. Only one sealer runs at a time (transaction advisory lock): the
-- others get nothing. Entries only, never anything secret; the service seals them per trail.
CREATE FUNCTION tessera_audit_pending(p_limit integer)
RETURNS TABLE (pos bigint, xid xid8, id uuid, org_id uuid, at timestamptz, actor jsonb, action text, target jsonb,
               before jsonb, after jsonb, request_id text, peer text, user_agent text, rpc text, outcome text,
               reason text, key_id integer, mac bytea)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  c_xid xid8 := '0';
  c_pos bigint := 0;
  horizon xid8 := pg_snapshot_xmin(pg_current_snapshot());
BEGIN
  IF NOT pg_try_advisory_xact_lock(7415296015) THEN
    RETURN;
  END IF;
  SELECT s.entry_xid, s.entry_pos INTO c_xid, c_pos FROM audit_seals s ORDER BY s.entry_xid DESC, s.entry_pos DESC LIMIT 1;
  RETURN QUERY
    SELECT e.pos, e.xid, e.id, e.org_id, e.at, e.actor, e.action, e.target, e.before, e.after, e.request_id,
           e.peer, e.user_agent, e.rpc, e.outcome, e.reason, e.key_id, e.mac
      FROM audit_events e
     WHERE (e.xid, e.pos) > (coalesce(c_xid, '0'::xid8), coalesce(c_pos, 0)) AND e.xid < horizon
       -- Already named by a seal (one a tamperer added): sealing it again could only fail.
       AND NOT EXISTS (SELECT 1 FROM audit_seals s WHERE s.entry_id = e.id)
     ORDER BY e.xid, e.pos
     LIMIT p_limit;
END
$$;
REVOKE ALL ON FUNCTION tessera_audit_pending(integer) FROM PUBLIC;

-- Retention: removes the context organization's sealed entries (and their seals) older than
-- p_before, never younger than a day and never the newest seal, at most p_limit, oldest first, and
-- returns the last seal removed, which the service records in a new `audit.prune` entry in the same
-- transaction: verification then expects the oldest kept seal to link to it.
CREATE FUNCTION tessera_audit_prune(p_before timestamptz, p_limit integer, OUT through_seq bigint, OUT through_hash bytea)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE org uuid := tessera_current_org();
BEGIN
  IF org IS NULL THEN
    RAISE EXCEPTION 'tessera_audit_prune: no organization context';
  END IF;
  WITH doomed AS (
    SELECT s.seq, s.entry_id, s.hash FROM audit_seals s JOIN audit_events e ON e.id = s.entry_id
     WHERE s.org_id = org AND e.at < least(p_before, now() - interval '1 day')
       AND s.seq < (SELECT max(y.seq) FROM audit_seals y WHERE y.org_id = org)
     ORDER BY s.seq LIMIT p_limit
  ), gone_entries AS (
    DELETE FROM audit_events e WHERE e.id IN (SELECT entry_id FROM doomed)
  ), gone AS (
    DELETE FROM audit_seals s WHERE s.org_id = org AND s.seq IN (SELECT seq FROM doomed) RETURNING s.seq, s.hash
  )
  SELECT g.seq, g.hash INTO through_seq, through_hash FROM gone g ORDER BY g.seq DESC LIMIT 1;
END
$$;
REVOKE ALL ON FUNCTION tessera_audit_prune(timestamptz, integer) FROM PUBLIC;

-- The trails that hold sealed entries older than p_before (retention's work list).
CREATE FUNCTION tessera_audit_prunable(p_before timestamptz) RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT DISTINCT e.org_id FROM audit_events e JOIN audit_seals s ON s.entry_id = e.id
   WHERE e.at < least(p_before, now() - interval '1 day')
$$;
REVOKE ALL ON FUNCTION tessera_audit_prunable(timestamptz) FROM PUBLIC;

-- The idle sweep of 0014, returning what it disabled (organization, token, name) so that the
-- service records each in the audit trail in the same transaction. Same lock: the two versions
-- never run at once (an instance of the previous release may still call the old one).
CREATE FUNCTION tessera_disable_idle_tokens_listed(p_now timestamptz, p_limit integer)
RETURNS TABLE (org_id uuid, token_id uuid, name text)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  IF NOT pg_try_advisory_xact_lock(7415296014) THEN
    RETURN;
  END IF;
  RETURN QUERY
  WITH due AS (
    UPDATE tokens SET enabled = false, disabled_reason = 'IDLE', updated_at = p_now
     WHERE id IN (SELECT t.id FROM tokens t JOIN organizations o ON o.id = t.org_id
                   WHERE o.token_idle_limit_s IS NOT NULL AND t.enabled
                     AND greatest(t.created_at, t.idle_since, t.last_used_at, t.previous_last_used_at)
                         < p_now - make_interval(secs => o.token_idle_limit_s)
                   LIMIT p_limit)
    RETURNING tokens.id, tokens.org_id, tokens.name
  ), ins AS (
    INSERT INTO revocation_events (org_id, token_id, reason) SELECT due.org_id, due.id, 'DISABLED' FROM due RETURNING 1
  )
  SELECT due.org_id, due.id, due.name FROM due;
END
$$;
REVOKE ALL ON FUNCTION tessera_disable_idle_tokens_listed(timestamptz, integer) FROM PUBLIC;
