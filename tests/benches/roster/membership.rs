//! Throughput and latency of `roster.membership.v1.MembershipService`'s two hot reads, in
//! two tables:
//!
//! - `ListMembers` over a workspace of 100,000 members (seeded with SQL), page size 50,
//!   at 8 concurrent callers: the first page and a page deep in the list, ordered by
//!   display name and by email, with and without a search term. Keyset paging on indexes
//!   should answer a deep page in about the time of the first.
//! - `CheckPermission` at 64 concurrent callers beside the bare tonic baseline: cache
//!   hits (the same few checks over and over), cache misses (each call a member never
//!   checked before) and cache hits for a caller authenticated by identity (an operator
//!   API key) rather than by the local service credential; then `GetMember` of a
//!   different member each call. Last, `pgbench` runs the SQL of a CheckPermission cache
//!   miss and of a GetMember at the same client count against the same database.
//!
//! Under each table it prints the database transactions per measured call (from
//! `pg_stat_database`), which tells a cache hit from a miss and counts round trips.
//! The server runs with the production pool and membership settings.
//!
//! Run with `cargo bench -p roster-tests --bench roster -- membership`. It needs
//! Postgres as the tests do (`ROSTER_TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`). `ROSTER_BENCH_SECONDS` sets how long
//! each target is measured (default 5, after a 1 s warm-up).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use roster_proto::membership as pb;
use roster_proto::membership::membership_service_client::MembershipServiceClient;
use roster_tests::load::{self, Call, Concurrency, Target};
use roster_tests::{TestEnv, as_user};
use tonic::Status;
use tonic::transport::Channel;
use uuid::Uuid;

/// Members of the listed workspace.
const MEMBERS: i32 = 100_000;
/// Members per ListMembers page.
const PAGE_SIZE: i32 = 50;
/// How far in the "deep" page of an unfiltered list is (page 1001: members 50,001 on).
const DEEP_PAGES: usize = 1000;
/// A search term matching a few percent of the members (two of the surnames).
const QUERY: &str = "kowal";
/// A search term matching a few hundred members (0.3%): digits of the emails' numbers.
const RARE_QUERY: &str = "777";
/// The permission checked: one a custom role of every member grants.
const PERMISSION: &str = "flows.create";
/// Distinct checks the cache-hit rows repeat.
const HIT_CHECKS: usize = 8;

/// ListMembers: a modest number of callers, one connection each.
const LIST_CONCURRENCY: Concurrency = Concurrency {
    callers: 8,
    connections: 8,
};
/// CheckPermission: 64 callers, 8 to a connection (as the authenticate bench).
const CHECK_CONCURRENCY: Concurrency = Concurrency {
    callers: 64,
    connections: 8,
};

const FIRST_NAMES: &[&str] = &[
    "Aaliyah",
    "Adrian",
    "Aisha",
    "Alejandro",
    "Amara",
    "Anders",
    "Anna",
    "Arjun",
    "Beatriz",
    "Benjamin",
    "Chen",
    "Chiara",
    "Daniel",
    "Dmitri",
    "Elena",
    "Emeka",
    "Emma",
    "Fatima",
    "Felix",
    "Grace",
    "Hannah",
    "Hiroshi",
    "Ibrahim",
    "Ingrid",
    "Isabel",
    "James",
    "Jin",
    "Julia",
    "Kwame",
    "Laila",
    "Liam",
    "Lucia",
    "Mateo",
    "Maya",
    "Mei",
    "Mohammed",
    "Nadia",
    "Noah",
    "Olga",
    "Oliver",
    "Omar",
    "Paulo",
    "Priya",
    "Rafael",
    "Rosa",
    "Samuel",
    "Sara",
    "Sebastian",
    "Sofia",
    "Tariq",
    "Thomas",
    "Valentina",
    "Victor",
    "Wei",
    "Yara",
    "Yusuf",
    "Zainab",
    "Zoe",
    "Astrid",
    "Bruno",
];

const LAST_NAMES: &[&str] = &[
    "Abbott",
    "Adeyemi",
    "Andersson",
    "Bauer",
    "Becker",
    "Brown",
    "Castillo",
    "Chowdhury",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fernandes",
    "Fischer",
    "Garcia",
    "Gonzalez",
    "Gupta",
    "Haddad",
    "Hansen",
    "Herrera",
    "Hoffmann",
    "Ivanova",
    "Jensen",
    "Johnson",
    "Kim",
    "Kowalczyk",
    "Kowalski",
    "Larsen",
    "Lee",
    "Lopez",
    "Martin",
    "Meyer",
    "Moreau",
    "Murphy",
    "Nakamura",
    "Nguyen",
    "Novak",
    "Okafor",
    "Olsen",
    "Patel",
    "Perez",
    "Petrov",
    "Quinn",
    "Rahman",
    "Reyes",
    "Rossi",
    "Santos",
    "Schmidt",
    "Silva",
    "Singh",
    "Sato",
    "Tanaka",
    "Thompson",
    "Torres",
    "Usman",
    "Varga",
    "Wagner",
    "Walsh",
    "Weber",
    "Yilmaz",
    "Zhang",
];

const DOMAINS: &[&str] = &[
    "acme.example",
    "globex.example",
    "initech.example",
    "umbrella.example",
    "hooli.example",
];

/// One statement: 100,000 users in membership's copy of identity's users and as members
/// of the workspace. About 1% are service accounts and 2% are suspended; names repeat as
/// they do in a large company (ties are broken by user id), emails are unique. User ids
/// are UUIDv7-shaped, ascending with the member number.
const SEED: &str = "
WITH generated AS (
    SELECT
        i,
        (lpad(to_hex($8::bigint + i), 12, '0') || '7' || substr(hash, 1, 3) || '8'
            || substr(hash, 4, 15))::uuid AS user_id,
        CASE WHEN i % 100 = 7 THEN 'service' ELSE 'human' END AS kind,
        first_name,
        last_name,
        ($3::text[])[1 + (get_byte(bytes, 4) * 256 + get_byte(bytes, 5)) % cardinality($3::text[])]
            AS domain,
        CASE WHEN i % 50 = 11 THEN 'suspended' ELSE 'active' END AS status,
        now() - make_interval(mins => i) AS joined_at
    FROM generate_series(1, $4::int) AS i
    CROSS JOIN LATERAL (SELECT md5('member ' || i) AS hash) AS h
    CROSS JOIN LATERAL (SELECT decode(hash, 'hex') AS bytes) AS b
    CROSS JOIN LATERAL (
        SELECT
            ($1::text[])[1 + (get_byte(bytes, 0) * 256 + get_byte(bytes, 1)) % cardinality($1::text[])]
                AS first_name,
            ($2::text[])[1 + (get_byte(bytes, 2) * 256 + get_byte(bytes, 3)) % cardinality($2::text[])]
                AS last_name
    ) AS names
),
named AS (
    SELECT
        generated.*,
        CASE WHEN kind = 'service'
            THEN 'Deploy bot ' || i
            ELSE first_name || ' ' || last_name END AS display_name,
        CASE WHEN kind = 'service'
            THEN 'deploy-bot-' || i || '@svc.' || domain
            ELSE lower(first_name) || '.' || lower(last_name) || '.' || i || '@' || domain END
            AS email
    FROM generated
),
users AS (
    INSERT INTO membership.users (user_id, kind, email, display_name, status, change_seq)
    SELECT user_id, kind, email, display_name, 'active', 0 FROM named
    RETURNING user_id
)
INSERT INTO membership.members (
    account_id, workspace_id, user_id, status, role_ids, kind, email, display_name,
    joined_at, suspended_at, updated_at
)
SELECT
    $5::uuid, $6::uuid, user_id, status, $7::uuid[], kind, email, display_name,
    joined_at, CASE WHEN status = 'suspended' THEN joined_at + interval '1 day' END,
    joined_at
FROM named
";

/// The listed workspace.
struct Workspace {
    account_id: String,
    workspace_id: String,
    /// The roles every seeded member holds (built-in member, and one granting PERMISSION).
    role_ids: Vec<String>,
}

fn uuid(id: &str) -> Uuid {
    Uuid::parse_str(id).expect("a UUID")
}

/// An account, a custom role granting `PERMISSION` and a workspace, created as the
/// operator through the RPCs so that every row and role exists as the service makes them.
async fn create_workspace(env: &TestEnv) -> Workspace {
    let token = &env.operator_token;
    let mut client = env.membership();
    let account = client
        .create_account(as_user(
            token,
            pb::CreateAccountRequest {
                name: "Bench Corporation".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("create account")
        .into_inner()
        .account
        .expect("account");
    let flows = client
        .create_role(as_user(
            token,
            pb::CreateRoleRequest {
                account_id: account.account_id.clone(),
                name: "Flow author".to_owned(),
                description: "Creates flows".to_owned(),
                permissions: vec![PERMISSION.to_owned()],
                ..Default::default()
            },
        ))
        .await
        .expect("create role")
        .into_inner()
        .role
        .expect("role");
    let workspace = client
        .create_workspace(as_user(
            token,
            pb::CreateWorkspaceRequest {
                account_id: account.account_id.clone(),
                name: "Everyone".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("create workspace")
        .into_inner()
        .workspace
        .expect("workspace");
    Workspace {
        account_id: account.account_id,
        workspace_id: workspace.workspace_id,
        // The workspace's default role is the built-in member role.
        role_ids: vec![workspace.default_role_id, flows.role_id],
    }
}

/// Seeds `MEMBERS` members with SQL, sets the workspace's seats to match, vacuums and
/// analyzes.
async fn seed(env: &TestEnv, workspace: &Workspace) {
    let started = Instant::now();
    let sql = env.sql().await;
    let role_ids: Vec<Uuid> = workspace.role_ids.iter().map(|id| uuid(id)).collect();
    // UUIDv7 time prefixes (milliseconds) ending now.
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock after 1970")
            .as_millis(),
    )
    .expect("milliseconds fit");
    let inserted = sql
        .execute(
            SEED,
            &[
                &FIRST_NAMES,
                &LAST_NAMES,
                &DOMAINS,
                &MEMBERS,
                &uuid(&workspace.account_id),
                &uuid(&workspace.workspace_id),
                &role_ids,
                &(now_ms - i64::from(MEMBERS) - 1),
            ],
        )
        .await
        .expect("seed members");
    assert_eq!(inserted, u64::try_from(MEMBERS).expect("positive"));
    sql.execute(
        "UPDATE membership.workspaces SET seats_used = (
             SELECT count(*) FROM membership.members
             WHERE workspace_id = $1 AND status IN ('active', 'suspended'))
         WHERE workspace_id = $1",
        &[&uuid(&workspace.workspace_id)],
    )
    .await
    .expect("set seats used");
    // As autovacuum would soon after a bulk load; measuring meanwhile would measure it.
    sql.batch_execute("VACUUM (ANALYZE) membership.users, membership.members")
        .await
        .expect("vacuum and analyze");
    println!(
        "seeded {MEMBERS} members with SQL in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Members ListMembers lists by default (active and suspended) matching `query` (all when
/// empty), counted in SQL the way the contract defines the search.
async fn count_listed(env: &TestEnv, workspace: &Workspace, query: &str) -> i64 {
    env.sql()
        .await
        .query_one(
            "SELECT count(*) FROM membership.members
             WHERE workspace_id = $1 AND status IN ('active', 'suspended')
               AND (lower(display_name) LIKE '%' || lower($2) || '%'
                    OR lower(email) LIKE '%' || lower($2) || '%')",
            &[&uuid(&workspace.workspace_id), &query],
        )
        .await
        .expect("count members")
        .get(0)
}

/// One ListMembers page as the operator; fails unless it holds a full page.
async fn list_page(
    channel: Channel,
    token: &str,
    request: pb::ListMembersRequest,
) -> Result<pb::ListMembersResponse, Status> {
    let response = MembershipServiceClient::new(channel)
        .list_members(as_user(token, request))
        .await?
        .into_inner();
    if response.members.len() != PAGE_SIZE as usize {
        return Err(Status::out_of_range(format!(
            "page of {} members, expected {PAGE_SIZE}",
            response.members.len()
        )));
    }
    Ok(response)
}

fn list_members(token: String, request: pb::ListMembersRequest) -> Call {
    let token = Arc::new(token);
    load::call(move |channel| {
        let token = token.clone();
        let request = request.clone();
        async move { list_page(channel, &token, request).await.map(|_| ()) }
    })
}

/// The ListMembers rows: first and deep pages by display name and by email, with and
/// without the search term.
async fn list_targets(env: &TestEnv, workspace: &Workspace, channels: &[Channel]) -> Vec<Target> {
    let listed = count_listed(env, workspace, "").await;
    let matching = count_listed(env, workspace, QUERY).await;
    let rare = count_listed(env, workspace, RARE_QUERY).await;
    println!(
        "ListMembers of a workspace of {MEMBERS} members ({listed} listed by default: active \
         and suspended), page size {PAGE_SIZE}, as the operator (API key); query {QUERY:?} \
         matches {matching} members ({:.1}%), query {RARE_QUERY:?} {rare} ({:.1}%); a deep page \
         is reached by following next_page_token from the first page, then requested again \
         and again with that token",
        100.0 * matching as f64 / listed as f64,
        100.0 * rare as f64 / listed as f64,
    );
    let mut listings = Vec::new();
    for order_by in ["display_name", "email"] {
        for (query, total) in [("", listed), (QUERY, matching), (RARE_QUERY, rare)] {
            listings.push((order_by, query, total));
        }
    }
    // The walks to the deep pages are sequential each, so they run side by side.
    let walks = listings.iter().map(|&(order_by, query, total)| {
        let request = pb::ListMembersRequest {
            workspace_id: workspace.workspace_id.clone(),
            page_size: PAGE_SIZE,
            query: query.to_owned(),
            order_by: order_by.to_owned(),
            ..Default::default()
        };
        // A deep page: page 1001 of the whole list, or nine tenths of the way through the
        // matches of the search.
        let available = usize::try_from(total).expect("count") / PAGE_SIZE as usize;
        let pages = DEEP_PAGES.min(available * 9 / 10);
        walk(env, channels[0].clone(), request, pages)
    });
    let deep_pages = futures::future::join_all(walks).await;
    let mut targets = Vec::new();
    for ((order_by, query, _), (first, deep, pages)) in listings.into_iter().zip(deep_pages) {
        let search = if query.is_empty() {
            String::new()
        } else {
            format!(", query {query:?}")
        };
        targets.push(Target::new(
            format!("by {order_by}{search}, first page"),
            channels,
            list_members(env.operator_token.clone(), first),
        ));
        targets.push(Target::new(
            format!(
                "by {order_by}{search}, page {} (from member {})",
                pages + 1,
                pages * PAGE_SIZE as usize + 1
            ),
            channels,
            list_members(env.operator_token.clone(), deep),
        ));
    }
    targets
}

/// Follows `next_page_token` from the first page of `first` for `pages` pages: the first
/// request, the request of the page reached, and `pages`.
async fn walk(
    env: &TestEnv,
    channel: Channel,
    first: pb::ListMembersRequest,
    pages: usize,
) -> (pb::ListMembersRequest, pb::ListMembersRequest, usize) {
    let walked = Instant::now();
    let mut deep = first.clone();
    for _ in 0..pages {
        let page = list_page(channel.clone(), &env.operator_token, deep.clone())
            .await
            .expect("page towards the deep page");
        assert!(!page.next_page_token.is_empty(), "a next page");
        deep.page_token = page.next_page_token;
    }
    list_page(channel, &env.operator_token, deep.clone())
        .await
        .expect("the deep page");
    eprintln!(
        "walked {pages} pages by {}{} in {:.1} s",
        first.order_by,
        if first.query.is_empty() {
            ""
        } else {
            " with a query"
        },
        walked.elapsed().as_secs_f64()
    );
    (first, deep, pages)
}

/// One CheckPermission of `PERMISSION`, which must be allowed by the member's role.
async fn check(
    channel: Channel,
    token: &str,
    request: pb::CheckPermissionRequest,
) -> Result<(), Status> {
    let response = MembershipServiceClient::new(channel)
        .check_permission(as_user(token, request))
        .await?
        .into_inner();
    if !response.allowed || response.reason != pb::AccessReason::GrantedByRole as i32 {
        return Err(Status::permission_denied(format!(
            "allowed: {}, reason: {:?}",
            response.allowed,
            pb::AccessReason::try_from(response.reason)
        )));
    }
    Ok(())
}

/// Checks the given users round-robin (caller after caller), the same few over and over.
fn check_hits(token: String, workspace_id: String, user_ids: Vec<String>) -> Call {
    let token = Arc::new(token);
    let next = Arc::new(AtomicUsize::new(0));
    load::call(move |channel| {
        let token = token.clone();
        let user_id = user_ids[next.fetch_add(1, Ordering::Relaxed) % user_ids.len()].clone();
        let request = pb::CheckPermissionRequest {
            user_id,
            workspace_id: workspace_id.clone(),
            permission: PERMISSION.to_owned(),
        };
        async move { check(channel, &token, request).await }
    })
}

/// Each call checks the next of `user_ids`, none of them checked before; fails when they
/// run out rather than measure hits.
fn check_misses(
    token: String,
    workspace_id: String,
    user_ids: Vec<String>,
    next: Arc<AtomicUsize>,
) -> Call {
    let token = Arc::new(token);
    load::call(move |channel| {
        let token = token.clone();
        let user_id = user_ids.get(next.fetch_add(1, Ordering::Relaxed)).cloned();
        let request = user_id.map(|user_id| pb::CheckPermissionRequest {
            user_id,
            workspace_id: workspace_id.clone(),
            permission: PERMISSION.to_owned(),
        });
        async move {
            match request {
                Some(request) => check(channel, &token, request).await,
                None => Err(Status::resource_exhausted(
                    "every seeded member has been checked: a miss row cannot go on",
                )),
            }
        }
    })
}

/// Each call reads the next of `user_ids` with GetMember (nothing caches it: every call
/// reads the database), round and round.
fn get_members(token: String, workspace_id: String, user_ids: Vec<String>) -> Call {
    let token = Arc::new(token);
    let next = Arc::new(AtomicUsize::new(0));
    load::call(move |channel| {
        let token = token.clone();
        let request = pb::GetMemberRequest {
            workspace_id: workspace_id.clone(),
            user_id: user_ids[next.fetch_add(1, Ordering::Relaxed) % user_ids.len()].clone(),
        };
        async move {
            MembershipServiceClient::new(channel)
                .get_member(as_user(&token, request))
                .await
                .map(|_| ())
        }
    })
}

/// Transactions the test database has committed or rolled back, read after its backends
/// have had time to report them (Postgres publishes them at most once a second).
async fn transactions(sql: &tokio_postgres::Client) -> i64 {
    tokio::time::sleep(Duration::from_millis(1200)).await;
    sql.query_one(
        "SELECT xact_commit + xact_rollback FROM pg_stat_database
         WHERE datname = current_database()",
        &[],
    )
    .await
    .expect("database statistics")
    .get(0)
}

/// Measures each target as [`load::measure_table`] does, then prints how many database
/// transactions each measured call cost (the whole database's count over the measured
/// period, divided by the calls: background work adds a little). Returns the failures and
/// each target's requests per second.
async fn measure_table(
    env: &TestEnv,
    targets: &[Target],
    callers: usize,
    duration: Duration,
) -> (Vec<String>, Vec<f64>) {
    let sql = env.sql().await;
    let mut table = load::Table::new(targets.iter().map(|target| &target.name));
    let mut costs = Vec::new();
    let mut rates = Vec::new();
    for target in targets {
        let warm_up = load::run(&target.channels, callers, &target.call, load::WARM_UP).await;
        let before = transactions(&sql).await;
        let outcome = load::run(&target.channels, callers, &target.call, duration)
            .await
            .with_errors_of(warm_up);
        let after = transactions(&sql).await;
        table.row(&target.name, &outcome);
        rates.push(outcome.requests_per_second());
        let calls = outcome.latencies.len() as f64;
        costs.push((&target.name, (after - before) as f64 / calls));
    }
    println!("database transactions per call (pg_stat_database):");
    for (name, cost) in costs {
        println!("  {name}: {cost:.2}");
    }
    (table.into_failures(), rates)
}

/// Seeds, then measures and prints both tables; the failures.
pub(crate) async fn bench() -> Vec<String> {
    let duration = load::measured_duration();

    // Serve with the production pool settings (`ROSTER_DB_POOL_SIZE`, default 16), not the
    // harness's small test pool, and membership's production settings (the harness runs
    // its feed follower and purge worker more often).
    let pool = roster_kit::config::PoolConfig::from_env().expect("pool config");
    let pool_size = pool.max_size;
    let membership = roster_membership::MembershipConfig::from_env().expect("membership config");
    let mut env = TestEnv::start_with(|options| {
        options.pool = pool;
        options.membership = membership;
    })
    .await;
    let workspace = create_workspace(&env).await;
    seed(&env, &workspace).await;

    // A. ListMembers.
    let list_channels = load::connections(env.address, LIST_CONCURRENCY.connections).await;
    let targets = list_targets(&env, &workspace, &list_channels).await;
    println!(
        "{}",
        load::setup_line(LIST_CONCURRENCY, pool_size, duration)
    );
    let (mut failures, _) = measure_table(&env, &targets, LIST_CONCURRENCY.callers, duration).await;
    println!();

    // B. CheckPermission. Active members, in a random order so that consecutive misses
    // do not read neighbouring index entries.
    let user_ids: Vec<String> = env
        .sql()
        .await
        .query(
            "SELECT user_id::text FROM membership.members
             WHERE workspace_id = $1 AND status = 'active' ORDER BY random()",
            &[&uuid(&workspace.workspace_id)],
        )
        .await
        .expect("active members")
        .iter()
        .map(|row| row.get(0))
        .collect();
    let (hit_users, miss_users) = user_ids.split_at(HIT_CHECKS);
    let misses_made = Arc::new(AtomicUsize::new(0));
    let baseline = load::connections(
        load::bare_tonic_server().await,
        CHECK_CONCURRENCY.connections,
    )
    .await;
    let roster = load::connections(env.address, CHECK_CONCURRENCY.connections).await;
    let workspace_id = workspace.workspace_id.clone();
    // Misses last, so that the hit rows run on a cache that holds only their entries.
    let targets = [
        Target::new(load::BASELINE, &baseline, load::health_check()),
        Target::new(
            format!(
                "CheckPermission, cache hits ({HIT_CHECKS} checks repeated), service credential"
            ),
            &roster,
            check_hits(
                env.service_token.clone(),
                workspace_id.clone(),
                hit_users.to_vec(),
            ),
        ),
        Target::new(
            format!("CheckPermission, cache hits ({HIT_CHECKS} checks repeated), operator API key"),
            &roster,
            check_hits(
                env.operator_token.clone(),
                workspace_id.clone(),
                hit_users.to_vec(),
            ),
        ),
        Target::new(
            "CheckPermission, cache misses (a member never checked before), service credential",
            &roster,
            check_misses(
                env.service_token.clone(),
                workspace_id.clone(),
                miss_users.to_vec(),
                misses_made.clone(),
            ),
        ),
        Target::new(
            "GetMember (a different member each call), operator API key",
            &roster,
            get_members(
                env.operator_token.clone(),
                workspace_id,
                miss_users.to_vec(),
            ),
        ),
    ];
    println!(
        "CheckPermission of {PERMISSION:?} (granted by a role of the member) in the workspace of \
         {MEMBERS} members. The service credential is checked locally; an operator API key is \
         resolved through identity's Authenticate on every call. Cache hits: {HIT_CHECKS} \
         (member, workspace, permission) checks over and over. Cache misses: every call asks \
         about a different active member, none asked about before (warm-up included). GetMember \
         reads a different active member each call, as the operator."
    );
    println!(
        "{}",
        load::setup_line(CHECK_CONCURRENCY, pool_size, duration)
    );
    failures.extend(
        measure_table(&env, &targets, CHECK_CONCURRENCY.callers, duration)
            .await
            .0,
    );
    let misses = misses_made.load(Ordering::Relaxed).min(miss_users.len());
    println!(
        "cache misses: {misses} distinct members checked (of {} available)",
        miss_users.len()
    );
    match pgbench_cache_misses(&env, &workspace, miss_users, duration).await {
        Ok((check, get)) => println!(
            "pgbench, {} clients, the SQL of the calls above (prepared) for a random member: \
             CheckPermission's (access_facts.sql) {check:.0} transactions/s, GetMember's (its \
             two statements) {get:.0} transactions/s",
            CHECK_CONCURRENCY.callers
        ),
        Err(error) => failures.push(format!("pgbench: {error}")),
    }
    println!();
    failures.extend(
        through_pgbouncer(
            &mut env,
            &workspace,
            miss_users,
            &misses_made,
            pool_size,
            duration,
        )
        .await,
    );
    failures
}

/// C. The cost of PgBouncer in transaction mode: GetMember and CheckPermission cache misses
/// straight to Postgres and through a PgBouncer in front of the same database (another
/// in-process server, with the same pool size), one row after the other. Through the
/// pooler each statement goes unnamed, its text parsed and planned on every call.
async fn through_pgbouncer(
    env: &mut TestEnv,
    workspace: &Workspace,
    miss_users: &[String],
    misses_made: &Arc<AtomicUsize>,
    pool_size: usize,
    duration: Duration,
) -> Vec<String> {
    let (_pooler, databases) = roster_tests::through_pgbouncer(&env.database_name());
    let (pooled_address, _) = env
        .serve_at(([127, 0, 0, 1], 0).into(), |options| {
            options.databases = databases;
        })
        .await;
    let straight = load::connections(env.address, CHECK_CONCURRENCY.connections).await;
    let pooled = load::connections(pooled_address, CHECK_CONCURRENCY.connections).await;
    let get = |channels: &[Channel], name: &str| {
        Target::new(
            format!("GetMember, {name}"),
            channels,
            get_members(
                env.operator_token.clone(),
                workspace.workspace_id.clone(),
                miss_users.to_vec(),
            ),
        )
    };
    let miss = |channels: &[Channel], name: &str| {
        Target::new(
            format!("CheckPermission, cache misses, {name}"),
            channels,
            check_misses(
                env.service_token.clone(),
                workspace.workspace_id.clone(),
                miss_users.to_vec(),
                misses_made.clone(),
            ),
        )
    };
    let targets = [
        get(&straight, "straight to Postgres"),
        get(&pooled, "through PgBouncer"),
        miss(&straight, "straight to Postgres"),
        miss(&pooled, "through PgBouncer"),
    ];
    println!("Through PgBouncer 1.18, transaction mode, a pooler database per service.");
    println!(
        "{}",
        load::setup_line(CHECK_CONCURRENCY, pool_size, duration)
    );
    let (failures, rates) = measure_table(env, &targets, CHECK_CONCURRENCY.callers, duration).await;
    println!(
        "through PgBouncer against straight to Postgres: GetMember {:.2}x, CheckPermission \
         cache misses {:.2}x",
        rates[1] / rates[0],
        rates[3] / rates[2]
    );
    failures
}

/// Runs `pgbench` with the SQL of a CheckPermission cache miss, then with GetMember's, at
/// the bench's client count against the same database, for a member picked at random by
/// a primary-key probe of a numbered copy of the members' ids; their transactions per
/// second.
async fn pgbench_cache_misses(
    env: &TestEnv,
    workspace: &Workspace,
    user_ids: &[String],
    duration: Duration,
) -> Result<(f64, f64), String> {
    let sql = env.sql().await;
    sql.batch_execute(
        "CREATE TABLE public.bench_check_users (k int PRIMARY KEY, user_id uuid NOT NULL)",
    )
    .await
    .map_err(|e| e.to_string())?;
    sql.execute(
        "INSERT INTO public.bench_check_users
         SELECT n, id::uuid FROM unnest($1::text[]) WITH ORDINALITY AS t(id, n)",
        &[&user_ids],
    )
    .await
    .map_err(|e| e.to_string())?;
    let member = "(SELECT user_id FROM public.bench_check_users WHERE k = :k)";
    let access_facts = include_str!("../../../crates/roster-membership/src/store/access_facts.sql")
        .replace("$1", ":ws")
        .replace("$2", member);
    let [workspace_by_id, member_by_id] = roster_membership::get_member_statements();
    let get_member = [
        workspace_by_id.replace("$1", ":ws"),
        member_by_id
            .replace("$1", ":account")
            .replace("$2", ":ws")
            .replace("$3", member),
    ];
    let variables = [
        ("ws", workspace.workspace_id.as_str()),
        ("account", workspace.account_id.as_str()),
    ];
    let check = pgbench(env, &[access_facts], &variables, user_ids.len(), duration).await?;
    let get = pgbench(env, &get_member, &variables, user_ids.len(), duration).await?;
    Ok((check, get))
}

/// Runs `pgbench` on `statements` (one script, prepared, `:k` a random number from 1 to
/// `keys`, the other `:name`s from `variables`) at the bench's client count for
/// `duration`; its transactions (script runs) per second.
async fn pgbench(
    env: &TestEnv,
    statements: &[String],
    variables: &[(&str, &str)],
    keys: usize,
    duration: Duration,
) -> Result<f64, String> {
    // pgbench reads one command a line.
    let commands: Vec<String> = statements
        .iter()
        .map(|statement| {
            let words: Vec<&str> = statement
                .lines()
                .filter(|line| !line.trim_start().starts_with("--"))
                .collect();
            format!("{};", words.join(" ").trim_end().trim_end_matches(';'))
        })
        .collect();
    let script = format!("\\set k random(1, {keys})\n{}\n", commands.join("\n"));
    let path = std::env::temp_dir().join(format!("roster-pgbench-{}.sql", Uuid::now_v7()));
    std::fs::write(&path, script).map_err(|e| e.to_string())?;
    let clients = CHECK_CONCURRENCY.callers.to_string();
    let seconds = duration.as_secs().max(1).to_string();
    let mut command = tokio::process::Command::new("pgbench");
    command
        .env("PGOPTIONS", "-c search_path=membership,public")
        .args([
            "-n", "-M", "prepared", "-c", &clients, "-j", "2", "-T", &seconds,
        ]);
    for (name, value) in variables {
        command.args(["-D", &format!("{name}={value}")]);
    }
    let output = command
        .arg("-f")
        .arg(&path)
        .arg(env.database_url())
        .output()
        .await
        .map_err(|e| format!("running pgbench: {e}"))?;
    let _ = std::fs::remove_file(&path);
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|tps| tps.parse().ok())
        .ok_or_else(|| {
            format!(
                "no tps in pgbench's output: {stdout}{}",
                String::from_utf8_lossy(&output.stderr)
            )
        })
}
