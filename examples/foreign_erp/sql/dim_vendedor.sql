-- dim_vendedor: staff, each with the store they work at (required: CK_DIM_VENDEDOR_obrigatorio).
SELECT
    e.employee_no            AS id_vendedor_origem,
    e.name                   AS nome,
    e.store_no               AS id_loja_origem,
    e.hired_on               AS data_admissao,
    datetime(e.updated_at)   AS atualizado_em
FROM staff e
