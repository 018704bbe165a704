-- The indexes of the OLTP source that incremental extraction relies on, as a real ERP has
-- them (`dwetl sample` builds them after the bulk load, cheaper than row by row). Every
-- table's atualizado_em, the watermark: an incremental run reads only the rows changed after
-- it. And the keys the fact extracts (sql/extract/fact_*.sql) follow from a changed order
-- header to its items and discounts, and from a changed item or discount back to its header
-- and item. The calendar (sql/extract/dim_data.sql) reads the first and last sale date from
-- the index on data_venda. (No semicolon in these comments: the writers split the file on it.)

CREATE INDEX ix_clientes_atualizado_em ON clientes (atualizado_em);
CREATE INDEX ix_produtos_atualizado_em ON produtos (atualizado_em);
CREATE INDEX ix_lojas_atualizado_em ON lojas (atualizado_em);
CREATE INDEX ix_vendedores_atualizado_em ON vendedores (atualizado_em);
CREATE INDEX ix_descontos_atualizado_em ON descontos (atualizado_em);
CREATE INDEX ix_vendas_atualizado_em ON vendas (atualizado_em);
CREATE INDEX ix_venda_itens_atualizado_em ON venda_itens (atualizado_em);
CREATE INDEX ix_venda_descontos_atualizado_em ON venda_descontos (atualizado_em);
CREATE INDEX ix_metas_atualizado_em ON metas (atualizado_em);

CREATE INDEX ix_vendas_id ON vendas (id);
CREATE INDEX ix_vendas_data_venda ON vendas (data_venda);
CREATE INDEX ix_venda_itens_id ON venda_itens (id);
CREATE INDEX ix_venda_itens_id_venda ON venda_itens (id_venda);
CREATE INDEX ix_venda_descontos_id ON venda_descontos (id);
CREATE INDEX ix_venda_descontos_id_venda ON venda_descontos (id_venda);
CREATE INDEX ix_venda_descontos_id_item ON venda_descontos (id_item);
