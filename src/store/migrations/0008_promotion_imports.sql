-- CSV imports of promotions (docs/csv.md): each upload is a resource with a status, progress, counts
-- and the report of its bad rows. Rows are written in batches, each its own transaction, so a
-- running import's counts are what has committed so far.

create table promotion_imports (
  workspace_id text not null references workspaces (id),
  id text not null,
  -- running → done (every row processed; bad rows are in the report) or failed (error says why).
  status text not null check (status in ('running', 'done', 'failed')),
  dry_run boolean not null,
  publish boolean not null,
  rows_total integer not null check (rows_total >= 0),
  rows_processed integer not null default 0,
  created integer not null default 0,
  updated integer not null default 0,
  unchanged integer not null default 0,
  failed integer not null default 0,
  -- [{row, column, code, message}], at most 10,000 entries (report_truncated says when there were more).
  report jsonb not null default '[]',
  report_truncated boolean not null default false,
  error text,
  created_at timestamptz not null,
  finished_at timestamptz,
  primary key (workspace_id, id)
);

-- Re-imports find a row's promotion by its external id; exports walk promotions in external id order.
create index promotions_external_id on promotions (workspace_id, (coalesce(definition ->> 'externalId', '')), id);
