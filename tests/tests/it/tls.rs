//! Postgres over TLS: a private Postgres that accepts only TLS, with a self-signed
//! certificate made here, and Roster connecting to it by `sslmode`.
use std::time::Duration;

use roster::Databases;
use roster_tests::TestEnv;
use roster_tests::postgres::PrivatePostgres;
use tokio_postgres::error::SqlState;

/// Connects as the services do (the kit's URL parsing and TLS), runs one query.
async fn connect(url: &str) -> Result<bool, tokio_postgres::Error> {
    let (config, tls) = roster_kit::db::pg_config(url).await.expect("valid url");
    let (client, connection) = config.connect(tls).await?;
    tokio::spawn(connection);
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await?;
    Ok(row.get(0))
}

#[tokio::test]
async fn roster_connects_to_a_tls_only_postgres_by_sslmode() {
    tokio::time::timeout(Duration::from_secs(120), async {
        let postgres = tokio::task::spawn_blocking(PrivatePostgres::start_tls_only)
            .await
            .expect("start the private postgres");
        let certificate = postgres.certificate();
        let root = format!("sslrootcert={}", certificate.display());

        // Every service, its migrations, pools and membership's LISTEN, over TLS
        // without verification (libpq's require). Dropped before the instance stops.
        let env = TestEnv::start_with(|options| {
            options.databases = Databases::Single(postgres.url("127.0.0.1", "sslmode=require"));
        })
        .await;
        let user = env
            .create_user("tls@roster.test", "a long enough password")
            .await;
        assert_eq!(env.get_user(&user.user_id).await.email, "tls@roster.test");

        let admin = postgres.url("localhost", &format!("sslmode=verify-full&{root}"));
        let (config, tls) = roster_kit::db::pg_config(&admin).await.expect("valid url");
        let (sql, connection) = config.connect(tls).await.expect("verify-full connects");
        tokio::spawn(connection);
        let stored: i64 = sql
            .query_one(
                "SELECT count(*) FROM identity.users WHERE email = 'tls@roster.test'",
                &[],
            )
            .await
            .expect("count the user")
            .get(0);
        assert_eq!(stored, 1);
        // Membership listens for access changes on its own connection, over TLS too.
        let mut listening = 0;
        for _ in 0..50 {
            listening = sql
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
                     WHERE a.query LIKE 'LISTEN%' AND s.ssl",
                    &[],
                )
                .await
                .expect("count listeners")
                .get::<_, i64>(0);
            if listening > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(listening > 0, "membership's LISTEN connection over TLS");
        let plain: i64 = sql
            .query_one(
                "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
                 WHERE a.datname = 'roster' AND NOT s.ssl",
                &[],
            )
            .await
            .expect("count plain connections")
            .get(0);
        assert_eq!(plain, 0);
        drop(env);

        // The server accepts no plain connection.
        let refused = connect(&postgres.url("127.0.0.1", "sslmode=disable"))
            .await
            .expect_err("sslmode=disable is refused");
        assert_eq!(
            refused.code(),
            Some(&SqlState::INVALID_AUTHORIZATION_SPECIFICATION),
            "{refused}"
        );

        // require and prefer encrypt; verify-full checks the chain and the name.
        for params in ["sslmode=require", "sslmode=prefer"] {
            let ssl = connect(&postgres.url("127.0.0.1", params)).await;
            assert!(ssl.expect(params), "{params} is encrypted");
        }
        let verified = connect(&postgres.url("localhost", &format!("sslmode=verify-full&{root}")))
            .await
            .expect("verify-full with the certificate as root");
        assert!(verified);
        let unknown = connect(&postgres.url("localhost", "sslmode=verify-full"))
            .await
            .expect_err("verify-full without the root");
        assert!(
            format!("{unknown:?}").contains("UnknownIssuer"),
            "{unknown:?}"
        );
        // verify-ca checks the chain only; the certificate names localhost, not 127.0.0.1.
        let wrong_name =
            connect(&postgres.url("127.0.0.1", &format!("sslmode=verify-full&{root}")))
                .await
                .expect_err("verify-full with a host the certificate does not name");
        assert!(
            format!("{wrong_name:?}").contains("NotValidForName"),
            "{wrong_name:?}"
        );
        let chain_only = connect(&postgres.url("127.0.0.1", &format!("sslmode=verify-ca&{root}")))
            .await
            .expect("verify-ca with the certificate as root");
        assert!(chain_only);
        let unknown_ca = connect(&postgres.url("127.0.0.1", "sslmode=verify-ca"))
            .await
            .expect_err("verify-ca without the root");
        assert!(
            format!("{unknown_ca:?}").contains("UnknownIssuer"),
            "{unknown_ca:?}"
        );
        // require with a root verifies the chain, as libpq does.
        let require_with_root =
            connect(&postgres.url("127.0.0.1", &format!("sslmode=require&{root}")))
                .await
                .expect("require with the certificate as root");
        assert!(require_with_root);
    })
    .await
    .expect("the TLS test finishes within two minutes");
}
