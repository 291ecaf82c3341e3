-- 0005: read the revocation feed in one round trip.
--
-- The horizon and the events below it come from the same statement, hence the same snapshot:
-- every transaction with an xid below the snapshot's xmin had finished when the snapshot was
-- taken, so its events are visible now if they ever will be. One row per event, or a single row
-- with only the horizon when there is nothing new.
CREATE FUNCTION tessera_read_feed(p_xid xid8, p_id bigint, p_limit integer)
RETURNS TABLE (horizon xid8, id bigint, xid xid8, org_id uuid, token_id uuid, reason text, created_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  WITH h AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS horizon)
  SELECT h.horizon, e.id, e.xid, e.org_id, e.token_id, e.reason, e.created_at
    FROM h LEFT JOIN LATERAL (
      SELECT r.id, r.xid, r.org_id, r.token_id, r.reason, r.created_at
        FROM revocation_events r
       WHERE (r.xid, r.id) > (p_xid, p_id) AND r.xid < h.horizon
       ORDER BY r.xid, r.id
       LIMIT p_limit
    ) e ON true
   ORDER BY e.xid, e.id
$$;
REVOKE ALL ON FUNCTION tessera_read_feed(xid8, bigint, integer) FROM PUBLIC;
