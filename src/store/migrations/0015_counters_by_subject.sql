-- Pricing reads, with everything else it reads (store/pricing.ts), the limit counters that can
-- concern the basket: the global ones (subject ''), the customer's and the codes' of the published
-- promotions. That saves the round trip that read them once the engine had named the promotions that
-- apply: a quote becomes one round trip, and a sale with limits three. Counters are found by subject
-- here; updates of `used` change no indexed column, so they stay as cheap as before.
create index limit_counters_by_subject on limit_counters (workspace_id, subject, promotion_id, rule);
