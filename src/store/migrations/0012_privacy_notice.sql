-- Version 12: every version of an org's own privacy notice, kept as written; a new text is a new
-- row numbered one past the org's last, an old one is never changed.
CREATE TABLE privacy_notice (
    org_id      INTEGER NOT NULL REFERENCES org(id),
    version     INTEGER NOT NULL CHECK (version >= 1),
    body        TEXT NOT NULL CHECK (body <> ''),
    created_by  TEXT NOT NULL,             -- audit actor, `operator:<username>`
    created_at  TEXT NOT NULL,
    PRIMARY KEY (org_id, version)
);
