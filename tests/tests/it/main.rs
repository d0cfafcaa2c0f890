//! Roster's integration tests: one binary, real Postgres, a fresh database per test.

mod administration;
mod audit;
mod child;
mod clients;
mod crashes;
mod failover;
mod hostile;
mod identity;
mod invitation;
mod membership;
mod metrics;
mod notification;
mod outage;
mod platform;
mod removals;
mod replica;
mod replicated;
mod retries;
mod revocation;
mod shutdown;
mod tls;
mod trace;
