-- Trilha Outdoor: a small ERP that dwetl's authors never designed for (docs/extract.md).
-- English names, its own keys, money in integer cents, ISO 8601 timestamps with a 'T',
-- order lines keyed by (order_no, line_no), sales targets per region and month.
-- Two rows break the warehouse's rules on purpose: product 20 has a category the warehouse
-- does not know ('Garden'), and line 2 of order 5019 has a discount larger than the line.
--
-- Build the source: python query.py data/erp.sqlite erp.sql

DROP TABLE IF EXISTS order_lines;
DROP TABLE IF EXISTS orders;
DROP TABLE IF EXISTS targets;
DROP TABLE IF EXISTS promotions;
DROP TABLE IF EXISTS staff;
DROP TABLE IF EXISTS products;
DROP TABLE IF EXISTS customers;
DROP TABLE IF EXISTS stores;

CREATE TABLE stores (
    store_no     INTEGER PRIMARY KEY,
    store_name   TEXT    NOT NULL,
    city         TEXT    NOT NULL,
    state        TEXT    NOT NULL,          -- two-letter UF
    region_code  TEXT    NOT NULL,          -- N, NE, CO, SE, S
    opened_on    TEXT,                      -- YYYY-MM-DD
    updated_at   TEXT    NOT NULL           -- ISO 8601: 2025-01-02T08:00:00
);

CREATE TABLE customers (
    customer_id  INTEGER PRIMARY KEY,
    full_name    TEXT    NOT NULL,
    tax_id       TEXT,                      -- CPF as typed: 123.456.789-09
    email        TEXT,
    city         TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL
);

CREATE TABLE products (
    product_id        INTEGER PRIMARY KEY,
    sku               TEXT    NOT NULL UNIQUE,
    description       TEXT    NOT NULL,
    category          TEXT    NOT NULL,     -- English: Footwear, Apparel, ...
    brand             TEXT,
    list_price_cents  INTEGER NOT NULL,
    discontinued      INTEGER NOT NULL DEFAULT 0,
    updated_at        TEXT    NOT NULL
);

CREATE TABLE staff (
    employee_no  INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    store_no     INTEGER NOT NULL REFERENCES stores (store_no),
    hired_on     TEXT,
    updated_at   TEXT    NOT NULL
);

CREATE TABLE promotions (
    promo_id     INTEGER PRIMARY KEY,
    code         TEXT    NOT NULL UNIQUE,
    title        TEXT,
    kind         TEXT    NOT NULL,          -- coupon, automatic, loyalty
    method       TEXT    NOT NULL,          -- percent, amount
    amount       INTEGER NOT NULL,          -- percent: 10 = 10 %; amount: cents
    starts_on    TEXT    NOT NULL,
    ends_on      TEXT,
    updated_at   TEXT    NOT NULL
);

CREATE TABLE orders (
    order_no     INTEGER PRIMARY KEY,
    ordered_at   TEXT    NOT NULL,
    customer_id  INTEGER REFERENCES customers (customer_id),  -- NULL: walk-in shopper
    store_no     INTEGER NOT NULL REFERENCES stores (store_no),
    employee_no  INTEGER REFERENCES staff (employee_no),      -- NULL: web and app orders
    channel      TEXT    NOT NULL,          -- store, web, app, phone
    updated_at   TEXT    NOT NULL
);

CREATE TABLE order_lines (
    order_no          INTEGER NOT NULL REFERENCES orders (order_no),
    line_no           INTEGER NOT NULL,     -- 1, 2, 3 ... within the order
    product_id        INTEGER NOT NULL REFERENCES products (product_id),
    qty               INTEGER NOT NULL,
    unit_price_cents  INTEGER NOT NULL,
    discount_cents    INTEGER NOT NULL DEFAULT 0,
    promo_id          INTEGER REFERENCES promotions (promo_id),  -- NULL: no promotion
    updated_at        TEXT    NOT NULL,
    PRIMARY KEY (order_no, line_no)
);

-- One sales target per region and month, in cents: the warehouse wants one per store.
CREATE TABLE targets (
    region_code   TEXT    NOT NULL,
    year          INTEGER NOT NULL,
    month         INTEGER NOT NULL,
    amount_cents  INTEGER NOT NULL,
    updated_at    TEXT    NOT NULL,
    PRIMARY KEY (region_code, year, month)
);

INSERT INTO stores VALUES
    (101, 'Trilha Paulista',     'São Paulo',      'SP', 'SE', '2019-03-01', '2025-01-02T08:00:00'),
    (102, 'Trilha Campinas',     'Campinas',       'SP', 'SE', '2020-06-15', '2025-01-02T08:00:00'),
    (103, 'Trilha Botafogo',     'Rio de Janeiro', 'RJ', 'SE', '2021-09-10', '2025-01-02T08:00:00'),
    (201, 'Trilha Curitiba',     'Curitiba',       'PR', 'S',  '2018-11-20', '2025-01-02T08:00:00'),
    (202, 'Trilha Porto Alegre', 'Porto Alegre',   'RS', 'S',  '2022-04-01', '2025-01-02T08:00:00'),
    (301, 'Trilha Recife',       'Recife',         'PE', 'NE', '2023-02-14', '2025-01-02T08:00:00');

INSERT INTO customers VALUES
    (9001, 'Ana Souza',         '123.456.789-09', 'ana.souza@example.com',  'São Paulo',      'SP', '2023-05-04T10:00:00', '2025-01-02T08:00:00'),
    (9002, 'Bruno Lima',        '234.567.890-10', 'bruno@example.com',      'Campinas',       'SP', '2023-07-19T16:20:00', '2025-01-02T08:00:00'),
    (9003, 'Carla Mendes',      '345.678.901-21', NULL,                     'Rio de Janeiro', 'RJ', '2024-01-08T09:45:00', '2025-01-02T08:00:00'),
    (9004, 'Diego Ferreira',    '456.789.012-32', 'diego.f@example.com',    'Curitiba',       'PR', '2024-02-11T11:11:00', '2025-01-02T08:00:00'),
    (9005, 'Elisa Rocha',       '567.890.123-43', 'elisa@example.com',      'Porto Alegre',   'RS', '2024-03-30T14:00:00', '2025-01-02T08:00:00'),
    (9006, 'Fábio Nunes',       '678.901.234-54', 'fabio.n@example.com',    'Recife',         'PE', '2024-05-02T08:30:00', '2025-01-02T08:00:00'),
    (9007, 'Gabriela Castro',   '789.012.345-65', 'gabi@example.com',       'São Paulo',      'SP', '2024-06-21T19:05:00', '2025-01-02T08:00:00'),
    (9008, 'Heitor Alves',      '890.123.456-76', NULL,                     'Niterói',        'RJ', '2024-08-14T12:00:00', '2025-01-02T08:00:00'),
    (9009, 'Isabela Martins',   '901.234.567-87', 'isa.m@example.com',      'Londrina',       'PR', '2024-10-03T17:40:00', '2025-01-02T08:00:00'),
    (9010, 'João Pereira',      '012.345.678-98', 'joao.p@example.com',     'Olinda',         'PE', '2024-12-09T09:15:00', '2025-01-02T08:00:00');

INSERT INTO products VALUES
    (1,  'TR-BOOT-01', 'Bota de trilha impermeável',  'Footwear',    'Serra',    45990, 0, '2025-01-02T08:00:00'),
    (2,  'TR-BOOT-02', 'Bota de caminhada leve',      'Footwear',    'Serra',    32990, 0, '2025-01-02T08:00:00'),
    (3,  'TR-SAND-01', 'Sandália de rio',             'Footwear',    'Correnteza', 12990, 0, '2025-01-02T08:00:00'),
    (4,  'TR-JACK-01', 'Jaqueta corta-vento',         'Apparel',     'Vento Sul', 27990, 0, '2025-01-02T08:00:00'),
    (5,  'TR-JACK-02', 'Jaqueta fleece',              'Apparel',     'Vento Sul', 19990, 0, '2025-01-02T08:00:00'),
    (6,  'TR-SHRT-01', 'Camiseta dry-fit',            'Apparel',     'Vento Sul',  7990, 0, '2025-01-02T08:00:00'),
    (7,  'TR-PANT-01', 'Calça conversível',           'Apparel',     'Serra',    22990, 0, '2025-01-02T08:00:00'),
    (8,  'TR-TENT-01', 'Barraca 2 pessoas',           'Camping',     'Acampa',   69990, 0, '2025-01-02T08:00:00'),
    (9,  'TR-TENT-02', 'Barraca 4 pessoas',           'Camping',     'Acampa',  109990, 0, '2025-01-02T08:00:00'),
    (10, 'TR-SLBG-01', 'Saco de dormir 5 °C',         'Camping',     'Acampa',   34990, 0, '2025-01-02T08:00:00'),
    (11, 'TR-BKPK-01', 'Mochila 40 L',                'Camping',     'Serra',    39990, 0, '2025-01-02T08:00:00'),
    (12, 'TR-BKPK-02', 'Mochila de ataque 20 L',      'Camping',     'Serra',    17990, 1, '2025-01-02T08:00:00'),
    (13, 'TR-LAMP-01', 'Lanterna de cabeça',          'Electronics', 'Lume',      8990, 0, '2025-01-02T08:00:00'),
    (14, 'TR-GPS-01',  'GPS de pulso',                'Electronics', 'Lume',    129990, 0, '2025-01-02T08:00:00'),
    (15, 'TR-PWBK-01', 'Carregador solar',            'Electronics', 'Lume',     15990, 0, '2025-01-02T08:00:00'),
    (16, 'TR-KNIF-01', 'Canivete multiuso',           'Tools',       'Forja',     9990, 0, '2025-01-02T08:00:00'),
    (17, 'TR-AXE-01',  'Machadinha',                  'Tools',       'Forja',    14990, 0, '2025-01-02T08:00:00'),
    (18, 'TR-BOTL-01', 'Garrafa térmica 1 L',         'Camping',     'Acampa',    8990, 0, '2025-01-02T08:00:00'),
    (19, 'TR-SNAK-01', 'Barra de cereal (caixa)',     'Food',        'Energia',   4990, 0, '2025-01-02T08:00:00'),
    (20, 'TR-SEED-01', 'Kit horta de varanda',        'Garden',      'Verde',     5990, 0, '2025-01-02T08:00:00'),
    (21, 'TR-CHAIR-01', 'Cadeira dobrável',           'Camping',     'Acampa',   11990, 0, '2025-01-02T08:00:00');

INSERT INTO staff VALUES
    (501, 'Marcos Tavares',  101, '2019-03-01', '2025-01-02T08:00:00'),
    (502, 'Juliana Prado',   101, '2021-08-16', '2025-01-02T08:00:00'),
    (503, 'Renato Dias',     102, '2020-06-15', '2025-01-02T08:00:00'),
    (504, 'Patrícia Gomes',  103, '2021-09-10', '2025-01-02T08:00:00'),
    (505, 'Sérgio Ramos',    201, '2018-11-20', '2025-01-02T08:00:00'),
    (506, 'Luana Becker',    202, '2022-04-01', '2025-01-02T08:00:00'),
    (507, 'Tiago Barros',    301, '2023-02-14', '2025-01-02T08:00:00'),
    (508, 'Vera Lúcia Melo', 301, '2024-07-01', '2025-01-02T08:00:00');

INSERT INTO promotions VALUES
    (1, 'VERAO10',  'Verão: 10 % em calçados',   'automatic', 'percent', 10,   '2025-01-01', '2025-03-31', '2025-01-02T08:00:00'),
    (2, 'BEMVINDO', 'Cupom de boas-vindas',      'coupon',    'amount',  2000, '2024-06-01', NULL,         '2025-01-02T08:00:00'),
    (3, 'FIEL5',    'Clube Trilha: 5 %',         'loyalty',   'percent', 5,    '2024-01-01', NULL,         '2025-01-02T08:00:00');

INSERT INTO orders VALUES
    (5001, '2025-01-03T10:15:00', 9001, 101, 501,  'store', '2025-01-03T10:16:00'),
    (5002, '2025-01-05T14:02:00', 9002, 102, 503,  'store', '2025-01-05T14:03:00'),
    (5003, '2025-01-09T20:44:00', 9003, 103, NULL, 'web',   '2025-01-09T20:45:00'),
    (5004, '2025-01-12T11:30:00', NULL, 201, 505,  'store', '2025-01-12T11:31:00'),
    (5005, '2025-01-18T16:20:00', 9005, 202, 506,  'store', '2025-01-18T16:21:00'),
    (5006, '2025-01-22T09:05:00', 9006, 301, NULL, 'app',   '2025-01-22T09:06:00'),
    (5007, '2025-01-27T18:50:00', 9007, 101, 502,  'store', '2025-01-27T18:51:00'),
    (5008, '2025-01-31T23:10:00', 9004, 201, NULL, 'web',   '2025-01-31T23:11:00'),
    (5009, '2025-02-02T10:00:00', 9008, 103, 504,  'store', '2025-02-02T10:01:00'),
    (5010, '2025-02-06T15:45:00', 9009, 201, 505,  'phone', '2025-02-06T15:46:00'),
    (5011, '2025-02-10T12:12:00', NULL, 301, 507,  'store', '2025-02-10T12:13:00'),
    (5012, '2025-02-14T19:30:00', 9001, 101, NULL, 'app',   '2025-02-14T19:31:00'),
    (5013, '2025-02-17T08:40:00', 9010, 301, 508,  'store', '2025-02-17T08:41:00'),
    (5014, '2025-02-21T13:25:00', 9002, 102, 503,  'store', '2025-02-21T13:26:00'),
    (5015, '2025-02-25T21:05:00', 9005, 202, NULL, 'web',   '2025-02-25T21:06:00'),
    (5016, '2025-02-28T17:55:00', 9007, 101, 501,  'store', '2025-02-28T17:56:00'),
    (5017, '2025-03-01T09:30:00', 9003, 103, 504,  'store', '2025-03-01T09:31:00'),
    (5018, '2025-03-04T14:14:00', 9006, 301, 507,  'store', '2025-03-04T14:15:00'),
    (5019, '2025-03-08T11:00:00', 9004, 201, 505,  'store', '2025-03-08T11:01:00'),
    (5020, '2025-03-12T20:20:00', NULL, 102, 503,  'store', '2025-03-12T20:21:00'),
    (5021, '2025-03-16T10:50:00', 9009, 201, NULL, 'web',   '2025-03-16T10:51:00'),
    (5022, '2025-03-20T16:35:00', 9008, 103, NULL, 'phone', '2025-03-20T16:36:00'),
    (5023, '2025-03-25T12:05:00', 9010, 301, 508,  'store', '2025-03-25T12:06:00'),
    (5024, '2025-03-30T18:45:00', 9001, 101, 502,  'store', '2025-03-30T18:46:00');

-- (order_no, line_no, product_id, qty, unit_price_cents, discount_cents, promo_id, updated_at)
INSERT INTO order_lines VALUES
    (5001, 1,  1, 1, 45990,  4599, 1,    '2025-01-03T10:16:00'),
    (5001, 2,  6, 2,  7990,     0, NULL, '2025-01-03T10:16:00'),
    (5002, 1, 11, 1, 39990,  2000, 2,    '2025-01-05T14:03:00'),
    (5003, 1,  4, 1, 27990,     0, NULL, '2025-01-09T20:45:00'),
    (5003, 2, 13, 2,  8990,     0, NULL, '2025-01-09T20:45:00'),
    (5004, 1,  8, 1, 69990,     0, NULL, '2025-01-12T11:31:00'),
    (5004, 2, 10, 2, 34990,  3499, 3,    '2025-01-12T11:31:00'),
    (5004, 3, 18, 2,  8990,     0, NULL, '2025-01-12T11:31:00'),
    (5005, 1,  2, 1, 32990,  3299, 1,    '2025-01-18T16:21:00'),
    (5006, 1, 14, 1, 129990,    0, NULL, '2025-01-22T09:06:00'),
    (5006, 2, 15, 1, 15990,     0, NULL, '2025-01-22T09:06:00'),
    (5007, 1,  5, 1, 19990,     0, NULL, '2025-01-27T18:51:00'),
    (5007, 2, 20, 3,  5990,     0, NULL, '2025-01-27T18:51:00'),
    (5008, 1,  7, 1, 22990,  1150, 3,    '2025-01-31T23:11:00'),
    (5009, 1,  3, 2, 12990,  2598, 1,    '2025-02-02T10:01:00'),
    (5009, 2, 16, 1,  9990,     0, NULL, '2025-02-02T10:01:00'),
    (5010, 1,  9, 1, 109990, 5500, 3,    '2025-02-06T15:46:00'),
    (5011, 1, 19, 6,  4990,     0, NULL, '2025-02-11T09:00:00'),
    (5011, 2, 18, 1,  8990,     0, NULL, '2025-02-10T12:13:00'),
    (5012, 1, 13, 1,  8990,     0, NULL, '2025-02-14T19:31:00'),
    (5013, 1,  1, 1, 45990,  4599, 1,    '2025-02-17T08:41:00'),
    (5013, 2, 17, 1, 14990,     0, NULL, '2025-02-17T08:41:00'),
    (5014, 1, 11, 1, 39990,     0, NULL, '2025-02-21T13:26:00'),
    (5014, 2,  6, 3,  7990,  2000, 2,    '2025-02-21T13:26:00'),
    (5015, 1,  4, 1, 27990,  1400, 3,    '2025-02-25T21:06:00'),
    (5016, 1, 12, 1, 17990,     0, NULL, '2025-02-28T17:56:00'),
    (5016, 2, 20, 2,  5990,     0, NULL, '2025-02-28T17:56:00'),
    (5017, 1,  2, 1, 32990,  3299, 1,    '2025-03-01T09:31:00'),
    (5017, 2,  5, 1, 19990,     0, NULL, '2025-03-01T09:31:00'),
    (5018, 1, 10, 1, 34990,     0, NULL, '2025-03-04T14:15:00'),
    (5018, 2, 15, 2, 15990,     0, NULL, '2025-03-04T14:15:00'),
    (5019, 1,  8, 1, 69990,  3500, 3,    '2025-03-08T11:01:00'),
    (5019, 2, 16, 1,  9990, 99900, NULL, '2025-03-08T11:01:00'),
    (5020, 1,  7, 2, 22990,     0, NULL, '2025-03-12T20:21:00'),
    (5021, 1, 14, 1, 129990, 6500, 3,    '2025-03-16T10:51:00'),
    (5021, 2, 13, 1,  8990,     0, NULL, '2025-03-16T10:51:00'),
    (5022, 1,  3, 1, 12990,  1299, 1,    '2025-03-20T16:36:00'),
    (5022, 2,  6, 2,  7990,     0, NULL, '2025-03-20T16:36:00'),
    (5023, 1,  9, 1, 109990,    0, NULL, '2025-03-25T12:06:00'),
    (5023, 2, 11, 1, 39990,  2000, 2,    '2025-03-25T12:06:00'),
    (5024, 1,  1, 1, 45990,  4599, 1,    '2025-03-30T18:46:00'),
    (5024, 2, 17, 1, 14990,     0, NULL, '2025-03-30T18:46:00'),
    (5024, 3, 19, 4,  4990,     0, NULL, '2025-03-30T18:46:00');

INSERT INTO targets VALUES
    ('SE', 2025, 1, 10000000, '2024-12-20T09:00:00'),
    ('SE', 2025, 2,  9000000, '2024-12-20T09:00:00'),
    ('SE', 2025, 3, 11000000, '2024-12-20T09:00:00'),
    ('S',  2025, 1,  6000001, '2024-12-20T09:00:00'),
    ('S',  2025, 2,  5500000, '2024-12-20T09:00:00'),
    ('S',  2025, 3,  6500000, '2024-12-20T09:00:00'),
    ('NE', 2025, 1,  3000000, '2024-12-20T09:00:00'),
    ('NE', 2025, 2,  2800000, '2024-12-20T09:00:00'),
    ('NE', 2025, 3,  3200000, '2024-12-20T09:00:00');
