-- Earning progress (issue 5): per customer and loyalty_earning promotion, what the customer's sales
-- since the promotion started add up to (transactions, net spend) and how many entries they earned.
-- A sale upserts its row (insert … on conflict do update … returning), which locks it until COMMIT,
-- so concurrent sales of one customer count every stamp exactly once.
create table earning_progress (
  workspace_id text not null references workspaces (id),
  customer_id text not null,
  promotion_id text not null,
  -- Qualifying sales of the customer since the promotion started (milestone transaction_count).
  transactions integer not null default 0 check (transactions >= 0),
  -- Their net spend in minor units (milestone transaction_value); a sale adds max(0, net).
  spend_minor bigint not null default 0 check (spend_minor >= 0),
  -- Entries earned so far (maxEarningsPerCustomer caps it).
  earned integer not null default 0 check (earned >= 0),
  updated_at timestamptz not null,
  primary key (workspace_id, customer_id, promotion_id),
  foreign key (workspace_id, customer_id) references customers (workspace_id, id),
  foreign key (workspace_id, promotion_id) references promotions (workspace_id, id)
);
