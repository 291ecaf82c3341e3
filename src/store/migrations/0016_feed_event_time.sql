-- 0016: when an event happened, closer to its commit; and how far behind a reader is.
--
-- created_at defaulted to now(), the start of the event's transaction: for a change that runs a
-- while before it appends its events (an organization disabled with many tokens) that is long
-- before the commit, and the propagation delay measured from it (metrics: event to applied)
-- would count the change's own work. clock_timestamp() is the time the row is inserted, and
-- each writer appends its events right after the change they announce, followed only by the
-- audit entry and the commit: a few milliseconds before the commit. PostgreSQL records commit
-- times only with
-- track_commit_timestamp, a server setting (restart) Tessera does not require. Changing a
-- column default rewrites nothing; retention pruning compares created_at with a cutoff days
-- old, which a few milliseconds do not change.
ALTER TABLE revocation_events ALTER COLUMN created_at SET DEFAULT clock_timestamp();

-- The creation time of the first event after a reader's position (the oldest one it has not
-- applied), or NULL when it has them all: for the feed-lag gauge. Unlike tessera_read_feed it
-- does not stop at the safe horizon: a long-running transaction holding the horizon back keeps
-- every reader behind events that have committed, and that is lag too. Reads one row by the
-- (xid, id) index.
CREATE FUNCTION tessera_feed_oldest_unread(p_xid xid8, p_id bigint)
RETURNS timestamptz
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT r.created_at FROM revocation_events r
   WHERE (r.xid, r.id) > (p_xid, p_id)
   ORDER BY r.xid, r.id
   LIMIT 1
$$;
REVOKE ALL ON FUNCTION tessera_feed_oldest_unread(xid8, bigint) FROM PUBLIC;
