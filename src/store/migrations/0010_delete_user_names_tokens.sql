-- 0010: deleting a user says which tokens it ended.
--
-- The service stops accepting those tokens on its own instance before DeleteUser returns, without
-- waiting for the feed. It used to drop its whole Verify cache for that, which any operator loop
-- turned into a database lookup for every cached Verify of every organization. With the ids it
-- evicts just those tokens.
--
-- A new function, not a changed tessera_delete_user: instances of the previous release still call
-- that one, so it stays until a later migration drops it. Same body, returning one row per ended
-- token, and one row of NULLs first when the user existed (none at all when it did not).
CREATE FUNCTION tessera_remove_user(p_user uuid) RETURNS TABLE (org_id uuid, token_id uuid)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  UPDATE users SET deleted_at = now() WHERE id = p_user AND deleted_at IS NULL;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  DELETE FROM memberships WHERE user_id = p_user;
  org_id := NULL;
  token_id := NULL;
  RETURN NEXT;
  RETURN QUERY
    INSERT INTO revocation_events AS e (org_id, token_id, reason)
      SELECT t.org_id, t.id, 'OWNER_REMOVED' FROM tokens t WHERE t.owner_user_id = p_user
      RETURNING e.org_id, e.token_id;
END
$$;

REVOKE ALL ON FUNCTION tessera_remove_user(uuid) FROM PUBLIC;
