-- Look-ups by folded name (roster previews find look-alikes without scanning everyone).
CREATE INDEX people_name ON people(name_folded);
