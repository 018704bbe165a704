-- The text of every applied DDL script, beside its row in ctl.schema_version: a run validates
-- rows against the DDL this warehouse's `init` applied (from whatever folder), read from here,
-- not against the DDL shipped with dwetl. `init` records each script it applied, and fills in
-- the scripts applied before this table existed from the same files (same checksum).
CREATE TABLE IF NOT EXISTS ctl.schema_script (
    script       VARCHAR(200) NOT NULL,
    checksum     VARCHAR(64)  NOT NULL,
    script_text  TEXT         NOT NULL,
    CONSTRAINT PK_schema_script PRIMARY KEY (script)
);
