//! Roster's integration tests: one binary, real Postgres, a fresh database per test.

mod identity;
mod platform;
