-- Points (issue 4): a customer's points are held in lots, one per earning (or per source lot a
-- transfer moved), each with its own expiry; every change to a lot's remaining points is a ledger
-- entry naming the lot. So for each lot, remaining = the sum of its ledger entries, and for a
-- customer, the sum of remaining = the sum of the ledger, at every commit.
--
-- Expiry is computed at read time: a lot stops counting at expires_at (exclusive) with no job. The
-- next write to the customer's points writes the expired remainder off (an `expire` entry dated at
-- the lot's expires_at, remaining set to 0). Hence balance(now) = sum(ledger) − sum(remaining of
-- lots with expires_at <= now), the second term being what is expired but not yet written off.
create table points_lots (
  workspace_id text not null references workspaces (id),
  customer_id text not null,
  id text not null,
  earned_at timestamptz not null,
  -- Exclusive; null: the points never expire.
  expires_at timestamptz,
  amount bigint not null check (amount > 0),
  remaining bigint not null check (remaining >= 0 and remaining <= amount),
  primary key (workspace_id, customer_id, id),
  foreign key (workspace_id, customer_id) references customers (workspace_id, id)
);

-- Burns take the oldest-expiring lot first, then the earliest earned: only lots with points left.
create index points_lots_live on points_lots (workspace_id, customer_id, expires_at, earned_at, id)
  where remaining > 0;

create table points_ledger (
  workspace_id text not null references workspaces (id),
  customer_id text not null,
  id text not null,
  -- The order entries were written in: the ledger pages by it, newest first.
  seq bigint generated always as identity,
  kind text not null check (kind in ('earn', 'burn', 'expire', 'transfer_in', 'transfer_out', 'adjust')),
  -- Signed: earn and transfer_in add, burn, expire and transfer_out take.
  amount bigint not null check (amount <> 0),
  lot_id text not null,
  -- The idempotency key of the operation that wrote the entry; null for an expire write-off.
  reference text,
  occurred_at timestamptz not null,
  primary key (workspace_id, customer_id, id),
  foreign key (workspace_id, customer_id, lot_id) references points_lots (workspace_id, customer_id, id)
);

create index points_ledger_recent on points_ledger (workspace_id, customer_id, seq);

-- One row per operation reference (earn, burn, transfer) in a workspace: a retry with the same body
-- answers the stored result; another body is refused. Inserted first in the operation's
-- transaction, so a concurrent retry waits on the key and then reads the committed result.
create table points_requests (
  workspace_id text not null references workspaces (id),
  reference text not null,
  request_hash bytea not null,
  -- The answer, set before COMMIT (null only inside the claiming transaction).
  result jsonb,
  created_at timestamptz not null,
  primary key (workspace_id, reference)
);
