//! ListMembers: filters, search, ordering, keyset paging, and names kept current from
//! identity.
use std::time::Duration;

use roster_proto::identity as id;
use roster_proto::membership as pb;
use roster_tests::membership::{eventually, request_id};
use roster_tests::{TestEnv, as_user, violated_fields};
use tonic::Code;

use super::{assert_kept_out, mask};

const NAMES: [&str; 12] = [
    "Alice Adams",
    "Bob Brown",
    "Carol Clark",
    "Dave Davis",
    "Erin Evans",
    "Frank Fisher",
    "Grace Green",
    "Heidi Hill",
    "Ivan Irwin",
    "Judy Jones",
    "Mallory Moore",
    "Niaj Nash",
];
/// The order people join in, by index into NAMES (neither name nor email order).
const JOIN_ORDER: [usize; 12] = [3, 0, 7, 1, 10, 5, 2, 11, 4, 9, 6, 8];

/// Emails run the other way from names: Alice is user12, Niaj user01.
fn email_of(index: usize) -> String {
    format!("user{:02}@example.com", 12 - index)
}

fn names(members: &[pb::Member]) -> Vec<String> {
    members.iter().map(|m| m.display_name.clone()).collect()
}

#[tokio::test]
async fn list_members_filters_searches_orders_and_pages_by_keyset() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let workspace_id = company.workspace_id().to_owned();
    let builder = env
        .create_role(
            &env.operator_token,
            company.account_id(),
            "Builder",
            &["flows.create"],
        )
        .await
        .unwrap();
    let mut user_ids = vec![String::new(); NAMES.len()];
    for index in JOIN_ORDER {
        let user = env.create_plain_user(&email_of(index), NAMES[index]).await;
        let roles: &[&str] = if matches!(index, 2 | 7) {
            &[&company.member_role_id, &builder.role_id]
        } else {
            &[]
        };
        env.add_member(&company, &user.user_id, roles).await;
        user_ids[index] = user.user_id;
    }
    let bot = env.create_service_account("Zed Build Bot").await;
    env.add_member(&company, &bot.user_id, &[]).await;
    let operator = env.operator_token.clone();
    env.suspend_member(&operator, &workspace_id, &user_ids[4])
        .await
        .unwrap();
    env.remove_member(&operator, &workspace_id, &user_ids[5], "")
        .await
        .unwrap();

    let base = pb::ListMembersRequest {
        workspace_id: workspace_id.clone(),
        page_size: 5,
        ..Default::default()
    };
    let list = |request: pb::ListMembersRequest| env.list_all_members(&operator, request);

    // Default: active and suspended, by display name, across pages of 5.
    let mut expected: Vec<String> = NAMES
        .iter()
        .filter(|n| **n != "Frank Fisher")
        .map(|n| (*n).to_owned())
        .collect();
    expected.push("Zed Build Bot".into());
    let all = list(base.clone()).await;
    assert_eq!(names(&all), expected);
    let first_page = env
        .membership()
        .list_members(as_user(&operator, base.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first_page.members.len(), 5);
    assert!(!first_page.next_page_token.is_empty());
    let erin = all.iter().find(|m| m.display_name == "Erin Evans").unwrap();
    assert_eq!(erin.status, pb::MemberStatus::Suspended as i32);
    let bot_member = all.iter().find(|m| m.user_id == bot.user_id).unwrap();
    assert_eq!(bot_member.kind, pb::MemberKind::Service as i32);

    // Descending, by email, by join time.
    let descending = list(pb::ListMembersRequest {
        order_by: "display_name desc".into(),
        ..base.clone()
    })
    .await;
    let mut reversed = expected.clone();
    reversed.reverse();
    assert_eq!(names(&descending), reversed);

    let humans = |order_by: &str| pb::ListMembersRequest {
        kind: pb::MemberKind::Human as i32,
        order_by: order_by.into(),
        ..base.clone()
    };
    let by_email = list(humans("email")).await;
    let emails: Vec<_> = by_email.iter().map(|m| m.email.clone()).collect();
    let mut expected_emails: Vec<_> = (0..12).filter(|i| *i != 5).map(email_of).collect();
    expected_emails.sort();
    assert_eq!(emails, expected_emails);
    let by_email_desc = list(humans("email desc")).await;
    expected_emails.reverse();
    assert_eq!(
        by_email_desc
            .iter()
            .map(|m| m.email.clone())
            .collect::<Vec<_>>(),
        expected_emails
    );
    let by_join = list(humans("join_time")).await;
    let joined: Vec<String> = JOIN_ORDER
        .iter()
        .filter(|i| **i != 5)
        .map(|i| NAMES[*i].to_owned())
        .collect();
    assert_eq!(names(&by_join), joined);
    let by_join_desc = list(humans("join_time desc")).await;
    let mut joined_desc = joined.clone();
    joined_desc.reverse();
    assert_eq!(names(&by_join_desc), joined_desc);

    // Kinds, statuses, roles.
    let services = list(pb::ListMembersRequest {
        kind: pb::MemberKind::Service as i32,
        ..base.clone()
    })
    .await;
    assert_eq!(names(&services), ["Zed Build Bot"]);
    let suspended = list(pb::ListMembersRequest {
        statuses: vec![pb::MemberStatus::Suspended as i32],
        ..base.clone()
    })
    .await;
    assert_eq!(names(&suspended), ["Erin Evans"]);
    let removed = list(pb::ListMembersRequest {
        statuses: vec![pb::MemberStatus::Removed as i32],
        ..base.clone()
    })
    .await;
    assert_eq!(names(&removed), ["Frank Fisher"]);
    assert!(removed[0].purge_time.is_some());
    let everyone = list(pb::ListMembersRequest {
        statuses: vec![
            pb::MemberStatus::Active as i32,
            pb::MemberStatus::Suspended as i32,
            pb::MemberStatus::Removed as i32,
        ],
        ..base.clone()
    })
    .await;
    assert_eq!(everyone.len(), 13);
    let builders = list(pb::ListMembersRequest {
        role_id: builder.role_id.clone(),
        ..base.clone()
    })
    .await;
    assert_eq!(names(&builders), ["Carol Clark", "Heidi Hill"]);

    // Search: a case-insensitive substring of the email or the display name.
    for query in ["ALICE", "user1", "OW", "example.COM", "nobody-like-this"] {
        let needle = query.to_lowercase();
        let mut matching: Vec<String> = (0..12)
            .filter(|i| *i != 5)
            .filter(|i| {
                NAMES[*i].to_lowercase().contains(&needle) || email_of(*i).contains(&needle)
            })
            .map(|i| NAMES[i].to_owned())
            .collect();
        if "zed build bot".contains(&needle) || bot.email.to_lowercase().contains(&needle) {
            matching.push("Zed Build Bot".into());
        }
        let found = list(pb::ListMembersRequest {
            query: query.into(),
            page_size: 2,
            ..base.clone()
        })
        .await;
        assert_eq!(names(&found), matching, "query {query:?}");
    }
    // Filters combine.
    let combined = list(pb::ListMembersRequest {
        kind: pb::MemberKind::Human as i32,
        query: "user0".into(),
        order_by: "email desc".into(),
        statuses: vec![pb::MemberStatus::Active as i32],
        page_size: 2,
        ..base.clone()
    })
    .await;
    // user01..user09 are NAMES[11] down to NAMES[3]; Erin (user08) is suspended and
    // Frank (user07) removed.
    assert_eq!(
        names(&combined),
        [
            "Dave Davis",
            "Grace Green",
            "Heidi Hill",
            "Ivan Irwin",
            "Judy Jones",
            "Mallory Moore",
            "Niaj Nash",
        ]
    );

    // A page token belongs to its query: changing a filter or the order is refused.
    let token = first_page.next_page_token.clone();
    for changed in [
        pb::ListMembersRequest {
            query: "a".into(),
            ..base.clone()
        },
        pb::ListMembersRequest {
            order_by: "email".into(),
            ..base.clone()
        },
        pb::ListMembersRequest {
            kind: pb::MemberKind::Human as i32,
            ..base.clone()
        },
        pb::ListMembersRequest {
            statuses: vec![pb::MemberStatus::Removed as i32],
            ..base.clone()
        },
    ] {
        let status = env
            .membership()
            .list_members(as_user(
                &operator,
                pb::ListMembersRequest {
                    page_token: token.clone(),
                    ..changed
                },
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    }
    for bad in [
        pb::ListMembersRequest {
            order_by: "age".into(),
            ..base.clone()
        },
        pb::ListMembersRequest {
            page_token: "garbage".into(),
            ..base.clone()
        },
    ] {
        let status = env
            .membership()
            .list_members(as_user(&operator, bad))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    }
    let status = env
        .membership()
        .list_members(as_user(
            &operator,
            pb::ListMembersRequest {
                order_by: "age".into(),
                ..base.clone()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["order_by"]);

    // Keyset paging: rows added before the cursor or removed after it neither repeat
    // nor shift the following pages.
    let aaron = env
        .create_plain_user("aaron@example.com", "Aaron Able")
        .await;
    env.add_member(&company, &aaron.user_id, &[]).await;
    env.remove_member(&operator, &workspace_id, &user_ids[6], "")
        .await
        .unwrap();
    let mut rest = Vec::new();
    let mut request = pb::ListMembersRequest {
        page_token: token,
        ..base.clone()
    };
    loop {
        let page = env
            .membership()
            .list_members(as_user(&operator, request.clone()))
            .await
            .unwrap()
            .into_inner();
        rest.extend(names(&page.members));
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    assert_eq!(
        rest,
        [
            "Heidi Hill",
            "Ivan Irwin",
            "Judy Jones",
            "Mallory Moore",
            "Niaj Nash",
            "Zed Build Bot",
        ]
    );

    // Listing needs roster.members.read in the workspace.
    let stranger = env.create_person("stranger@example.com").await;
    assert_kept_out(
        env.membership()
            .list_members(as_user(&stranger.session, base.clone()))
            .await,
    );
}

#[tokio::test]
async fn a_rename_or_a_disable_in_identity_reaches_list_members() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let workspace_id = company.workspace_id().to_owned();
    let joe = env.add_plain_member(&company, "joe@example.com").await;
    let mary = env
        .create_plain_user("mary@example.com", "Mary Parker")
        .await;
    env.add_member(&company, &mary.user_id, &[]).await;

    let renamed = env
        .identity()
        .update_user(as_user(
            &env.operator_token,
            id::UpdateUserRequest {
                user: Some(id::User {
                    user_id: mary.user_id.clone(),
                    display_name: "Mary-Jane Watson".into(),
                    ..Default::default()
                }),
                update_mask: mask(&["display_name"]),
                request_id: request_id(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(renamed.display_name, "Mary-Jane Watson");

    // A plain member reads the list (the member role holds roster.members.read).
    let search = |query: &str| pb::ListMembersRequest {
        workspace_id: workspace_id.clone(),
        query: query.into(),
        ..Default::default()
    };
    // The feed is followed every 100 ms here: the rename shows within a second.
    let found = eventually(
        Duration::from_secs(1),
        "the new name in ListMembers",
        || {
            let request = as_user(&joe.session, search("watson"));
            let mut client = env.membership();
            async move {
                let members = client
                    .list_members(request)
                    .await
                    .unwrap()
                    .into_inner()
                    .members;
                (!members.is_empty()).then_some(members)
            }
        },
    )
    .await;
    assert_eq!(names(&found), ["Mary-Jane Watson"]);
    assert_eq!(found[0].user_id, mary.user_id);
    let everyone = env.list_all_members(&joe.session, search("")).await;
    let mut everyone = names(&everyone);
    everyone.sort();
    assert_eq!(everyone, ["Mary-Jane Watson", "joe"]);
    assert_eq!(
        env.get_member(&workspace_id, &mary.user_id)
            .await
            .display_name,
        "Mary-Jane Watson"
    );
    let old = env.list_all_members(&joe.session, search("parker")).await;
    assert!(old.is_empty(), "{old:?}");

    env.identity()
        .disable_user(as_user(
            &env.operator_token,
            id::DisableUserRequest {
                user_id: mary.user_id.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    eventually(
        Duration::from_secs(5),
        "the disabled status in ListMembers",
        || {
            let request = as_user(&env.operator_token, search("watson"));
            let mut client = env.membership();
            async move {
                let members = client
                    .list_members(request)
                    .await
                    .unwrap()
                    .into_inner()
                    .members;
                (members.len() == 1
                    && members[0].identity_status == pb::IdentityStatus::Disabled as i32)
                    .then_some(())
            }
        },
    )
    .await;
    // A disabled user keeps their seat and membership.
    let member = env.get_member(&workspace_id, &mary.user_id).await;
    assert_eq!(member.status, pb::MemberStatus::Active as i32);
    assert_eq!(member.identity_status, pb::IdentityStatus::Disabled as i32);
    assert_eq!(env.seat_usage(&workspace_id).await.used, 2);
}

/// A search term with a thousand matches or more (or too short for a trigram) is paged by
/// walking the name or email index, one with fewer by sorting its matches (the trigram
/// indexes find them): the pages are the same either way, and a walk that reaches the last
/// few hundred matches goes on from the matches without a seam.
#[tokio::test]
async fn a_search_pages_alike_whether_its_term_is_common_or_rare() {
    let env = TestEnv::start().await;
    let company = env.create_company("Acme", 0).await;
    let workspace_id = company.workspace_id().to_owned();
    // 1,500 people: 1,200 at common.example, 300 at rare.example; names repeat, so the
    // user id breaks ties.
    let sql = env.sql().await;
    sql.execute(
        "WITH people AS (
             INSERT INTO membership.users (user_id, kind, email, display_name, status, change_seq)
             SELECT gen_random_uuid(), 'human',
                    'member' || i || CASE WHEN i % 5 = 0 THEN '@rare.example' ELSE '@common.example' END,
                    'Member ' || (i % 700), 'active', 0
             FROM generate_series(1, 1500) AS i
             RETURNING user_id, kind, email, display_name)
         INSERT INTO membership.members (account_id, workspace_id, user_id, status, role_ids, kind,
                                         email, display_name, joined_at, updated_at)
         SELECT $1::text::uuid, $2::text::uuid, user_id, 'active', ARRAY[$3::text::uuid], kind, email,
                display_name, now(), now()
         FROM people",
        &[
            &company.account_id(),
            &workspace_id,
            &company.member_role_id,
        ],
    )
    .await
    .unwrap();

    for (query, order_by, matches) in [
        ("common.example", "display_name", 1200),
        ("common.example", "email desc", 1200),
        ("rare.example", "display_name desc", 300),
        ("member 1", "display_name", 234),
        // Too short for a trigram: always the walk.
        ("1", "email", 853),
    ] {
        let (column, direction) = match order_by.split_once(' ') {
            Some((column, direction)) => (column, direction),
            None => (order_by, "asc"),
        };
        let key = if column == "email" {
            "email"
        } else {
            "lower(display_name)"
        };
        let expected: Vec<String> = sql
            .query(
                &format!(
                    "SELECT user_id::text FROM membership.members
                     WHERE workspace_id = $1::text::uuid
                       AND (email LIKE '%' || $2 || '%' OR lower(display_name) LIKE '%' || $2 || '%')
                     ORDER BY {key} {direction}, user_id {direction}"
                ),
                &[&workspace_id, &query],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        assert_eq!(expected.len(), matches, "{query:?} matches");
        let listed = env
            .list_all_members(
                &env.operator_token,
                pb::ListMembersRequest {
                    workspace_id: workspace_id.clone(),
                    query: query.into(),
                    order_by: order_by.into(),
                    page_size: 100,
                    ..Default::default()
                },
            )
            .await;
        let listed: Vec<String> = listed.into_iter().map(|m| m.user_id).collect();
        assert_eq!(listed, expected, "{query:?} by {order_by}");
    }
}
