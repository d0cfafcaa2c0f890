//! Roster's integration tests: one binary, real Postgres, a fresh database per test.

mod administration;
mod identity;
mod membership;
mod platform;
