//! Roster's integration tests: one binary, real Postgres, a fresh database per test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod identity;
mod platform;
