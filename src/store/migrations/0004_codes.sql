-- Generated codes: each bulk generation is a resource with a status, and each code it made remembers
-- it, so a batch can be exported or audited on its own.

create table code_generations (
  workspace_id text not null references workspaces (id),
  id text not null,
  promotion_id text not null,
  -- running → done (every code committed with the row, in one transaction) or failed.
  status text not null check (status in ('running', 'done', 'failed')),
  requested_count integer not null check (requested_count between 1 and 1000000),
  -- Codes stored so far: committed with them when done, progress of the open transaction while running.
  created_count integer not null default 0,
  -- The template, '#' for each random character, and the characters those are drawn from.
  template text not null,
  alphabet text not null,
  bits_per_code double precision not null,
  error text,
  created_at timestamptz not null,
  finished_at timestamptz,
  primary key (workspace_id, id),
  -- A draft is deleted with its codes; its generations go with it.
  foreign key (workspace_id, promotion_id) references promotions (workspace_id, id) on delete cascade
);
create index code_generations_promotion on code_generations (workspace_id, promotion_id, created_at);

-- Null for codes added by hand (POST /promotions/{id}/codes).
alter table promotion_codes add column generation_id text;

-- A promotion's codes reference it, checked once per statement instead of once per row: the row
-- triggers of the two foreign keys cost 13 µs a code, two thirds of a bulk insert, and a generation
-- inserts 1,000,000 codes. The workspace key was implied by the promotion key (a promotion belongs to
-- its workspace), so the two checks below keep exactly what the foreign keys guaranteed: every code
-- names a promotion of its workspace, the promotions named are locked (key share) until the insert
-- commits, and a promotion that still has codes cannot be deleted.
alter table promotion_codes drop constraint promotion_codes_workspace_id_fkey;
alter table promotion_codes drop constraint promotion_codes_workspace_id_promotion_id_fkey;

create function promotion_codes_check_promotions() returns trigger language plpgsql as $$
declare
  missing record;
begin
  perform 1 from promotions p
   where (p.workspace_id, p.id) in (select distinct workspace_id, promotion_id from new_codes)
     for key share;
  select n.workspace_id, n.promotion_id into missing
    from (select distinct workspace_id, promotion_id from new_codes) n
   where not exists (select 1 from promotions p where p.workspace_id = n.workspace_id and p.id = n.promotion_id)
   limit 1;
  if found then
    raise foreign_key_violation using
      message = format('promotion %s of workspace %s does not exist', missing.promotion_id, missing.workspace_id),
      constraint = 'promotion_codes_promotion_fkey';
  end if;
  return null;
end $$;

create trigger promotion_codes_insert_check after insert on promotion_codes
  referencing new table as new_codes for each statement execute function promotion_codes_check_promotions();
create trigger promotion_codes_update_check after update on promotion_codes
  referencing new table as new_codes for each statement execute function promotion_codes_check_promotions();

-- The row is locked before a BEFORE DELETE trigger runs, so a concurrent insert of codes either
-- committed before (and is seen here) or waits and then finds the promotion gone.
create function promotions_check_codes() returns trigger language plpgsql as $$
begin
  if exists (select 1 from promotion_codes c where c.workspace_id = old.workspace_id and c.promotion_id = old.id) then
    raise foreign_key_violation using
      message = format('promotion %s still has codes', old.id),
      constraint = 'promotion_codes_promotion_fkey';
  end if;
  return old;
end $$;

create trigger promotions_delete_check before delete on promotions
  for each row execute function promotions_check_codes();
