-- The customer wallet (issue 5): the promotions a customer holds, one row per issue, earning or
-- purchase. Keyed by workspace, then customer: every read (the app's list, pricing) is one
-- customer's entries, so the rows of a customer stay together and the table shards by customer.
--
-- The expiry of an entry is not stored: it is computed at read time from the promotion's current
-- expiry (with the promotion, N days from earning, N days from issuance) and the instants below, so
-- changing the days of a live promotion moves the expiry of every holder (seed 004 step 5.5).
-- expires_at holds only an explicit per-entry override given at issue time. Likewise an issued or
-- active entry past its expiry reads as expired: no job flips the state.
create table wallet_entries (
  workspace_id text not null references workspaces (id),
  customer_id text not null,
  id text not null,
  promotion_id text not null,
  -- issued: held, waiting for the customer to activate it; active: applies; redeemed, expired and
  -- revoked are final.
  state text not null check (state in ('issued', 'active', 'redeemed', 'expired', 'revoked')),
  -- How the customer got it: issued by staff, earned by an activity or milestone, bought with points.
  source text not null check (source in ('issued', 'earned', 'bought')),
  issued_at timestamptz not null,
  -- When the benefit was earned; null for a staff issue (its "from earning" clock starts at issued_at).
  earned_at timestamptz,
  -- When the customer activated it (client.activatePromotion); null when activation was not needed.
  activated_at timestamptz,
  -- An explicit expiry for this entry only (exclusive); null: the promotion's expiry rule decides.
  expires_at timestamptz,
  -- Redemptions left; null: as many as the promotion's limits allow.
  redemptions_left integer check (redemptions_left >= 0),
  revoked_at timestamptz,
  primary key (workspace_id, customer_id, id),
  foreign key (workspace_id, customer_id) references customers (workspace_id, id),
  foreign key (workspace_id, promotion_id) references promotions (workspace_id, id),
  check ((state = 'revoked') = (revoked_at is not null))
);

-- The issual limit counts a customer's entries of one promotion.
create index wallet_entries_promotion on wallet_entries (workspace_id, customer_id, promotion_id);
