-- Schemas of the warehouse: dimensional model, ETL control, and private staging.
CREATE SCHEMA IF NOT EXISTS dw;
CREATE SCHEMA IF NOT EXISTS ctl;
CREATE SCHEMA IF NOT EXISTS stg;

-- Applied DDL scripts with their checksums: `dwetl init` applies only what is missing here.
CREATE TABLE IF NOT EXISTS ctl.schema_version (
    script      VARCHAR(200) NOT NULL,
    checksum    VARCHAR(64)  NOT NULL,
    applied_at  TIMESTAMP    NOT NULL,
    seconds     DOUBLE PRECISION,
    CONSTRAINT PK_schema_version PRIMARY KEY (script)
);
