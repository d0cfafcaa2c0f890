//! Audit events are append-only for the role Roster runs as; the retention job is the one
//! way old ones go.
use std::time::Duration;

use roster_kit::clock::Clock as _;
use roster_tests::TestEnv;
use roster_tests::membership::eventually;

const SCHEMAS: [&str; 4] = ["identity", "membership", "invitation", "notification"];

/// Writes an audit event straight into `schema`, `days_ago` days before the services' now.
async fn write_event(env: &TestEnv, schema: &str, days_ago: i64) -> uuid::Uuid {
    let id = uuid::Uuid::now_v7();
    let at = env.clock.now() - chrono::Duration::days(days_ago);
    env.sql()
        .await
        .execute(
            &format!(
                "INSERT INTO {schema}.audit_events (audit_event_id, occurred_at, action, target_type, target_id)
                 VALUES ($1, $2, 'test.event', 'test', 'x')"
            ),
            &[&id, &at],
        )
        .await
        .expect("insert an audit event");
    id
}

#[tokio::test]
async fn updates_deletes_and_truncates_of_audit_events_are_refused() {
    let env = TestEnv::start().await;
    let sql = env.sql().await;
    for schema in SCHEMAS {
        write_event(&env, schema, 0).await;
        for statement in [
            format!("UPDATE {schema}.audit_events SET action = 'rewritten'"),
            format!("DELETE FROM {schema}.audit_events"),
            format!("TRUNCATE {schema}.audit_events"),
        ] {
            let refused = sql.batch_execute(&statement).await.expect_err("refused");
            let code = refused.code().expect("a database error").code();
            assert_eq!(code, "42501", "{statement}: {refused:?}");
        }
        let left: i64 = sql
            .query_one(
                &format!("SELECT count(*) FROM {schema}.audit_events WHERE action = 'test.event'"),
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(left, 1, "{schema}: the event is untouched");
    }
}

#[tokio::test]
async fn the_retention_job_deletes_only_events_older_than_the_retention() {
    let env = TestEnv::start_with(|options| {
        options.audit_retention = Some(Duration::from_secs(30 * 24 * 3600));
    })
    .await;
    let mut kept = Vec::new();
    let mut expired = Vec::new();
    for schema in SCHEMAS {
        kept.push((schema, write_event(&env, schema, 29).await));
        expired.push((schema, write_event(&env, schema, 31).await));
    }
    let exists = |schema: &'static str, id: uuid::Uuid| {
        let env = &env;
        async move {
            env.sql()
                .await
                .query_opt(
                    &format!("SELECT 1 FROM {schema}.audit_events WHERE audit_event_id = $1"),
                    &[&id],
                )
                .await
                .unwrap()
                .is_some()
        }
    };
    for (schema, id) in expired {
        eventually(Duration::from_secs(10), "the retention job", || async {
            (!exists(schema, id).await).then_some(())
        })
        .await;
    }
    for (schema, id) in kept {
        assert!(
            exists(schema, id).await,
            "{schema}: a 29-day-old event stays"
        );
    }
}
