//! Roster's integration tests: one binary, real Postgres, a fresh database per test.

mod administration;
mod audit;
mod child;
mod crashes;
mod hostile;
mod identity;
mod invitation;
mod membership;
mod notification;
mod outage;
mod platform;
mod removals;
mod retries;
mod revocation;
mod shutdown;
mod tls;
