-- ETL control: per-entity scope and watermark, run log, rejects, rollout history.

CREATE TABLE IF NOT EXISTS ctl.etl_control (
    entity            VARCHAR(50)  NOT NULL,
    kind              VARCHAR(20)  NOT NULL,
    target_table      VARCHAR(100) NOT NULL,
    load_order        INTEGER      NOT NULL,
    active            BOOLEAN      NOT NULL DEFAULT TRUE,
    watermark_column  VARCHAR(100),
    watermark_value   TIMESTAMP,
    last_run_id       BIGINT,
    last_status       VARCHAR(10),
    last_run_at       TIMESTAMP,
    CONSTRAINT PK_etl_control PRIMARY KEY (entity),
    CONSTRAINT CK_ETL_CONTROL_kind CHECK (kind IN ('calendar', 'dimension', 'fact')),
    CONSTRAINT CK_ETL_CONTROL_status CHECK (last_status IN ('success', 'partial', 'failed'))
);

-- The expected scope: what `init` and `dwetl rollout` decided, with who and when.
-- `dwetl check` compares ctl.etl_control.active with it: a difference is drift.
CREATE TABLE IF NOT EXISTS ctl.etl_scope (
    entity      VARCHAR(50)  NOT NULL,
    active      BOOLEAN      NOT NULL,
    changed_by  VARCHAR(100) NOT NULL,
    changed_at  TIMESTAMP    NOT NULL,
    CONSTRAINT PK_etl_scope PRIMARY KEY (entity)
);

-- Every change of scope, never updated.
CREATE TABLE IF NOT EXISTS ctl.etl_scope_change (
    change_id   BIGINT       NOT NULL,
    entity      VARCHAR(50)  NOT NULL,
    active_from BOOLEAN,
    active_to   BOOLEAN      NOT NULL,
    forced      BOOLEAN      NOT NULL DEFAULT FALSE,
    reason      VARCHAR(500),
    changed_by  VARCHAR(100) NOT NULL,
    changed_at  TIMESTAMP    NOT NULL,
    CONSTRAINT PK_etl_scope_change PRIMARY KEY (change_id)
);

-- One row per dwetl command that touches the warehouse (init, run, ...).
CREATE TABLE IF NOT EXISTS ctl.etl_run (
    run_id           BIGINT       NOT NULL,
    command          VARCHAR(30)  NOT NULL,
    status           VARCHAR(10)  NOT NULL,
    started_at       TIMESTAMP    NOT NULL,
    finished_at      TIMESTAMP,
    os_user          VARCHAR(100),
    hostname         VARCHAR(200),
    source_url       VARCHAR(1000),
    dw_url           VARCHAR(1000),
    full_reload      BOOLEAN      NOT NULL DEFAULT FALSE,
    dry_run          BOOLEAN      NOT NULL DEFAULT FALSE,
    startup_seconds  DOUBLE PRECISION,
    details          TEXT,
    error            TEXT,
    CONSTRAINT PK_etl_run PRIMARY KEY (run_id),
    CONSTRAINT CK_ETL_RUN_status CHECK (status IN ('running', 'success', 'partial', 'failed'))
);

-- One row per run and entity: the proof that nothing was lost
-- (extracted = inserted + updated + unchanged + rejected + folded).
CREATE TABLE IF NOT EXISTS ctl.etl_run_entity (
    run_id             BIGINT       NOT NULL,
    entity             VARCHAR(50)  NOT NULL,
    status             VARCHAR(10)  NOT NULL,
    started_at         TIMESTAMP    NOT NULL,
    finished_at        TIMESTAMP,
    extracted          BIGINT       NOT NULL DEFAULT 0,
    folded             BIGINT       NOT NULL DEFAULT 0,
    rejected           BIGINT       NOT NULL DEFAULT 0,
    inserted           BIGINT       NOT NULL DEFAULT 0,
    updated            BIGINT       NOT NULL DEFAULT 0,
    unchanged          BIGINT       NOT NULL DEFAULT 0,
    inferred           BIGINT       NOT NULL DEFAULT 0,
    watermark_from     TIMESTAMP,
    watermark_to       TIMESTAMP,
    seconds_extract    DOUBLE PRECISION,
    seconds_transform  DOUBLE PRECISION,
    seconds_validate   DOUBLE PRECISION,
    seconds_load       DOUBLE PRECISION,
    seconds_merge      DOUBLE PRECISION,
    repairs            TEXT,
    error              TEXT,
    CONSTRAINT PK_etl_run_entity PRIMARY KEY (run_id, entity),
    CONSTRAINT FK_etl_run_entity_run FOREIGN KEY (run_id) REFERENCES ctl.etl_run (run_id),
    CONSTRAINT CK_ETL_RUN_ENTITY_status CHECK (status IN ('success', 'partial', 'failed')),
    CONSTRAINT CK_ETL_RUN_ENTITY_counts CHECK (
        extracted >= 0 AND folded >= 0 AND rejected >= 0 AND inserted >= 0
        AND updated >= 0 AND unchanged >= 0 AND inferred >= 0
    )
);

-- Quarantine: every rejected source row, with every constraint it broke.
CREATE TABLE IF NOT EXISTS ctl.etl_reject (
    reject_id        BIGINT       NOT NULL,
    run_id           BIGINT       NOT NULL,
    entity           VARCHAR(50)  NOT NULL,
    source_key       VARCHAR(200),
    reasons          TEXT         NOT NULL,
    row_json         TEXT         NOT NULL,
    rejected_at      TIMESTAMP    NOT NULL,
    resolved_run_id  BIGINT,
    resolved_at      TIMESTAMP,
    CONSTRAINT PK_etl_reject PRIMARY KEY (reject_id),
    CONSTRAINT FK_etl_reject_run FOREIGN KEY (run_id) REFERENCES ctl.etl_run (run_id)
);
