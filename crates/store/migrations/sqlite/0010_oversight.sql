-- Oversight (issue 6): dashboard tallies kept as things happen, background jobs, the e-mail
-- outbox and the reports units submit upward for a round. Keep in step with
-- ../postgres/0010_oversight.sql.

-- Where each enrollment is counted: its stage (-1 = not counted: not yet tallied or no longer
-- active; 0 no activated account, 1 never opened the course, 2 in progress, 3 LMS-passed,
-- 4 core-passed, 5 university-confirmed, 6 certified) and the class it was counted in.
ALTER TABLE enrollments ADD COLUMN stage INTEGER NOT NULL DEFAULT -1;
ALTER TABLE enrollments ADD COLUMN tallied_class INTEGER;
CREATE INDEX enrollments_round_stage ON enrollments(round_id, stage);

-- Counts per round, node and dimensions: scope 'u' = a unit (the enrollment's own unit and each
-- of its current ancestors), 'c' = a class. Changed only by `retally!` with the enrollment's stage.
CREATE TABLE round_tallies (
    round_id INTEGER NOT NULL,
    scope TEXT NOT NULL,
    scope_id INTEGER NOT NULL,
    level TEXT NOT NULL,
    subject TEXT NOT NULL,
    kind TEXT NOT NULL,
    stage INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (round_id, scope, scope_id, level, subject, kind, stage)
);

-- Background work: claimed by one worker at a time, retried with backoff, idempotent by key,
-- visible to admins, and picked up again after a restart (a running job whose lease ran out).
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    dedupe_key TEXT UNIQUE,
    status TEXT NOT NULL DEFAULT 'queued',
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 5,
    run_at INTEGER NOT NULL,
    locked_until INTEGER,
    last_error TEXT,
    result TEXT,
    unit_id INTEGER REFERENCES units(id),
    created_by INTEGER,
    created_at INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX classes_round_unit ON classes(round_id, unit_id);
CREATE INDEX jobs_due ON jobs(status, run_at);
CREATE INDEX jobs_unit ON jobs(unit_id, id);

-- E-mail to send over SMTP; one row per message, retried until sent or given up.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    person_id INTEGER REFERENCES people(id),
    to_addr TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    dedupe_key TEXT UNIQUE,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_try_at INTEGER NOT NULL,
    job_id INTEGER,
    unit_id INTEGER REFERENCES units(id),
    created_at INTEGER NOT NULL,
    sent_at INTEGER
);
CREATE INDEX outbox_due ON outbox(status, next_try_at);
CREATE INDEX outbox_unit ON outbox(unit_id, id);
CREATE INDEX outbox_person ON outbox(person_id);

-- Reminder settings of a round: days before a learner's window closes, days without progress
-- (NULL = off).
ALTER TABLE rounds ADD COLUMN remind_before_days INTEGER DEFAULT 3;
ALTER TABLE rounds ADD COLUMN remind_idle_days INTEGER DEFAULT 7;
ALTER TABLE rounds ADD COLUMN report_due TEXT;

-- A unit's report on a round to the level above (one per unit and round; resubmitting replaces
-- the note and keeps the first submission time in the audit log).
CREATE TABLE round_reports (
    id INTEGER PRIMARY KEY,
    round_id INTEGER NOT NULL REFERENCES rounds(id),
    unit_id INTEGER NOT NULL REFERENCES units(id),
    note TEXT NOT NULL DEFAULT '',
    figures TEXT NOT NULL,
    submitted_by INTEGER,
    submitted_at INTEGER NOT NULL,
    UNIQUE (round_id, unit_id)
);

-- A reporter's supplement requests (Mẫu số 2): learners actually in the class but missing from
-- the list.
CREATE TABLE supplement_requests (
    id INTEGER PRIMARY KEY,
    class_id INTEGER NOT NULL REFERENCES classes(id),
    full_name TEXT NOT NULL,
    birth_date TEXT,
    school TEXT NOT NULL,
    subject TEXT NOT NULL DEFAULT '',
    phone TEXT,
    email TEXT,
    note TEXT NOT NULL DEFAULT '',
    by_person_id INTEGER REFERENCES people(id),
    created_at INTEGER NOT NULL
);
CREATE INDEX supplement_requests_class ON supplement_requests(class_id);
