-- +goose Up
-- The event log. Global order is (tx_id, seq): readers only take rows whose transaction is older than every
-- transaction still running (pg_snapshot_xmin), so a transaction that commits late is never skipped.
CREATE TABLE events (
    seq            bigint GENERATED ALWAYS AS IDENTITY,
    tx_id          bigint      NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    event_id       uuid        NOT NULL,
    stream_id      text COLLATE "C" NOT NULL,
    stream_version bigint      NOT NULL CHECK (stream_version > 0),
    event_type     text        NOT NULL,
    schema_version integer     NOT NULL CHECK (schema_version > 0),
    data           jsonb       NOT NULL,
    metadata       jsonb       NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT events_global_order PRIMARY KEY (tx_id, seq),
    CONSTRAINT events_event_id UNIQUE (event_id),
    -- Optimistic concurrency: two writers that read the same stream version cannot both append after it.
    CONSTRAINT events_stream_version UNIQUE (stream_id, stream_version)
);

-- Values that must never enter an event (token hashes, encrypted access tokens), written in the same
-- transaction as the event that announces them.
CREATE TABLE secrets (
    key        text PRIMARY KEY,
    value      bytea       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Events a projector or reactor could not apply after retries, kept for operators (the poison queue).
CREATE TABLE event_failures (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consumer    text        NOT NULL,
    event_id    uuid        NOT NULL,
    event_type  text        NOT NULL,
    reason      text        NOT NULL,
    failed_at   timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE event_failures;
DROP TABLE secrets;
DROP TABLE events;
