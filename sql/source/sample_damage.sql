-- Ground truth of `dwetl sample` (see src/dwetl/sample/damage.py for the exact semantics):
-- one row per injected damage, naming the source row version (tabela, id, atualizado_em),
-- the column, the damage class, the clean and the damaged value, and whether the row is
-- expected to load (recuperavel) or to be rejected by the warehouse's constraints.
CREATE TABLE sample_damage (
    tabela            VARCHAR(40)   NOT NULL,
    id                BIGINT        NOT NULL,
    atualizado_em     TIMESTAMP     NOT NULL,
    coluna            VARCHAR(40)   NOT NULL,
    classe            VARCHAR(40)   NOT NULL,
    valor_limpo       VARCHAR(1000),
    valor_danificado  VARCHAR(1000),
    recuperavel       BOOLEAN       NOT NULL
);

-- What the sample holds: one row per source table (rows written, including extra versions,
-- and distinct ids), with the parameters that made it.
CREATE TABLE sample_info (
    tabela         VARCHAR(40)       NOT NULL,
    linhas         BIGINT            NOT NULL,
    ids_distintos  BIGINT            NOT NULL,
    semente        BIGINT            NOT NULL,
    itens          BIGINT            NOT NULL,
    taxa_dano      DOUBLE PRECISION  NOT NULL
);
