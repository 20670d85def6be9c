-- Till's schema, version 1. Every row is keyed by its workspace first, so that every query is scoped
-- to one workspace and the schema stays portable to distributed PostgreSQL (see docs/server.md).
-- Money is bigint minor units; instants are timestamptz (UTC).

create table workspaces (
  id text primary key,
  name text not null,
  currency char(3) not null,
  time_zone text not null,
  cart_stacking boolean not null default true,
  product_stacking boolean not null default true,
  active_promotions_max integer not null default 250 check (active_promotions_max between 1 and 10000),
  -- Bumped by every promotion change, so each process knows when its compiled promotions are stale.
  promotions_version bigint not null default 0,
  created_at timestamptz not null default now()
);

create table api_keys (
  workspace_id text not null references workspaces (id),
  id text not null,
  name text not null,
  role text not null check (role in ('admin', 'marketer', 'pos', 'app')),
  -- A till may send its own shelf price; every other key gets the catalog's.
  may_set_prices boolean not null default false,
  -- sha256 of the whole secret: the secret is 256 random bits, so a fast hash is enough.
  secret_hash bytea not null unique,
  created_at timestamptz not null default now(),
  revoked_at timestamptz,
  primary key (workspace_id, id)
);

create table concepts (
  workspace_id text not null references workspaces (id),
  id text not null,
  name text not null,
  primary key (workspace_id, id)
);

create table zones (
  workspace_id text not null references workspaces (id),
  id text not null,
  name text not null,
  primary key (workspace_id, id)
);

create table stores (
  workspace_id text not null references workspaces (id),
  id text not null,
  name text not null,
  concept_id text,
  zone_ids text[] not null default '{}',
  primary key (workspace_id, id),
  foreign key (workspace_id, concept_id) references concepts (workspace_id, id)
);

create table catalog_items (
  workspace_id text not null references workspaces (id),
  sku text not null,
  name text not null,
  price_minor bigint not null check (price_minor >= 0),
  categories text[] not null default '{}',
  brand text,
  attributes jsonb not null default '{}',
  updated_at timestamptz not null default now(),
  primary key (workspace_id, sku)
);

create table customers (
  workspace_id text not null references workspaces (id),
  id text not null,
  attributes jsonb not null default '{}',
  memberships jsonb not null default '[]',
  segment_ids text[] not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (workspace_id, id)
);

create table promotions (
  workspace_id text not null references workspaces (id),
  id text not null,
  name text not null,
  -- draft | published | paused | ended; "scheduled" and "active" are published before and inside
  -- the schedule, derived at read time so no job has to flip them.
  status text not null check (status in ('draft', 'published', 'paused', 'ended')),
  definition jsonb not null,
  revision integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- First publication: from then on the limits are frozen (seed 004 step 5.4).
  published_at timestamptz,
  primary key (workspace_id, id)
);
create unique index promotions_name_key on promotions (workspace_id, lower(name));
create index promotions_status on promotions (workspace_id, status);

create table promotion_codes (
  workspace_id text not null references workspaces (id),
  -- Codes are matched case-insensitively: stored upper case.
  code text not null,
  promotion_id text not null,
  created_at timestamptz not null default now(),
  primary key (workspace_id, code),
  foreign key (workspace_id, promotion_id) references promotions (workspace_id, id)
);

create table sales (
  workspace_id text not null references workspaces (id),
  id text not null,
  -- The caller's id: a retry with the same id answers the first receipt.
  transaction_id text not null,
  -- sha256 of the canonical request: the same id with another body is a conflict.
  request_hash bytea not null,
  customer_id text,
  occurred_at timestamptz not null,
  gross_minor bigint,
  discount_minor bigint,
  net_minor bigint,
  -- json, not jsonb: a replay answers the very bytes of the first answer.
  receipt json,
  primary key (workspace_id, id),
  unique (workspace_id, transaction_id)
);
create index sales_customer on sales (workspace_id, customer_id, occurred_at);

create table sale_lines (
  workspace_id text not null,
  sale_id text not null,
  line_id text not null,
  sku text not null,
  quantity integer not null check (quantity > 0),
  unit_price_minor bigint not null,
  gross_minor bigint not null,
  discount_minor bigint not null,
  net_minor bigint not null,
  returned_quantity integer not null default 0,
  primary key (workspace_id, sale_id, line_id),
  foreign key (workspace_id, sale_id) references sales (workspace_id, id),
  check (returned_quantity between 0 and quantity)
);

-- The discount each promotion gave each line: what a return reverses.
create table sale_line_discounts (
  workspace_id text not null,
  sale_id text not null,
  line_id text not null,
  promotion_id text not null,
  amount_minor bigint not null check (amount_minor >= 0),
  units integer not null,
  primary key (workspace_id, sale_id, line_id, promotion_id),
  foreign key (workspace_id, sale_id, line_id) references sale_lines (workspace_id, sale_id, line_id)
);

-- One row per promotion applied in a sale: the redemption ledger.
create table redemptions (
  workspace_id text not null,
  sale_id text not null,
  promotion_id text not null,
  customer_id text,
  code text,
  discount_minor bigint not null,
  instances integer not null,
  units integer not null,
  occurred_at timestamptz not null,
  -- What returns have given back so far.
  reversed_minor bigint not null default 0,
  primary key (workspace_id, sale_id, promotion_id),
  foreign key (workspace_id, sale_id) references sales (workspace_id, id)
);
create index redemptions_customer on redemptions (workspace_id, customer_id, promotion_id);

-- One row per (promotion, limit rule, subject): the row a sale locks. subject is '' for a global rule,
-- the customer id for a customer rule, the code for a code rule. For lifetime and fixed windows,
-- used is what the cycle starting at cycle_start has consumed; a row from an older cycle counts as 0.
-- For rolling windows the ledger below is summed over the window, and used is the lifetime total.
create table limit_counters (
  workspace_id text not null,
  promotion_id text not null,
  rule text not null,
  subject text not null,
  cycle_start timestamptz not null,
  used bigint not null default 0,
  primary key (workspace_id, promotion_id, rule, subject)
);

-- Every consumption (+) and restoration (-), for audit, rolling windows and reconciliation.
create table limit_ledger (
  workspace_id text not null,
  promotion_id text not null,
  rule text not null,
  subject text not null,
  sale_id text not null,
  return_id text,
  cycle_start timestamptz not null,
  occurred_at timestamptz not null,
  amount bigint not null
);
create index limit_ledger_window on limit_ledger (workspace_id, promotion_id, rule, subject, occurred_at);

create table returns (
  workspace_id text not null,
  id text not null,
  sale_id text not null,
  request_hash bytea not null,
  occurred_at timestamptz not null,
  refund_minor bigint,
  -- json, not jsonb: a replay answers the very bytes of the first answer.
  receipt json,
  primary key (workspace_id, id),
  foreign key (workspace_id, sale_id) references sales (workspace_id, id)
);

create table return_lines (
  workspace_id text not null,
  return_id text not null,
  line_id text not null,
  quantity integer not null check (quantity > 0),
  refund_minor bigint not null,
  discount_reversed_minor bigint not null,
  primary key (workspace_id, return_id, line_id),
  foreign key (workspace_id, return_id) references returns (workspace_id, id)
);
