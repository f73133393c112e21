-- Attendance at professional-activity sessions on the dashboards (issue 6): an enrollment that
-- attended at least one session is also counted under the pseudo-stage 7 of round_tallies.
-- The tallies are recounted from scratch at the next start (stage -1 = not counted).
-- Keep in step with ../postgres/0014_attendance_tallies.sql.
ALTER TABLE enrollments ADD COLUMN tallied_attended BOOLEAN NOT NULL DEFAULT FALSE;
DELETE FROM round_tallies;
UPDATE enrollments SET stage = -1, tallied_class = NULL;
