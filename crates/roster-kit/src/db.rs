//! Postgres: the pool every service uses, database creation and per-schema migrations.
//!
//! Each service owns one schema; its connections' `search_path` is that schema so the
//! service's SQL never names it (and never names another service's). TLS follows the
//! URL's `sslmode` and `sslrootcert` (see [`tls`]).
use std::time::Duration;

use deadpool_postgres::{
    Hook, HookError, Manager, ManagerConfig, RecyclingMethod, Runtime, Timeouts,
};
use tokio_postgres::error::SqlState;
use tracing::info;

use crate::config::{PoolConfig, redact_url};
use crate::error::{Error, Result};
use crate::sql::Columns;

mod client;
pub mod replica;
pub mod tls;

pub use client::{Connection, GenericClient, Pool, Statement, Transaction};
pub use tls::{PgTls, pg_config};

/// One numbered migration of a schema.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Applied in ascending order, once.
    pub version: i32,
    /// Recorded beside the version.
    pub name: &'static str,
    /// One or more statements, run in one transaction.
    pub sql: &'static str,
}

/// Opens a pool on `url` whose connections work in `schema`, creating the database
/// when it does not exist yet.
///
/// With `direct`, `url` is a transaction-mode pooler (PgBouncer) in front of the database
/// at `direct`: statements go through it unnamed, and whatever needs a session of its own
/// (LISTEN, migrations under a session lock, describing statements) goes to `direct`. A
/// pooler passes no startup options, so its connections must already be in `schema` (a
/// pooler database per service whose `connect_query` sets `search_path`); a pooler that
/// puts them elsewhere is refused here.
///
/// With `replica`, a streaming replica of the database, [`Pool::read`] reads from it when
/// the current call's own writes have reached it (see [`replica`]).
///
/// Waiting for, creating and checking a connection are bounded by `config.timeout`.
/// A connection is handed out only if it is still open; one idle for longer than a
/// second (`IDLE_CHECK`) must also answer a round trip first. A connection found dead is
/// dropped and the next one taken (or a new one made) for the same request, so the pool
/// recovers by itself after Postgres restarts and no request pays for a dead
/// connection.
pub async fn connect(
    url: &str,
    direct: Option<&str>,
    replica: Option<&str>,
    schema: &str,
    config: &PoolConfig,
) -> Result<Pool> {
    let pool = connect_primary(url, direct, schema, config).await?;
    match replica {
        None => Ok(pool),
        Some(replica) => {
            let (mut replica_config, tls) = pg_config(replica).await?;
            replica_config
                .options(format!("-c search_path={schema},public"))
                .application_name(format!("roster-{schema}-reads"))
                .connect_timeout(config.timeout);
            Ok(pool.with_replica(deadpool(replica_config, tls, config, config.max_size)?))
        }
    }
}

async fn connect_primary(
    url: &str,
    direct: Option<&str>,
    schema: &str,
    config: &PoolConfig,
) -> Result<Pool> {
    let direct_url = direct.unwrap_or(url);
    let (mut direct_config, tls) = pg_config(direct_url).await?;
    ensure_database(&direct_config, &tls).await?;
    direct_config
        .options(format!("-c search_path={schema},public"))
        .application_name(format!("roster-{schema}"))
        .connect_timeout(config.timeout);
    let Some(_) = direct else {
        let connections = deadpool(direct_config, tls, config, config.max_size)?;
        return Ok(Pool::direct(connections, url));
    };
    // Migrations are all the direct pool is for; descriptions have a client of their own.
    let direct = deadpool(direct_config.clone(), tls.clone(), config, 1)?;
    let (mut pooled_config, pooled_tls) = pg_config(url).await?;
    pooled_config
        .application_name(format!("roster-{schema}"))
        .connect_timeout(config.timeout);
    let connections = deadpool(pooled_config, pooled_tls, config, config.max_size)?;
    // The simple protocol: a pooler takes no named statement. The schema may not exist
    // yet (migrations make it), so the setting is read, not `current_schema()`.
    let current = connections
        .get()
        .await?
        .simple_query("SELECT btrim(split_part(current_setting('search_path'), ',', 1), ' \"')")
        .await
        .map_err(|e| Error::internal(format!("connecting through {}", redact_url(url)), e))?
        .into_iter()
        .find_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        })
        .unwrap_or_default();
    if current != schema {
        return Err(Error::internal(
            format!("the pooler at {}", redact_url(url)),
            format!(
                "puts its connections in schema {current:?} first, not {schema:?}: give the \
                 {schema} service a pooler database whose connect_query is \
                 'SET search_path TO {schema}, public'"
            ),
        ));
    }
    Ok(Pool::pooled(
        connections,
        direct,
        direct_url,
        (direct_config, tls),
    ))
}

/// A deadpool pool of at most `max_size` connections made from `pg_config`.
fn deadpool(
    pg_config: tokio_postgres::Config,
    tls: PgTls,
    config: &PoolConfig,
    max_size: usize,
) -> Result<deadpool_postgres::Pool> {
    let manager = Manager::from_config(
        pg_config,
        tls,
        ManagerConfig {
            // Checking every checkout with a query costs a round trip per transaction;
            // a connection in steady use is known to be alive.
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let idle_check_timeout = config.timeout;
    deadpool_postgres::Pool::builder(manager)
        .post_recycle(Hook::async_fn(move |client, metrics| {
            Box::pin(async move {
                if metrics.last_used() < IDLE_CHECK {
                    return Ok(());
                }
                // A connection cut without a word (no FIN) would never answer.
                match tokio::time::timeout(idle_check_timeout, client.simple_query("")).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(HookError::Backend(e)),
                    Err(_) => Err(HookError::message("the idle connection did not answer")),
                }
            })
        }))
        .max_size(max_size)
        .runtime(Runtime::Tokio1)
        .timeouts(Timeouts {
            wait: Some(config.timeout),
            create: Some(config.timeout),
            recycle: Some(config.timeout),
        })
        .build()
        .map_err(|e| Error::internal("building the database pool", e))
}

/// How long a pooled connection may sit unused before it is checked with a round trip
/// on checkout: long enough that connections in steady use never pay for it, short
/// enough that one a firewall, pooler or failover cut silently is found before use.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// Listens on `channels` over a connection of its own to `url`: `listening` once
/// subscribed, then `notice` with each notification's channel and payload, until the
/// connection ends (`Ok`) or fails.
pub async fn listen(
    url: &str,
    channels: &[&str],
    listening: impl FnOnce(),
    mut notice: impl FnMut(&str, &str),
) -> Result<()> {
    use futures::StreamExt as _;
    let (config, tls) = pg_config(url).await?;
    let (client, mut connection) = config.connect(tls).await?;
    let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx)).fuse();
    let listen: String = channels.iter().map(|c| format!("LISTEN {c};")).collect();
    let subscribe = client.batch_execute(&listen);
    tokio::pin!(subscribe);
    // The connection must be driven while LISTEN runs.
    loop {
        tokio::select! {
            done = &mut subscribe => { done?; break; }
            message = messages.next() => match message {
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(error.into()),
                None => return Ok(()),
            },
        }
    }
    listening();
    while let Some(message) = messages.next().await {
        if let tokio_postgres::AsyncMessage::Notification(received) = message? {
            notice(received.channel(), received.payload());
        }
    }
    Ok(())
}

/// Creates the configured database if it is missing (two processes may race: fine).
async fn ensure_database(config: &tokio_postgres::Config, tls: &PgTls) -> Result<()> {
    match config.connect(tls.clone()).await {
        Ok(_) => return Ok(()),
        Err(e) if e.code() == Some(&SqlState::INVALID_CATALOG_NAME) => {}
        Err(e) => return Err(Error::internal("connecting to the database", e)),
    }
    let name = config.get_dbname().unwrap_or("postgres").to_owned();
    let mut admin = config.clone();
    admin.dbname("postgres");
    let (client, connection) = admin
        .connect(tls.clone())
        .await
        .map_err(|e| Error::internal("connecting to database postgres", e))?;
    tokio::spawn(connection);
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    match client
        .batch_execute(&format!("CREATE DATABASE {quoted}"))
        .await
    {
        Ok(()) => {
            info!(database = %name, "database created");
            Ok(())
        }
        Err(e) if e.code() == Some(&SqlState::DUPLICATE_DATABASE) => Ok(()),
        Err(e) => Err(Error::internal(format!("creating database {name}"), e)),
    }
}

/// Brings `schema` up to the newest of `migrations`. Safe when replicas start at once:
/// they queue on a Postgres advisory lock and the later ones find nothing to do.
pub async fn migrate(pool: &Pool, schema: &str, migrations: &[Migration]) -> Result<usize> {
    let mut client = pool.session().await?;
    let lock_key = crate::locks::migrations(schema);
    client
        .execute(
            "SELECT pg_advisory_lock(hashtextextended($1, 0))",
            &[&lock_key],
        )
        .await?;
    let outcome = apply_pending(&mut client, schema, migrations).await;
    // Released even on failure: the pooled connection outlives this call.
    client
        .execute(
            "SELECT pg_advisory_unlock(hashtextextended($1, 0))",
            &[&lock_key],
        )
        .await?;
    outcome
}

async fn apply_pending(
    client: &mut deadpool_postgres::Object,
    schema: &str,
    migrations: &[Migration],
) -> Result<usize> {
    client
        .batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {schema};
             CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
                 version integer PRIMARY KEY,
                 name text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now())"
        ))
        .await?;
    let applied: Vec<i32> = client
        .query(
            &format!("SELECT version FROM {schema}.schema_migrations"),
            &[],
        )
        .await?
        .iter()
        .map(|row| row.column("version"))
        .collect::<Result<_>>()?;
    let mut count = 0;
    for migration in migrations.iter().filter(|m| !applied.contains(&m.version)) {
        let tx = client.transaction().await?;
        tx.batch_execute(migration.sql).await?;
        tx.execute(
            &format!("INSERT INTO {schema}.schema_migrations (version, name) VALUES ($1, $2)"),
            &[&migration.version, &migration.name],
        )
        .await?;
        tx.commit().await?;
        info!(
            schema,
            version = migration.version,
            name = migration.name,
            "migration applied"
        );
        count += 1;
    }
    Ok(count)
}
