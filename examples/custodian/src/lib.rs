//! A reference asset custodian: a small service that owns "flows" and "datasets" in its own
//! Postgres schema, implements `roster.custodian.v1.AssetCustodianService` so Roster can transfer
//! and delete a removed member's assets, and asks Roster who may act on an owner's assets.
//!
//! What a team integrating Roster copies from here:
//! - Roster's calls are authenticated with the shared credential both sides configure
//!   (`CUSTODIAN_TOKEN` here, `ROSTER_CUSTODIAN_TOKEN` on Roster's side).
//! - Transfer and delete are idempotent by operation id: the operation is a row, created
//!   on the first call and advanced (one batch per call) under that row's lock, so a
//!   repeated or concurrent call never moves or deletes anything twice.
//! - Owner-scoped actions ask membership's `CheckAssetAccess`, which lets workspace
//!   administrators act for a suspended or removed owner and never the owner themself.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use roster_proto::custodian as custodian_pb;
use roster_proto::custodian::asset_custodian_service_server::{
    AssetCustodianService, AssetCustodianServiceServer,
};
use roster_proto::identity as identity_pb;
use roster_proto::identity::identity_service_client::IdentityServiceClient;
use roster_proto::membership as membership_pb;
use roster_proto::membership::membership_service_client::MembershipServiceClient;
use tokio::net::TcpListener;
use tokio_postgres::NoTls;
use tonic::metadata::MetadataMap;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Server};
use tonic::{Request, Response, Status};
use uuid::Uuid;

/// The custodian's own API (`example.assets.v1`).
pub mod pb {
    #![allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
    tonic::include_proto!("example.assets.v1");
}

use pb::asset_service_server::{AssetService, AssetServiceServer};

/// The schema the custodian keeps its tables in.
const SCHEMA: &str = "example_custodian";

/// What the custodian needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Its own database.
    pub database_url: String,
    /// Where Roster serves identity and membership.
    pub roster_url: String,
    /// An API key of a Roster service account, to ask CheckAssetAccess.
    pub roster_api_key: String,
    /// The credential Roster presents when it calls (`ROSTER_CUSTODIAN_TOKEN` there).
    pub custodian_token: String,
    /// The kinds of asset it keeps.
    pub kinds: Vec<String>,
    /// Assets moved or deleted per call: a larger operation answers RUNNING and goes on
    /// with the next call.
    pub batch_size: i64,
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// The running custodian: its database, its Roster clients and what it counts.
#[derive(Debug)]
pub struct Custodian {
    pool: Pool,
    config: Config,
    identity: IdentityServiceClient<Channel>,
    membership: MembershipServiceClient<Channel>,
    calls: AtomicU64,
    concurrent_calls: AtomicU64,
    in_flight: Mutex<HashSet<String>>,
}

fn unavailable(error: impl std::fmt::Display) -> Status {
    tracing::warn!(%error, "database unavailable");
    Status::unavailable("the custodian's database is unavailable; retry later")
}

fn parse_id(field: &str, value: &str) -> Result<Uuid, Status> {
    Uuid::parse_str(value).map_err(|_| Status::invalid_argument(format!("{field} must be a UUID")))
}

fn bearer(metadata: &MetadataMap) -> Result<&str, Status> {
    metadata
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or_else(|| Status::unauthenticated("authorization: Bearer <token> is required"))
}

/// What one call to transfer or delete asks.
#[derive(Debug, PartialEq, Eq)]
struct Asked {
    operation_id: String,
    verb: &'static str,
    workspace_id: Uuid,
    owner_user_id: Uuid,
    receiver_user_id: Option<Uuid>,
}

impl Custodian {
    /// Connects to its database (creating its tables) and to Roster.
    pub async fn start(config: Config) -> Result<Arc<Self>, Failure> {
        let pg: tokio_postgres::Config = config.database_url.parse()?;
        let manager = Manager::from_config(
            pg,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager).max_size(8).build()?;
        let client = pool.get().await?;
        client
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {SCHEMA}; SET search_path TO {SCHEMA}; {}",
                include_str!("../migrations/0001_assets.sql")
            ))
            .await?;
        drop(client);
        let channel = Channel::from_shared(config.roster_url.clone())?
            .timeout(Duration::from_secs(10))
            .connect_lazy();
        Ok(Arc::new(Self {
            pool,
            identity: IdentityServiceClient::new(channel.clone()),
            membership: MembershipServiceClient::new(channel),
            config,
            calls: AtomicU64::new(0),
            concurrent_calls: AtomicU64::new(0),
            in_flight: Mutex::new(HashSet::new()),
        }))
    }

    /// Transfer and delete calls received so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Calls that arrived while another call of the same operation was running (Roster
    /// promises none; the operation's row lock keeps them harmless anyway).
    pub fn concurrent_calls(&self) -> u64 {
        self.concurrent_calls.load(Ordering::Relaxed)
    }

    /// Serves the custodian protocol and the asset API on `listener` until `shutdown`.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), Failure> {
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        Server::builder()
            .add_service(AssetCustodianServiceServer::from_arc(Arc::clone(&self)))
            .add_service(AssetServiceServer::from_arc(self))
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await?;
        Ok(())
    }

    async fn db(&self) -> Result<deadpool_postgres::Object, Status> {
        let client = self.pool.get().await.map_err(unavailable)?;
        client
            .batch_execute(&format!("SET search_path TO {SCHEMA}"))
            .await
            .map_err(unavailable)?;
        Ok(client)
    }

    /// Only Roster, with the configured credential, calls the custodian protocol.
    fn check_roster(&self, metadata: &MetadataMap) -> Result<(), Status> {
        if bearer(metadata)? == self.config.custodian_token {
            Ok(())
        } else {
            Err(Status::unauthenticated("unknown credential"))
        }
    }

    /// Who the caller is, as Roster's identity says.
    async fn caller(&self, metadata: &MetadataMap) -> Result<Uuid, Status> {
        let token = bearer(metadata)?.to_owned();
        let principal = self
            .identity
            .clone()
            .authenticate(identity_pb::AuthenticateRequest { token })
            .await?
            .into_inner()
            .principal
            .ok_or_else(|| Status::unauthenticated("no principal"))?;
        parse_id("principal.user_id", &principal.user_id)
    }

    /// Refuses unless Roster says `actor` may act on `owner`'s assets in the workspace.
    async fn require_access(
        &self,
        workspace_id: Uuid,
        owner: Uuid,
        actor: Uuid,
    ) -> Result<(), Status> {
        let mut request = Request::new(membership_pb::CheckAssetAccessRequest {
            workspace_id: workspace_id.to_string(),
            owner_user_id: owner.to_string(),
            actor_user_id: actor.to_string(),
        });
        let key = format!("Bearer {}", self.config.roster_api_key);
        request.metadata_mut().insert(
            "authorization",
            key.parse()
                .map_err(|_| Status::internal("the Roster API key is not valid metadata"))?,
        );
        let answer = self
            .membership
            .clone()
            .check_asset_access(request)
            .await?
            .into_inner();
        if answer.allowed {
            Ok(())
        } else {
            Err(Status::permission_denied(format!(
                "not allowed: {}",
                answer.reason().as_str_name()
            )))
        }
    }

    /// Starts the operation on its first call, then advances it by one batch per call
    /// until it is done; every call answers its state.
    async fn operate(&self, asked: Asked) -> Result<custodian_pb::Operation, Status> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let _flight = InFlight::enter(self, &asked.operation_id);
        let mut client = self.db().await?;
        let tx = client.transaction().await.map_err(unavailable)?;
        let owned: i64 = tx
            .query_one(
                "SELECT count(*) FROM assets WHERE workspace_id = $1 AND owner_user_id = $2",
                &[&asked.workspace_id, &asked.owner_user_id],
            )
            .await
            .map_err(unavailable)?
            .get(0);
        tx.execute(
            "INSERT INTO operations (operation_id, verb, workspace_id, owner_user_id, receiver_user_id, state, total)
             VALUES ($1, $2, $3, $4, $5, 'running', $6) ON CONFLICT (operation_id) DO NOTHING",
            &[
                &asked.operation_id,
                &asked.verb,
                &asked.workspace_id,
                &asked.owner_user_id,
                &asked.receiver_user_id,
                &owned,
            ],
        )
        .await
        .map_err(unavailable)?;
        // The row lock serializes every call of one operation.
        let row = tx
            .query_one(
                "SELECT verb, workspace_id, owner_user_id, receiver_user_id, state, done, total, completed
                 FROM operations WHERE operation_id = $1 FOR UPDATE",
                &[&asked.operation_id],
            )
            .await
            .map_err(unavailable)?;
        let recorded = Asked {
            operation_id: asked.operation_id.clone(),
            verb: if row.get::<_, &str>("verb") == "delete" {
                "delete"
            } else {
                "transfer"
            },
            workspace_id: row.get("workspace_id"),
            owner_user_id: row.get("owner_user_id"),
            receiver_user_id: row.get("receiver_user_id"),
        };
        if recorded != asked {
            return Err(Status::failed_precondition(
                "this operation_id was used for another operation",
            ));
        }
        let mut state: String = row.get("state");
        let mut done: i64 = row.get("done");
        let total: i64 = row.get("total");
        let mut completed: BTreeMap<String, i64> =
            serde_json::from_value(row.get("completed")).unwrap_or_default();
        if state == "running" {
            let batch = self.next_batch(&tx, &asked).await?;
            for kind in &batch {
                *completed.entry(kind.clone()).or_default() += 1;
            }
            done += batch.len() as i64;
            if (batch.len() as i64) < self.config.batch_size {
                state = "succeeded".to_owned();
            }
            tx.execute(
                "UPDATE operations SET state = $2, done = $3, completed = $4, updated_at = now()
                 WHERE operation_id = $1",
                &[
                    &asked.operation_id,
                    &state,
                    &done,
                    &serde_json::json!(completed),
                ],
            )
            .await
            .map_err(unavailable)?;
        }
        let (failures, failed_count) = if state == "succeeded" && asked.verb == "transfer" {
            self.kept_back(&tx, &asked).await?
        } else {
            (Vec::new(), 0)
        };
        tx.commit().await.map_err(unavailable)?;
        Ok(custodian_pb::Operation {
            operation_id: asked.operation_id,
            state: if state == "succeeded" {
                custodian_pb::OperationState::Succeeded
            } else {
                custodian_pb::OperationState::Running
            }
            .into(),
            done,
            total,
            completed: completed
                .into_iter()
                .map(|(kind, count)| custodian_pb::AssetCount { kind, count })
                .collect(),
            failures,
            failed_count,
            retry_after: (state == "running")
                .then(|| prost_types::Duration::try_from(Duration::from_millis(100)).ok())
                .flatten(),
        })
    }

    /// Moves or deletes the next batch of the owner's assets; their kinds.
    async fn next_batch(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        asked: &Asked,
    ) -> Result<Vec<String>, Status> {
        let rows = match asked.receiver_user_id {
            Some(receiver) => {
                tx.query(
                    "UPDATE assets SET owner_user_id = $4 WHERE asset_id IN (
                         SELECT asset_id FROM assets
                         WHERE workspace_id = $1 AND owner_user_id = $2 AND transferable
                         ORDER BY asset_id LIMIT $3 FOR UPDATE)
                     RETURNING kind",
                    &[
                        &asked.workspace_id,
                        &asked.owner_user_id,
                        &self.config.batch_size,
                        &receiver,
                    ],
                )
                .await
            }
            None => {
                tx.query(
                    "DELETE FROM assets WHERE asset_id IN (
                         SELECT asset_id FROM assets WHERE workspace_id = $1 AND owner_user_id = $2
                         ORDER BY asset_id LIMIT $3 FOR UPDATE)
                     RETURNING kind",
                    &[
                        &asked.workspace_id,
                        &asked.owner_user_id,
                        &self.config.batch_size,
                    ],
                )
                .await
            }
        }
        .map_err(unavailable)?;
        Ok(rows.iter().map(|row| row.get("kind")).collect())
    }

    /// The owner's assets a transfer left behind (not transferable): up to 100, and how many.
    async fn kept_back(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        asked: &Asked,
    ) -> Result<(Vec<custodian_pb::ItemFailure>, i64), Status> {
        let rows = tx
            .query(
                "SELECT asset_id, kind, count(*) OVER () AS kept FROM assets
                 WHERE workspace_id = $1 AND owner_user_id = $2 AND NOT transferable
                 ORDER BY asset_id LIMIT 100",
                &[&asked.workspace_id, &asked.owner_user_id],
            )
            .await
            .map_err(unavailable)?;
        let count = rows.first().map_or(0, |row| row.get::<_, i64>("kept"));
        let failures = rows
            .iter()
            .map(|row| custodian_pb::ItemFailure {
                kind: row.get("kind"),
                asset_id: row.get::<_, Uuid>("asset_id").to_string(),
                message: "only its owner may hold it".to_owned(),
            })
            .collect();
        Ok((failures, count))
    }

    fn kind(&self, kind: &str) -> Result<String, Status> {
        if self.config.kinds.iter().any(|k| k == kind) {
            Ok(kind.to_owned())
        } else {
            Err(Status::invalid_argument(format!(
                "kind must be one of {}",
                self.config.kinds.join(", ")
            )))
        }
    }
}

/// Marks an operation as being called while alive, counting overlaps.
struct InFlight<'a> {
    custodian: &'a Custodian,
    operation_id: String,
}

impl<'a> InFlight<'a> {
    fn enter(custodian: &'a Custodian, operation_id: &str) -> Self {
        if let Ok(mut running) = custodian.in_flight.lock()
            && !running.insert(operation_id.to_owned())
        {
            custodian.concurrent_calls.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                operation_id,
                "an operation was called while another call of it ran"
            );
        }
        Self {
            custodian,
            operation_id: operation_id.to_owned(),
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Ok(mut running) = self.custodian.in_flight.lock() {
            running.remove(&self.operation_id);
        }
    }
}

fn asset_from_row(row: &tokio_postgres::Row) -> pb::Asset {
    pb::Asset {
        asset_id: row.get::<_, Uuid>("asset_id").to_string(),
        workspace_id: row.get::<_, Uuid>("workspace_id").to_string(),
        owner_user_id: row.get::<_, Uuid>("owner_user_id").to_string(),
        kind: row.get("kind"),
        name: row.get("name"),
        transferable: row.get("transferable"),
    }
}

fn asset_name(name: &str) -> Result<String, Status> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(Status::invalid_argument(
            "name must be 1 to 200 printable characters",
        ));
    }
    Ok(name.to_owned())
}

#[tonic::async_trait]
impl AssetCustodianService for Custodian {
    async fn describe_assets(
        &self,
        request: Request<custodian_pb::DescribeAssetsRequest>,
    ) -> Result<Response<custodian_pb::DescribeAssetsResponse>, Status> {
        self.check_roster(request.metadata())?;
        let message = request.get_ref();
        let workspace_id = parse_id("workspace_id", &message.workspace_id)?;
        let owner = parse_id("owner_user_id", &message.owner_user_id)?;
        let rows = self
            .db()
            .await?
            .query(
                "SELECT kind, count(*) AS owned, count(*) FILTER (WHERE NOT transferable) AS kept
                 FROM assets WHERE workspace_id = $1 AND owner_user_id = $2 GROUP BY kind",
                &[&workspace_id, &owner],
            )
            .await
            .map_err(unavailable)?;
        let count_of = |kind: &str, column: &str| {
            rows.iter()
                .find(|row| row.get::<_, &str>("kind") == kind)
                .map_or(0, |row| row.get::<_, i64>(column))
        };
        let assets = self
            .config
            .kinds
            .iter()
            .map(|kind| custodian_pb::AssetCount {
                kind: kind.clone(),
                count: count_of(kind, "owned"),
            })
            .collect();
        let blockers = if message.receiver_user_id.is_empty() {
            Vec::new()
        } else {
            self.config
                .kinds
                .iter()
                .filter(|kind| count_of(kind, "kept") > 0)
                .map(|kind| custodian_pb::Blocker {
                    kind: kind.clone(),
                    code: "OWNER_ONLY".to_owned(),
                    message: format!(
                        "{} {kind}s may only be held by their owner",
                        count_of(kind, "kept")
                    ),
                    count: count_of(kind, "kept"),
                })
                .collect()
        };
        Ok(Response::new(custodian_pb::DescribeAssetsResponse {
            assets,
            blockers,
        }))
    }

    async fn transfer_assets(
        &self,
        request: Request<custodian_pb::TransferAssetsRequest>,
    ) -> Result<Response<custodian_pb::TransferAssetsResponse>, Status> {
        self.check_roster(request.metadata())?;
        let message = request.into_inner();
        let asked = Asked {
            workspace_id: parse_id("workspace_id", &message.workspace_id)?,
            owner_user_id: parse_id("owner_user_id", &message.owner_user_id)?,
            receiver_user_id: Some(parse_id("receiver_user_id", &message.receiver_user_id)?),
            verb: "transfer",
            operation_id: message.operation_id,
        };
        let operation = self.operate(asked).await?;
        Ok(Response::new(custodian_pb::TransferAssetsResponse {
            operation: Some(operation),
        }))
    }

    async fn delete_assets(
        &self,
        request: Request<custodian_pb::DeleteAssetsRequest>,
    ) -> Result<Response<custodian_pb::DeleteAssetsResponse>, Status> {
        self.check_roster(request.metadata())?;
        let message = request.into_inner();
        let asked = Asked {
            workspace_id: parse_id("workspace_id", &message.workspace_id)?,
            owner_user_id: parse_id("owner_user_id", &message.owner_user_id)?,
            receiver_user_id: None,
            verb: "delete",
            operation_id: message.operation_id,
        };
        let operation = self.operate(asked).await?;
        Ok(Response::new(custodian_pb::DeleteAssetsResponse {
            operation: Some(operation),
        }))
    }
}

#[tonic::async_trait]
impl AssetService for Custodian {
    async fn create_asset(
        &self,
        request: Request<pb::CreateAssetRequest>,
    ) -> Result<Response<pb::CreateAssetResponse>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let message = request.into_inner();
        let account_id = parse_id("account_id", &message.account_id)?;
        let workspace_id = parse_id("workspace_id", &message.workspace_id)?;
        let kind = self.kind(&message.kind)?;
        let name = asset_name(&message.name)?;
        self.require_access(workspace_id, caller, caller).await?;
        let row = self
            .db()
            .await?
            .query_one(
                "INSERT INTO assets (asset_id, account_id, workspace_id, owner_user_id, kind, name, transferable)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
                &[&Uuid::now_v7(), &account_id, &workspace_id, &caller, &kind, &name, &message.transferable],
            )
            .await
            .map_err(unavailable)?;
        Ok(Response::new(pb::CreateAssetResponse {
            asset: Some(asset_from_row(&row)),
        }))
    }

    async fn list_assets(
        &self,
        request: Request<pb::ListAssetsRequest>,
    ) -> Result<Response<pb::ListAssetsResponse>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let message = request.get_ref();
        let workspace_id = parse_id("workspace_id", &message.workspace_id)?;
        let owner = parse_id("owner_user_id", &message.owner_user_id)?;
        self.require_access(workspace_id, owner, caller).await?;
        let rows = self
            .db()
            .await?
            .query(
                "SELECT * FROM assets WHERE workspace_id = $1 AND owner_user_id = $2
                 ORDER BY name, asset_id LIMIT 1000",
                &[&workspace_id, &owner],
            )
            .await
            .map_err(unavailable)?;
        Ok(Response::new(pb::ListAssetsResponse {
            assets: rows.iter().map(asset_from_row).collect(),
        }))
    }

    async fn rename_asset(
        &self,
        request: Request<pb::RenameAssetRequest>,
    ) -> Result<Response<pb::RenameAssetResponse>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let message = request.into_inner();
        let asset_id = parse_id("asset_id", &message.asset_id)?;
        let name = asset_name(&message.name)?;
        let db = self.db().await?;
        let asset = db
            .query_opt(
                "SELECT workspace_id, owner_user_id FROM assets WHERE asset_id = $1",
                &[&asset_id],
            )
            .await
            .map_err(unavailable)?
            .ok_or_else(|| Status::not_found("no such asset"))?;
        self.require_access(
            asset.get("workspace_id"),
            asset.get("owner_user_id"),
            caller,
        )
        .await?;
        let row = db
            .query_one(
                "UPDATE assets SET name = $2 WHERE asset_id = $1 RETURNING *",
                &[&asset_id, &name],
            )
            .await
            .map_err(unavailable)?;
        Ok(Response::new(pb::RenameAssetResponse {
            asset: Some(asset_from_row(&row)),
        }))
    }
}
