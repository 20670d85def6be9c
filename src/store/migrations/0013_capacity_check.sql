-- The optimistic sale checks what it read inside its last statement, so that COMMIT can go to the
-- server right behind that statement (store/db.ts queryAndCommit): a limit counter over its maximum,
-- or a loyalty state another sale wrote since it was read, fails the statement with till_moved, and
-- PostgreSQL answers the COMMIT queued behind it with a rollback. The sale then prices again with
-- everything locked (services/sales.ts). The hot counters stay locked for that statement and the
-- COMMIT only, never for a round trip to the server.
create function till_moved(what text) returns boolean
  language plpgsql as $$
begin
  raise exception '% moved since it was read', what using errcode = 'TL001';
end
$$;
