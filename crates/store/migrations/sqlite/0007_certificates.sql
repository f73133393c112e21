-- Certificates (issue 5): one per completed enrollment and module, issued by a university, with
-- a public verification code, the PDF kept in the file store and a signed credential.
-- Keep in step with ../postgres/0007_certificates.sql.

CREATE TABLE certificates (
    id INTEGER PRIMARY KEY,
    enrollment_id INTEGER NOT NULL REFERENCES enrollments(id),
    number TEXT NOT NULL UNIQUE,
    code TEXT NOT NULL UNIQUE,
    issuer_unit_id INTEGER NOT NULL REFERENCES units(id),
    holder_person_id INTEGER NOT NULL REFERENCES people(id),
    module_code TEXT NOT NULL,
    data TEXT NOT NULL,
    pdf_sha256 TEXT NOT NULL,
    credential TEXT NOT NULL,
    issued_by INTEGER,
    issued_at INTEGER NOT NULL,
    revoked_at INTEGER,
    revoked_by INTEGER,
    revoke_reason TEXT
);
CREATE UNIQUE INDEX certificates_one ON certificates(enrollment_id) WHERE revoked_at IS NULL;
CREATE INDEX certificates_holder ON certificates(holder_person_id);

-- Each issuing university's Ed25519 key: the seed stays here, the public key is published.
CREATE TABLE issuer_keys (
    unit_id INTEGER PRIMARY KEY REFERENCES units(id),
    seed_hex TEXT NOT NULL,
    public_multibase TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
