-- Personalized product lists (seed 002): per (workspace, customer, promotion), the products the
-- customer chose, or staff assigned, for a promotion whose product set is the customer's personal
-- list. Pricing reads a customer's lists in its one statement, so the rows of a customer stay
-- together under the primary key.
create table customer_product_lists (
  workspace_id text not null references workspaces (id),
  customer_id text not null,
  promotion_id text not null,
  -- The chosen SKUs in the customer's order (the engine counts the first maxDistinct), distinct.
  -- Empty: nothing chosen, the promotion's default product applies.
  skus text[] not null,
  -- Who set the current list: staff assigned it (admin, marketer key) or the customer chose it (app,
  -- pos key).
  source text not null check (source in ('assigned', 'chosen')),
  -- When the list was first set, and when it was last set.
  created_at timestamptz not null,
  chosen_at timestamptz not null,
  -- Set in the transaction of the first sale that applied the promotion with this list, when the
  -- promotion locks after first apply; from then on the list cannot change. Null: not locked.
  locked_at timestamptz,
  primary key (workspace_id, customer_id, promotion_id),
  foreign key (workspace_id, customer_id) references customers (workspace_id, id),
  -- Deleting a draft promotion takes its lists with it.
  foreign key (workspace_id, promotion_id) references promotions (workspace_id, id) on delete cascade
);
