-- 0001: organizations, users, memberships, buckets, tokens, and row-level security.
--
-- Contract (see src/store/with-org.ts): every table with an organization column has row-level
-- security ENABLED and FORCED, with policies on tessera_current_org(), which reads the
-- transaction-local setting `tessera.org_id`. An unset context is NULL and matches no row.
-- The service connects as tessera_app: not a superuser, no BYPASSRLS, owner of nothing.
-- The few lookups that must cross organizations are SECURITY DEFINER functions below
-- (owned by the migration role, which bypasses RLS), with a pinned search_path.

CREATE FUNCTION tessera_current_org() RETURNS uuid
  LANGUAGE sql STABLE
  AS $$ SELECT NULLIF(current_setting('tessera.org_id', true), '')::uuid $$;

CREATE TABLE organizations (
  id            uuid PRIMARY KEY,
  identifier    text NOT NULL UNIQUE,
  name          text NOT NULL,
  parent_id     uuid REFERENCES organizations(id),
  parent_access boolean NOT NULL DEFAULT true,
  enabled       boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now(),
  CHECK (parent_id IS DISTINCT FROM id)
);

-- Users are global (a user may belong to several organizations), so they carry no organization
-- column; the service reaches them only through memberships or as an operator.
CREATE TABLE users (
  id         uuid PRIMARY KEY,
  name       text NOT NULL,
  root       boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
CREATE UNIQUE INDEX users_live_name ON users (name) WHERE deleted_at IS NULL;

CREATE TABLE memberships (
  org_id  uuid NOT NULL REFERENCES organizations(id),
  user_id uuid NOT NULL REFERENCES users(id),
  role    text NOT NULL CHECK (role IN ('VIEWER', 'EDITOR', 'ADMIN')),
  PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE buckets (
  id          uuid PRIMARY KEY,
  org_id      uuid NOT NULL REFERENCES organizations(id),
  name        text NOT NULL,
  description text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (org_id, name)
);

CREATE TABLE tokens (
  id            uuid PRIMARY KEY,
  seq           bigserial NOT NULL UNIQUE,          -- stable listing order and page cursor
  org_id        uuid NOT NULL REFERENCES organizations(id),
  name          text NOT NULL,
  description   text NOT NULL DEFAULT '',
  kind          text NOT NULL CHECK (kind IN ('INGESTION','OPERATOR','ALL_ACCESS','READ_WRITE','SHARED','VERIFIER')),
  is_default    boolean NOT NULL DEFAULT false,
  digest        bytea NOT NULL UNIQUE CHECK (octet_length(digest) = 32),
  key_id        integer NOT NULL,
  mask          text NOT NULL,
  enabled       boolean NOT NULL DEFAULT true,
  owner_user_id uuid REFERENCES users(id),
  created_by    uuid REFERENCES users(id),
  permissions   jsonb NOT NULL DEFAULT '{}',
  expires_at    timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  UNIQUE (org_id, name)
);
CREATE UNIQUE INDEX tokens_one_default ON tokens (org_id) WHERE is_default;

-- Setup works exactly once: its transaction claims this single row.
CREATE TABLE instance_setup (
  id         integer PRIMARY KEY CHECK (id = 1),
  created_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE organizations FORCE ROW LEVEL SECURITY;
CREATE POLICY org_isolation ON organizations
  USING (id = tessera_current_org()) WITH CHECK (id = tessera_current_org());

ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
CREATE POLICY org_isolation ON memberships
  USING (org_id = tessera_current_org()) WITH CHECK (org_id = tessera_current_org());

ALTER TABLE buckets ENABLE ROW LEVEL SECURITY;
ALTER TABLE buckets FORCE ROW LEVEL SECURITY;
CREATE POLICY org_isolation ON buckets
  USING (org_id = tessera_current_org()) WITH CHECK (org_id = tessera_current_org());

ALTER TABLE tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY org_isolation ON tokens
  USING (org_id = tessera_current_org()) WITH CHECK (org_id = tessera_current_org());

-- Verify's lookup: one round trip from a digest to everything a decision needs, across
-- organizations. Returns at most one row and only the columns Verify uses. `p_target` is the
-- organization identifier the request is addressed to ('' when unknown); the row says whether
-- the token's organization may reach it (same org, operator, or an ancestor with parent access).
CREATE FUNCTION tessera_lookup_token(p_digests bytea[], p_target text)
RETURNS TABLE (
  token_id uuid, org_id uuid, org_identifier text, org_enabled boolean,
  name text, kind text, key_id integer, digest bytea, enabled boolean, expires_at timestamptz,
  permissions jsonb, owner_user_id uuid, owner_live boolean, owner_root boolean, owner_role text,
  target_org_id uuid, target_identifier text, target_enabled boolean, target_reachable boolean
)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
  WITH t AS (
    SELECT * FROM tokens WHERE tokens.digest = ANY (p_digests) LIMIT 1
  ), target AS (
    SELECT o.id, o.identifier, o.enabled FROM organizations o
    WHERE p_target <> '' AND o.identifier = p_target
  )
  SELECT t.id, t.org_id, o.identifier, o.enabled,
         t.name, t.kind, t.key_id, t.digest, t.enabled, t.expires_at,
         t.permissions, t.owner_user_id,
         (u.id IS NOT NULL AND u.deleted_at IS NULL), COALESCE(u.root, false), m.role,
         tg.id, tg.identifier, tg.enabled,
         CASE
           WHEN tg.id IS NULL THEN false
           WHEN tg.id = t.org_id THEN true
           WHEN t.kind = 'OPERATOR' THEN true
           ELSE EXISTS (
             WITH RECURSIVE up AS (
               SELECT c.id, c.parent_id, c.parent_access FROM organizations c WHERE c.id = tg.id
               UNION ALL
               SELECT p.id, p.parent_id, p.parent_access
                 FROM organizations p JOIN up ON p.id = up.parent_id
                WHERE up.parent_access
             )
             SELECT 1 FROM up WHERE up.parent_id = t.org_id AND up.parent_access
           )
         END
    FROM t
    JOIN organizations o ON o.id = t.org_id
    LEFT JOIN users u ON u.id = t.owner_user_id
    LEFT JOIN memberships m ON m.org_id = t.org_id AND m.user_id = t.owner_user_id
    LEFT JOIN target tg ON true
$$;

-- May `p_from` reach `p_to`: the same organization, or an ancestor along a chain whose every
-- link keeps parent access. Used by the admin API to resolve `organization_id` fields.
CREATE FUNCTION tessera_org_reachable(p_from uuid, p_to uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
  SELECT p_from = p_to OR EXISTS (
    WITH RECURSIVE up AS (
      SELECT c.id, c.parent_id, c.parent_access FROM organizations c WHERE c.id = p_to
      UNION ALL
      SELECT p.id, p.parent_id, p.parent_access
        FROM organizations p JOIN up ON p.id = up.parent_id
       WHERE up.parent_access
    )
    SELECT 1 FROM up WHERE up.parent_id = p_from AND up.parent_access
  )
$$;

-- Organizations an operator (all) or an organization (itself and reachable descendants) can see.
CREATE FUNCTION tessera_list_organizations(p_from uuid, p_all boolean, p_after text, p_limit integer)
RETURNS SETOF organizations
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
  SELECT o.* FROM organizations o
   WHERE (p_all OR tessera_org_reachable(p_from, o.id))
     AND o.identifier > p_after
   ORDER BY o.identifier
   LIMIT p_limit
$$;

-- Has Setup run? Readable without an organization context.
CREATE FUNCTION tessera_is_setup() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$ SELECT EXISTS (SELECT 1 FROM instance_setup) $$;

-- Records last-used times in one statement for a batch of tokens (ids are not secrets).
CREATE FUNCTION tessera_touch_tokens(p_ids uuid[], p_at timestamptz) RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
  UPDATE tokens SET last_used_at = GREATEST(COALESCE(last_used_at, p_at), p_at)
   WHERE id = ANY (p_ids)
$$;

-- Deletes a user: marks it deleted and ends its memberships in every organization, so every
-- token bound to it stops verifying. Operator-only in the service.
CREATE FUNCTION tessera_delete_user(p_user uuid) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
BEGIN
  UPDATE users SET deleted_at = now() WHERE id = p_user AND deleted_at IS NULL;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  DELETE FROM memberships WHERE user_id = p_user;
  RETURN true;
END
$$;

-- Cross-organization facts an admin call needs about a user: does it exist, is it root.
CREATE FUNCTION tessera_user_summary(p_user uuid)
RETURNS TABLE (id uuid, name text, root boolean, created_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$ SELECT id, name, root, created_at FROM users WHERE id = p_user AND deleted_at IS NULL $$;

-- The organization a token id belongs to, so that an operator or a parent organization can act
-- on it by id after the service has checked reach. Ids are not secrets; values never are here.
CREATE FUNCTION tessera_token_org(p_token uuid) RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$ SELECT org_id FROM tokens WHERE id = p_token $$;

-- Whether an organization exists (for operators, who may name any organization).
CREATE FUNCTION tessera_org_exists(p_org uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$ SELECT EXISTS (SELECT 1 FROM organizations WHERE id = p_org) $$;

REVOKE ALL ON FUNCTION tessera_token_org(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION tessera_org_exists(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION tessera_lookup_token(bytea[], text) FROM PUBLIC;
REVOKE ALL ON FUNCTION tessera_org_reachable(uuid, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION tessera_list_organizations(uuid, boolean, text, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION tessera_is_setup() FROM PUBLIC;
REVOKE ALL ON FUNCTION tessera_touch_tokens(uuid[], timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION tessera_delete_user(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION tessera_user_summary(uuid) FROM PUBLIC;
