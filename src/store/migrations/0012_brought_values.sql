-- 0012: values a caller brings to CreateToken (Tessera-format "supplied" ones, and "imported"
-- ones from other systems), and what Verify needs to keep unknown imported-looking values away
-- from the database.
--
-- value_origin records where a token's current value came from. Existing rows were all generated
-- (Setup's caller-supplied operator token included: it was never told apart).
ALTER TABLE tokens
  ADD COLUMN value_origin text NOT NULL DEFAULT 'GENERATED' CHECK (value_origin IN ('GENERATED', 'SUPPLIED', 'IMPORTED')),
  -- During a rotation's overlap (0011) the previous value may be an imported one: it must stay
  -- findable by every instance's filter until its deadline, an instance started meanwhile too.
  ADD COLUMN previous_imported boolean NOT NULL DEFAULT false;

-- Imported values carry no checksum, so Verify cannot tell a made-up one from a real one by its
-- shape. Every instance keeps in memory the first 8 bytes of the digest of every token holding an
-- imported value, and looks up only values whose digest starts with one of them. These two
-- functions fill that set: all of it at start (in pages, by seq), and the tokens named by ENABLED
-- events (a new token announces itself so) as the feed brings them. They cross organizations, and
-- return 8 bytes of a keyed digest: not enough to look anything up, nothing about the value.
CREATE INDEX tokens_imported_seq ON tokens (seq) WHERE value_origin = 'IMPORTED' OR previous_imported;

CREATE FUNCTION tessera_imported_prefixes(p_after bigint, p_limit integer)
RETURNS TABLE (seq bigint, prefix bytea)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  -- The limit counts tokens, not prefixes, so a page never splits a token's two values.
  SELECT t.seq, p.prefix
    FROM (SELECT tk.seq, tk.value_origin, tk.digest, tk.previous_imported, tk.previous_digest FROM tokens tk
           WHERE (tk.value_origin = 'IMPORTED' OR tk.previous_imported) AND tk.seq > p_after
           ORDER BY tk.seq
           LIMIT p_limit) t
    CROSS JOIN LATERAL (VALUES
      (CASE WHEN t.value_origin = 'IMPORTED' THEN substring(t.digest FROM 1 FOR 8) END),
      (CASE WHEN t.previous_imported THEN substring(t.previous_digest FROM 1 FOR 8) END)) AS p(prefix)
   WHERE p.prefix IS NOT NULL
   ORDER BY t.seq
$$;

CREATE FUNCTION tessera_imported_prefixes_of(p_ids uuid[])
RETURNS TABLE (token_id uuid, prefix bytea)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT t.id, substring(t.digest FROM 1 FOR 8) FROM tokens t
   WHERE t.id = ANY (p_ids) AND t.value_origin = 'IMPORTED'
  UNION ALL
  SELECT t.id, substring(t.previous_digest FROM 1 FOR 8) FROM tokens t
   WHERE t.id = ANY (p_ids) AND t.previous_imported AND t.previous_digest IS NOT NULL
$$;

-- Whether any token in any organization holds one of these digests. A brought value is digested
-- under the current key, so the unique index on digest refuses a duplicate stored under the same
-- key; a token not yet re-digested since a key rotation holds its value's digest under an older
-- key, which only this check finds. Answers yes or no, nothing about where.
CREATE FUNCTION tessera_digest_in_use(p_digests bytea[]) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT EXISTS (SELECT 1 FROM tokens t WHERE t.digest = ANY (p_digests) OR t.previous_digest = ANY (p_digests))
$$;

REVOKE ALL ON FUNCTION tessera_imported_prefixes(bigint, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION tessera_imported_prefixes_of(uuid[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION tessera_digest_in_use(bytea[]) FROM PUBLIC;
