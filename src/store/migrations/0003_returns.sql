-- Returns: the reads a return makes (a sale's returns, a sale's ledger entries) get their indexes, and
-- the amounts a return writes get the checks that make an over-reversal a failed statement, not data.

-- saleReturns: the returns of one sale, oldest first.
create index returns_sale on returns (workspace_id, sale_id, occurred_at);

-- What a sale consumed and what its returns restored, read under the sale's lock.
create index limit_ledger_sale on limit_ledger (workspace_id, sale_id);

-- Returns never give back more discount than a promotion gave in the sale.
alter table redemptions
  add constraint redemptions_reversed_range check (reversed_minor between 0 and discount_minor);

alter table return_lines
  add constraint return_lines_amounts check (refund_minor >= 0 and discount_reversed_minor >= 0);
