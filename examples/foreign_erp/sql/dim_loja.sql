-- dim_loja: stores; the ERP's region codes spelled as the warehouse's regions
-- (CK_DIM_LOJA_regiao).
SELECT
    s.store_no               AS id_loja_origem,
    s.store_name             AS nome,
    s.city                   AS cidade,
    s.state                  AS uf,
    CASE s.region_code
        WHEN 'N'  THEN 'Norte'
        WHEN 'NE' THEN 'Nordeste'
        WHEN 'CO' THEN 'Centro-Oeste'
        WHEN 'SE' THEN 'Sudeste'
        WHEN 'S'  THEN 'Sul'
        ELSE s.region_code
    END                      AS regiao,
    s.opened_on              AS data_abertura,
    datetime(s.updated_at)   AS atualizado_em
FROM stores s
