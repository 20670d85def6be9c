-- The optimistic sale checks the limits it consumed inside the statement that adds to the counters,
-- so that COMMIT can go to the server right behind that statement (store/db.ts queryAndCommit): a
-- counter over its limit fails the statement, and PostgreSQL answers the COMMIT queued behind it with
-- a rollback. The sale then prices again with the counters locked (services/sales.ts). The hot
-- counters stay locked for that statement and the COMMIT only, never for a round trip to the server.
create function till_capacity_moved(counter text) returns boolean
  language plpgsql as $$
begin
  raise exception 'capacity moved: %', counter using errcode = 'TL001';
end
$$;
