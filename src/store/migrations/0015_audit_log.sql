-- 0015: the audit trail.
--
-- Every admin change and every refused admin call is one row, written by the service in the
-- transaction of the change (refusals in their own). Each organization's rows form a chain: a row
-- holds the previous row's hash and its own, a keyed BLAKE2b MAC over its content and that
-- previous hash, computed by the service with a key the database never sees. Whoever can write
-- to this table (a superuser, a restored dump) can change, remove or add rows but cannot make a
-- chain that verifies: `tessera audit verify` walks it (src/services/audit/verify-chain.ts).
--
-- org_id is the organization whose trail holds the row, or the all-zero UUID for the instance's
-- own trail (refused calls whose credential names no organization, digest-key changes): a
-- context only operators set. No foreign key: a trail outlives what it talks about.
--
-- The service role may only INSERT and SELECT (grants in migrate.ts); nothing it can run removes
-- a row, except tessera_audit_prune below, which removes only rows older than the retention the
-- service asks for and never any younger than a day, and whose every run is itself recorded.
CREATE TABLE audit_events (
  org_id     uuid        NOT NULL,
  seq        bigint      NOT NULL CHECK (seq > 0),
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
  prev_hash  bytea       NOT NULL,
  hash       bytea       NOT NULL,
  PRIMARY KEY (org_id, seq)
);
-- ListAuditEvents filters (newest first within an organization).
CREATE INDEX audit_events_at ON audit_events (org_id, at DESC, seq DESC);
CREATE INDEX audit_events_actor ON audit_events (org_id, ((actor->>'token_id')), seq DESC);
CREATE INDEX audit_events_target ON audit_events (org_id, ((target->>'id')), seq DESC);

ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY org_isolation ON audit_events
  USING (org_id = tessera_current_org()) WITH CHECK (org_id = tessera_current_org());

-- The context organization's chain head, taken under a transaction lock so that appends to one
-- trail are serialized (other organizations' appends do not wait). Run as the caller: row-level
-- security applies. PL/pgSQL so that the head is read by a statement that starts after the lock is
-- held: in READ COMMITTED that statement sees a concurrent append that committed meanwhile.
CREATE FUNCTION tessera_audit_head(OUT org_id uuid, OUT seq bigint, OUT hash bytea, OUT at timestamptz)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  org_id := tessera_current_org();
  IF org_id IS NULL THEN
    RAISE EXCEPTION 'tessera_audit_head: no organization context';
  END IF;
  PERFORM pg_advisory_xact_lock(741529, hashtext(org_id::text));
  SELECT e.seq, e.hash INTO seq, hash FROM audit_events e
   WHERE e.org_id = tessera_current_org() ORDER BY e.seq DESC LIMIT 1;
  -- Milliseconds: what the service puts in the MAC is exactly what is stored.
  at := date_trunc('milliseconds', clock_timestamp());
END
$$;

-- Retention: removes the context organization's rows older than p_before (never younger than a
-- day, never the newest row, at most p_limit), oldest first, and returns the last one removed, which
-- the service records in a new `audit.prune` entry in the same transaction: verification then
-- expects the oldest kept row to link to it.
CREATE FUNCTION tessera_audit_prune(p_before timestamptz, p_limit integer, OUT through_seq bigint, OUT through_hash bytea)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE org uuid := tessera_current_org();
BEGIN
  IF org IS NULL THEN
    RAISE EXCEPTION 'tessera_audit_prune: no organization context';
  END IF;
  WITH gone AS (
    DELETE FROM audit_events e
     WHERE e.org_id = org AND e.seq IN (
       SELECT x.seq FROM audit_events x
        WHERE x.org_id = org AND x.at < least(p_before, now() - interval '1 day')
          AND x.seq < (SELECT max(y.seq) FROM audit_events y WHERE y.org_id = org)
        ORDER BY x.seq LIMIT p_limit)
    RETURNING e.seq, e.hash
  )
  SELECT g.seq, g.hash INTO through_seq, through_hash FROM gone g ORDER BY g.seq DESC LIMIT 1;
END
$$;
REVOKE ALL ON FUNCTION tessera_audit_prune(timestamptz, integer) FROM PUBLIC;

-- The trails that hold rows older than p_before (retention's work list), the instance's included.
CREATE FUNCTION tessera_audit_prunable(p_before timestamptz) RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT DISTINCT e.org_id FROM audit_events e WHERE e.at < least(p_before, now() - interval '1 day')
$$;
REVOKE ALL ON FUNCTION tessera_audit_prunable(timestamptz) FROM PUBLIC;
