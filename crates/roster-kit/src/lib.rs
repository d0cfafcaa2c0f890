//! What every Roster service shares: configuration, the Postgres pool and migrations,
//! telemetry, the principal and bearer tokens, errors mapped to `tonic::Status`, page
//! tokens, the transactional outbox, audit events, safe retries, server bootstrap and metrics.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod audit;
pub mod auth;
pub mod cache;
pub mod changes;
pub mod clock;
pub mod config;
pub mod db;
pub mod edge;
pub mod email;
pub mod error;
pub mod input;
pub mod locks;
pub mod metrics;
pub mod outbox;
pub mod paging;
pub mod protobuf;
pub mod relay;
pub mod remote;
pub mod requests;
pub mod server;
pub mod sql;
pub mod telemetry;
pub mod token;
pub mod wire;
pub mod worker;

pub use error::{Error, Result};

/// The migration every service schema starts with: audit events, outbox, request log.
pub const SHARED_TABLES: db::Migration = db::Migration {
    version: 1,
    name: "shared tables",
    sql: include_str!("sql/shared_tables.sql"),
};

/// The migration that keeps the trace context of each outbox row, at `version` of that
/// schema's list.
pub const fn outbox_traceparent(version: i32) -> db::Migration {
    db::Migration {
        version,
        name: "outbox traceparent",
        sql: include_str!("sql/outbox_traceparent.sql"),
    }
}

/// The migration that makes a schema's audit events append-only, at `version` of that
/// schema's list.
pub const fn audit_append_only(version: i32) -> db::Migration {
    db::Migration {
        version,
        name: "audit append-only",
        sql: include_str!("sql/audit_append_only.sql"),
    }
}
