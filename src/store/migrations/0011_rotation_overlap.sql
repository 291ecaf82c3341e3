-- 0011: rotation with an overlap: a token's previous value keeps working until a deadline.
--
-- The previous value lives on the token's row (its digest, key id, mask, deadline and its own
-- last-used time), so a token never has more than two live values and disabling, deleting or
-- rotating it again ends the old one in the same UPDATE. The deadline is enforced by the service
-- at decision time (its clock, like expiry); tessera_end_overlaps, run by the periodic feed
-- upkeep, then clears the old value and announces ROTATED.
--
-- A value must never match two tokens, whether as a current or as a previous value. A unique
-- index covers one column only, so every live digest also has a row in token_digests, whose
-- primary key makes a clash a unique violation (23505, constraint token_digests_pkey) in the
-- statement that caused it: inserting a token whose digest is another token's previous one fails
-- like inserting one whose digest is another's current one. Triggers keep the table in step with
-- tokens (SECURITY DEFINER: the service role has no privilege on it at all, so it can neither
-- read the digests nor forge a clash).

ALTER TABLE tokens
  ADD COLUMN previous_digest bytea CHECK (octet_length(previous_digest) = 32),
  ADD COLUMN previous_key_id integer,
  ADD COLUMN previous_mask text,
  ADD COLUMN previous_expires_at timestamptz,
  ADD COLUMN previous_last_used_at timestamptz,
  ADD CONSTRAINT tokens_previous_value_whole CHECK (
    (previous_digest IS NULL) = (previous_key_id IS NULL)
    AND (previous_digest IS NULL) = (previous_mask IS NULL)
    AND (previous_digest IS NULL) = (previous_expires_at IS NULL)
    AND (previous_digest IS NOT NULL OR previous_last_used_at IS NULL)
  );

-- Verify's lookup of a previous value, and the upkeep's search for deadlines that passed: both
-- only ever concern the few tokens in an overlap.
CREATE UNIQUE INDEX tokens_previous_digest ON tokens (previous_digest) WHERE previous_digest IS NOT NULL;
CREATE INDEX tokens_previous_deadline ON tokens (previous_expires_at) WHERE previous_expires_at IS NOT NULL;

-- Every live digest, current or previous, once. No foreign key: the triggers below remove a
-- token's digests when it is deleted, by primary key, without an index on token_id.
CREATE TABLE token_digests (
  digest   bytea PRIMARY KEY,
  token_id uuid NOT NULL
);
INSERT INTO token_digests (digest, token_id) SELECT digest, id FROM tokens;

-- New tokens, per statement (bulk inserts write their digests in one statement too).
CREATE FUNCTION tessera_token_digests_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  INSERT INTO token_digests (digest, token_id)
    SELECT n.digest, n.id FROM new_tokens n
    UNION ALL
    SELECT n.previous_digest, n.id FROM new_tokens n WHERE n.previous_digest IS NOT NULL;
  RETURN NULL;
END
$$;
CREATE TRIGGER tokens_digests_inserted AFTER INSERT ON tokens
  REFERENCING NEW TABLE AS new_tokens
  FOR EACH STATEMENT EXECUTE FUNCTION tessera_token_digests_inserted();

-- A rotation, a key re-digest, the end of an overlap: drop the digests the row no longer holds,
-- add the ones it newly holds (a clash with another token's is a unique violation).
CREATE FUNCTION tessera_token_digests_updated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  DELETE FROM token_digests d
   WHERE d.digest IN (OLD.digest, OLD.previous_digest)
     AND d.digest IS DISTINCT FROM NEW.digest
     AND d.digest IS DISTINCT FROM NEW.previous_digest;
  INSERT INTO token_digests (digest, token_id)
    SELECT v.d, NEW.id FROM (VALUES (NEW.digest), (NEW.previous_digest)) AS v(d)
     WHERE v.d IS NOT NULL
       AND v.d IS DISTINCT FROM OLD.digest
       AND v.d IS DISTINCT FROM OLD.previous_digest;
  RETURN NULL;
END
$$;
CREATE TRIGGER tokens_digests_updated AFTER UPDATE OF digest, previous_digest ON tokens
  FOR EACH ROW
  WHEN (OLD.digest IS DISTINCT FROM NEW.digest OR OLD.previous_digest IS DISTINCT FROM NEW.previous_digest)
  EXECUTE FUNCTION tessera_token_digests_updated();

CREATE FUNCTION tessera_token_digests_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  DELETE FROM token_digests d
   WHERE d.digest IN (SELECT o.digest FROM old_tokens o UNION ALL SELECT o.previous_digest FROM old_tokens o);
  RETURN NULL;
END
$$;
CREATE TRIGGER tokens_digests_deleted AFTER DELETE ON tokens
  REFERENCING OLD TABLE AS old_tokens
  FOR EACH STATEMENT EXECUTE FUNCTION tessera_token_digests_deleted();

-- Verify's lookup, matching a token's previous value too. Body as in 0009, with the token found
-- by its current digest or else by its previous one; key_id, digest and last_used_minute are the
-- matched value's, and previous_until is that value's deadline (NULL for the current value), so
-- the service refuses it from then on even before tessera_end_overlaps has run.
--
-- A new function, not a changed tessera_verify_lookup: instances of the previous release keep a
-- prepared `SELECT *` over that one, which would fail once its columns changed. It stays until a
-- later migration drops it; it does not see previous values, so during a rolling upgrade an old
-- instance refuses an old value that a new instance still accepts (never the other way round).
CREATE FUNCTION tessera_verify_lookup_with_previous(p_idx integer[], p_digests bytea[], p_targets text[])
RETURNS TABLE (
  idx integer,
  token_id uuid, org_id uuid, org_identifier text, org_enabled boolean,
  name text, kind text, key_id integer, digest bytea, enabled boolean, expires_at timestamptz,
  permissions jsonb, owner_user_id uuid, owner_live boolean, owner_root boolean, owner_role text,
  target_org_id uuid, target_identifier text, target_enabled boolean, target_reachable boolean,
  last_used_minute integer, previous_until timestamptz
)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
  SELECT q.i::integer, t.id, t.org_id, o.identifier, o.enabled,
         t.name, t.kind, t.m_key_id, t.m_digest, t.enabled, t.expires_at,
         t.permissions, t.owner_user_id,
         (u.id IS NOT NULL AND u.deleted_at IS NULL), COALESCE(u.root, false), m.role,
         tg.id, tg.identifier, tg.enabled,
         CASE
           WHEN tg.id IS NULL THEN false
           WHEN tg.id = t.org_id OR t.kind = 'OPERATOR' THEN true
           ELSE tessera_org_reachable(t.org_id, tg.id)
         END,
         floor(extract(epoch FROM t.m_last_used_at) / 60)::integer,
         t.previous_until
    FROM unnest(p_targets) WITH ORDINALITY AS q(target, i)
    JOIN LATERAL (
      -- The current value first: an answer found there stops the search (LIMIT 1), so only
      -- unknown values and previous ones cost the second, nearly empty, index.
      (SELECT tk.id, tk.org_id, tk.name, tk.kind, tk.enabled, tk.expires_at, tk.permissions, tk.owner_user_id,
              tk.key_id AS m_key_id, tk.digest AS m_digest, tk.last_used_at AS m_last_used_at,
              NULL::timestamptz AS previous_until
         FROM unnest(p_idx, p_digests) AS x(j, d)
         JOIN tokens tk ON tk.digest = x.d
        WHERE x.j = q.i
       UNION ALL
       SELECT tk.id, tk.org_id, tk.name, tk.kind, tk.enabled, tk.expires_at, tk.permissions, tk.owner_user_id,
              tk.previous_key_id, tk.previous_digest, tk.previous_last_used_at,
              tk.previous_expires_at
         FROM unnest(p_idx, p_digests) AS x(j, d)
         JOIN tokens tk ON tk.previous_digest = x.d
        WHERE x.j = q.i AND tk.previous_digest IS NOT NULL)
      LIMIT 1
    ) t ON true
    JOIN organizations o ON o.id = t.org_id
    LEFT JOIN users u ON u.id = t.owner_user_id
    LEFT JOIN memberships m ON m.org_id = t.org_id AND m.user_id = t.owner_user_id
    LEFT JOIN organizations tg ON q.target <> '' AND tg.identifier = q.target
$$;

-- Last-used times of previous values, as tessera_touch_tokens (0008) for current ones. Each id
-- comes with the deadline of the value that was used, so a use recorded just before another
-- rotation never lands on the value that replaced it.
CREATE FUNCTION tessera_touch_previous_values(p_ids uuid[], p_deadlines timestamptz[], p_at timestamptz, p_stale_before timestamptz)
RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  UPDATE tokens t SET previous_last_used_at = p_at
    FROM unnest(p_ids, p_deadlines) AS x(id, deadline)
   WHERE t.id = x.id AND t.previous_expires_at = x.deadline
     AND (t.previous_last_used_at IS NULL OR t.previous_last_used_at < p_stale_before)
$$;

-- Ends the overlaps whose deadline has passed at p_now: clears the previous value and announces
-- ROTATED, once each. Like tessera_announce_expiries, one instance at a time (the others skip);
-- and even two at once could not announce one twice, since the row is re-checked under its lock.
CREATE FUNCTION tessera_end_overlaps(p_now timestamptz, p_limit integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE n integer;
BEGIN
  IF NOT pg_try_advisory_xact_lock(7415296011) THEN
    RETURN 0;
  END IF;
  WITH due AS (
    UPDATE tokens SET previous_digest = NULL, previous_key_id = NULL, previous_mask = NULL,
                      previous_expires_at = NULL, previous_last_used_at = NULL
     WHERE id IN (SELECT t.id FROM tokens t
                   WHERE t.previous_expires_at IS NOT NULL AND t.previous_expires_at <= p_now
                   ORDER BY t.previous_expires_at LIMIT p_limit)
       AND previous_expires_at <= p_now
    RETURNING id, org_id
  ), ins AS (
    INSERT INTO revocation_events (org_id, token_id, reason) SELECT org_id, id, 'ROTATED' FROM due RETURNING 1
  )
  SELECT count(*) INTO n FROM ins;
  RETURN n;
END
$$;

REVOKE ALL ON FUNCTION tessera_token_digests_inserted() FROM PUBLIC;
REVOKE ALL ON FUNCTION tessera_token_digests_updated() FROM PUBLIC;
REVOKE ALL ON FUNCTION tessera_token_digests_deleted() FROM PUBLIC;
REVOKE ALL ON FUNCTION tessera_verify_lookup_with_previous(integer[], bytea[], text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION tessera_touch_previous_values(uuid[], timestamptz[], timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION tessera_end_overlaps(timestamptz, integer) FROM PUBLIC;
