-- What authors typed in the web editor (Markdown, quiz and rubric YAML), so the edit form shows
-- their own text; the course JSON keeps only the rendered HTML and the parsed quiz/rubric.
-- item_key '' is the course itself (field 'summary'). Keep in step with ../sqlite/0005_course_sources.sql.
CREATE TABLE course_sources (
    course_id BIGINT NOT NULL REFERENCES courses(id),
    item_key TEXT NOT NULL,
    field TEXT NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (course_id, item_key, field)
);
