//! Property tests: random sequences of member operations by several actors (the
//! operator, workspace admins, plain members and people of another account) against the
//! real service, each checked against what it stored. After every operation:
//! - every workspace still has an active admin;
//! - no join or restore took a workspace past its seat limit, and its seat count is its
//!   members who are not removed;
//! - nobody changed their own membership, and a person without `roster.members.manage`
//!   in the workspace (or anyone but the operator, for joins and seat limits) changed
//!   nothing;
//! - an operation changed nothing but its one member (or its workspace's seat limit), so
//!   nothing in another workspace or account, and a refused one changed nothing at all.
//!
//! On a failure proptest shrinks the sequence and prints the shortest one it found.
use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use roster_proto::membership as pb;
use roster_tests::membership::{Company, Person, request_id};
use roster_tests::{TestEnv, as_user, reason};
use tonic::{Code, Status};

use super::mask;

/// People in every sequence; each may be an admin, a member or an outsider anywhere.
const PEOPLE: usize = 5;

/// Sequences run, and operations in each: a few seconds in all.
const CASES: u32 = 16;
const OPERATIONS: std::ops::RangeInclusive<usize> = 20..=32;

/// Three workspaces: the first two in one account, the third in another. Their accounts,
/// first admins (by index into the people) and first seat limits.
const ACCOUNT_OF: [usize; 3] = [0, 0, 1];
const FIRST_ADMINS: [usize; 3] = [0, 1, 4];
const FIRST_SEAT_LIMITS: [i32; 3] = [3, 0, 2];

#[derive(Debug, Clone, Copy)]
enum Actor {
    Operator,
    Person(usize),
}

#[derive(Debug, Clone, Copy)]
enum Roles {
    Admin,
    Member,
    Both,
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Add(Roles),
    SetRoles(Roles),
    Suspend,
    Resume,
    Remove,
    Restore,
    SetSeatLimit(i32),
}

/// `actor` does `action` to person `target` in workspace `workspace`.
#[derive(Debug, Clone, Copy)]
struct Operation {
    actor: Actor,
    action: Action,
    workspace: usize,
    target: usize,
}

fn operation() -> impl Strategy<Value = Operation> {
    let actor = prop_oneof![
        1 => Just(Actor::Operator),
        4 => (0..PEOPLE).prop_map(Actor::Person),
    ];
    let roles = || prop_oneof![Just(Roles::Admin), Just(Roles::Member), Just(Roles::Both)];
    let action = prop_oneof![
        3 => roles().prop_map(Action::Add),
        3 => roles().prop_map(Action::SetRoles),
        2 => Just(Action::Suspend),
        2 => Just(Action::Resume),
        2 => Just(Action::Remove),
        2 => Just(Action::Restore),
        1 => (0..5_i32).prop_map(Action::SetSeatLimit),
    ];
    (actor, action, 0..FIRST_ADMINS.len(), 0..PEOPLE).prop_map(
        |(actor, action, workspace, target)| Operation {
            actor,
            action,
            workspace,
            target,
        },
    )
}

/// One sequence's accounts and workspaces.
struct World<'a> {
    env: &'a TestEnv,
    people: &'a [Person],
    companies: [Company; 2],
    workspace_ids: [String; 3],
}

/// A member as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seat {
    status: String,
    admin: bool,
    role_ids: Vec<String>,
}

/// What the service stored for a world: members by (workspace, person), and each
/// workspace's seat limit and seat count.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stored {
    members: BTreeMap<(usize, usize), Seat>,
    seat_limits: [i32; 3],
    seats_used: [i32; 3],
}

impl<'a> World<'a> {
    async fn new(env: &'a TestEnv, people: &'a [Person]) -> Self {
        let suffix = uuid::Uuid::now_v7().simple();
        let first = env
            .create_company(&format!("First {suffix}"), FIRST_SEAT_LIMITS[0])
            .await;
        let second_workspace = env
            .create_workspace(first.account_id(), "Second", FIRST_SEAT_LIMITS[1])
            .await;
        let other = env
            .create_company(&format!("Other {suffix}"), FIRST_SEAT_LIMITS[2])
            .await;
        let world = World {
            env,
            people,
            workspace_ids: [
                first.workspace_id().to_owned(),
                second_workspace.workspace_id,
                other.workspace_id().to_owned(),
            ],
            companies: [first, other],
        };
        for (workspace, admin) in FIRST_ADMINS.into_iter().enumerate() {
            let company = world.company(workspace);
            env.try_add_member(
                company.account_id(),
                &[&world.workspace_ids[workspace]],
                people[admin].id(),
                &[&company.admin_role_id],
            )
            .await
            .expect("first admin");
        }
        world
    }

    fn company(&self, workspace: usize) -> &Company {
        &self.companies[ACCOUNT_OF[workspace]]
    }

    async fn stored(&self) -> Stored {
        let sql = self.env.sql().await;
        let mut stored = Stored {
            members: BTreeMap::new(),
            seat_limits: [0; 3],
            seats_used: [0; 3],
        };
        let workspace_of = |id: &str| self.workspace_ids.iter().position(|w| w == id);
        let rows = sql
            .query(
                "SELECT workspace_id::text, user_id::text, status, role_ids::text[] \
                 FROM membership.members WHERE account_id::text = ANY($1)",
                &[&vec![
                    self.companies[0].account_id(),
                    self.companies[1].account_id(),
                ]],
            )
            .await
            .expect("members");
        for row in rows {
            let workspace = workspace_of(row.get(0)).expect("a workspace of the world");
            let user_id: &str = row.get(1);
            let person = self
                .people
                .iter()
                .position(|p| p.id() == user_id)
                .expect("a person of the world");
            let mut role_ids: Vec<String> = row.get(3);
            role_ids.sort();
            let seat = Seat {
                status: row.get(2),
                admin: role_ids.contains(&self.company(workspace).admin_role_id),
                role_ids,
            };
            stored.members.insert((workspace, person), seat);
        }
        let rows = sql
            .query(
                "SELECT workspace_id::text, seat_limit, seats_used FROM membership.workspaces \
                 WHERE workspace_id::text = ANY($1)",
                &[&self.workspace_ids.to_vec()],
            )
            .await
            .expect("workspaces");
        for row in rows {
            let workspace = workspace_of(row.get(0)).expect("a workspace of the world");
            stored.seat_limits[workspace] = row.get(1);
            stored.seats_used[workspace] = row.get(2);
        }
        stored
    }

    fn role_ids(&self, workspace: usize, roles: Roles) -> Vec<String> {
        let company = self.company(workspace);
        match roles {
            Roles::Admin => vec![company.admin_role_id.clone()],
            Roles::Member => vec![company.member_role_id.clone()],
            Roles::Both => vec![
                company.admin_role_id.clone(),
                company.member_role_id.clone(),
            ],
        }
    }

    async fn perform(&self, operation: Operation) -> Result<(), Status> {
        let env = self.env;
        let token = match operation.actor {
            Actor::Operator => env.operator_token.as_str(),
            Actor::Person(i) => self.people[i].session.as_str(),
        };
        let workspace_id = self.workspace_ids[operation.workspace].as_str();
        let user_id = self.people[operation.target].id();
        match operation.action {
            Action::Add(roles) => {
                let request = pb::AddMemberRequest {
                    account_id: self.company(operation.workspace).account_id().to_owned(),
                    workspace_ids: vec![workspace_id.to_owned()],
                    user_id: user_id.to_owned(),
                    role_ids: self.role_ids(operation.workspace, roles),
                    request_id: request_id(),
                    ..Default::default()
                };
                env.membership()
                    .add_member(as_user(token, request))
                    .await
                    .map(drop)
            }
            Action::SetRoles(roles) => {
                let role_ids = self.role_ids(operation.workspace, roles);
                let role_ids: Vec<&str> = role_ids.iter().map(String::as_str).collect();
                env.update_member_roles(token, workspace_id, user_id, &role_ids)
                    .await
                    .map(drop)
            }
            Action::Suspend => env
                .suspend_member(token, workspace_id, user_id)
                .await
                .map(drop),
            Action::Resume => env
                .resume_member(token, workspace_id, user_id)
                .await
                .map(drop),
            Action::Remove => env
                .remove_member(token, workspace_id, user_id, "")
                .await
                .map(drop),
            Action::Restore => env
                .restore_member(token, workspace_id, user_id)
                .await
                .map(drop),
            Action::SetSeatLimit(seat_limit) => {
                let request = pb::UpdateWorkspaceRequest {
                    workspace: Some(pb::Workspace {
                        workspace_id: workspace_id.to_owned(),
                        seat_limit,
                        ..Default::default()
                    }),
                    update_mask: mask(&["seat_limit"]),
                    request_id: request_id(),
                };
                env.membership()
                    .update_workspace(as_user(token, request))
                    .await
                    .map(drop)
            }
        }
    }
}

/// Whether `person` may manage the members of `workspace`: an active admin there.
fn manages(stored: &Stored, workspace: usize, person: usize) -> bool {
    stored
        .members
        .get(&(workspace, person))
        .is_some_and(|seat| seat.status == "active" && seat.admin)
}

/// The invariants of one operation, from what was stored before and after it.
fn check(
    operation: Operation,
    outcome: &Result<(), Status>,
    before: &Stored,
    after: &Stored,
) -> Result<(), TestCaseError> {
    if let Err(status) = outcome {
        prop_assert!(
            !matches!(
                status.code(),
                Code::Internal | Code::Unknown | Code::Unavailable
            ),
            "{status:?}"
        );
        prop_assert_eq!(before, after, "a refused operation changed something");
    }
    for workspace in 0..FIRST_ADMINS.len() {
        prop_assert!(
            (0..PEOPLE).any(|person| manages(after, workspace, person)),
            "workspace {} has no active admin",
            workspace
        );
        let holding_seats = after
            .members
            .iter()
            .filter(|((w, _), seat)| *w == workspace && seat.status != "removed")
            .count();
        let (limit, used) = (after.seat_limits[workspace], after.seats_used[workspace]);
        prop_assert_eq!(
            usize::try_from(used).ok(),
            Some(holding_seats),
            "workspace {}'s seat count",
            workspace
        );
        prop_assert!(
            limit == 0 || used <= limit || used <= before.seats_used[workspace],
            "workspace {} went to {} seats of {}",
            workspace,
            used,
            limit
        );
    }
    let member = (operation.workspace, operation.target);
    for (key, seat) in &after.members {
        if *key != member || matches!(operation.action, Action::SetSeatLimit(_)) {
            prop_assert_eq!(
                before.members.get(key),
                Some(seat),
                "member {:?} changed",
                key
            );
        }
    }
    prop_assert!(
        before
            .members
            .keys()
            .all(|key| after.members.contains_key(key)),
        "a member row disappeared"
    );
    for workspace in 0..FIRST_ADMINS.len() {
        if workspace != operation.workspace || !matches!(operation.action, Action::SetSeatLimit(_))
        {
            prop_assert_eq!(
                before.seat_limits[workspace],
                after.seat_limits[workspace],
                "workspace {}'s seat limit changed",
                workspace
            );
        }
    }
    if let Actor::Person(actor) = operation.actor {
        let operator_only = matches!(operation.action, Action::Add(_) | Action::SetSeatLimit(_));
        let manager = manages(before, operation.workspace, actor);
        if operator_only || !manager {
            let status = outcome.as_ref().err();
            prop_assert!(
                status.is_some_and(|s| matches!(s.code(), Code::PermissionDenied | Code::NotFound)),
                "person {} had no right to do this: {:?}",
                actor,
                outcome
            );
        } else if actor == operation.target {
            let refusal = outcome.as_ref().err().map(reason);
            prop_assert_eq!(
                refusal.as_deref(),
                Some("SELF_ACTION_FORBIDDEN"),
                "{:?}",
                outcome
            );
        }
    }
    Ok(())
}

async fn run_sequence(
    env: &TestEnv,
    people: &[Person],
    operations: Vec<Operation>,
) -> Result<(), TestCaseError> {
    let world = World::new(env, people).await;
    let mut before = world.stored().await;
    for operation in operations {
        let outcome = world.perform(operation).await;
        let after = world.stored().await;
        check(operation, &outcome, &before, &after)
            .map_err(|e| TestCaseError::fail(format!("after {operation:?}: {e}")))?;
        before = after;
    }
    Ok(())
}

#[test]
fn random_member_operations_keep_the_membership_rules() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("runtime");
    let env = runtime.block_on(TestEnv::start());
    let people: Vec<Person> = runtime.block_on(async {
        let mut people = Vec::new();
        for i in 0..PEOPLE {
            people.push(env.create_person(&format!("person{i}@example.com")).await);
        }
        people
    });
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        // Each sequence builds its own accounts: a shrink step costs as much as a case.
        max_shrink_iters: 200,
        failure_persistence: None,
        ..Config::default()
    });
    let sequences = prop::collection::vec(operation(), OPERATIONS);
    if let Err(failure) = runner.run(&sequences, |operations| {
        runtime.block_on(run_sequence(&env, &people, operations))
    }) {
        panic!("{failure}");
    }
}
