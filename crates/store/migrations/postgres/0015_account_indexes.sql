-- Accounts' two unique keys become named unique indexes, as on SQLite (where a column
-- constraint's index cannot be dropped): a first roster load drops them and builds them once
-- at its end (issue 3). Keep in step with ../sqlite/0015_account_indexes.sql.
ALTER TABLE accounts DROP CONSTRAINT accounts_username_key;
ALTER TABLE accounts DROP CONSTRAINT accounts_person_id_key;
CREATE UNIQUE INDEX accounts_username ON accounts(username);
CREATE UNIQUE INDEX accounts_person ON accounts(person_id);
