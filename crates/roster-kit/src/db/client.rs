//! The connections a service's SQL runs on, straight to Postgres or through a
//! transaction-mode pooler (PgBouncer).
//!
//! Straight to Postgres, each connection prepares a statement once, by name, and keeps it.
//! A transaction-mode pooler hands each transaction whichever server connection is free,
//! so a statement prepared on one is unknown on the next (and PgBouncer 1.18 refuses named
//! statements outright). Through a pooler every statement is therefore sent unnamed, with
//! its text, in the same round trip as its parameters; its parameter types come from
//! describing it once per process on a direct connection, so each value is encoded as the
//! exact type Postgres expects.
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use deadpool_postgres::GenericClient as _;
use tokio_postgres::GenericClient as _;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Error as PgError, Row};
use tracing::warn;

use super::{PgTls, replica};

/// A pool of connections to one service's schema.
#[derive(Debug, Clone)]
pub struct Pool {
    connections: deadpool_postgres::Pool,
    /// A streaming replica of the primary, for [`Pool::read`].
    replica: Option<deadpool_postgres::Pool>,
    statements: Statements,
    direct: deadpool_postgres::Pool,
    direct_url: Arc<str>,
}

#[derive(Debug, Clone)]
enum Statements {
    /// Prepared by name on each connection and kept there.
    Prepared,
    /// Sent unnamed, typed from `Descriptions`.
    Unnamed(Arc<Descriptions>),
}

/// Statements described on a direct connection of their own, by their text.
struct Descriptions {
    config: tokio_postgres::Config,
    tls: PgTls,
    /// Made when first needed, and again after it breaks. Its errors are the database's
    /// own, as every other statement's are.
    client: tokio::sync::Mutex<Option<tokio_postgres::Client>>,
    described: RwLock<HashMap<String, Arc<Described>>>,
}

impl std::fmt::Debug for Descriptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let described = self.described.read().map_or(0, |known| known.len());
        f.debug_struct("Descriptions")
            .field("described", &described)
            .finish_non_exhaustive()
    }
}

/// A statement's text and the types of its parameters.
#[derive(Debug)]
pub struct Described {
    sql: String,
    types: Vec<Type>,
}

/// A statement ready to run on the connection (or transaction) that made it.
#[derive(Debug, Clone)]
pub enum Statement {
    /// Prepared on that connection.
    Prepared(tokio_postgres::Statement),
    /// To be sent with its text on each use.
    Unnamed(Arc<Described>),
}

impl Pool {
    /// `connections` straight to Postgres.
    pub(crate) fn direct(connections: deadpool_postgres::Pool, url: &str) -> Self {
        Self {
            direct: connections.clone(),
            connections,
            replica: None,
            statements: Statements::Prepared,
            direct_url: url.into(),
        }
    }

    /// `connections` through a transaction-mode pooler; `direct` (at `direct_url`, made
    /// from `describe_with`) reaches the same database without it.
    pub(crate) fn pooled(
        connections: deadpool_postgres::Pool,
        direct: deadpool_postgres::Pool,
        direct_url: &str,
        describe_with: (tokio_postgres::Config, PgTls),
    ) -> Self {
        let (config, tls) = describe_with;
        Self {
            connections,
            replica: None,
            statements: Statements::Unnamed(Arc::new(Descriptions {
                config,
                tls,
                client: tokio::sync::Mutex::default(),
                described: RwLock::default(),
            })),
            direct,
            direct_url: direct_url.into(),
        }
    }

    /// Reads that can lag go to `replica` ([`Pool::read`]).
    pub(crate) fn with_replica(mut self, replica: deadpool_postgres::Pool) -> Self {
        replica::opened();
        self.replica = Some(replica);
        self
    }

    /// A connection to the primary for a request's statements and transactions.
    pub async fn get(&self) -> std::result::Result<Connection, deadpool_postgres::PoolError> {
        Ok(Connection {
            client: self.connections.get().await?,
            statements: self.statements.clone(),
            // With a replica, commits record where they reached for the call's later reads.
            primary: self.replica.as_ref().map(|_| self.connections.clone()),
        })
    }

    /// A connection for reads that may lag a little: the replica's, if there is one, it
    /// answers, and it has replayed what the current call must see (its caller's own
    /// writes); else the primary's.
    pub async fn read(&self) -> std::result::Result<Connection, deadpool_postgres::PoolError> {
        let Some(replica) = &self.replica else {
            return self.get().await;
        };
        match replica.get().await {
            Ok(client) => {
                let fresh = match replica::must_see() {
                    None => true,
                    Some(lsn) => replayed(&client).await >= lsn,
                };
                if fresh {
                    return Ok(Connection {
                        client,
                        statements: Statements::Prepared,
                        primary: None,
                    });
                }
            }
            Err(error) => {
                warn!(error = %error, "the read replica is unavailable: reading from the primary");
            }
        }
        self.get().await
    }

    /// A connection of its own to Postgres, never through a pooler: for what holds
    /// session state across transactions (session advisory locks, migrations).
    pub async fn session(
        &self,
    ) -> std::result::Result<deadpool_postgres::Object, deadpool_postgres::PoolError> {
        self.direct.get().await
    }

    /// Where LISTEN connects: Postgres itself, never a pooler.
    pub fn listen_url(&self) -> &str {
        &self.direct_url
    }

    /// The request pool's size and use.
    pub fn status(&self) -> deadpool_postgres::Status {
        self.connections.status()
    }
}

/// How far a replica has replayed: everything when it is not one (a primary), nothing
/// when it cannot say.
async fn replayed(client: &tokio_postgres::Client) -> u64 {
    match single_value(client, "SELECT pg_last_wal_replay_lsn()").await {
        Ok(None) => replica::UNKNOWN,
        Ok(Some(lsn)) => replica::parse_lsn(&lsn).unwrap_or(0),
        Err(_) => 0,
    }
}

/// The one value `sql` selects, over the simple protocol (no statement to prepare, so
/// through a pooler too).
async fn single_value(
    client: &tokio_postgres::Client,
    sql: &str,
) -> std::result::Result<Option<String>, PgError> {
    Ok(client
        .simple_query(sql)
        .await?
        .into_iter()
        .find_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => Some(row.get(0).map(str::to_owned)),
            _ => None,
        })
        .flatten())
}

/// One connection taken from a [`Pool`]; back to the pool when dropped.
pub struct Connection {
    client: deadpool_postgres::Object,
    statements: Statements,
    primary: Option<deadpool_postgres::Pool>,
}

impl Connection {
    /// Begins a transaction, committed by [`Transaction::commit`] and rolled back when
    /// dropped without it.
    pub async fn transaction(&mut self) -> std::result::Result<Transaction<'_>, PgError> {
        Ok(Transaction {
            transaction: self.client.transaction().await?,
            statements: &self.statements,
            primary: self.primary.as_ref(),
        })
    }
}

/// A transaction on a [`Connection`].
pub struct Transaction<'a> {
    transaction: deadpool_postgres::Transaction<'a>,
    statements: &'a Statements,
    primary: Option<&'a deadpool_postgres::Pool>,
}

impl Transaction<'_> {
    /// Commits; with a replica, records for the current call the primary's WAL position
    /// after the commit, which any connection reads as well as this one.
    pub async fn commit(self) -> std::result::Result<(), PgError> {
        self.transaction.commit().await?;
        if let Some(primary) = self.primary.filter(|_| replica::tracking()) {
            replica::wrote(wal_position(primary).await.unwrap_or(replica::UNKNOWN));
        }
        Ok(())
    }
}

/// Where the primary's WAL ends now, if it can be read.
async fn wal_position(primary: &deadpool_postgres::Pool) -> Option<u64> {
    let client = primary.get().await.ok()?;
    let lsn = single_value(&client, "SELECT pg_current_wal_insert_lsn()")
        .await
        .ok()??;
    replica::parse_lsn(&lsn)
}

/// SQL to run: a [`Statement`] made by [`GenericClient::prepare_cached`], or text, which
/// is prepared (or described) for this one use.
pub trait Sql: Sync {
    /// Which of the two.
    fn sql(&self) -> SqlRef<'_>;
}

/// What [`Sql`] is.
#[derive(Debug)]
pub enum SqlRef<'a> {
    /// Ready to run.
    Statement(&'a Statement),
    /// Text.
    Text(&'a str),
}

impl Sql for Statement {
    fn sql(&self) -> SqlRef<'_> {
        SqlRef::Statement(self)
    }
}

impl Sql for str {
    fn sql(&self) -> SqlRef<'_> {
        SqlRef::Text(self)
    }
}

impl Sql for String {
    fn sql(&self) -> SqlRef<'_> {
        SqlRef::Text(self)
    }
}

/// What the stores run their SQL on: a [`Connection`] or a [`Transaction`].
pub trait GenericClient: Sync {
    /// `sql` ready to run here, prepared once per connection or described once per process.
    fn prepare_cached(
        &self,
        sql: &str,
    ) -> impl Future<Output = std::result::Result<Statement, PgError>> + Send;

    /// The rows `sql` returns.
    fn query(
        &self,
        sql: &(impl Sql + ?Sized),
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = std::result::Result<Vec<Row>, PgError>> + Send;

    /// The one row `sql` returns (an error if none or several).
    fn query_one(
        &self,
        sql: &(impl Sql + ?Sized),
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = std::result::Result<Row, PgError>> + Send;

    /// The row `sql` returns, if any (an error if several).
    fn query_opt(
        &self,
        sql: &(impl Sql + ?Sized),
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = std::result::Result<Option<Row>, PgError>> + Send;

    /// Runs `sql`; how many rows it changed.
    fn execute(
        &self,
        sql: &(impl Sql + ?Sized),
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = std::result::Result<u64, PgError>> + Send;

    /// Runs `sql`, one or more statements without parameters (simple protocol).
    fn batch_execute(
        &self,
        sql: &str,
    ) -> impl Future<Output = std::result::Result<(), PgError>> + Send;
}

/// What a [`Connection`] or [`Transaction`] is made of: the pool's wrapper, which keeps
/// the connection's prepared statements, the client under it, and how statements run.
trait Parts: Sync {
    type Cached: deadpool_postgres::GenericClient + Sync;
    type Client: tokio_postgres::GenericClient + Sync;
    fn cached(&self) -> &Self::Cached;
    fn parts(&self) -> (&Self::Client, &Statements);
}

impl Parts for Connection {
    type Cached = deadpool_postgres::Client;
    type Client = tokio_postgres::Client;
    fn cached(&self) -> &Self::Cached {
        &self.client
    }
    fn parts(&self) -> (&Self::Client, &Statements) {
        (&self.client, &self.statements)
    }
}

impl<'a> Parts for Transaction<'a> {
    type Cached = deadpool_postgres::Transaction<'a>;
    type Client = tokio_postgres::Transaction<'a>;
    fn cached(&self) -> &Self::Cached {
        &self.transaction
    }
    fn parts(&self) -> (&Self::Client, &Statements) {
        (&self.transaction, self.statements)
    }
}

/// How one use of [`Sql`] runs here.
enum Run<'a> {
    /// By name, prepared on this connection.
    Prepared(&'a tokio_postgres::Statement),
    /// Text on a direct connection: prepared for this use by the client.
    Text(&'a str),
    /// Unnamed, with its text and parameter types.
    Unnamed(Arc<Described>),
}

impl<'a> Run<'a> {
    async fn of(
        sql: &'a (impl Sql + ?Sized),
        statements: &Statements,
    ) -> std::result::Result<Self, PgError> {
        Ok(match (sql.sql(), statements) {
            (SqlRef::Statement(Statement::Prepared(prepared)), _) => Self::Prepared(prepared),
            (SqlRef::Statement(Statement::Unnamed(described)), _) => {
                Self::Unnamed(Arc::clone(described))
            }
            (SqlRef::Text(text), Statements::Prepared) => Self::Text(text),
            (SqlRef::Text(text), Statements::Unnamed(descriptions)) => {
                Self::Unnamed(descriptions.describe(text).await?)
            }
        })
    }
}

/// `described`'s parameters, each with the type it was described with.
fn typed<'a>(
    described: &Described,
    params: &[&'a (dyn ToSql + Sync)],
) -> Vec<(&'a (dyn ToSql + Sync), Type)> {
    params
        .iter()
        .copied()
        .zip(described.types.iter().cloned())
        .collect()
}

impl<T: Parts> GenericClient for T {
    async fn prepare_cached(&self, sql: &str) -> std::result::Result<Statement, PgError> {
        match self.parts().1 {
            Statements::Prepared => Ok(Statement::Prepared(
                self.cached().prepare_cached(sql).await?,
            )),
            Statements::Unnamed(descriptions) => {
                Ok(Statement::Unnamed(descriptions.describe(sql).await?))
            }
        }
    }

    async fn query(
        &self,
        sql: &(impl Sql + ?Sized),
        params: &[&(dyn ToSql + Sync)],
    ) -> std::result::Result<Vec<Row>, PgError> {
        let (client, statements) = self.parts();
        match Run::of(sql, statements).await? {
            Run::Prepared(prepared) => client.query(prepared, params).await,
            Run::Text(text) => client.query(text, params).await,
            Run::Unnamed(described) => {
                client
                    .query_typed(&described.sql, &typed(&described, params))
                    .await
            }
        }
    }

    async fn query_one(
        &self,
        sql: &(impl Sql + ?Sized),
        params: &[&(dyn ToSql + Sync)],
    ) -> std::result::Result<Row, PgError> {
        let (client, statements) = self.parts();
        match Run::of(sql, statements).await? {
            Run::Prepared(prepared) => client.query_one(prepared, params).await,
            Run::Text(text) => client.query_one(text, params).await,
            Run::Unnamed(described) => {
                client
                    .query_typed_one(&described.sql, &typed(&described, params))
                    .await
            }
        }
    }

    async fn query_opt(
        &self,
        sql: &(impl Sql + ?Sized),
        params: &[&(dyn ToSql + Sync)],
    ) -> std::result::Result<Option<Row>, PgError> {
        let (client, statements) = self.parts();
        match Run::of(sql, statements).await? {
            Run::Prepared(prepared) => client.query_opt(prepared, params).await,
            Run::Text(text) => client.query_opt(text, params).await,
            Run::Unnamed(described) => {
                client
                    .query_typed_opt(&described.sql, &typed(&described, params))
                    .await
            }
        }
    }

    async fn execute(
        &self,
        sql: &(impl Sql + ?Sized),
        params: &[&(dyn ToSql + Sync)],
    ) -> std::result::Result<u64, PgError> {
        let (client, statements) = self.parts();
        match Run::of(sql, statements).await? {
            Run::Prepared(prepared) => client.execute(prepared, params).await,
            Run::Text(text) => client.execute(text, params).await,
            Run::Unnamed(described) => {
                client
                    .execute_typed(&described.sql, &typed(&described, params))
                    .await
            }
        }
    }

    async fn batch_execute(&self, sql: &str) -> std::result::Result<(), PgError> {
        self.parts().0.batch_execute(sql).await
    }
}

impl Descriptions {
    /// `sql` described: from memory after the first time.
    async fn describe(&self, sql: &str) -> std::result::Result<Arc<Described>, PgError> {
        if let Some(known) = self
            .described
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(sql)
        {
            return Ok(Arc::clone(known));
        }
        let mut client = self.client.lock().await;
        let live = match client.take() {
            Some(open) if !open.is_closed() => open,
            _ => {
                let (opened, connection) = self.config.connect(self.tls.clone()).await?;
                tokio::spawn(connection);
                opened
            }
        };
        // Closed when dropped, on this direct connection: nothing is left behind.
        let types = live
            .prepare(sql)
            .await
            .map(|statement| statement.params().to_vec());
        *client = Some(live);
        let described = Arc::new(Described {
            sql: sql.to_owned(),
            types: types?,
        });
        self.described
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(sql.to_owned(), Arc::clone(&described));
        Ok(described)
    }
}
