//! Members, the local copy of identity's users, and the access-check lookup.
use roster_kit::sql::{Columns, KeysetOrder, Param, contains_pattern};

use super::records::{MemberRecord, MemberStatus, UserMembershipRecord};
use super::*;
use tracing::instrument;

/// A user as identity's feed (or a direct lookup) reported it.
#[derive(Debug, Clone)]
pub(crate) struct UserCopy {
    pub(crate) user_id: Uuid,
    pub(crate) kind: &'static str,
    pub(crate) email: String,
    pub(crate) display_name: String,
    pub(crate) status: &'static str,
    pub(crate) locked_until: Option<DateTime<Utc>>,
    pub(crate) is_operator: bool,
    /// When identity says the email was proven.
    pub(crate) email_verified_at: Option<DateTime<Utc>>,
    pub(crate) change_seq: i64,
}

/// What [`upsert_user`] did, and whose cached access answers it made stale.
#[derive(Debug)]
pub(crate) enum Upserted {
    /// Stored: the accounts whose members changed in a way access checks see (status or
    /// kind), to tell every replica.
    Stored(Vec<Uuid>),
    /// This change (or a newer one) was stored already, by another process following the
    /// same feed, which tells every replica; the notice may not have reached this one yet,
    /// so these, the user's accounts, are to be forgotten here before acknowledging.
    AlreadyStored(Vec<Uuid>),
}

/// Stores a user unless a newer change of it is already stored, and copies its name,
/// email and kind onto its member rows.
#[instrument(skip_all, name = "membership.store.upsert_user")]
pub(crate) async fn upsert_user(db: &impl GenericClient, user: &UserCopy) -> Result<Upserted> {
    let previous = db
        .query_opt(
            "SELECT status, locked_until, kind, is_operator FROM users WHERE user_id = $1 FOR UPDATE",
            &[&user.user_id],
        )
        .await?;
    let stored = db
        .execute(
            "INSERT INTO users (user_id, kind, email, display_name, status, locked_until, is_operator,
                                change_seq, email_verified_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (user_id) DO UPDATE
                 SET kind = EXCLUDED.kind, email = EXCLUDED.email, display_name = EXCLUDED.display_name,
                     status = EXCLUDED.status, locked_until = EXCLUDED.locked_until,
                     is_operator = EXCLUDED.is_operator, change_seq = EXCLUDED.change_seq,
                     email_verified_at = EXCLUDED.email_verified_at
                 WHERE users.change_seq < EXCLUDED.change_seq",
            &[
                &user.user_id,
                &user.kind,
                &user.email,
                &user.display_name,
                &user.status,
                &user.locked_until,
                &user.is_operator,
                &user.change_seq,
                &user.email_verified_at,
            ],
        )
        .await?;
    if stored == 0 {
        return Ok(Upserted::AlreadyStored(
            accounts_of(db, user.user_id).await?,
        ));
    }
    let rows = db
        .query(
            "UPDATE members SET email = $2, display_name = $3, kind = $4
             WHERE user_id = $1 AND (email, display_name, kind) IS DISTINCT FROM ($2, $3, $4)
             RETURNING account_id",
            &[&user.user_id, &user.email, &user.display_name, &user.kind],
        )
        .await?;
    let access_changed = match &previous {
        None => true,
        Some(row) => {
            row.column::<&str>("status")? != user.status
                || row.column::<Option<DateTime<Utc>>>("locked_until")? != user.locked_until
                || row.column::<&str>("kind")? != user.kind
                || row.column::<bool>("is_operator")? != user.is_operator
        }
    };
    if !access_changed {
        return Ok(Upserted::Stored(Vec::new()));
    }
    let mut accounts = rows
        .iter()
        .map(|row| row.column("account_id"))
        .collect::<Result<Vec<Uuid>>>()?;
    accounts.extend(accounts_of(db, user.user_id).await?);
    accounts.sort_unstable();
    accounts.dedup();
    Ok(Upserted::Stored(accounts))
}

/// The accounts `user_id` is a member or an administrator of.
async fn accounts_of(db: &impl GenericClient, user_id: Uuid) -> Result<Vec<Uuid>> {
    db.query(
        "SELECT DISTINCT account_id FROM members WHERE user_id = $1
         UNION SELECT account_id FROM account_administrators WHERE user_id = $1",
        &[&user_id],
    )
    .await?
    .iter()
    .map(|row| row.column("account_id"))
    .collect()
}

/// Whether `user_id` is a member (active or suspended) somewhere in the account.
#[instrument(skip_all, name = "membership.store.is_account_member")]
pub(crate) async fn is_account_member(
    db: &impl GenericClient,
    account_id: Uuid,
    user_id: Uuid,
) -> Result<bool> {
    db.query_one(
        "SELECT EXISTS (SELECT 1 FROM members WHERE account_id = $1 AND user_id = $2 AND status <> 'removed')",
        &[&account_id, &user_id],
    )
    .await?
    .at(0)
}

/// Whether the local copy knows the user.
#[instrument(skip_all, name = "membership.store.user_known")]
pub(crate) async fn user_known(db: &impl GenericClient, user_id: Uuid) -> Result<bool> {
    db.query_one(
        "SELECT EXISTS (SELECT 1 FROM users WHERE user_id = $1)",
        &[&user_id],
    )
    .await?
    .at(0)
}

/// The feed position stored for `feed` (0 before the first change).
#[instrument(skip_all, name = "membership.store.feed_position")]
pub(crate) async fn feed_position(db: &impl GenericClient, feed: &str) -> Result<i64> {
    db.query_opt(
        "SELECT position FROM feed_cursors WHERE feed = $1",
        &[&feed],
    )
    .await?
    .map_or(Ok(0), |row| row.column("position"))
}

/// Moves the feed position forward (never back: replicas may follow at once).
#[instrument(skip_all, name = "membership.store.advance_feed")]
pub(crate) async fn advance_feed(db: &impl GenericClient, feed: &str, position: i64) -> Result<()> {
    db.execute(
        "INSERT INTO feed_cursors (feed, position) VALUES ($1, $2)
         ON CONFLICT (feed) DO UPDATE SET position = GREATEST(feed_cursors.position, EXCLUDED.position)",
        &[&feed, &position],
    )
    .await?;
    Ok(())
}

/// A member's columns, read from `m` (the members table or rows of it) joined as
/// [`MEMBER_JOINS`] joins it.
const MEMBER_COLUMNS: &str = "m.account_id, m.workspace_id, m.user_id, m.status, m.status_before_removal,
                              m.role_ids, m.kind, m.email, m.display_name, m.joined_at, m.suspended_at,
                              m.removed_at, m.purge_after, m.transfer_to_user_id, m.updated_at,
                              u.status AS identity_status, u.locked_until, u.email_verified_at,
                              COALESCE(v.field_values, '{}') AS custom_field_values";

/// The user's standing and the custom field values beside each member `m`.
const MEMBER_JOINS: &str = "JOIN users u ON u.user_id = m.user_id
                            LEFT JOIN member_field_values v ON v.account_id = m.account_id AND v.user_id = m.user_id";

fn optional_status(value: Option<&str>) -> Option<MemberStatus> {
    value.map(MemberStatus::from_db)
}

fn member_from_row(row: &Row) -> Result<MemberRecord> {
    Ok(MemberRecord {
        account_id: row.column("account_id")?,
        workspace_id: row.column("workspace_id")?,
        user_id: row.column("user_id")?,
        status: MemberStatus::from_db(row.column("status")?),
        status_before_removal: optional_status(row.column("status_before_removal")?),
        role_ids: row.column("role_ids")?,
        kind: row.column("kind")?,
        email: row.column("email")?,
        display_name: row.column("display_name")?,
        identity_status: row.column("identity_status")?,
        locked_until: row.column("locked_until")?,
        email_verified_at: row.column("email_verified_at")?,
        joined_at: row.column("joined_at")?,
        suspended_at: row.column("suspended_at")?,
        removed_at: row.column("removed_at")?,
        purge_after: row.column("purge_after")?,
        transfer_to_user_id: row.column("transfer_to_user_id")?,
        custom_field_values: row.column("custom_field_values")?,
        updated_at: row.column("updated_at")?,
    })
}

/// Inserts a member, copying name, email and kind from the local user copy. The copy is
/// share-locked so a concurrent feed update either comes first (and is copied) or waits
/// and then updates this member too.
#[instrument(skip_all, name = "membership.store.insert_member")]
pub(crate) async fn insert_member(
    db: &impl GenericClient,
    account_id: Uuid,
    workspace_id: Uuid,
    user_id: Uuid,
    role_ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<MemberRecord> {
    db.execute(
        "INSERT INTO members (account_id, workspace_id, user_id, status, role_ids, kind, email,
                              display_name, joined_at, updated_at)
         SELECT $1, $2, user_id, 'active', $4, kind, email, display_name, $5, $5
         FROM users WHERE user_id = $3 FOR SHARE",
        &[&account_id, &workspace_id, &user_id, &role_ids, &now],
    )
    .await?;
    get_member(db, account_id, workspace_id, user_id, false)
        .await?
        .ok_or_else(|| roster_kit::Error::internal("insert member", "the user copy is missing"))
}

/// The statement of [`get_member`].
pub(crate) fn member_by_id_sql(for_update: bool) -> String {
    let lock = if for_update { " FOR UPDATE OF m" } else { "" };
    format!(
        "SELECT {MEMBER_COLUMNS} FROM members m {MEMBER_JOINS}
         WHERE m.account_id = $1 AND m.workspace_id = $2 AND m.user_id = $3{lock}"
    )
}

/// Reads a member; `for_update` row-locks it.
#[instrument(skip_all, name = "membership.store.get_member")]
pub(crate) async fn get_member(
    db: &impl GenericClient,
    account_id: Uuid,
    workspace_id: Uuid,
    user_id: Uuid,
    for_update: bool,
) -> Result<Option<MemberRecord>> {
    let statement = db.prepare_cached(&member_by_id_sql(for_update)).await?;
    db.query_opt(&statement, &[&account_id, &workspace_id, &user_id])
        .await?
        .as_ref()
        .map(member_from_row)
        .transpose()
}

/// Writes a member's status, roles and removal details.
#[instrument(skip_all, name = "membership.store.save_member")]
pub(crate) async fn save_member(
    db: &impl GenericClient,
    member: &MemberRecord,
    now: DateTime<Utc>,
) -> Result<()> {
    db.execute(
        "UPDATE members SET status = $4, status_before_removal = $5, role_ids = $6, suspended_at = $7,
                removed_at = $8, purge_after = $9, transfer_to_user_id = $10, updated_at = $11
         WHERE account_id = $1 AND workspace_id = $2 AND user_id = $3",
        &[
            &member.account_id,
            &member.workspace_id,
            &member.user_id,
            &member.status.as_db(),
            &member.status_before_removal.map(MemberStatus::as_db),
            &member.role_ids,
            &member.suspended_at,
            &member.removed_at,
            &member.purge_after,
            &member.transfer_to_user_id,
            &now,
        ],
    )
    .await?;
    Ok(())
}

/// Ends a removed member's restore window at `now` (a purge has started), so the member
/// reads as purged for restores, re-adds and asset access.
#[instrument(skip_all, name = "membership.store.end_restore_window")]
pub(crate) async fn end_restore_window(
    db: &impl GenericClient,
    account_id: Uuid,
    workspace_id: Uuid,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    db.execute(
        "UPDATE members SET purge_after = least(purge_after, $4), updated_at = $4
         WHERE account_id = $1 AND workspace_id = $2 AND user_id = $3 AND status = 'removed'",
        &[&account_id, &workspace_id, &user_id, &now],
    )
    .await?;
    Ok(())
}

/// Deletes a member row for good.
#[instrument(skip_all, name = "membership.store.delete_member")]
pub(crate) async fn delete_member(
    db: &impl GenericClient,
    account_id: Uuid,
    workspace_id: Uuid,
    user_id: Uuid,
) -> Result<()> {
    db.execute(
        "DELETE FROM members WHERE account_id = $1 AND workspace_id = $2 AND user_id = $3",
        &[&account_id, &workspace_id, &user_id],
    )
    .await?;
    Ok(())
}

/// Active members of a workspace holding `role_id` (the admin count of the last-admin rule).
#[instrument(skip_all, name = "membership.store.count_active_holders")]
pub(crate) async fn count_active_holders(
    db: &impl GenericClient,
    account_id: Uuid,
    workspace_id: Uuid,
    role_id: Uuid,
) -> Result<i64> {
    db
    .query_one(
        "SELECT count(*) FROM members
         WHERE account_id = $1 AND workspace_id = $2 AND status = 'active' AND role_ids @> ARRAY[$3::uuid]",
        &[&account_id, &workspace_id, &role_id],
    )
    .await?
    .at(0)
}

/// Sort keys of `ListMembers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub(crate) enum MemberOrder {
    DisplayName,
    Email,
    JoinTime,
}

impl MemberOrder {
    /// The indexed sort expression, and how its page-token value is turned back into it.
    fn expression(self) -> (&'static str, &'static str) {
        match self {
            Self::DisplayName => ("lower(m.display_name)", "{}::text"),
            Self::Email => ("m.email", "{}::text"),
            Self::JoinTime => ("m.joined_at", "CAST({}::text AS timestamptz)"),
        }
    }

    /// The sort value of a member, as kept in page tokens.
    pub(crate) fn key_of(self, member: &MemberRecord) -> String {
        match self {
            Self::DisplayName => member.display_name.to_lowercase(),
            Self::Email => member.email.clone(),
            Self::JoinTime => member.joined_at.to_rfc3339(),
        }
    }
}

/// Filters and order of `ListMembers`.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct MemberQuery {
    pub(crate) workspace_id: Uuid,
    pub(crate) kind: Option<&'static str>,
    pub(crate) statuses: Vec<MemberStatus>,
    pub(crate) role_id: Option<Uuid>,
    pub(crate) query: Option<String>,
    pub(crate) order: MemberOrder,
    pub(crate) descending: bool,
}

impl MemberQuery {
    fn keyset(&self) -> KeysetOrder<'static> {
        let (column, cast) = self.order.expression();
        KeysetOrder {
            column,
            cast,
            id_column: "m.user_id",
            descending: self.descending,
        }
    }

    /// Appends the conditions of the query's filters: `statuses` (its statuses as stored)
    /// and `pattern` (its search term's) among them.
    fn push_filters<'a>(
        &'a self,
        sql: &mut QueryBuilder<'a>,
        statuses: Param<'a>,
        pattern: Option<&'a String>,
    ) {
        sql.push(" AND m.workspace_id = {}", &[&self.workspace_id]);
        if let Some(kind) = &self.kind {
            sql.push(" AND m.kind = {}", &[kind]);
        }
        sql.push(" AND m.status = ANY({})", &[statuses]);
        if let Some(role_id) = &self.role_id {
            sql.push(" AND m.role_ids @> ARRAY[{}::uuid]", &[role_id]);
        }
        if let Some(pattern) = pattern {
            sql.push(
                " AND (m.email LIKE {} OR lower(m.display_name) LIKE {})",
                &[pattern, pattern],
            );
        }
    }
}

/// How many matches a search term may have from a page's start on and still count as
/// rare. A rare term's page is sorted from its matches, found through the trigram
/// indexes; walking the sort index instead would pass every member who does not match.
/// A common term's page is found sooner by that walk, which stops once the page is full.
const RARE_MATCHES: i64 = 1000;

/// One page of a workspace's members after `after` (sort value, user id).
#[instrument(skip_all, name = "membership.store.list_members")]
pub(crate) async fn list_members(
    db: &impl GenericClient,
    query: &MemberQuery,
    after: Option<&(String, Uuid)>,
    limit: i64,
) -> Result<Vec<MemberRecord>> {
    let statuses: Vec<&str> = query.statuses.iter().map(|s| s.as_db()).collect();
    let term = query.query.as_deref();
    let pattern = term.map(contains_pattern);
    if let Some(pattern) = &pattern
        && term.is_some_and(trigrams_narrow)
    {
        let mut sql =
            QueryBuilder::new("WITH matches AS MATERIALIZED (SELECT m.* FROM members m WHERE true");
        query.push_filters(&mut sql, &statuses, Some(pattern));
        // The page is cut from the matches before the joins, so they run for its rows only.
        sql.push_after(&query.keyset(), after)
            .push(" LIMIT {})", &[&RARE_MATCHES])
            .push_text(&format!(
                " SELECT {MEMBER_COLUMNS}, (SELECT count(*) FROM matches) AS matches
                 FROM (SELECT * FROM matches m"
            ))
            .push_order(&query.keyset(), &limit)
            .push_text(&format!(") m {MEMBER_JOINS}"))
            .push_order(&query.keyset(), &limit);
        let rows = query_members(db, &sql).await?;
        let matches: i64 = match rows.first() {
            Some(row) => row.column("matches")?,
            None => 0,
        };
        if matches < RARE_MATCHES {
            return rows.iter().map(member_from_row).collect();
        }
    }
    let mut sql = QueryBuilder::new(&format!(
        "SELECT {MEMBER_COLUMNS} FROM members m {MEMBER_JOINS} WHERE true"
    ));
    query.push_filters(&mut sql, &statuses, pattern.as_ref());
    sql.push_keyset(&query.keyset(), after, &limit);
    query_members(db, &sql)
        .await?
        .iter()
        .map(member_from_row)
        .collect()
}

/// Whether the trigram indexes narrow a search for `term`. pg_trgm takes trigrams from
/// runs of letters and digits only: a term without a run of three has none, and the
/// indexes would be read whole (a short common term is found sooner by the walk).
fn trigrams_narrow(term: &str) -> bool {
    term.split(|c: char| !c.is_alphanumeric())
        .any(|word| word.chars().nth(2).is_some())
}

/// Runs one of `ListMembers`' queries. Few distinct filter combinations: each is
/// prepared once per connection.
async fn query_members(db: &impl GenericClient, sql: &QueryBuilder<'_>) -> Result<Vec<Row>> {
    let statement = db.prepare_cached(sql.sql()).await?;
    Ok(db.query(&statement, sql.params()).await?)
}

/// A user's workspace memberships and account administrations, by account then
/// workspace name.
#[instrument(skip_all, name = "membership.store.user_memberships")]
pub(crate) async fn user_memberships(
    db: &impl GenericClient,
    user_id: Uuid,
    show_removed: bool,
) -> Result<Vec<UserMembershipRecord>> {
    db.query(
            "SELECT a.account_id, a.name AS account_name, w.workspace_id, w.name AS workspace_name,
                    m.status, m.role_ids,
                    EXISTS (SELECT 1 FROM account_administrators d
                            WHERE d.account_id = a.account_id AND d.user_id = $1) AS account_administrator
             FROM members m
             JOIN workspaces w ON w.account_id = m.account_id AND w.workspace_id = m.workspace_id
             JOIN accounts a ON a.account_id = m.account_id
             WHERE m.user_id = $1 AND ($2 OR m.status <> 'removed')
             UNION ALL
             SELECT a.account_id, a.name, NULL, NULL, NULL, NULL, true
             FROM account_administrators d JOIN accounts a ON a.account_id = d.account_id
             WHERE d.user_id = $1
               AND NOT EXISTS (SELECT 1 FROM members m WHERE m.user_id = $1 AND m.account_id = d.account_id
                                 AND ($2 OR m.status <> 'removed'))
             ORDER BY account_name, account_id, workspace_name NULLS FIRST",
            &[&user_id, &show_removed],
        )
        .await?
        .iter()
        .map(|row| {
            Ok(UserMembershipRecord {
                account_id: row.column("account_id")?,
                account_name: row.column("account_name")?,
                workspace_id: row.column("workspace_id")?,
                workspace_name: row.column("workspace_name")?,
                status: row
                    .column::<Option<&str>>("status")?
                    .map(MemberStatus::from_db),
                role_ids: row
                    .column::<Option<Vec<Uuid>>>("role_ids")?
                    .unwrap_or_default(),
                account_administrator: row.column("account_administrator")?,
            })
        })
        .collect()
}

/// What `CheckUserAdministration` answers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UserAdministration {
    /// `user_id` belongs to at least one account, and `administrator_id` administers every
    /// account `user_id` belongs to (as a non-removed member or an administrator).
    pub(crate) allowed: bool,
    /// The shortest impersonation window of those accounts (the default in none).
    pub(crate) impersonation_window_secs: i64,
}

/// How `administrator_id` stands towards `user_id`'s accounts.
#[instrument(skip_all, name = "membership.store.administers_every_account_of")]
pub(crate) async fn administers_every_account_of(
    db: &impl GenericClient,
    administrator_id: Uuid,
    user_id: Uuid,
) -> Result<UserAdministration> {
    let row = db
        .query_one(
            "WITH accounts_of_user AS (
                 SELECT account_id FROM members WHERE user_id = $2 AND status <> 'removed'
                 UNION SELECT account_id FROM account_administrators WHERE user_id = $2)
             SELECT count(*) > 0 AND bool_and(EXISTS (
                        SELECT 1 FROM account_administrators d
                        WHERE d.account_id = u.account_id AND d.user_id = $1)) AS allowed,
                    min(a.impersonation_window_secs) AS impersonation_window_secs
             FROM accounts_of_user u JOIN accounts a ON a.account_id = u.account_id",
            &[&administrator_id, &user_id],
        )
        .await?;
    Ok(UserAdministration {
        allowed: row.column::<Option<bool>>("allowed")?.unwrap_or(false),
        impersonation_window_secs: row
            .column::<Option<i64>>("impersonation_window_secs")?
            .unwrap_or(super::records::Settings::default().impersonation_window_secs),
    })
}

/// Whether `user_id` may reset their password by email: they belong to no account (as a
/// non-removed member or an administrator), or one of their accounts allows it.
#[instrument(skip_all, name = "membership.store.self_service_reset_allowed")]
pub(crate) async fn self_service_reset_allowed(
    db: &impl GenericClient,
    user_id: Uuid,
) -> Result<bool> {
    let row = db
        .query_one(
            "WITH accounts_of_user AS (
                 SELECT account_id FROM members WHERE user_id = $1 AND status <> 'removed'
                 UNION SELECT account_id FROM account_administrators WHERE user_id = $1)
             SELECT count(*) = 0 OR bool_or(a.self_service_password_reset)
             FROM accounts_of_user u JOIN accounts a ON a.account_id = u.account_id",
            &[&user_id],
        )
        .await?;
    Ok(row.at::<Option<bool>>(0)?.unwrap_or(true))
}

/// What an access check needs to know about a user in a workspace, in one round trip.
#[derive(Debug, Clone)]
pub(crate) struct AccessFacts {
    pub(crate) account_id: Uuid,
    pub(crate) is_account_administrator: bool,
    /// Identity status, when the user is known.
    pub(crate) identity_status: Option<String>,
    pub(crate) locked_until: Option<DateTime<Utc>>,
    pub(crate) is_operator: bool,
    pub(crate) member_status: Option<MemberStatus>,
    pub(crate) permissions: Vec<String>,
}

/// The access facts of `user_id` in `workspace_id`, or `None` for an unknown workspace.
#[instrument(skip_all, name = "membership.store.access_facts")]
pub(crate) async fn access_facts(
    db: &impl GenericClient,
    workspace_id: Uuid,
    user_id: Uuid,
) -> Result<Option<AccessFacts>> {
    let statement = db.prepare_cached(include_str!("access_facts.sql")).await?;
    db.query_opt(&statement, &[&workspace_id, &user_id])
        .await?
        .map(|row| {
            Ok(AccessFacts {
                account_id: row.column("account_id")?,
                is_account_administrator: row.column("is_account_administrator")?,
                identity_status: row.column("identity_status")?,
                locked_until: row.column("locked_until")?,
                is_operator: row.column::<Option<bool>>("is_operator")?.unwrap_or(false),
                member_status: optional_status(row.column("member_status")?),
                permissions: row.column("permissions")?,
            })
        })
        .transpose()
}

/// A member of a workspace who holds an email being invited there.
#[derive(Debug, Clone)]
pub(crate) struct EmailHolder {
    pub(crate) email: String,
    pub(crate) workspace_id: Uuid,
    pub(crate) user_id: Uuid,
    pub(crate) status: MemberStatus,
}

/// The members of `workspace_ids` whose email is one of `emails` (exact match): active
/// and suspended ones, and removed ones whose purge has not finished.
#[instrument(skip_all, name = "membership.store.email_holders")]
pub(crate) async fn email_holders(
    db: &impl GenericClient,
    account_id: Uuid,
    workspace_ids: &[Uuid],
    emails: &[String],
) -> Result<Vec<EmailHolder>> {
    let statement = db.prepare_cached(include_str!("email_holders.sql")).await?;
    db.query(&statement, &[&account_id, &workspace_ids, &emails])
        .await?
        .iter()
        .map(|row| {
            Ok(EmailHolder {
                email: row.column("email")?,
                workspace_id: row.column("workspace_id")?,
                user_id: row.column("user_id")?,
                status: MemberStatus::from_db(row.column("status")?),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::trigrams_narrow;

    #[test]
    fn only_a_run_of_three_letters_or_digits_gives_trigrams() {
        for term in ["777", "smith", "j.smi", "@acme", "zoë"] {
            assert!(trigrams_narrow(term), "{term}");
        }
        for term in ["a", "jo", "j.s", "a-b-c", "@.", "ab cd"] {
            assert!(!trigrams_narrow(term), "{term}");
        }
    }
}
