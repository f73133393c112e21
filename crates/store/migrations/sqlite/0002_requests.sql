-- Requests from schools to the level above: corrections (Mẫu số 3) and additions (Mẫu số 4).
CREATE TABLE requests (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    from_unit_id INTEGER NOT NULL REFERENCES units(id),
    to_unit_id INTEGER NOT NULL REFERENCES units(id),
    person_id INTEGER REFERENCES people(id),
    data TEXT NOT NULL,
    note TEXT NOT NULL,
    deadline TEXT,
    status TEXT NOT NULL DEFAULT 'open',
    resolution TEXT,
    resolved_by INTEGER,
    resolved_at INTEGER,
    created_by INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX requests_from ON requests(from_unit_id, status);
CREATE INDEX requests_to ON requests(to_unit_id, status);
