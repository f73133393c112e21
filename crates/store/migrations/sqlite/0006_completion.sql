-- Completion (issue 5): the human sign-offs of enrollments and the province's approval of a
-- round's completers. Keep in step with ../postgres/0006_completion.sql.

-- One row per mark; an undo keeps the row (undone_at, reason) and a new mark is a new row.
CREATE TABLE signoffs (
    id INTEGER PRIMARY KEY,
    enrollment_id INTEGER NOT NULL REFERENCES enrollments(id),
    gate TEXT NOT NULL,
    pass BOOLEAN NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    by_person_id INTEGER REFERENCES people(id),
    by_account_id INTEGER,
    at INTEGER NOT NULL,
    undone_at INTEGER,
    undone_by INTEGER,
    undo_reason TEXT
);
CREATE UNIQUE INDEX signoffs_current ON signoffs(enrollment_id, gate) WHERE undone_at IS NULL;
CREATE INDEX signoffs_enrollment ON signoffs(enrollment_id);

-- The province's approval of the list of completers of a round (a snapshot of who).
CREATE TABLE completer_approvals (
    id INTEGER PRIMARY KEY,
    round_id INTEGER NOT NULL REFERENCES rounds(id),
    unit_id INTEGER NOT NULL REFERENCES units(id),
    enrollment_ids TEXT NOT NULL,
    count INTEGER NOT NULL,
    approved_by INTEGER,
    approved_at INTEGER NOT NULL
);
CREATE INDEX completer_approvals_round ON completer_approvals(round_id, id);
