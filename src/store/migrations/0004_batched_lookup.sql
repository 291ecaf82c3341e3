-- 0004: Verify's lookup for several tokens in one round trip.
--
-- Concurrent cache misses are batched into one call: request i (1-based) asks for the token whose
-- digest is any of the p_digests[k] with p_idx[k] = i (one digest per live key), in the
-- organization named p_targets[i]. Each request is answered by tessera_lookup_token itself, so a
-- batched answer is exactly the answer of a single lookup; requests with no token have no row.
CREATE FUNCTION tessera_lookup_tokens(p_idx integer[], p_digests bytea[], p_targets text[])
RETURNS TABLE (
  idx integer,
  token_id uuid, org_id uuid, org_identifier text, org_enabled boolean,
  name text, kind text, key_id integer, digest bytea, enabled boolean, expires_at timestamptz,
  permissions jsonb, owner_user_id uuid, owner_live boolean, owner_root boolean, owner_role text,
  target_org_id uuid, target_identifier text, target_enabled boolean, target_reachable boolean
)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT q.i::integer, l.*
    FROM unnest(p_targets) WITH ORDINALITY AS q(target, i)
   CROSS JOIN LATERAL tessera_lookup_token(
     ARRAY(SELECT x.d FROM unnest(p_idx, p_digests) AS x(j, d) WHERE x.j = q.i),
     q.target
   ) AS l
$$;

REVOKE ALL ON FUNCTION tessera_lookup_tokens(integer[], bytea[], text[]) FROM PUBLIC;
