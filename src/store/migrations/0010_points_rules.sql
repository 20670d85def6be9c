-- Points on sales (issue 4): the workspace's earn and burn rules, and what each sale did with a
-- customer's points, so that its returns can claw back and give back in proportion.
create table points_rules (
  workspace_id text primary key references workspaces (id),
  -- The rules as the API answers them (services/points-rules.ts validates them).
  rules jsonb not null,
  updated_at timestamptz not null
);

-- One row per sale that earned or burned points. Returns of the sale lock its lines first, then
-- update this row: returned_minor is the cumulative refund, clawback_target the cumulative points
-- the sale's returns should have taken back (floor(earned × returned / net)), clawed_back what they
-- took, refunded the burned points they gave back.
create table sale_points (
  workspace_id text not null references workspaces (id),
  sale_id text not null,
  customer_id text not null,
  net_minor bigint not null,
  earned bigint not null check (earned >= 0),
  burned bigint not null check (burned >= 0),
  paid_minor bigint not null check (paid_minor >= 0),
  returned_minor bigint not null default 0,
  clawback_target bigint not null default 0,
  clawed_back bigint not null default 0,
  refunded bigint not null default 0,
  primary key (workspace_id, sale_id),
  foreign key (workspace_id, customer_id) references customers (workspace_id, id)
);
