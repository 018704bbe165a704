-- Dimensions. Surrogate keys (sk_*) are assigned by dwetl and never change (SCD type 1);
-- the natural key id_*_origem is the ERP's id. Every dimension holds an unknown member
-- (sk = -1, "Não informado") and may hold inferred members (inferido = TRUE): placeholders
-- for keys a fact referenced before the dimension row arrived, completed later in place.
-- Placeholder rows carry NULL in the business attributes, so the "required" rules are CHECKs
-- that exempt them (CK_*_obrigatorio) instead of NOT NULL. A placeholder is a row that did not
-- come from the source, flagged inferido (the unknown member too). These CHECKs must not
-- name the surrogate or natural key: DuckDB 2.0 runs an UPDATE of a column that shares a CHECK
-- with an indexed column as DELETE + INSERT, which the facts' foreign keys refuse, so an SCD-1
-- update of a referenced dimension row would fail.

CREATE TABLE IF NOT EXISTS dw.dim_data (
    sk_data          INTEGER      NOT NULL,
    data             DATE,
    ano              SMALLINT,
    trimestre        SMALLINT,
    mes              SMALLINT,
    nome_mes         VARCHAR(20),
    dia              SMALLINT,
    dia_semana       SMALLINT,
    nome_dia_semana  VARCHAR(20),
    fim_de_semana    BOOLEAN,
    id_execucao      BIGINT,
    CONSTRAINT PK_dim_data PRIMARY KEY (sk_data),
    CONSTRAINT UQ_dim_data_data UNIQUE (data),
    CONSTRAINT CK_DIM_DATA_obrigatorio CHECK (sk_data = -1 OR (data IS NOT NULL AND ano IS NOT NULL AND mes IS NOT NULL AND dia IS NOT NULL)),
    CONSTRAINT CK_DIM_DATA_mes CHECK (mes BETWEEN 1 AND 12),
    CONSTRAINT CK_DIM_DATA_trimestre CHECK (trimestre BETWEEN 1 AND 4),
    CONSTRAINT CK_DIM_DATA_dia CHECK (dia BETWEEN 1 AND 31),
    CONSTRAINT CK_DIM_DATA_dia_semana CHECK (dia_semana BETWEEN 1 AND 7),
    CONSTRAINT CK_DIM_DATA_nome_mes CHECK (nome_mes IN ('Janeiro', 'Fevereiro', 'Março', 'Abril', 'Maio', 'Junho', 'Julho', 'Agosto', 'Setembro', 'Outubro', 'Novembro', 'Dezembro')),
    CONSTRAINT CK_DIM_DATA_nome_dia_semana CHECK (nome_dia_semana IN ('Domingo', 'Segunda-feira', 'Terça-feira', 'Quarta-feira', 'Quinta-feira', 'Sexta-feira', 'Sábado'))
);
INSERT INTO dw.dim_data (sk_data) VALUES (-1) ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS dw.dim_cliente (
    sk_cliente         BIGINT       NOT NULL,
    id_cliente_origem  BIGINT       NOT NULL,
    nome               VARCHAR(150) NOT NULL,
    cpf                VARCHAR(11),
    email              VARCHAR(150),
    cidade             VARCHAR(100),
    uf                 CHAR(2),
    data_cadastro      DATE,
    inferido           BOOLEAN      NOT NULL DEFAULT FALSE,
    atualizado_em      TIMESTAMP,
    id_execucao        BIGINT,
    CONSTRAINT PK_dim_cliente PRIMARY KEY (sk_cliente),
    CONSTRAINT UQ_dim_cliente_origem UNIQUE (id_cliente_origem),
    CONSTRAINT CK_DIM_CLIENTE_uf CHECK (uf IN ('AC', 'AL', 'AP', 'AM', 'BA', 'CE', 'DF', 'ES', 'GO', 'MA', 'MT', 'MS', 'MG', 'PA', 'PB', 'PR', 'PE', 'PI', 'RJ', 'RN', 'RS', 'RO', 'RR', 'SC', 'SP', 'SE', 'TO')),
    CONSTRAINT CK_DIM_CLIENTE_cpf CHECK (LENGTH(cpf) = 11),
    CONSTRAINT CK_DIM_CLIENTE_email CHECK (email LIKE '%_@_%'),
    CONSTRAINT CK_DIM_CLIENTE_obrigatorio CHECK (inferido OR (cidade IS NOT NULL AND uf IS NOT NULL))
);
INSERT INTO dw.dim_cliente (sk_cliente, id_cliente_origem, nome, inferido)
VALUES (-1, -1, 'Não informado', TRUE) ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS dw.dim_produto (
    sk_produto         BIGINT        NOT NULL,
    id_produto_origem  BIGINT        NOT NULL,
    nome               VARCHAR(200)  NOT NULL,
    categoria          VARCHAR(40),
    marca              VARCHAR(60),
    preco_lista        DECIMAL(12,2),
    ativo              BOOLEAN,
    inferido           BOOLEAN       NOT NULL DEFAULT FALSE,
    atualizado_em      TIMESTAMP,
    id_execucao        BIGINT,
    CONSTRAINT PK_dim_produto PRIMARY KEY (sk_produto),
    CONSTRAINT UQ_dim_produto_origem UNIQUE (id_produto_origem),
    CONSTRAINT CK_DIM_PRODUTO_categoria CHECK (categoria IN ('Eletrônicos', 'Eletrodomésticos', 'Informática', 'Telefonia', 'Móveis', 'Cama, Mesa e Banho', 'Vestuário', 'Calçados', 'Alimentos', 'Bebidas', 'Higiene e Beleza', 'Esporte e Lazer', 'Brinquedos', 'Papelaria', 'Ferramentas', 'Automotivo')),
    CONSTRAINT CK_DIM_PRODUTO_preco CHECK (preco_lista >= 0),
    CONSTRAINT CK_DIM_PRODUTO_obrigatorio CHECK (inferido OR (categoria IS NOT NULL AND preco_lista IS NOT NULL AND ativo IS NOT NULL))
);
INSERT INTO dw.dim_produto (sk_produto, id_produto_origem, nome, inferido)
VALUES (-1, -1, 'Não informado', TRUE) ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS dw.dim_loja (
    sk_loja         BIGINT       NOT NULL,
    id_loja_origem  BIGINT       NOT NULL,
    nome            VARCHAR(100) NOT NULL,
    cidade          VARCHAR(100),
    uf              CHAR(2),
    regiao          VARCHAR(20),
    data_abertura   DATE,
    inferido        BOOLEAN      NOT NULL DEFAULT FALSE,
    atualizado_em   TIMESTAMP,
    id_execucao     BIGINT,
    CONSTRAINT PK_dim_loja PRIMARY KEY (sk_loja),
    CONSTRAINT UQ_dim_loja_origem UNIQUE (id_loja_origem),
    CONSTRAINT CK_DIM_LOJA_uf CHECK (uf IN ('AC', 'AL', 'AP', 'AM', 'BA', 'CE', 'DF', 'ES', 'GO', 'MA', 'MT', 'MS', 'MG', 'PA', 'PB', 'PR', 'PE', 'PI', 'RJ', 'RN', 'RS', 'RO', 'RR', 'SC', 'SP', 'SE', 'TO')),
    CONSTRAINT CK_DIM_LOJA_regiao CHECK (regiao IN ('Norte', 'Nordeste', 'Centro-Oeste', 'Sudeste', 'Sul')),
    CONSTRAINT CK_DIM_LOJA_obrigatorio CHECK (inferido OR (cidade IS NOT NULL AND uf IS NOT NULL AND regiao IS NOT NULL))
);
INSERT INTO dw.dim_loja (sk_loja, id_loja_origem, nome, inferido)
VALUES (-1, -1, 'Não informado', TRUE) ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS dw.dim_vendedor (
    sk_vendedor         BIGINT       NOT NULL,
    id_vendedor_origem  BIGINT       NOT NULL,
    nome                VARCHAR(150) NOT NULL,
    id_loja_origem      BIGINT,
    data_admissao       DATE,
    inferido            BOOLEAN      NOT NULL DEFAULT FALSE,
    atualizado_em       TIMESTAMP,
    id_execucao         BIGINT,
    CONSTRAINT PK_dim_vendedor PRIMARY KEY (sk_vendedor),
    CONSTRAINT UQ_dim_vendedor_origem UNIQUE (id_vendedor_origem),
    CONSTRAINT CK_DIM_VENDEDOR_obrigatorio CHECK (inferido OR id_loja_origem IS NOT NULL)
);
INSERT INTO dw.dim_vendedor (sk_vendedor, id_vendedor_origem, nome, inferido)
VALUES (-1, -1, 'Não informado', TRUE) ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS dw.dim_desconto (
    sk_desconto         BIGINT       NOT NULL,
    id_desconto_origem  BIGINT       NOT NULL,
    codigo              VARCHAR(30)  NOT NULL,
    descricao           VARCHAR(200),
    tipo_desconto       VARCHAR(40),
    metodo_desconto     VARCHAR(40),
    aplica_em           VARCHAR(20),
    valor               DECIMAL(12,2),
    inicio_vigencia     DATE,
    fim_vigencia        DATE,
    inferido            BOOLEAN      NOT NULL DEFAULT FALSE,
    atualizado_em       TIMESTAMP,
    id_execucao         BIGINT,
    CONSTRAINT PK_dim_desconto PRIMARY KEY (sk_desconto),
    CONSTRAINT UQ_dim_desconto_origem UNIQUE (id_desconto_origem),
    CONSTRAINT CK_DIM_DESCONTO_tipo CHECK (tipo_desconto IN ('Promoção Automática', 'Cupom', 'Negociação Manual', 'Programa de Fidelidade', 'Atacado')),
    CONSTRAINT CK_DIM_DESCONTO_metodo CHECK (metodo_desconto IN ('Percentual', 'Valor Fixo', 'Preço Fixo', 'Leve Mais Pague Menos')),
    CONSTRAINT CK_DIM_DESCONTO_aplica_em CHECK (aplica_em IN ('Item', 'Pedido', 'Frete', 'Categoria')),
    CONSTRAINT CK_DIM_DESCONTO_valor CHECK (valor >= 0),
    CONSTRAINT CK_DIM_DESCONTO_percentual CHECK (metodo_desconto <> 'Percentual' OR valor <= 100),
    CONSTRAINT CK_DIM_DESCONTO_vigencia CHECK (fim_vigencia >= inicio_vigencia),
    CONSTRAINT CK_DIM_DESCONTO_obrigatorio CHECK (inferido OR (tipo_desconto IS NOT NULL AND metodo_desconto IS NOT NULL AND aplica_em IS NOT NULL AND valor IS NOT NULL AND inicio_vigencia IS NOT NULL))
);
INSERT INTO dw.dim_desconto (sk_desconto, id_desconto_origem, codigo, inferido)
VALUES (-1, -1, 'Não informado', TRUE) ON CONFLICT DO NOTHING;
