-- Course media may be shown to any signed-in user; every other stored file (learners' work,
-- signed plans, certificates) only through the route that checks who may see it.
ALTER TABLE files ADD COLUMN course_media BOOLEAN NOT NULL DEFAULT FALSE;
