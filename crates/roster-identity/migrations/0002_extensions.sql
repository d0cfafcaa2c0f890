-- Trigram indexes back the case-insensitive substring search of ListUsers.
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
