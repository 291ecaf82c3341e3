#!/bin/sh
# Runs once, on the first start of an empty postgres:18 cluster (docker-entrypoint-initdb.d):
# the same roles and database that Tessera creates for itself in the embedded default
# (src/store/roles.ts). Passwords come from the container's environment.
set -eu
: "${TESSERA_OWNER_PASSWORD:?set TESSERA_OWNER_PASSWORD}"
: "${TESSERA_APP_PASSWORD:?set TESSERA_APP_PASSWORD}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_pw="$TESSERA_OWNER_PASSWORD" -v app_pw="$TESSERA_APP_PASSWORD" <<'SQL'
CREATE ROLE tessera_owner LOGIN NOSUPERUSER BYPASSRLS NOCREATEROLE PASSWORD :'owner_pw';
CREATE ROLE tessera_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB PASSWORD :'app_pw';
CREATE DATABASE tessera OWNER tessera_owner;
\connect tessera
ALTER SCHEMA public OWNER TO tessera_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
