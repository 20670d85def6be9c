-- Customer data and loyalty (issue 4, seed 003): custom event types, the definitions a marketer
-- writes (aggregates, expressions, segmentations, tier programs), the events themselves, each
-- profile's incremental aggregate state with its last evaluated tiers and segments, tier moves, and
-- the recompute jobs.

-- Bumped by every change to a definition, an event type or an attribute declaration: the compiled
-- model is cached per (workspace, loyalty_version), like promotions_version.
alter table workspaces add column loyalty_version bigint not null default 0;

create table event_types (
  workspace_id text not null references workspaces (id),
  name text not null,
  description text,
  params jsonb not null,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  primary key (workspace_id, name)
);

create table loyalty_definitions (
  workspace_id text not null references workspaces (id),
  kind text not null check (kind in ('aggregate', 'expression', 'segmentation', 'tierProgram')),
  id text not null,
  name text not null,
  definition jsonb not null,
  revision integer not null default 1,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  primary key (workspace_id, kind, id)
);
create unique index loyalty_definitions_name on loyalty_definitions (workspace_id, kind, lower(name));

-- Events of a profile. The id is the sender's (a resent batch counts once) or derived from the sale
-- or return that produced it. Erasure empties params of custom events and keeps money figures.
create table events (
  workspace_id text not null references workspaces (id),
  id text not null,
  customer_id text not null,
  type text not null,
  occurred_at timestamptz not null,
  params jsonb not null default '{}',
  source text not null check (source in ('api', 'sale', 'return')),
  received_at timestamptz not null,
  primary key (workspace_id, id)
);
create index events_by_customer on events (workspace_id, customer_id, occurred_at);

-- A profile's aggregate state (domain/loyalty/state.ts) and what it last evaluated to. `version`
-- makes the sale path's write optimistic: it updates only the version it read.
create table profile_states (
  workspace_id text not null,
  customer_id text not null,
  state jsonb not null,
  -- programId -> tierId (absent: not a member), as last evaluated
  tiers jsonb not null default '{}',
  segment_ids text[] not null default '{}',
  version bigint not null default 1,
  evaluated_at timestamptz not null,
  primary key (workspace_id, customer_id),
  foreign key (workspace_id, customer_id) references customers (workspace_id, id)
);

create table tier_moves (
  workspace_id text not null references workspaces (id),
  seq bigint generated always as identity,
  customer_id text not null,
  program_id text not null,
  from_tier text,
  to_tier text,
  moved_at timestamptz not null,
  -- the event that moved the customer, or 'recompute'
  cause text not null,
  primary key (workspace_id, seq)
);
create index tier_moves_by_program on tier_moves (workspace_id, program_id, moved_at);
create index tier_moves_by_customer on tier_moves (workspace_id, customer_id, moved_at);

create table loyalty_recomputes (
  workspace_id text not null references workspaces (id),
  id text not null,
  status text not null check (status in ('running', 'done', 'failed')),
  profiles_total bigint not null default 0,
  profiles_done bigint not null default 0,
  events_read bigint not null default 0,
  moves bigint not null default 0,
  error text,
  started_at timestamptz not null,
  finished_at timestamptz,
  primary key (workspace_id, id)
);
