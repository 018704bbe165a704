-- The OLTP source (the ERP), as `dwetl sample` writes it. Written in the subset SQLite,
-- PostgreSQL and MariaDB share. Like a real ERP export, `id` is not declared unique:
-- a row may appear in several versions (the newest `atualizado_em` wins), and foreign keys
-- are not enforced (an item may reference a product that does not exist yet).

CREATE TABLE clientes (
    id             BIGINT        NOT NULL,
    nome           VARCHAR(200),
    cpf            VARCHAR(20),
    email          VARCHAR(200),
    cidade         VARCHAR(120),
    uf             VARCHAR(10),
    data_cadastro  DATE,
    atualizado_em  TIMESTAMP     NOT NULL
);

CREATE TABLE produtos (
    id             BIGINT        NOT NULL,
    nome           VARCHAR(250),
    categoria      VARCHAR(80),
    marca          VARCHAR(80),
    preco_lista    DECIMAL(12,2),
    ativo          SMALLINT,
    atualizado_em  TIMESTAMP     NOT NULL
);

CREATE TABLE lojas (
    id             BIGINT        NOT NULL,
    nome           VARCHAR(120),
    cidade         VARCHAR(120),
    uf             VARCHAR(10),
    regiao         VARCHAR(40),
    data_abertura  DATE,
    atualizado_em  TIMESTAMP     NOT NULL
);

CREATE TABLE vendedores (
    id             BIGINT        NOT NULL,
    nome           VARCHAR(200),
    id_loja        BIGINT,
    data_admissao  DATE,
    atualizado_em  TIMESTAMP     NOT NULL
);

CREATE TABLE descontos (
    id               BIGINT        NOT NULL,
    codigo           VARCHAR(40),
    descricao        VARCHAR(250),
    tipo_desconto    VARCHAR(80),
    metodo_desconto  VARCHAR(80),
    aplica_em        VARCHAR(40),
    valor            DECIMAL(12,2),
    inicio_vigencia  DATE,
    fim_vigencia     DATE,
    atualizado_em    TIMESTAMP     NOT NULL
);

-- Order header.
CREATE TABLE vendas (
    id             BIGINT        NOT NULL,
    id_cliente     BIGINT,
    id_loja        BIGINT,
    id_vendedor    BIGINT,
    data_venda     TIMESTAMP,
    canal          VARCHAR(40),
    atualizado_em  TIMESTAMP     NOT NULL
);

-- Order item: the grain of fact_vendas.
CREATE TABLE venda_itens (
    id              BIGINT        NOT NULL,
    id_venda        BIGINT        NOT NULL,
    id_produto      BIGINT,
    quantidade      INTEGER,
    preco_unitario  DECIMAL(12,2),
    valor_desconto  DECIMAL(12,2),
    atualizado_em   TIMESTAMP     NOT NULL
);

-- A discount applied to an order (id_item NULL) or to one of its items.
CREATE TABLE venda_descontos (
    id             BIGINT        NOT NULL,
    id_venda       BIGINT        NOT NULL,
    id_item        BIGINT,
    id_desconto    BIGINT,
    valor          DECIMAL(12,2),
    atualizado_em  TIMESTAMP     NOT NULL
);

-- Sales target per year, month, store and seller (id_vendedor NULL: the store's target).
CREATE TABLE metas (
    id             BIGINT        NOT NULL,
    ano            INTEGER,
    mes            INTEGER,
    id_loja        BIGINT,
    id_vendedor    BIGINT,
    valor_meta     DECIMAL(14,2),
    atualizado_em  TIMESTAMP     NOT NULL
);
