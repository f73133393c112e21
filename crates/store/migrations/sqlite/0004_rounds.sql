-- Training rounds and the online course (issue 4). Keep in step with ../postgres/0004_rounds.sql.

-- Course content: the whole course as JSON (bdtx_course::Course), versioned; a round points at
-- one version, so editing a course never changes what an open round's learners see.
CREATE TABLE courses (
    id INTEGER PRIMARY KEY,
    module_code TEXT NOT NULL,
    title TEXT NOT NULL,
    version INTEGER NOT NULL,
    content TEXT NOT NULL,
    created_by INTEGER,
    created_at INTEGER NOT NULL,
    UNIQUE (module_code, version)
);

-- Files kept outside the database (content-addressed by SHA-256): course media and uploads.
CREATE TABLE files (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mime TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE programmes (
    id INTEGER PRIMARY KEY,
    owner_unit_id INTEGER NOT NULL REFERENCES units(id),
    school_year INTEGER NOT NULL,
    title TEXT NOT NULL,
    created_by INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX programmes_owner ON programmes(owner_unit_id);

CREATE TABLE rounds (
    id INTEGER PRIMARY KEY,
    programme_id INTEGER NOT NULL REFERENCES programmes(id),
    title TEXT NOT NULL,
    module_code TEXT NOT NULL,
    course_id INTEGER NOT NULL REFERENCES courses(id),
    audience TEXT NOT NULL,
    tier TEXT NOT NULL,
    subjects TEXT NOT NULL DEFAULT '',
    delivery TEXT NOT NULL,
    in_person_from TEXT,
    in_person_to TEXT,
    pass_quiz_percent INTEGER NOT NULL,
    pass_final_graded BOOLEAN NOT NULL,
    created_by INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX rounds_programme ON rounds(programme_id);

CREATE TABLE round_windows (
    round_id INTEGER NOT NULL REFERENCES rounds(id),
    level TEXT NOT NULL,
    opens TEXT NOT NULL,
    closes TEXT NOT NULL,
    PRIMARY KEY (round_id, level)
);

-- A class: learners of a round in one cluster (or school), with its core people.
CREATE TABLE classes (
    id INTEGER PRIMARY KEY,
    round_id INTEGER NOT NULL REFERENCES rounds(id),
    unit_id INTEGER NOT NULL REFERENCES units(id),
    name TEXT NOT NULL,
    subject TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX classes_round ON classes(round_id);

CREATE TABLE class_staff (
    class_id INTEGER NOT NULL REFERENCES classes(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    role TEXT NOT NULL,
    assigned_by INTEGER,
    assigned_at INTEGER NOT NULL,
    PRIMARY KEY (class_id, person_id)
);
CREATE INDEX class_staff_person ON class_staff(person_id);

CREATE TABLE enrollments (
    id INTEGER PRIMARY KEY,
    round_id INTEGER NOT NULL REFERENCES rounds(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    subject TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    level TEXT NOT NULL,
    unit_id INTEGER NOT NULL REFERENCES units(id),
    class_id INTEGER REFERENCES classes(id),
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active',
    items_done INTEGER NOT NULL DEFAULT 0,
    items_required INTEGER NOT NULL DEFAULT 0,
    resume_key TEXT,
    lms_passed_at INTEGER,
    enrolled_by INTEGER,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX enrollments_one ON enrollments(round_id, person_id, subject) WHERE status <> 'merged';
CREATE INDEX enrollments_person ON enrollments(person_id);
CREATE INDEX enrollments_class ON enrollments(class_id);
CREATE INDEX enrollments_unit ON enrollments(round_id, unit_id);

-- Activities done (lessons read, quizzes passed, essays and finals submitted).
CREATE TABLE progress (
    enrollment_id INTEGER NOT NULL REFERENCES enrollments(id),
    item_key TEXT NOT NULL,
    done_at INTEGER NOT NULL,
    PRIMARY KEY (enrollment_id, item_key)
);

CREATE TABLE quiz_attempts (
    id INTEGER PRIMARY KEY,
    enrollment_id INTEGER NOT NULL REFERENCES enrollments(id),
    item_key TEXT NOT NULL,
    number INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    submitted_at INTEGER,
    points REAL,
    max_points REAL NOT NULL,
    percent REAL,
    UNIQUE (enrollment_id, item_key, number)
);

CREATE TABLE attempt_answers (
    attempt_id INTEGER NOT NULL REFERENCES quiz_attempts(id),
    question_key TEXT NOT NULL,
    answer TEXT NOT NULL,
    points REAL NOT NULL,
    answered_at INTEGER NOT NULL,
    PRIMARY KEY (attempt_id, question_key)
);

-- Essays and final assignments; a revision after "returned" is a new version.
CREATE TABLE submissions (
    id INTEGER PRIMARY KEY,
    enrollment_id INTEGER NOT NULL REFERENCES enrollments(id),
    item_key TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    files TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL,
    nonce TEXT NOT NULL,
    submitted_at INTEGER NOT NULL,
    UNIQUE (enrollment_id, item_key, version),
    UNIQUE (enrollment_id, nonce)
);

CREATE TABLE grades (
    id INTEGER PRIMARY KEY,
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    grader_person_id INTEGER NOT NULL REFERENCES people(id),
    decision TEXT NOT NULL,
    scores TEXT NOT NULL,
    points REAL,
    passed BOOLEAN,
    comment TEXT NOT NULL,
    at INTEGER NOT NULL,
    UNIQUE (submission_id)
);

-- Q&A threads and announcements of a class, or a subject's reporter space (class_id NULL).
CREATE TABLE threads (
    id INTEGER PRIMARY KEY,
    round_id INTEGER NOT NULL REFERENCES rounds(id),
    class_id INTEGER REFERENCES classes(id),
    subject TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    author_person_id INTEGER REFERENCES people(id),
    created_at INTEGER NOT NULL,
    last_post_at INTEGER NOT NULL
);
CREATE INDEX threads_class ON threads(class_id, last_post_at);
CREATE INDEX threads_space ON threads(round_id, subject, last_post_at);

CREATE TABLE posts (
    id INTEGER PRIMARY KEY,
    thread_id INTEGER NOT NULL REFERENCES threads(id),
    author_person_id INTEGER REFERENCES people(id),
    body_html TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX posts_thread ON posts(thread_id, id);

CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people(id),
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    link TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    read_at INTEGER
);
CREATE INDEX notifications_person ON notifications(person_id, id);
