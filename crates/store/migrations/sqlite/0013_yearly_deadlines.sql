-- The yearly cycle's dated deadlines and the classified lists sent upward (issue 7), and the
-- exemption a personal plan claims. Keep in step with ../postgres/0013_yearly_deadlines.sql.

-- Deadlines a province sets for a school year: kind is plan_submit (personal plans to the
-- principal), plan_approve (plans approved), school_report (schools send their classified list
-- to the office above), office_report (offices send their summary to the province). due is the
-- last day (ISO): anything sent before 00:00 Vietnam time the day after is on time.
CREATE TABLE yearly_deadlines (
    province_id INTEGER NOT NULL REFERENCES units(id),
    school_year TEXT NOT NULL,
    kind TEXT NOT NULL,
    due TEXT NOT NULL,
    set_by INTEGER,
    set_at INTEGER NOT NULL,
    PRIMARY KEY (province_id, school_year, kind)
);

-- A unit's classified list (a school) or summary (an office) of a school year, sent to the office
-- above (to_unit_id): one row per unit and year; sending again replaces the figures, keeps the
-- first time and counts the sendings. figures: JSON counts per class (and the list for a school).
CREATE TABLE yearly_reports (
    id INTEGER PRIMARY KEY,
    unit_id INTEGER NOT NULL REFERENCES units(id),
    school_year TEXT NOT NULL,
    to_unit_id INTEGER NOT NULL REFERENCES units(id),
    figures TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    first_sent_at INTEGER NOT NULL,
    sent_at INTEGER NOT NULL,
    sent_by INTEGER,
    times INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX yearly_reports_one ON yearly_reports(unit_id, school_year);
CREATE INDEX yearly_reports_to ON yearly_reports(to_unit_id, school_year);

-- The exemption a plan claims (a key of its policy's exemptions, e.g. English teachers sent to
-- the Sở's summer courses: content 3 waived); approved with the plan.
ALTER TABLE year_plans ADD COLUMN exemption TEXT;
