-- The library scan: what Civitai's by-hash look-up answered and what a safetensors header said, so
-- neither is asked again while the file keeps its size and mtime (docs/library.md).
ALTER TABLE local_files ADD COLUMN lookup TEXT;   -- NULL not asked yet, 'found', 'unknown' (Civitai does not know the hash)
ALTER TABLE local_files ADD COLUMN header TEXT;   -- NULL not read, 'ok', 'bare' (no type or base in it), 'unreadable'
ALTER TABLE local_files ADD COLUMN file_id TEXT;  -- Civitai file id once identified

-- The versions of each Civitai model a local file belongs to, newest first: the update badges.
CREATE TABLE civitai_versions (
    model_id    TEXT PRIMARY KEY,
    versions    TEXT NOT NULL,            -- JSON [[version id, name, early access], …], newest first
    checked_at  REAL NOT NULL
);
