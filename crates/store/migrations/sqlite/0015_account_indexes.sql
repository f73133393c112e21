-- no-transaction
-- Accounts' two unique keys become named unique indexes (they were column constraints, whose
-- indexes SQLite cannot drop): a first roster load drops them and builds them once at its end,
-- in key order, instead of filling them one random key at a time (issue 3). Same rows, same
-- ids, same rules. The table is rebuilt the way SQLite documents ("Making Other Kinds Of Table
-- Schema Changes"): foreign keys off outside a transaction, new table, copy, drop, rename.
-- Keep in step with ../postgres/0015_account_indexes.sql.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE accounts_new (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    person_id INTEGER REFERENCES people(id),
    password_hash TEXT,
    activation_hash TEXT,
    activation_expires INTEGER,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at INTEGER NOT NULL,
    last_login_at INTEGER
);
INSERT INTO accounts_new (id, username, person_id, password_hash, activation_hash, activation_expires,
    failed_logins, locked_until, disabled, created_at, last_login_at)
SELECT id, username, person_id, password_hash, activation_hash, activation_expires,
    failed_logins, locked_until, disabled, created_at, last_login_at
FROM accounts ORDER BY id;
DROP TABLE accounts;
ALTER TABLE accounts_new RENAME TO accounts;
CREATE UNIQUE INDEX accounts_username ON accounts(username);
CREATE UNIQUE INDEX accounts_person ON accounts(person_id);
COMMIT;
PRAGMA foreign_keys = ON;
