-- 0013: what the standard methods need from the database (UpdateOrganization's parent access,
-- ListUsers and GetUser across organizations, and the two new revocation reasons).
--
-- Two new reasons on the feed. PARENT_ACCESS_REVOKED names a token of an organization that just
-- lost its reach into a sub-organization; UPDATED a token whose expiry changed or that lost a
-- bucket (DeleteBucket with force). Instances of the previous release read them too: they map an
-- unknown reason to UNSPECIFIED on their streams and still evict the token from their caches,
-- which is all either reason asks of a cache.
ALTER TABLE revocation_events DROP CONSTRAINT revocation_events_reason_check;
ALTER TABLE revocation_events ADD CONSTRAINT revocation_events_reason_check CHECK (reason IN
  ('DISABLED','DELETED','ROTATED','EXPIRED','OWNER_REMOVED','ORG_DISABLED','ENABLED',
   'PARENT_ACCESS_REVOKED','UPDATED'));

-- The organizations whose tokens reach the context organization through its parent: its parent,
-- that one's parent while the link below it keeps parent access, and so on (the same chain
-- tessera_org_reachable walks, from the other end). Run inside the transaction that just turned
-- the context organization's parent access off (or on): it appends PARENT_ACCESS_REVOKED (or
-- ENABLED, so negative caches drop) for every token of those organizations, and returns them for
-- this instance's cache. Works only on the context organization: the service role cannot aim it
-- at another.
CREATE FUNCTION tessera_announce_parent_access(p_access boolean) RETURNS TABLE (org_id uuid, token_id uuid)
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  WITH RECURSIVE up AS (
    SELECT p.id, p.parent_id, p.parent_access
      FROM organizations c JOIN organizations p ON p.id = c.parent_id
     WHERE c.id = tessera_current_org()
    UNION ALL
    SELECT p.id, p.parent_id, p.parent_access
      FROM organizations p JOIN up ON p.id = up.parent_id
     WHERE up.parent_access
  )
  INSERT INTO revocation_events AS e (org_id, token_id, reason)
    SELECT t.org_id, t.id, CASE WHEN p_access THEN 'ENABLED' ELSE 'PARENT_ACCESS_REVOKED' END
      FROM tokens t WHERE t.org_id IN (SELECT id FROM up)
    RETURNING e.org_id, e.token_id
$$;

-- The organizations `p_from` reaches: itself and every descendant along links that keep parent
-- access (what tessera_org_reachable answers one pair at a time).
CREATE FUNCTION tessera_reachable_orgs(p_from uuid) RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  WITH RECURSIVE down AS (
    SELECT o.id FROM organizations o WHERE o.id = p_from
    UNION ALL
    SELECT c.id FROM organizations c JOIN down ON c.parent_id = down.id WHERE c.parent_access
  )
  SELECT id FROM down
$$;

-- ListUsers without an organization: live users with a membership in an organization `p_from`
-- reaches (every live user when `p_all`, for operators), by name, after `p_after`. Users are
-- global; only this function lets an admin see those of its sub-organizations in one listing.
CREATE FUNCTION tessera_visible_users(p_from uuid, p_all boolean, p_after text, p_limit integer)
RETURNS TABLE (id uuid, name text, root boolean, created_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT u.id, u.name, u.root, u.created_at FROM users u
   WHERE u.deleted_at IS NULL
     AND u.name > p_after
     AND (p_all OR EXISTS (
           SELECT 1 FROM memberships m
            WHERE m.user_id = u.id AND m.org_id IN (SELECT tessera_reachable_orgs(p_from))))
   ORDER BY u.name
   LIMIT p_limit
$$;

-- GetUser: the memberships of live user `p_user` in organizations `p_from` reaches (all of them
-- when `p_all`). No rows means the caller may not see the user, unless it is an operator.
CREATE FUNCTION tessera_visible_memberships(p_from uuid, p_all boolean, p_user uuid)
RETURNS TABLE (org_id uuid, user_id uuid, role text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT m.org_id, m.user_id, m.role FROM memberships m JOIN users u ON u.id = m.user_id
   WHERE m.user_id = p_user AND u.deleted_at IS NULL
     AND (p_all OR m.org_id IN (SELECT tessera_reachable_orgs(p_from)))
   ORDER BY m.org_id
$$;

REVOKE ALL ON FUNCTION tessera_announce_parent_access(boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION tessera_reachable_orgs(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION tessera_visible_users(uuid, boolean, text, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION tessera_visible_memberships(uuid, boolean, uuid) FROM PUBLIC;
