-- ListMembers finds the matches of a rare search term through these trigram indexes
-- (store/members.rs). Leading with the workspace (btree_gin) keeps a search in one
-- workspace from visiting other workspaces' matches. Without fastupdate, recent inserts
-- go straight into the index rather than into a pending list every search would scan.
CREATE EXTENSION IF NOT EXISTS btree_gin SCHEMA public;
DROP INDEX members_name_search;
DROP INDEX members_email_search;
CREATE INDEX members_name_search ON members
    USING gin (workspace_id, lower(display_name) gin_trgm_ops) WITH (fastupdate = off);
CREATE INDEX members_email_search ON members
    USING gin (workspace_id, email gin_trgm_ops) WITH (fastupdate = off);
