-- The tables of the original design, plus the queue and the library index.
CREATE TABLE model_cache (
    key        TEXT PRIMARY KEY,          -- e.g. "civitai:model:4384", "civitai:search:<sha1 of params>"
    value      TEXT NOT NULL,             -- the JSON as received (never contains secrets)
    fetched_at REAL NOT NULL,             -- unix time
    expires_at REAL NOT NULL
);
CREATE INDEX model_cache_expires ON model_cache(expires_at);

CREATE TABLE downloaded_models (
    id           INTEGER PRIMARY KEY,
    source       TEXT NOT NULL CHECK (source IN ('civitai', 'huggingface', 'local')),
    model_id     TEXT,                    -- Civitai model id or Hub repo id
    version_id   TEXT,                    -- Civitai version id or Hub revision
    file_id      TEXT,                    -- Civitai file id or Hub path in repo
    name         TEXT NOT NULL,           -- the model's display name
    type         TEXT NOT NULL DEFAULT 'Other',
    base_model   TEXT NOT NULL DEFAULT '',
    path         TEXT NOT NULL UNIQUE,    -- absolute path of the landed file
    size         INTEGER NOT NULL,
    sha256       TEXT,                    -- lower-case hex
    verified     INTEGER NOT NULL DEFAULT 0,
    downloaded_at REAL NOT NULL
);
CREATE INDEX downloaded_models_sha ON downloaded_models(sha256);
CREATE INDEX downloaded_models_src ON downloaded_models(source, model_id, version_id);

CREATE TABLE lists (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL
);

CREATE TABLE list_models (
    id       INTEGER PRIMARY KEY,
    list_id  INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
    ref      TEXT NOT NULL,               -- any REF the CLI accepts (never with a token)
    file     TEXT,                        -- optional glob
    note     TEXT,
    title    TEXT,                        -- display name when known
    added_at REAL NOT NULL,
    UNIQUE (list_id, ref, file)
);

CREATE TABLE queue_items (
    id            INTEGER PRIMARY KEY,
    source        TEXT NOT NULL CHECK (source IN ('civitai', 'huggingface')),
    dedupe_key    TEXT NOT NULL UNIQUE,   -- "civitai:file:<id>" or "hf:<repo>@<rev>:<path>"
    model_id      TEXT,
    version_id    TEXT,
    file_id       TEXT,
    title         TEXT NOT NULL,          -- model name / repo for display
    file_name     TEXT NOT NULL,          -- safe base name it lands as
    type          TEXT NOT NULL DEFAULT 'Other',
    base_model    TEXT NOT NULL DEFAULT '',
    url           TEXT NOT NULL,          -- API download URL (never a signed storage URL, never a key)
    target_dir    TEXT NOT NULL,          -- absolute folder under models_dir
    expected_size INTEGER,
    sha256        TEXT,                   -- expected, lower-case hex; NULL = unverified
    etag          TEXT,
    state         TEXT NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending','running','verifying','done','failed','cancelled','paused')),
    error         TEXT,                   -- locale key of the failure reason
    error_params  TEXT,                   -- JSON params of that key
    bytes_done    INTEGER NOT NULL DEFAULT 0,
    attempts      INTEGER NOT NULL DEFAULT 0,
    verified      INTEGER NOT NULL DEFAULT 0,
    final_path    TEXT,
    meta          TEXT,                   -- JSON: version JSON for sidecars, preview URL, …
    priority      INTEGER NOT NULL DEFAULT 0,
    created_at    REAL NOT NULL,
    updated_at    REAL NOT NULL,
    finished_at   REAL
);
CREATE INDEX queue_items_state ON queue_items(state, priority, id);

-- Ranges already on disk for multi-connection downloads (written only after the bytes are synced).
CREATE TABLE queue_segments (
    item_id  INTEGER NOT NULL REFERENCES queue_items(id) ON DELETE CASCADE,
    start    INTEGER NOT NULL,
    end      INTEGER NOT NULL,            -- exclusive
    done     INTEGER NOT NULL,            -- bytes of [start, end) on disk from start
    PRIMARY KEY (item_id, start)
);

-- One process works the queue at a time.
CREATE TABLE engine_lease (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    holder     TEXT NOT NULL,             -- "<hostname>:<pid>:<random>"
    expires_at REAL NOT NULL
);

CREATE TABLE local_files (
    path        TEXT PRIMARY KEY,          -- absolute
    size        INTEGER NOT NULL,
    mtime       REAL NOT NULL,
    sha256      TEXT,                      -- cached by (path, size, mtime)
    source      TEXT,                      -- civitai / huggingface / NULL unknown
    model_id    TEXT,
    version_id  TEXT,
    name        TEXT,
    type        TEXT,
    base_model  TEXT,
    identified_at REAL,
    scanned_at  REAL NOT NULL
);
CREATE INDEX local_files_sha ON local_files(sha256);
