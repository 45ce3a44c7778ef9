-- Which file a path is on its volume, "<st_dev>:<st_ino>" as the walk read it (a symlink's own):
-- two names of one file (hard links) are one file, never duplicates, and its bytes count once in
-- the totals (docs/library.md). Older rows get it at the next walk.
ALTER TABLE local_files ADD COLUMN inode TEXT;   -- NULL until the file is walked or recorded again
