-- +goose Up
-- The data keys that seal personal data inside events, one per person (subject: a user id, a researcher's
-- id, a GitHub account's reservation), each wrapped by the server's secret key (commands.Keyring). Unlike
-- events, rows here are deleted: forgetting a person deletes their key, and what it sealed in the log can
-- no longer be opened. The key id alone is kept in forgotten_personal_keys, so a value sealed under a
-- deleted key reads as forgotten, and one sealed under a key this database never held as an error.
CREATE TABLE personal_keys (
    subject    text PRIMARY KEY,
    key_id     bytea       NOT NULL UNIQUE,
    wrapped    bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE forgotten_personal_keys (
    key_id       bytea PRIMARY KEY,
    forgotten_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE forgotten_personal_keys;
DROP TABLE personal_keys;
