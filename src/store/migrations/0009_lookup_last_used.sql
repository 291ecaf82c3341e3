-- 0009: Verify's lookup also says when the token was last used.
--
-- The service records every accepted token for its next last-used write, and 0008's
-- tessera_touch_tokens then skips the rows whose stored time is recent. With a million tokens in
-- use, a server whose cache misses sent every token it verified in each 5 s interval (at a few
-- thousand misses a second, tens of thousands of ids) for PostgreSQL to look up and skip: one
-- more index probe per lookup. Returning the stored time with the lookup lets the service skip
-- those in memory.
--
-- It comes as whole minutes since the Unix epoch, rounded down (so a stored time only ever looks
-- older, and at worst is written when it need not be): a small integer that a million cached
-- lookups hold for nothing, where a timestamp would be a Date each.
--
-- A new function, not a changed tessera_lookup_tokens: instances of the previous release keep a
-- prepared `SELECT *` over that one, which would fail once its columns changed. It stays until a
-- later migration drops it. Body as in 0007 plus the one column.
CREATE FUNCTION tessera_verify_lookup(p_idx integer[], p_digests bytea[], p_targets text[])
RETURNS TABLE (
  idx integer,
  token_id uuid, org_id uuid, org_identifier text, org_enabled boolean,
  name text, kind text, key_id integer, digest bytea, enabled boolean, expires_at timestamptz,
  permissions jsonb, owner_user_id uuid, owner_live boolean, owner_root boolean, owner_role text,
  target_org_id uuid, target_identifier text, target_enabled boolean, target_reachable boolean,
  last_used_minute integer
)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
  SELECT q.i::integer, t.id, t.org_id, o.identifier, o.enabled,
         t.name, t.kind, t.key_id, t.digest, t.enabled, t.expires_at,
         t.permissions, t.owner_user_id,
         (u.id IS NOT NULL AND u.deleted_at IS NULL), COALESCE(u.root, false), m.role,
         tg.id, tg.identifier, tg.enabled,
         CASE
           WHEN tg.id IS NULL THEN false
           WHEN tg.id = t.org_id OR t.kind = 'OPERATOR' THEN true
           ELSE tessera_org_reachable(t.org_id, tg.id)
         END,
         floor(extract(epoch FROM t.last_used_at) / 60)::integer
    FROM unnest(p_targets) WITH ORDINALITY AS q(target, i)
    JOIN LATERAL (
      SELECT tk.* FROM unnest(p_idx, p_digests) AS x(j, d)
        JOIN tokens tk ON tk.digest = x.d
       WHERE x.j = q.i
       LIMIT 1
    ) t ON true
    JOIN organizations o ON o.id = t.org_id
    LEFT JOIN users u ON u.id = t.owner_user_id
    LEFT JOIN memberships m ON m.org_id = t.org_id AND m.user_id = t.owner_user_id
    LEFT JOIN organizations tg ON q.target <> '' AND tg.identifier = q.target
$$;

REVOKE ALL ON FUNCTION tessera_verify_lookup(integer[], bytea[], text[]) FROM PUBLIC;
