-- 0003: pin pg_temp last in every SECURITY DEFINER function's search_path.
--
-- Unless pg_temp is listed explicitly, PostgreSQL searches it FIRST, so the service role could
-- shadow `tokens` with a temporary table and have a definer function (running as the owner, past
-- row-level security) read or write through it. Listing it last closes that; the service role
-- also loses the right to create temporary tables at all.
DO $$
DECLARE f record;
BEGIN
  FOR f IN
    SELECT p.oid::regprocedure AS sig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'public' AND p.prosecdef
  LOOP
    EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, public, pg_temp', f.sig);
  END LOOP;
  EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
END
$$;
