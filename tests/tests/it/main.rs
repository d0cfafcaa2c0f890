//! Roster's integration tests: one binary, real Postgres, a fresh database per test.

mod administration;
mod audit;
mod hostile;
mod identity;
mod invitation;
mod membership;
mod notification;
mod platform;
mod removals;
mod retries;
mod tls;
