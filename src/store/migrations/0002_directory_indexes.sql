-- Indexes for the directory reads: catalog filters, stores by concept or zone, customers by segment.
-- Lists page by primary key (workspace_id, id or sku), so they need nothing more. The store-by-concept
-- index also serves the foreign key check when a concept is deleted.

create index catalog_items_categories on catalog_items using gin (categories);
create index catalog_items_brand on catalog_items (workspace_id, brand, sku);
create index stores_concept on stores (workspace_id, concept_id);
create index stores_zones on stores using gin (zone_ids);
create index customers_segments on customers using gin (segment_ids);
