-- Peer-support plans (issue 5): a core teacher's or core manager's kế hoạch hỗ trợ đồng nghiệp
-- for a round, its approval by the unit their organisation requires, the signed and stamped scan
-- and the completion report with its deadline. Keep in step with ../postgres/0008_peer_plans.sql.

-- Small per-unit settings, e.g. a province's 'plan_approver_managers' = 'commune' | 'province'
-- (who changed them and when is optional: the audit log keeps the history).
CREATE TABLE settings (
    unit_id INTEGER NOT NULL REFERENCES units(id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_by INTEGER,
    updated_at INTEGER,
    PRIMARY KEY (unit_id, key)
);

-- One plan per author and round. The approver unit is computed when the plan is submitted (from
-- the author's unit then); decided_by is an account. The scan is a file of the file store.
CREATE TABLE peer_plans (
    id INTEGER PRIMARY KEY,
    round_id INTEGER NOT NULL REFERENCES rounds(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    groups_text TEXT NOT NULL DEFAULT '',
    class_ids TEXT NOT NULL DEFAULT '',
    schedule TEXT NOT NULL,
    online_activities TEXT NOT NULL DEFAULT '',
    in_person_activities TEXT NOT NULL DEFAULT '',
    hours REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'draft',
    author_kind TEXT,
    author_unit_id INTEGER REFERENCES units(id),
    approver_unit_id INTEGER REFERENCES units(id),
    submitted_at INTEGER,
    decision_comment TEXT NOT NULL DEFAULT '',
    decided_by INTEGER,
    decided_at INTEGER,
    scan_sha256 TEXT REFERENCES files(sha256),
    scan_name TEXT,
    scan_mime TEXT,
    scan_at INTEGER,
    report_due TEXT NOT NULL,
    report TEXT,
    report_at INTEGER,
    report_late BOOLEAN,
    created_by INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX peer_plans_one ON peer_plans(round_id, person_id);
CREATE INDEX peer_plans_person ON peer_plans(person_id);
CREATE INDEX peer_plans_approver ON peer_plans(approver_unit_id, status);
