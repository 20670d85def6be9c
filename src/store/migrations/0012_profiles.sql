-- Profiles (issue 4, seed 000): typed attribute declarations, identifiers that find a profile (a
-- payment card hash for shoppers who are not signed in), consent flags, and erasure of personal data.

-- A declared attribute: expressions may use it, and profiles must give it this type. `personal`
-- says whether erasure removes it (undeclared attributes are always treated as personal).
create table attribute_definitions (
  workspace_id text not null references workspaces (id),
  name text not null,
  type text not null check (type in ('string', 'number', 'boolean', 'date')),
  description text,
  personal boolean not null default true,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  primary key (workspace_id, name)
);

-- One identifier names at most one profile per workspace and kind; emails and card hashes are
-- stored lower-cased, phones in E.164.
create table customer_identifiers (
  workspace_id text not null,
  kind text not null check (kind in ('email', 'phone', 'cardHash')),
  value text not null,
  customer_id text not null,
  created_at timestamptz not null,
  primary key (workspace_id, kind, value),
  foreign key (workspace_id, customer_id) references customers (workspace_id, id)
);
create index customer_identifiers_by_customer on customer_identifiers (workspace_id, customer_id);

-- consents: {email?, sms?, push?, doNotDisturb?} booleans; erased_at: when the profile's personal
-- data was last erased (services/customers.ts eraseCustomer).
alter table customers
  add column consents jsonb not null default '{}',
  add column erased_at timestamptz;
