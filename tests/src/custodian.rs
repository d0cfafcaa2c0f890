//! Custodians for the removal tests: the reference custodian (`examples/custodian`) served
//! in-process on its own database, registered with Roster, and stopped or started again at
//! the same address to play a custodian that goes down.
use std::sync::Arc;

use roster_example_custodian::{Config, Custodian};
use roster_proto::membership as pb;
use tokio::sync::oneshot;

use crate::membership::request_id;
use crate::{CUSTODIAN_TOKEN, TestEnv, as_user, drop_database, url_for};

/// A reference custodian with its own database.
pub struct TestCustodian {
    /// The name it is registered under.
    pub name: String,
    /// Its id in Roster's registry.
    pub custodian_id: String,
    /// Where it listens.
    pub address: std::net::SocketAddr,
    config: Config,
    database: String,
    running: Option<(Arc<Custodian>, oneshot::Sender<()>)>,
    /// Calls counted by the instances stopped so far.
    calls_before: u64,
    concurrent_before: u64,
}

impl TestEnv {
    /// Starts a reference custodian keeping `kinds`, answering at most `batch_size` assets
    /// per call, and registers it as `name` (as the operator). It asks Roster with a
    /// service account's API key, as a real one would.
    pub async fn start_custodian(
        &self,
        name: &str,
        kinds: &[&str],
        batch_size: i64,
    ) -> TestCustodian {
        let service_account = self
            .create_service_account(&format!("{name} custodian"))
            .await;
        let api_key = self.create_api_key(&service_account.user_id).await.secret;
        let database = format!("custodian_test_{}", uuid::Uuid::now_v7().simple());
        let (admin, connection) =
            tokio_postgres::connect(&crate::admin_url(), tokio_postgres::NoTls)
                .await
                .expect("connect to postgres");
        tokio::spawn(connection);
        admin
            .batch_execute(&format!("CREATE DATABASE {database}"))
            .await
            .expect("create the custodian's database");
        let config = Config {
            database_url: url_for(&database),
            roster_url: format!("http://{}", self.address),
            roster_api_key: api_key,
            custodian_token: CUSTODIAN_TOKEN.to_owned(),
            kinds: kinds.iter().map(|k| (*k).to_owned()).collect(),
            batch_size,
        };
        let mut custodian = TestCustodian {
            name: name.to_owned(),
            custodian_id: String::new(),
            address: ([127, 0, 0, 1], 0).into(),
            config,
            database,
            running: None,
            calls_before: 0,
            concurrent_before: 0,
        };
        custodian.start().await;
        custodian.custodian_id = self
            .register_custodian(name, &format!("http://{}", custodian.address))
            .await
            .custodian_id;
        custodian
    }

    /// CreateCustodian as the operator.
    pub async fn register_custodian(&self, name: &str, url: &str) -> pb::Custodian {
        let request = pb::CreateCustodianRequest {
            custodian: Some(pb::Custodian {
                name: name.to_owned(),
                url: url.to_owned(),
                description: format!("the reference custodian, as {name}"),
                ..Default::default()
            }),
            request_id: request_id(),
        };
        self.membership()
            .create_custodian(as_user(&self.operator_token, request))
            .await
            .expect("register the custodian")
            .into_inner()
            .custodian
            .expect("custodian")
    }
}

impl TestCustodian {
    /// Serves it (again) at its address.
    pub async fn start(&mut self) {
        assert!(self.running.is_none(), "the custodian is running already");
        let listener = tokio::net::TcpListener::bind(self.address)
            .await
            .expect("bind the custodian's address");
        self.address = listener.local_addr().expect("address");
        let custodian = Custodian::start(self.config.clone())
            .await
            .expect("start the custodian");
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = Arc::clone(&custodian);
        tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(error) = serving.serve(listener, shutdown).await {
                eprintln!("test custodian failed: {error}");
            }
        });
        self.running = Some((custodian, stop));
    }

    /// Stops serving: Roster's calls fail to connect until [`Self::start`].
    pub async fn stop(&mut self) {
        if let Some((custodian, stop)) = self.running.take() {
            self.calls_before += custodian.calls();
            self.concurrent_before += custodian.concurrent_calls();
            let _ = stop.send(());
            // Until the listener is closed, a new bind at the same port fails.
            for _ in 0..100 {
                if tokio::net::TcpStream::connect(self.address).await.is_err() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    }

    /// Transfer and delete calls it received.
    pub fn calls(&self) -> u64 {
        self.calls_before + self.running.as_ref().map_or(0, |(c, _)| c.calls())
    }

    /// Calls that arrived while another call of the same operation ran.
    pub fn concurrent_calls(&self) -> u64 {
        self.concurrent_before
            + self
                .running
                .as_ref()
                .map_or(0, |(c, _)| c.concurrent_calls())
    }

    /// A direct connection to its database.
    pub async fn sql(&self) -> tokio_postgres::Client {
        let (client, connection) =
            tokio_postgres::connect(&self.config.database_url, tokio_postgres::NoTls)
                .await
                .expect("connect to the custodian's database");
        tokio::spawn(connection);
        client
            .batch_execute("SET search_path TO example_custodian")
            .await
            .expect("search path");
        client
    }

    /// Inserts `count` assets of `kind` owned by `owner` in a workspace, straight into its
    /// database (fast, for large owners).
    pub async fn seed(
        &self,
        account_id: &str,
        workspace_id: &str,
        owner: &str,
        kind: &str,
        count: i64,
        transferable: bool,
    ) {
        let ids = |id: &str| uuid::Uuid::parse_str(id).expect("uuid");
        self.sql()
            .await
            .execute(
                "INSERT INTO assets (asset_id, account_id, workspace_id, owner_user_id, kind, name, transferable)
                 SELECT gen_random_uuid(), $1, $2, $3, $4, $4 || ' ' || n, $6
                 FROM generate_series(1, $5::bigint) AS n",
                &[&ids(account_id), &ids(workspace_id), &ids(owner), &kind, &count, &transferable],
            )
            .await
            .expect("seed assets");
    }

    /// How many assets `owner` holds in a workspace.
    pub async fn owned(&self, workspace_id: &str, owner: &str) -> i64 {
        let ids = |id: &str| uuid::Uuid::parse_str(id).expect("uuid");
        self.sql()
            .await
            .query_one(
                "SELECT count(*) FROM assets WHERE workspace_id = $1 AND owner_user_id = $2",
                &[&ids(workspace_id), &ids(owner)],
            )
            .await
            .expect("count assets")
            .get(0)
    }
}

impl Drop for TestCustodian {
    fn drop(&mut self) {
        if let Some((_, stop)) = self.running.take() {
            let _ = stop.send(());
        }
        drop_database(&self.database);
    }
}
