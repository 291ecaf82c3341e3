-- 0012: values a caller brings to CreateToken (Tessera-format "supplied" ones, and "imported"
-- ones from other systems), and what Verify needs to keep unknown imported-looking values away
-- from the database.
--
-- value_origin records where a token's current value came from. Existing rows were all generated
-- (Setup's caller-supplied operator token included: it was never told apart).
ALTER TABLE tokens
  ADD COLUMN value_origin text NOT NULL DEFAULT 'GENERATED' CHECK (value_origin IN ('GENERATED', 'SUPPLIED', 'IMPORTED'));

-- Imported values carry no checksum, so Verify cannot tell a made-up one from a real one by its
-- shape. Every instance keeps in memory the first 8 bytes of the digest of every token holding an
-- imported value, and looks up only values whose digest starts with one of them. These two
-- functions fill that set: all of it at start (in pages, by seq), and the tokens named by ENABLED
-- events (a new token announces itself so) as the feed brings them. They cross organizations, and
-- return 8 bytes of a keyed digest: not enough to look anything up, nothing about the value.
CREATE INDEX tokens_imported_seq ON tokens (seq) WHERE value_origin = 'IMPORTED';

CREATE FUNCTION tessera_imported_prefixes(p_after bigint, p_limit integer)
RETURNS TABLE (seq bigint, prefix bytea)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT t.seq, substring(t.digest FROM 1 FOR 8) FROM tokens t
   WHERE t.value_origin = 'IMPORTED' AND t.seq > p_after
   ORDER BY t.seq
   LIMIT p_limit
$$;

CREATE FUNCTION tessera_imported_prefixes_of(p_ids uuid[])
RETURNS TABLE (token_id uuid, prefix bytea)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT t.id, substring(t.digest FROM 1 FOR 8) FROM tokens t
   WHERE t.id = ANY (p_ids) AND t.value_origin = 'IMPORTED'
$$;

-- Whether any token in any organization holds one of these digests. A brought value is digested
-- under the current key, so the unique index on digest refuses a duplicate stored under the same
-- key; a token not yet re-digested since a key rotation holds its value's digest under an older
-- key, which only this check finds. Answers yes or no, nothing about where.
CREATE FUNCTION tessera_digest_in_use(p_digests bytea[]) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT EXISTS (SELECT 1 FROM tokens t WHERE t.digest = ANY (p_digests))
$$;

REVOKE ALL ON FUNCTION tessera_imported_prefixes(bigint, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION tessera_imported_prefixes_of(uuid[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION tessera_digest_in_use(bytea[]) FROM PUBLIC;
