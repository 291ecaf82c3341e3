-- 0008: last-used times at a precision, not on every use.
--
-- 0001's tessera_touch_tokens rewrote the row of every token used in the last interval: with a
-- million tokens in use that is a row version, WAL and index entries per token every few
-- seconds, for a value nobody reads to the second. A row is now written only when its stored
-- last-used time is unset or older than p_stale_before (the service passes now minus its
-- precision, an hour by default), so the first use of a token shows at once and a busy token
-- costs one write per precision period.
CREATE FUNCTION tessera_touch_tokens(p_ids uuid[], p_at timestamptz, p_stale_before timestamptz) RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  UPDATE tokens SET last_used_at = p_at
   WHERE id = ANY (p_ids)
     AND (last_used_at IS NULL OR last_used_at < p_stale_before)
$$;

REVOKE ALL ON FUNCTION tessera_touch_tokens(uuid[], timestamptz, timestamptz) FROM PUBLIC;

DROP FUNCTION tessera_touch_tokens(uuid[], timestamptz);
