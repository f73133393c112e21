-- BDTX foundation schema (SQLite). Keep in step with ../postgres/0001_foundation.sql.
-- Dates are ISO text (yyyy-mm-dd, sorts as text); instants are UTC unix seconds.
-- Validity: valid_from inclusive, valid_to exclusive (first day no longer valid), NULL = open.

CREATE TABLE units (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    sort_key TEXT NOT NULL,
    levels TEXT NOT NULL DEFAULT '',
    valid_from TEXT NOT NULL,
    valid_to TEXT,
    successor_id INTEGER REFERENCES units(id),
    created_at INTEGER NOT NULL,
    UNIQUE (code, valid_from)
);
CREATE INDEX units_code ON units(code);

CREATE TABLE unit_links (
    id INTEGER PRIMARY KEY,
    unit_id INTEGER NOT NULL REFERENCES units(id),
    parent_id INTEGER NOT NULL REFERENCES units(id),
    valid_from TEXT NOT NULL,
    valid_to TEXT
);
CREATE INDEX unit_links_parent ON unit_links(parent_id, valid_to);
CREATE INDEX unit_links_unit ON unit_links(unit_id, valid_to);

CREATE TABLE university_coverage (
    university_id INTEGER NOT NULL REFERENCES units(id),
    province_id INTEGER NOT NULL REFERENCES units(id),
    PRIMARY KEY (university_id, province_id)
);

CREATE TABLE restructures (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    effective TEXT NOT NULL,
    target_id INTEGER NOT NULL REFERENCES units(id),
    detail TEXT NOT NULL,
    actor_account_id INTEGER,
    at INTEGER NOT NULL
);

CREATE TABLE people (
    id INTEGER PRIMARY KEY,
    full_name TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    sort_key TEXT NOT NULL,
    birth_date TEXT,
    gender TEXT,
    national_id TEXT,
    phone TEXT,
    email TEXT,
    position TEXT NOT NULL,
    levels TEXT NOT NULL DEFAULT '',
    main_subject TEXT,
    other_subjects TEXT NOT NULL DEFAULT '',
    identity_key TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active',
    merged_into INTEGER REFERENCES people(id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX people_identity ON people(identity_key) WHERE status <> 'merged';
CREATE UNIQUE INDEX people_national_id ON people(national_id) WHERE national_id IS NOT NULL AND status <> 'merged';
CREATE INDEX people_sort ON people(sort_key);

CREATE TABLE person_units (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people(id),
    unit_id INTEGER NOT NULL REFERENCES units(id),
    valid_from TEXT NOT NULL,
    valid_to TEXT
);
CREATE INDEX person_units_unit ON person_units(unit_id, valid_to);
CREATE INDEX person_units_person ON person_units(person_id, valid_to);

CREATE TABLE core_status (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people(id),
    module_code TEXT NOT NULL,
    subject TEXT NOT NULL DEFAULT '',
    since TEXT NOT NULL,
    UNIQUE (person_id, module_code, subject)
);

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    person_id INTEGER UNIQUE REFERENCES people(id),
    password_hash TEXT,
    activation_hash TEXT,
    activation_expires INTEGER,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at INTEGER NOT NULL,
    last_login_at INTEGER
);

CREATE TABLE role_grants (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    role TEXT NOT NULL,
    unit_id INTEGER NOT NULL REFERENCES units(id),
    granted_by INTEGER,
    created_at INTEGER NOT NULL,
    UNIQUE (account_id, role, unit_id)
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    csrf TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_account ON sessions(account_id);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor_account_id INTEGER,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    unit_id INTEGER,
    before_json TEXT,
    after_json TEXT
);
CREATE INDEX audit_unit ON audit_log(unit_id, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

CREATE TABLE modules (
    code TEXT PRIMARY KEY,
    family TEXT NOT NULL,
    number INTEGER NOT NULL,
    title_vi TEXT NOT NULL,
    title_en TEXT NOT NULL,
    levels TEXT NOT NULL DEFAULT '',
    periods INTEGER,
    criterion TEXT,
    verified BOOLEAN NOT NULL,
    source TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
