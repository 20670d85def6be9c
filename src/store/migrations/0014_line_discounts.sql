-- A line's discounts live on the line: `discounts` holds what each promotion gave it, as
-- [{"promotionId", "amountMinor", "units"}] in promotion id order, which is what a return reverses
-- (store/returns.ts). They were rows of their own, about ten a sale, each with its index entry and a
-- foreign key check against its line: a third of the sale's writes, measured with
-- pg_stat_statements (docs/server.md "Performance"). Nothing reads them but the sale's returns, which
-- read the whole sale.
alter table sale_lines add column discounts jsonb not null default '[]';

update sale_lines l
   set discounts = d.discounts
  from (select workspace_id, sale_id, line_id,
               jsonb_agg(jsonb_build_object('promotionId', promotion_id, 'amountMinor', amount_minor, 'units', units)
                         order by promotion_id) as discounts
          from sale_line_discounts group by 1, 2, 3) d
 where l.workspace_id = d.workspace_id and l.sale_id = d.sale_id and l.line_id = d.line_id;

drop table sale_line_discounts;
