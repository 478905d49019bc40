-- +goose Up
-- Web sessions (github.com/alexedwards/scs/pgxstore). Not events: a session is not a state change of the product.
CREATE TABLE sessions (
    token  text PRIMARY KEY,
    data   bytea       NOT NULL,
    expiry timestamptz NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry);

-- +goose Down
DROP TABLE sessions;
