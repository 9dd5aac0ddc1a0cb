-- The whole schema of the first release.
--
-- Every *_at column holds a UTC instant as integer milliseconds since the Unix
-- epoch, so that times compare as instants whatever offset they arrived with.

CREATE TABLE users (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE tokens (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label       TEXT,
    -- SHA-256 of the secret; the secret itself is shown once and never stored.
    secret_hash BLOB NOT NULL UNIQUE,
    -- Comma-separated permission names, e.g. 'clients:view,clients:update'.
    permissions TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

CREATE TABLE templates (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    description TEXT,
    active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- Stage and milestone ids are unique within their template only.
CREATE TABLE stages (
    template_id TEXT NOT NULL REFERENCES templates (id) ON DELETE CASCADE,
    id          TEXT NOT NULL,
    type        TEXT NOT NULL,
    name        TEXT NOT NULL,
    position    INTEGER NOT NULL,
    PRIMARY KEY (template_id, id)
) WITHOUT ROWID;

CREATE TABLE milestones (
    template_id   TEXT NOT NULL,
    id            TEXT NOT NULL,
    stage_id      TEXT NOT NULL,
    name          TEXT NOT NULL,
    description   TEXT,
    -- Position within the stage.
    position      INTEGER NOT NULL,
    -- The fact type that completes this milestone on its own, or NULL.
    auto_complete TEXT CHECK (auto_complete IN
        ('deal_won', 'project_created', 'invoice_created', 'invoice_paid')),
    PRIMARY KEY (template_id, id),
    FOREIGN KEY (template_id, stage_id) REFERENCES stages (template_id, id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE INDEX milestones_by_stage ON milestones (template_id, stage_id, position);

-- A company the agency works with, together with its client profile.
CREATE TABLE clients (
    id                 TEXT PRIMARY KEY NOT NULL,
    name               TEXT NOT NULL,
    logo_url           TEXT,
    created_at         INTEGER NOT NULL,
    -- No cascade: a template cannot be deleted while a client has it.
    template_id        TEXT REFERENCES templates (id),
    assigned_at        INTEGER,
    assigned_by        TEXT REFERENCES users (id),
    -- Derived from progress and kept in step by every write that can change
    -- it: the current stage, the milestone counts and the latest completion.
    current_stage_type TEXT,
    completed_count    INTEGER NOT NULL DEFAULT 0,
    total_count        INTEGER NOT NULL DEFAULT 0,
    last_completed_at  INTEGER,
    -- Time of the client's latest activity entry; what the stuck rule reads.
    activity_at        INTEGER
);

CREATE INDEX clients_by_name ON clients (name, id);
CREATE INDEX clients_by_template ON clients (template_id);
-- Exactly the clients that can be stuck, oldest activity first.
CREATE INDEX clients_unfinished_by_activity ON clients (activity_at, name, id)
    WHERE template_id IS NOT NULL AND completed_count < total_count;

-- One row per (client, milestone of its assigned template). A row with a NULL
-- completed_at is an incomplete milestone (possibly carrying notes).
CREATE TABLE progress (
    client_id    TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    template_id  TEXT NOT NULL,
    milestone_id TEXT NOT NULL,
    completed_at INTEGER,
    completed_by TEXT REFERENCES users (id),
    source       TEXT CHECK (source IN ('manual', 'auto')),
    notes        TEXT,
    PRIMARY KEY (client_id, milestone_id),
    FOREIGN KEY (template_id, milestone_id)
        REFERENCES milestones (template_id, id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE INDEX progress_by_milestone ON progress (template_id, milestone_id);

-- Things that happened for a client elsewhere. A NULL reference never merges
-- with another fact, because UNIQUE treats NULLs as distinct.
CREATE TABLE facts (
    id          INTEGER PRIMARY KEY,
    client_id   TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    type        TEXT NOT NULL CHECK (type IN
        ('deal_won', 'project_created', 'invoice_created', 'invoice_paid')),
    reference   TEXT,
    -- When it happened according to the caller; NULL when not given.
    occurred_at INTEGER,
    recorded_at INTEGER NOT NULL,
    UNIQUE (client_id, type, reference)
);

-- Append-only onboarding history. Template, milestone and user are copied
-- rather than referenced so that entries read right after edits.
CREATE TABLE activity (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id      TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    at             INTEGER NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN
        ('assigned', 'reassigned', 'completed', 'uncompleted', 'notes_changed')),
    template_id    TEXT,
    milestone_id   TEXT,
    milestone_name TEXT,
    user_id        TEXT,
    user_name      TEXT,
    source         TEXT NOT NULL CHECK (source IN ('manual', 'auto', 'import')),
    notes          TEXT
);

CREATE INDEX activity_by_client ON activity (client_id, at, id);
