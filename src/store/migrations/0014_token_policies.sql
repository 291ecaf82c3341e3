-- 0014: per-organization token policies, and why a token is disabled.
--
-- max_token_lifetime_s: tokens created in the organization must expire within this many seconds
-- of their creation (the service refuses anything beyond it; NULL means no limit).
-- token_idle_limit_s: a token unused for this long is disabled by the server (NULL: never).
--
-- "Unused" counts from the latest of its creation, its last use (of either value during a
-- rotation's overlap) and `idle_since`: the last re-enable or rotation, so re-enabling an
-- idle-disabled token gives it a full period again instead of being swept at the next pass, and a
-- rotation (which starts the new value's last use afresh) does not make a busy token look idle.
ALTER TABLE organizations
  ADD COLUMN max_token_lifetime_s bigint CHECK (max_token_lifetime_s > 0),
  ADD COLUMN token_idle_limit_s   bigint CHECK (token_idle_limit_s > 0);

ALTER TABLE tokens
  ADD COLUMN disabled_reason text CHECK (disabled_reason IN ('ADMIN', 'IDLE')),
  ADD COLUMN idle_since      timestamptz;

-- Disables, at p_now, up to p_limit enabled tokens of organizations with an idle limit that have
-- been idle longer than it, each with a DISABLED event in the same transaction. Only one instance
-- sweeps at a time (transaction advisory lock, as tessera_announce_expiries); the others skip.
CREATE FUNCTION tessera_disable_idle_tokens(p_now timestamptz, p_limit integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE n integer;
BEGIN
  IF NOT pg_try_advisory_xact_lock(7415296014) THEN
    RETURN 0;
  END IF;
  WITH due AS (
    UPDATE tokens SET enabled = false, disabled_reason = 'IDLE', updated_at = p_now
     WHERE id IN (SELECT t.id FROM tokens t JOIN organizations o ON o.id = t.org_id
                   WHERE o.token_idle_limit_s IS NOT NULL AND t.enabled
                     AND greatest(t.created_at, t.idle_since, t.last_used_at, t.previous_last_used_at)
                         < p_now - make_interval(secs => o.token_idle_limit_s)
                   LIMIT p_limit)
    RETURNING id, org_id
  ), ins AS (
    INSERT INTO revocation_events (org_id, token_id, reason) SELECT org_id, id, 'DISABLED' FROM due RETURNING 1
  )
  SELECT count(*) INTO n FROM ins;
  RETURN n;
END
$$;

REVOKE ALL ON FUNCTION tessera_disable_idle_tokens(timestamptz, integer) FROM PUBLIC;
