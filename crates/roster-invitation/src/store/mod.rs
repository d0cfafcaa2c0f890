//! The invitation schema's SQL.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use roster_kit::Result;
use roster_kit::db::GenericClient;
use roster_kit::sql::{Columns, QueryBuilder, contains_pattern};
use tokio_postgres::Row;
use tracing::instrument;
use uuid::Uuid;

pub(crate) mod records;

use self::records::{InvitationRecord, Stored};

/// Every column but `token_hash`, which never leaves the store.
const COLUMNS: &str =
    "account_id, invitation_id, workspace_ids, all_workspaces, email, role_ids, message,
     state, inviter_user_id, created_at, expires_at, last_sent_at, send_count, accepted_user_id,
     accepted_at, revoked_at, claim_until, accepted_new_user";

/// Invitations still pending at `now`, in SQL.
const PENDING: &str = "state = 'pending' AND expires_at > {}";

/// Locks the account's row (creating it on first use), so one request at a time decides
/// what counts as already invited and how many seats pending invitations hold.
#[instrument(skip_all, name = "invitation.store.lock_account")]
pub(crate) async fn lock_account(db: &impl GenericClient, account_id: Uuid) -> Result<()> {
    let statement = db
        .prepare_cached("INSERT INTO accounts (account_id) VALUES ($1) ON CONFLICT DO NOTHING")
        .await?;
    db.execute(&statement, &[&account_id]).await?;
    let statement = db
        .prepare_cached("SELECT 1 FROM accounts WHERE account_id = $1 FOR UPDATE")
        .await?;
    db.execute(&statement, &[&account_id]).await?;
    Ok(())
}

/// The invitations joining some workspace of `workspace_ids` (or any, for
/// account-wide ones): what makes an email "already invited" and holds seats.
pub(crate) struct Overlap<'a> {
    pub(crate) account_id: Uuid,
    pub(crate) workspace_ids: &'a [Uuid],
    pub(crate) all_workspaces: bool,
    /// An invitation to leave out (the one being resent).
    pub(crate) except: Option<Uuid>,
    pub(crate) now: DateTime<Utc>,
}

impl<'a> Overlap<'a> {
    fn push_filter(&'a self, sql: &mut QueryBuilder<'a>) {
        sql.push(" AND account_id = {}", &[&self.account_id]);
        sql.push(&format!(" AND {PENDING}"), &[&self.now]);
        if let Some(except) = &self.except {
            sql.push(" AND invitation_id <> {}", &[except]);
        }
        if !self.all_workspaces {
            sql.push(
                " AND (all_workspaces OR workspace_ids && {})",
                &[&self.workspace_ids],
            );
        }
    }
}

/// Pending invitations of these emails overlapping `overlap`: email -> invitation id.
#[instrument(skip_all, name = "invitation.store.pending_invitations")]
pub(crate) async fn pending_invitations(
    db: &impl GenericClient,
    overlap: &Overlap<'_>,
    emails: &[String],
) -> Result<HashMap<String, Uuid>> {
    let mut sql = QueryBuilder::new("SELECT email, invitation_id FROM invitations WHERE true");
    overlap.push_filter(&mut sql);
    sql.push(" AND email = ANY({})", &[&emails]);
    let statement = db.prepare_cached(sql.sql()).await?;
    db.query(&statement, sql.params())
        .await?
        .iter()
        .map(|row| Ok((row.column("email")?, row.column("invitation_id")?)))
        .collect()
}

/// How many pending invitations would join each of `workspaces`.
#[instrument(skip_all, name = "invitation.store.pending_seats")]
pub(crate) async fn pending_seats(
    db: &impl GenericClient,
    overlap: &Overlap<'_>,
    workspaces: &[Uuid],
) -> Result<HashMap<Uuid, i64>> {
    let mut sql = QueryBuilder::new("SELECT w.workspace_id, count(*) AS pending FROM unnest(");
    sql.push("{}::uuid[]) AS w(workspace_id) JOIN invitations i ON (i.all_workspaces OR w.workspace_id = ANY(i.workspace_ids))", &[&workspaces]);
    sql.push(" AND i.account_id = {}", &[&overlap.account_id]);
    sql.push(
        " AND i.state = 'pending' AND i.expires_at > {}",
        &[&overlap.now],
    );
    if let Some(except) = &overlap.except {
        sql.push(" AND i.invitation_id <> {}", &[except]);
    }
    sql.push(" GROUP BY w.workspace_id", &[]);
    let statement = db.prepare_cached(sql.sql()).await?;
    db.query(&statement, sql.params())
        .await?
        .iter()
        .map(|row| Ok((row.column("workspace_id")?, row.column("pending")?)))
        .collect()
}

/// The distinct addresses of the account's pending invitations (but `overlap.except`),
/// whatever workspaces they join: the places of the account's seat allowance they may
/// take when accepted.
#[instrument(skip_all, name = "invitation.store.pending_people")]
pub(crate) async fn pending_people(db: &impl GenericClient, overlap: &Overlap<'_>) -> Result<i64> {
    let mut sql =
        QueryBuilder::new("SELECT count(DISTINCT email) AS people FROM invitations WHERE true");
    sql.push(" AND account_id = {}", &[&overlap.account_id]);
    sql.push(&format!(" AND {PENDING}"), &[&overlap.now]);
    if let Some(except) = &overlap.except {
        sql.push(" AND invitation_id <> {}", &[except]);
    }
    let statement = db.prepare_cached(sql.sql()).await?;
    db.query_one(&statement, sql.params())
        .await?
        .column("people")
}

/// New invitations of one request: everything but id, email and token is shared.
pub(crate) struct NewInvitations<'a> {
    pub(crate) template: &'a InvitationRecord,
    pub(crate) ids: Vec<Uuid>,
    pub(crate) emails: Vec<String>,
    pub(crate) token_hashes: Vec<Vec<u8>>,
}

/// Inserts a request's invitations in one statement.
#[instrument(skip_all, name = "invitation.store.insert_invitations")]
pub(crate) async fn insert_invitations(
    db: &impl GenericClient,
    new: &NewInvitations<'_>,
) -> Result<()> {
    let t = new.template;
    let statement = db.prepare_cached("INSERT INTO invitations (account_id, invitation_id, workspace_ids, all_workspaces, email, role_ids,
                                  message, state, token_hash, inviter_user_id, created_at, expires_at,
                                  last_sent_at, send_count)
         SELECT $1, n.id, $2, $3, n.email, $4, $5, 'pending', n.token_hash, $6, $7, $8, $7, 1
         FROM unnest($9::uuid[], $10::text[], $11::bytea[]) AS n(id, email, token_hash)").await?;
    db.execute(
        &statement,
        &[
            &t.account_id,
            &t.workspace_ids,
            &t.all_workspaces,
            &t.role_ids,
            &t.message,
            &t.inviter_user_id,
            &t.created_at,
            &t.expires_at,
            &new.ids,
            &new.emails,
            &new.token_hashes,
        ],
    )
    .await?;
    Ok(())
}

fn invitation_from_row(row: &Row) -> Result<InvitationRecord> {
    Ok(InvitationRecord {
        account_id: row.column("account_id")?,
        id: row.column("invitation_id")?,
        workspace_ids: row.column("workspace_ids")?,
        all_workspaces: row.column("all_workspaces")?,
        email: row.column("email")?,
        role_ids: row.column("role_ids")?,
        message: row.column("message")?,
        stored: Stored::parse(row.column("state")?),
        inviter_user_id: row.column("inviter_user_id")?,
        created_at: row.column("created_at")?,
        expires_at: row.column("expires_at")?,
        last_sent_at: row.column("last_sent_at")?,
        send_count: row.column("send_count")?,
        accepted_user_id: row.column("accepted_user_id")?,
        accepted_at: row.column("accepted_at")?,
        revoked_at: row.column("revoked_at")?,
        claim_until: row.column("claim_until")?,
        accepted_new_user: row.column("accepted_new_user")?,
    })
}

/// Which invitation to read.
pub(crate) enum Key<'a> {
    Id(Uuid),
    TokenHash(&'a [u8]),
}

/// Reads an invitation, row-locked with `lock` until the transaction ends.
#[instrument(skip_all, name = "invitation.store.get_invitation")]
pub(crate) async fn get_invitation(
    db: &impl GenericClient,
    key: Key<'_>,
    lock: bool,
) -> Result<Option<InvitationRecord>> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let (column, value): (&str, &(dyn tokio_postgres::types::ToSql + Sync)) = match &key {
        Key::Id(id) => ("invitation_id", id),
        Key::TokenHash(hash) => ("token_hash", hash),
    };
    let statement = db
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM invitations WHERE {column} = $1{lock}"
        ))
        .await?;
    let row = db.query_opt(&statement, &[value]).await?;
    row.as_ref().map(invitation_from_row).transpose()
}

/// Gives an invitation a new token and expiry, as sent once more at `now`.
#[instrument(skip_all, name = "invitation.store.record_resend")]
pub(crate) async fn record_resend(
    db: &impl GenericClient,
    invitation: &InvitationRecord,
    token_hash: &[u8],
) -> Result<()> {
    let statement = db.prepare_cached("UPDATE invitations SET token_hash = $3, expires_at = $4, last_sent_at = $5, send_count = $6,
                                workspace_ids = $7, all_workspaces = $8
         WHERE account_id = $1 AND invitation_id = $2").await?;
    db.execute(
        &statement,
        &[
            &invitation.account_id,
            &invitation.id,
            &token_hash,
            &invitation.expires_at,
            &invitation.last_sent_at,
            &invitation.send_count,
            &invitation.workspace_ids,
            &invitation.all_workspaces,
        ],
    )
    .await?;
    Ok(())
}

/// Writes an invitation's state, roles and acceptance or revocation.
#[instrument(skip_all, name = "invitation.store.update_invitation")]
pub(crate) async fn update_invitation(
    db: &impl GenericClient,
    invitation: &InvitationRecord,
) -> Result<()> {
    let statement = db.prepare_cached("UPDATE invitations SET state = $3, role_ids = $4, accepted_user_id = $5, accepted_at = $6,
                                revoked_at = $7
         WHERE account_id = $1 AND invitation_id = $2").await?;
    db.execute(
        &statement,
        &[
            &invitation.account_id,
            &invitation.id,
            &invitation.stored.as_str(),
            &invitation.role_ids,
            &invitation.accepted_user_id,
            &invitation.accepted_at,
            &invitation.revoked_at,
        ],
    )
    .await?;
    Ok(())
}

/// Claims a pending invitation for one acceptance attempt until `until` (the caller holds
/// the row lock).
#[instrument(skip_all, name = "invitation.store.claim_invitation")]
pub(crate) async fn claim_invitation(
    db: &impl GenericClient,
    invitation: &InvitationRecord,
    claim_id: Uuid,
    until: DateTime<Utc>,
) -> Result<()> {
    let statement = db
        .prepare_cached(
            "UPDATE invitations SET claim_id = $3, claim_until = $4
              WHERE account_id = $1 AND invitation_id = $2",
        )
        .await?;
    db.execute(
        &statement,
        &[&invitation.account_id, &invitation.id, &claim_id, &until],
    )
    .await?;
    Ok(())
}

/// Ends the claim `claim_id`, if it is still the invitation's.
#[instrument(skip_all, name = "invitation.store.release_claim")]
pub(crate) async fn release_claim(
    db: &impl GenericClient,
    invitation: &InvitationRecord,
    claim_id: Uuid,
) -> Result<()> {
    let statement = db
        .prepare_cached(
            "UPDATE invitations SET claim_id = NULL, claim_until = NULL
              WHERE account_id = $1 AND invitation_id = $2 AND claim_id = $3",
        )
        .await?;
    db.execute(
        &statement,
        &[&invitation.account_id, &invitation.id, &claim_id],
    )
    .await?;
    Ok(())
}

/// Records an acceptance (state, accepter, time and whether they registered through it)
/// with the answer kept for the accepter's retries, and ends any claim.
#[instrument(skip_all, name = "invitation.store.record_acceptance")]
pub(crate) async fn record_acceptance(
    db: &impl GenericClient,
    invitation: &InvitationRecord,
    kept_answer: &[u8],
) -> Result<()> {
    let statement = db
        .prepare_cached(
            "UPDATE invitations SET state = 'accepted', accepted_user_id = $3, accepted_at = $4,
                    accepted_new_user = $5, accept_answer = $6, claim_id = NULL, claim_until = NULL
              WHERE account_id = $1 AND invitation_id = $2",
        )
        .await?;
    db.execute(
        &statement,
        &[
            &invitation.account_id,
            &invitation.id,
            &invitation.accepted_user_id,
            &invitation.accepted_at,
            &invitation.accepted_new_user,
            &kept_answer,
        ],
    )
    .await?;
    Ok(())
}

/// The answer kept for an accepted invitation's retries, if one was kept.
#[instrument(skip_all, name = "invitation.store.kept_accept_answer")]
pub(crate) async fn kept_accept_answer(
    db: &impl GenericClient,
    invitation_id: Uuid,
) -> Result<Option<Vec<u8>>> {
    let statement = db
        .prepare_cached("SELECT accept_answer FROM invitations WHERE invitation_id = $1")
        .await?;
    Ok(db
        .query_opt(&statement, &[&invitation_id])
        .await?
        .map(|row| row.column::<Option<Vec<u8>>>("accept_answer"))
        .transpose()?
        .flatten())
}

/// The filters of ListInvitations.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct InvitationQuery {
    pub(crate) account_id: Uuid,
    pub(crate) workspace_id: Option<Uuid>,
    /// Empty means every state.
    pub(crate) states: Vec<i32>,
    pub(crate) query: Option<String>,
}

/// A page of invitations, newest first.
#[instrument(skip_all, name = "invitation.store.list_invitations")]
pub(crate) async fn list_invitations(
    db: &impl GenericClient,
    query: &InvitationQuery,
    now: DateTime<Utc>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<InvitationRecord>> {
    use roster_proto::invitation::InvitationState as State;
    let mut sql = QueryBuilder::new(&format!("SELECT {COLUMNS} FROM invitations WHERE true"));
    sql.push(" AND account_id = {}", &[&query.account_id]);
    if let Some(workspace_id) = &query.workspace_id {
        sql.push(
            " AND (all_workspaces OR {} = ANY(workspace_ids))",
            &[workspace_id],
        );
    }
    if !query.states.is_empty() {
        sql.push(" AND (false", &[]);
        for state in &query.states {
            match State::try_from(*state) {
                Ok(State::Pending) => {
                    sql.push(" OR (state = 'pending' AND expires_at > {})", &[&now])
                }
                Ok(State::Expired) => {
                    sql.push(" OR (state = 'pending' AND expires_at <= {})", &[&now])
                }
                Ok(State::Revoked) => sql.push(" OR state = 'revoked'", &[]),
                Ok(State::Accepted) => sql.push(" OR state = 'accepted'", &[]),
                Ok(State::Unspecified) | Err(_) => sql.push(" OR true", &[]),
            };
        }
        sql.push(")", &[]);
    }
    let pattern = query.query.as_deref().map(contains_pattern);
    if let Some(pattern) = &pattern {
        sql.push(" AND email LIKE {}", &[pattern]);
    }
    if let Some(after) = &after {
        sql.push(" AND invitation_id < {}", &[after]);
    }
    sql.push(" ORDER BY invitation_id DESC LIMIT {}", &[&limit]);
    let statement = db.prepare_cached(sql.sql()).await?;
    db.query(&statement, sql.params())
        .await?
        .iter()
        .map(invitation_from_row)
        .collect()
}

/// Deletes up to `limit` invitations that ended (expired, revoked or accepted) before
/// `cutoff`; returns how many.
#[instrument(skip_all, name = "invitation.store.delete_ended")]
pub(crate) async fn delete_ended(
    db: &impl GenericClient,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> Result<u64> {
    Ok(db
        .execute(
            "DELETE FROM invitations WHERE invitation_id IN (
                 SELECT invitation_id FROM invitations
                 WHERE (state = 'pending' AND expires_at < $1)
                    OR (state = 'revoked' AND revoked_at < $1)
                    OR (state = 'accepted' AND accepted_at < $1)
                 LIMIT $2)",
            &[&cutoff, &limit],
        )
        .await?)
}
