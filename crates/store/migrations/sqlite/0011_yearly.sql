-- The yearly cycle (issue 7): personal BDTX plans for a school year with their items and the
-- principal's approval, the results per item and the classification by a versioned scoring
-- policy, and the self-assessment against the 2018 standards with evidence, colleagues'
-- comments and the principal's evaluation. Keep in step with ../postgres/0011_yearly.sql.
-- Which policy a province uses for a year is a setting ('yearly.policy.<year>.<audience>').

-- Policy versions added by provinces (shipped ones live in the binary); the YAML is checked
-- whole before it is stored, and a version is never changed once stored.
CREATE TABLE scoring_policies (
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    yaml TEXT NOT NULL,
    created_by INTEGER,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (id, version)
);

-- One plan per person and school year ('2024-2025'). The policy (id@version) is fixed when the
-- plan is created; the approver unit when it is submitted. Results are stored with the policy
-- that classified them. Points are hundredths.
CREATE TABLE year_plans (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people(id),
    school_year TEXT NOT NULL,
    policy TEXT NOT NULL,
    audience TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'draft',
    unit_id INTEGER REFERENCES units(id),
    approver_unit_id INTEGER REFERENCES units(id),
    submitted_at INTEGER,
    decision_comment TEXT NOT NULL DEFAULT '',
    decided_by INTEGER,
    decided_at INTEGER,
    result_average INTEGER,
    result_class TEXT,
    result_label TEXT,
    result_policy TEXT,
    result_by INTEGER,
    result_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX year_plans_one ON year_plans(person_id, school_year);
CREATE INDEX year_plans_approver ON year_plans(approver_unit_id, school_year, status);
CREATE INDEX year_plans_unit ON year_plans(unit_id, school_year);

-- The plan's items: a fixed content/programme (code = the group's key) or a chosen module; the
-- score parts as typed (hundredths, comma-separated, in the policy's component order).
CREATE TABLE year_plan_items (
    id INTEGER PRIMARY KEY,
    plan_id INTEGER NOT NULL REFERENCES year_plans(id),
    grp TEXT NOT NULL,
    code TEXT NOT NULL,
    title TEXT NOT NULL,
    periods INTEGER NOT NULL,
    source TEXT NOT NULL DEFAULT 'plan',
    parts TEXT NOT NULL DEFAULT '',
    score INTEGER,
    scored_by INTEGER,
    scored_at INTEGER
);
CREATE UNIQUE INDEX year_plan_items_one ON year_plan_items(plan_id, code);

-- A self-assessment against a standard ('teacher_2018', 'principal_2018') for a year: levels per
-- criterion as comma-separated codes ('' = not yet), the self and evaluated overall levels.
CREATE TABLE standard_assessments (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people(id),
    school_year TEXT NOT NULL,
    standard TEXT NOT NULL,
    unit_id INTEGER REFERENCES units(id),
    status TEXT NOT NULL DEFAULT 'draft',
    self_levels TEXT NOT NULL DEFAULT '',
    self_overall TEXT,
    self_note TEXT NOT NULL DEFAULT '',
    submitted_at INTEGER,
    eval_levels TEXT NOT NULL DEFAULT '',
    eval_overall TEXT,
    eval_comment TEXT NOT NULL DEFAULT '',
    evaluated_by INTEGER,
    evaluated_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX standard_assessments_one ON standard_assessments(person_id, school_year, standard);
CREATE INDEX standard_assessments_unit ON standard_assessments(unit_id, school_year);

-- Evidence files (in the file store) for a criterion of a self-assessment.
CREATE TABLE standard_evidence (
    id INTEGER PRIMARY KEY,
    assessment_id INTEGER NOT NULL REFERENCES standard_assessments(id),
    criterion INTEGER NOT NULL,
    sha256 TEXT NOT NULL REFERENCES files(sha256),
    name TEXT NOT NULL,
    mime TEXT NOT NULL,
    uploaded_by INTEGER,
    uploaded_at INTEGER NOT NULL
);
CREATE INDEX standard_evidence_of ON standard_evidence(assessment_id);

-- Colleagues' opinions on a self-assessment.
CREATE TABLE standard_comments (
    id INTEGER PRIMARY KEY,
    assessment_id INTEGER NOT NULL REFERENCES standard_assessments(id),
    author_person_id INTEGER REFERENCES people(id),
    author_account_id INTEGER,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX standard_comments_of ON standard_comments(assessment_id);
