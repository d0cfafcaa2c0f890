//! The Postgres advisory locks Roster takes, named in one place: a lock's key is the hash of
//! its name, so every use of one purpose takes the same lock and no two purposes share one.

use crate::db::GenericClient;
use crate::error::Result;

/// Serializes writers of identity's user change feed, so feed positions commit in order.
pub const USER_CHANGES: &str = "roster.identity.user_changes";

/// Lets one `roster bootstrap` at a time look for an operator and create the first.
pub const BOOTSTRAP: &str = "roster.identity.bootstrap";

/// The lock under which one schema's migrations run (held by the migrating session).
pub fn migrations(schema: &str) -> String {
    format!("roster.migrate.{schema}")
}

/// Takes the lock `name` until the transaction `db` ends.
pub async fn hold_until_commit(db: &impl GenericClient, name: &str) -> Result<()> {
    let statement = db
        .prepare_cached("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .await?;
    db.execute(&statement, &[&name]).await?;
    Ok(())
}
