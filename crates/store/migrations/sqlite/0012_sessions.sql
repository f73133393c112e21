-- Professional-activity sessions (issue 6): sinh hoạt chuyên môn of a round at a school or
-- cluster, and the in-person days of a 7-2-7 round; their attendance (a list ticked by the
-- facilitator or a QR code scanned by the learner's phone) and minutes. Keep in step with
-- ../postgres/0012_sessions.sql. (0010 and 0011 belong to the dashboards/jobs work.)

-- Server secrets made on first use (e.g. 'qr_checkin', the HMAC key of check-in QR codes).
CREATE TABLE app_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- A session of a round held by a unit (school or cluster). kind: professional | in_person.
-- Dates are ISO, both inclusive. The minutes are a file of the file store; created_by and
-- minutes_by are accounts.
CREATE TABLE activity_sessions (
    id INTEGER PRIMARY KEY,
    round_id INTEGER NOT NULL REFERENCES rounds(id),
    unit_id INTEGER NOT NULL REFERENCES units(id),
    kind TEXT NOT NULL,
    topic TEXT NOT NULL,
    facilitator_person_id INTEGER NOT NULL REFERENCES people(id),
    place TEXT NOT NULL,
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    minutes_sha256 TEXT REFERENCES files(sha256),
    minutes_name TEXT,
    minutes_mime TEXT,
    minutes_at INTEGER,
    minutes_by INTEGER,
    created_by INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX activity_sessions_round ON activity_sessions(round_id, unit_id);
CREATE INDEX activity_sessions_facilitator ON activity_sessions(facilitator_person_id);

-- Who attended: one row per session and enrollment. method: list | qr; qr_nonce is the nonce of
-- the QR code scanned; recorded_by is an account.
CREATE TABLE session_attendance (
    session_id INTEGER NOT NULL REFERENCES activity_sessions(id),
    enrollment_id INTEGER NOT NULL REFERENCES enrollments(id),
    method TEXT NOT NULL,
    qr_nonce TEXT,
    recorded_by INTEGER,
    recorded_at INTEGER NOT NULL,
    PRIMARY KEY (session_id, enrollment_id)
);
CREATE INDEX session_attendance_enrollment ON session_attendance(enrollment_id);
