-- +goose Up
-- History is append-only in the database itself: no statement may change or remove an event. Only a role
-- that may disable the trigger (the table's owner, or a superuser) can alter history, and the hash chain
-- below shows that it happened (docs/audit.md).
-- +goose StatementBegin
CREATE FUNCTION refuse_change_to_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on %: the table is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation',
              HINT = 'history is never changed; append an event that corrects it';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_history();

-- The hash chain over the log's global order, written beside it by the sealer (projections/audit):
-- (tx_id, seq) is the event's place in events, position its place in the chain (1, 2, 3, ...). Positions
-- grow with (tx_id, seq), so the rows lie in position order and a BRIN index finds a position at almost no
-- cost to the sealer's inserts; one sealer at a time (an advisory lock) numbers them.
CREATE TABLE audit_chain (
    tx_id    bigint NOT NULL,
    seq      bigint NOT NULL,
    position bigint NOT NULL CHECK (position > 0),
    event_id uuid   NOT NULL,
    hash     bytea  NOT NULL CHECK (length(hash) = 32),
    CONSTRAINT audit_chain_event PRIMARY KEY (tx_id, seq)
);
CREATE INDEX audit_chain_position ON audit_chain USING brin (position);

-- The chain's head at a position, signed with the server's Ed25519 key.
CREATE TABLE audit_checkpoints (
    position   bigint      PRIMARY KEY CHECK (position > 0),
    hash       bytea       NOT NULL CHECK (length(hash) = 32),
    sealed_at  timestamptz NOT NULL,
    public_key bytea       NOT NULL,
    signature  bytea       NOT NULL
);

CREATE TRIGGER audit_chain_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_chain
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_history();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_history();

-- +goose Down
DROP TABLE audit_checkpoints;
DROP TABLE audit_chain;
DROP TRIGGER events_append_only ON events;
DROP FUNCTION refuse_change_to_history();
