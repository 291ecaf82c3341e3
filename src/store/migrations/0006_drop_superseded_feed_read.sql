-- 0006: tessera_read_feed (0005) reads the horizon and the events in one statement; the
-- two-step reader from 0002 has no caller left.
DROP FUNCTION tessera_read_revocations(xid8, bigint, xid8, integer);
