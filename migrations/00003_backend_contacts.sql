-- +goose Up
-- When each backend's runner was last answered, per API path. Not events: a runner calls every few seconds,
-- and how recently it called is operational state, not a change of the product. Kept outside the read
-- models so that a replay, which drops and rebuilds them, does not forget it.
CREATE TABLE backend_contacts (
    backend_id   text        NOT NULL,
    path         text        NOT NULL,
    last_seen_at timestamptz NOT NULL,
    PRIMARY KEY (backend_id, path)
);

-- +goose Down
DROP TABLE backend_contacts;
