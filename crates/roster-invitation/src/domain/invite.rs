//! Sending invitations: InviteUsers and ResendInvitation, which decide each address the
//! same way under the account's lock.
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use futures::future::try_join_all;
use roster_kit::audit::{self, AuditRecord, Changes};
use roster_kit::auth::{Caller, Principal, parse_id};
use roster_kit::outbox::{self, OutboxMessage};
use roster_kit::requests::{self, Replay};
use roster_kit::{Error, Result, token};
use roster_proto::invitation as pb;
use roster_proto::membership as membership_pb;
use roster_proto::types::ErrorReason;
use serde_json::json;
use tracing::instrument;
use uuid::Uuid;

use super::model::{InvitationRecord, Stored};
use super::{Hidden, Invitations, Need};
use crate::store::{self, Key, NewInvitations, Overlap};

/// The prefix of invitation link tokens.
const TOKEN_PREFIX: &str = "inv";

/// A shape-checked InviteUsers request.
#[derive(Debug, Clone)]
pub(crate) struct InviteRequest {
    pub(crate) account_id: Uuid,
    pub(crate) workspace_ids: Vec<Uuid>,
    pub(crate) all_workspaces: bool,
    pub(crate) emails: Vec<String>,
    pub(crate) role_ids: Vec<Uuid>,
    pub(crate) message: String,
}

/// One distinct address of a request: normalized when valid, else as sent (trimmed).
#[derive(Debug, Clone)]
struct Address {
    text: String,
    valid: bool,
}

/// The request's addresses, each once, in the order sent.
fn distinct_addresses(raw: &[String]) -> Vec<Address> {
    let mut seen = HashSet::new();
    raw.iter()
        .map(|raw| match roster_kit::email::normalize("emails", raw) {
            Ok(email) => Address {
                text: email,
                valid: true,
            },
            Err(_) => Address {
                text: raw.trim().to_owned(),
                valid: false,
            },
        })
        .filter(|address| seen.insert(address.text.clone()))
        .collect()
}

/// Why an address is not invited.
#[derive(Debug, Clone)]
struct Refusal {
    reason: ErrorReason,
    message: String,
    workspace_id: Option<Uuid>,
    /// A refusal for the account's seat allowance rather than a workspace's limit.
    account_scope: bool,
}

impl Refusal {
    fn new(reason: ErrorReason, message: String) -> Self {
        Self {
            reason,
            message,
            workspace_id: None,
            account_scope: false,
        }
    }

    fn in_workspace(mut self, workspace_id: Uuid) -> Self {
        self.workspace_id = Some(workspace_id);
        self
    }

    fn into_error(self) -> Error {
        let mut error = Error::refused(self.reason, self.message);
        if self.account_scope {
            error = error.with_metadata("scope", "account");
        }
        match self.workspace_id {
            Some(id) => error.with_metadata("workspace_id", id.to_string()),
            None => error,
        }
    }
}

/// What one request may still invite: free seats per workspace (`None`: no limit).
struct Seats {
    free: HashMap<Uuid, Option<i64>>,
    names: HashMap<Uuid, String>,
}

impl Seats {
    /// One more invitation to every workspace, or the first workspace that is full.
    fn take(&mut self) -> Result<(), Uuid> {
        // Below zero when the limit was lowered under the seats already taken.
        if let Some((full, _)) = self
            .free
            .iter()
            .find(|(_, free)| free.is_some_and(|n| n <= 0))
        {
            return Err(*full);
        }
        for free in self.free.values_mut().flatten() {
            *free -= 1;
        }
        Ok(())
    }
}

/// Everything a request's decisions rest on, read under the account's lock.
struct Context {
    account_name: String,
    lifetime: chrono::Duration,
    allowed_domains: Vec<String>,
    workspace_ids: Vec<Uuid>,
    seats: Seats,
    /// email -> the first (workspace, reason, user) that forbids inviting it.
    conflicts: HashMap<String, (Uuid, ErrorReason)>,
    /// email -> its pending invitation overlapping these workspaces.
    invited: HashMap<String, Uuid>,
    /// Places of the account's seat allowance left for new users (`None`: no allowance).
    allowance_free: Option<i64>,
    /// The account's allowance, for messages.
    allowance: i32,
    /// Emails whose users already hold a seat in the account (they take no place).
    seated: HashSet<String>,
}

/// Whether membership describes the account as one whose invitations are account-wide.
fn account_wide(answer: &membership_pb::CheckInviteesResponse) -> bool {
    answer.settings.as_ref().is_some_and(|settings| {
        settings.invitation_scope() == membership_pb::InvitationScope::Account
    })
}

fn malformed(e: Error) -> Error {
    Error::internal("membership answered malformed invitees", e)
}

impl Context {
    fn refusal(&self, address: &Address) -> Option<Refusal> {
        let email = &address.text;
        if !address.valid {
            return Some(Refusal::new(
                ErrorReason::InvalidEmail,
                format!("{email:?} is not an email address"),
            ));
        }
        let domain = email.rsplit_once('@').map_or("", |(_, domain)| domain);
        if !self.allowed_domains.is_empty() && !self.allowed_domains.iter().any(|d| d == domain) {
            return Some(Refusal::new(
                ErrorReason::DomainNotAllowed,
                format!(
                    "{} accepts invitations only to {}",
                    self.account_name,
                    self.allowed_domains.join(", ")
                ),
            ));
        }
        if let Some((workspace_id, reason)) = self.conflicts.get(email) {
            let name = self.workspace_name(*workspace_id);
            let message = if *reason == ErrorReason::AlreadyMember {
                format!("{email} is already a member of {name}")
            } else {
                format!(
                    "{email} was removed from {name} recently: restore them, or purge them to invite afresh"
                )
            };
            return Some(Refusal::new(*reason, message).in_workspace(*workspace_id));
        }
        if let Some(invitation_id) = self.invited.get(email) {
            return Some(Refusal::new(
                ErrorReason::AlreadyInvited,
                format!("{email} has a pending invitation ({invitation_id}): resend it instead"),
            ));
        }
        None
    }

    /// Refuses an address that would be one more user than the account's allowance.
    fn allowance_refusal(&self, address: &Address) -> Option<Refusal> {
        let free = self.allowance_free?;
        if free > 0 || self.seated.contains(&address.text) {
            return None;
        }
        Some(Refusal {
            reason: ErrorReason::SeatLimitReached,
            message: format!(
                "{}'s seat allowance of {} users is taken by members and pending invitations",
                self.account_name, self.allowance
            ),
            workspace_id: None,
            account_scope: true,
        })
    }

    /// Takes a place of the allowance for an invited address that holds no seat yet.
    fn take_allowance(&mut self, address: &Address) {
        if let Some(free) = &mut self.allowance_free
            && !self.seated.contains(&address.text)
        {
            *free -= 1;
        }
    }

    fn workspace_name(&self, id: Uuid) -> &str {
        self.seats
            .names
            .get(&id)
            .map_or("the workspace", String::as_str)
    }

    fn seat_refusal(&self, workspace_id: Uuid) -> Refusal {
        Refusal::new(
            ErrorReason::SeatLimitReached,
            format!(
                "{}'s seats are taken by members and pending invitations",
                self.workspace_name(workspace_id)
            ),
        )
        .in_workspace(workspace_id)
    }
}

/// Builds what decides the invitations of `emails` from membership's `answer` and this
/// service's pending invitations; the account must be locked. Membership is asked before
/// the lock is taken: the lock guards this service's own rows, and membership enforces
/// seats again when an invitation is accepted.
async fn read_context(
    db: &impl roster_kit::db::GenericClient,
    answer: membership_pb::CheckInviteesResponse,
    account_id: Uuid,
    all_workspaces: bool,
    emails: &[String],
    except: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Context> {
    let settings = answer.settings.unwrap_or_default();
    let lifetime_secs = settings
        .invitation_lifetime
        .map_or(7 * 24 * 3600, |d| d.seconds);
    let mut seats = Seats {
        free: HashMap::new(),
        names: HashMap::new(),
    };
    let mut ids = Vec::new();
    for workspace in &answer.workspaces {
        let id = parse_id("workspace_id", &workspace.workspace_id).map_err(malformed)?;
        let usage = workspace.seat_usage.clone().unwrap_or_default();
        let free = (usage.limit > 0).then(|| i64::from(usage.limit) - i64::from(usage.used));
        seats.free.insert(id, free);
        seats.names.insert(id, workspace.name.clone());
        ids.push(id);
    }
    let overlap = Overlap {
        account_id,
        workspace_ids: &ids,
        all_workspaces,
        except,
        now,
    };
    for (id, pending) in store::pending_seats(db, &overlap, &ids).await? {
        if let Some(Some(free)) = seats.free.get_mut(&id) {
            *free -= pending;
        }
    }
    let mut conflicts = HashMap::new();
    for conflict in &answer.conflicts {
        let workspace_id = parse_id("workspace_id", &conflict.workspace_id).map_err(malformed)?;
        let reason = conflict.reason();
        // An existing member outweighs a removed one elsewhere.
        let entry = conflicts
            .entry(conflict.email.clone())
            .or_insert((workspace_id, reason));
        if reason == ErrorReason::AlreadyMember {
            *entry = (workspace_id, reason);
        }
    }
    let invited = store::pending_invitations(db, &overlap, emails).await?;
    // Pending invitations reserve places of the allowance as they reserve seats (counted
    // by address: one to a user already seated here reserves a place it will not take).
    let allowance_free = if answer.seat_allowance > 0 {
        let pending = store::pending_people(db, &overlap).await?;
        Some(i64::from(answer.seat_allowance) - i64::from(answer.seat_allowance_used) - pending)
    } else {
        None
    };
    Ok(Context {
        account_name: answer.account_name,
        lifetime: chrono::Duration::seconds(lifetime_secs),
        allowed_domains: settings.allowed_email_domains,
        workspace_ids: ids,
        invited,
        seats,
        conflicts,
        allowance_free,
        allowance: answer.seat_allowance,
        seated: answer.seated_emails.into_iter().collect(),
    })
}

impl Invitations {
    /// What membership knows for an invitation to `workspace_ids` (or all), following the
    /// account's invitation scope: where every invitation is account-wide (seed 000: "Users
    /// invited from a workspace will belong to all workspaces that belong to the account"),
    /// the named workspaces are checked, then the whole account is described. The answer,
    /// and whether the invitation is account-wide.
    async fn check_in_scope(
        &self,
        account_id: Uuid,
        workspace_ids: &[Uuid],
        all_workspaces: bool,
        role_ids: &[Uuid],
        emails: &[String],
    ) -> Result<(membership_pb::CheckInviteesResponse, bool)> {
        let answer = self
            .check_invitees(account_id, workspace_ids, all_workspaces, role_ids, emails)
            .await?;
        if all_workspaces || !account_wide(&answer) {
            return Ok((answer, all_workspaces));
        }
        let whole = self
            .check_invitees(account_id, &[], true, role_ids, emails)
            .await?;
        Ok((whole, true))
    }

    /// Invites each address of `request` or says why not.
    #[instrument(skip_all, name = "invitation.domain.invite_users", fields(account_id = %request.account_id, emails = request.emails.len()))]
    pub(crate) async fn invite_users(
        &self,
        caller: &Caller,
        request: InviteRequest,
    ) -> Result<pb::InviteUsersResponse> {
        // Account-wide invitations need the right in every workspace the account has.
        let principal = if request.all_workspaces {
            self.require_account(caller, request.account_id, Need::Invite)
                .await?;
            caller.principal()?
        } else {
            self.require(
                caller,
                &request.workspace_ids,
                Need::Invite,
                Hidden::Workspace,
            )
            .await?
        };
        let addresses = distinct_addresses(&request.emails);
        let valid: Vec<String> = addresses
            .iter()
            .filter(|a| a.valid)
            .map(|a| a.text.clone())
            .collect();
        let inviter_name = self.display_name(principal.user_id).await?;
        let (answer, all_workspaces) = self
            .check_in_scope(
                request.account_id,
                &request.workspace_ids,
                request.all_workspaces,
                &request.role_ids,
                &valid,
            )
            .await?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(answer) = requests::begin(&tx, caller, "InviteUsers", now).await? {
            return Ok(answer);
        }
        store::lock_account(&tx, request.account_id).await?;
        let mut context = read_context(
            &tx,
            answer,
            request.account_id,
            all_workspaces,
            &valid,
            None,
            now,
        )
        .await?;
        if context.workspace_ids.is_empty() {
            return Err(Error::invalid(
                "all_workspaces",
                "the account has no workspaces yet",
            ));
        }
        let template = InvitationRecord {
            account_id: request.account_id,
            id: Uuid::nil(),
            workspace_ids: context.workspace_ids.clone(),
            all_workspaces,
            email: String::new(),
            role_ids: request.role_ids.clone(),
            message: request.message.clone(),
            stored: Stored::Pending,
            inviter_user_id: principal.user_id,
            created_at: now,
            expires_at: now + context.lifetime,
            last_sent_at: now,
            send_count: 1,
            accepted_user_id: None,
            accepted_at: None,
            revoked_at: None,
            claim_until: None,
            accepted_new_user: None,
        };
        let mut new = NewInvitations {
            template: &template,
            ids: Vec::new(),
            emails: Vec::new(),
            token_hashes: Vec::new(),
        };
        let mut secrets = Vec::new();
        let mut results = Vec::with_capacity(addresses.len());
        for address in &addresses {
            let refusal = context
                .refusal(address)
                .or_else(|| context.allowance_refusal(address))
                .or_else(|| {
                    context
                        .seats
                        .take()
                        .err()
                        .map(|full| context.seat_refusal(full))
                });
            let mut result = pb::InviteResult {
                email: address.text.clone(),
                ..Default::default()
            };
            match refusal {
                Some(refusal) => {
                    result.refusal_reason = refusal.reason.into();
                    result.refusal_message = refusal.message;
                    result.refusal_workspace_id = refusal
                        .workspace_id
                        .map(|id| id.to_string())
                        .unwrap_or_default();
                }
                None => {
                    context.take_allowance(address);
                    let token = token::mint(TOKEN_PREFIX);
                    let invitation = InvitationRecord {
                        id: Uuid::now_v7(),
                        email: address.text.clone(),
                        ..template.clone()
                    };
                    context.invited.insert(address.text.clone(), invitation.id);
                    new.ids.push(invitation.id);
                    new.emails.push(invitation.email.clone());
                    new.token_hashes.push(token.hash);
                    secrets.push(token.secret);
                    result.invitation = Some(invitation.to_proto(now));
                }
            }
            results.push(result);
        }
        store::insert_invitations(&tx, &new).await?;
        let sent: Vec<&pb::Invitation> = results
            .iter()
            .filter_map(|r| r.invitation.as_ref())
            .collect();
        let send = Send {
            account_name: &context.account_name,
            workspace_names: context.workspace_names(),
            inviter_name: &inviter_name,
            inviter: principal,
        };
        // One connection carries these as a pipeline, not one round trip after another.
        try_join_all(sent.iter().zip(&secrets).map(|(invitation, secret)| {
            let send = &send;
            let tx = &tx;
            async move {
                let id = invitation.invitation_id.clone();
                send.email(tx, now, invitation, secret).await?;
                let changes = Changes::new()
                    .field("email", (), &invitation.email)
                    .field("workspace_ids", (), &invitation.workspace_ids)
                    .field("all_workspaces", (), invitation.all_workspaces)
                    .field("role_ids", (), &invitation.role_ids)
                    .field("expire_time", (), rfc3339(invitation.expire_time.as_ref()));
                audit::record(
                    tx,
                    caller,
                    now,
                    AuditRecord {
                        action: "invitation.invitation.create",
                        target_type: "invitation",
                        target_id: id,
                        account_id: Some(request.account_id),
                        changes,
                    },
                )
                .await
            }
        }))
        .await?;
        let answer = pb::InviteUsersResponse { results };
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        Ok(answer)
    }

    /// Sends an invitation again with a new link and expiry, if it still may be sent.
    #[instrument(skip(self, caller), name = "invitation.domain.resend")]
    pub(crate) async fn resend(
        &self,
        caller: &Caller,
        invitation_id: Uuid,
    ) -> Result<pb::Invitation> {
        let hidden = Hidden::Invitation(invitation_id);
        let mut db = self.pool.get().await?;
        let (found, principal) = self
            .visible(&db, caller, invitation_id, Need::Invite)
            .await?;
        let inviter_name = self.display_name(principal.user_id).await?;
        let (answer, account_wide) = self
            .check_in_scope(
                found.account_id,
                &found.workspace_ids,
                found.all_workspaces,
                &found.role_ids,
                std::slice::from_ref(&found.email),
            )
            .await?;
        let now = self.now();
        let tx = db.transaction().await?;
        if let Replay::Done(answer) =
            requests::begin::<pb::ResendInvitationResponse>(&tx, caller, "ResendInvitation", now)
                .await?
        {
            return answer
                .invitation
                .ok_or_else(|| hidden.not_found(invitation_id));
        }
        store::lock_account(&tx, found.account_id).await?;
        let mut invitation = store::get_invitation(&tx, Key::Id(invitation_id), true)
            .await?
            .ok_or_else(|| hidden.not_found(invitation_id))?;
        super::manage::require_open(&invitation, now, false)?;
        super::manage::require_unclaimed(&invitation, now)?;
        // Resent under an account-wide scope, it joins the whole account too.
        invitation.all_workspaces |= account_wide;
        let wait = invitation.last_sent_at
            + chrono::Duration::from_std(self.config.resend_interval).unwrap_or_default()
            - now;
        if wait > chrono::Duration::zero() {
            let seconds = (wait.num_milliseconds() + 999) / 1000;
            return Err(Error::refused(
                ErrorReason::RateLimited,
                format!("this invitation was sent less than a minute ago; retry in {seconds} s"),
            )
            .with_metadata("retry_after_seconds", seconds.to_string()));
        }
        let mut context = read_context(
            &tx,
            answer,
            invitation.account_id,
            invitation.all_workspaces,
            std::slice::from_ref(&invitation.email),
            Some(invitation.id),
            now,
        )
        .await?;
        let address = Address {
            text: invitation.email.clone(),
            valid: true,
        };
        if let Some(refusal) = context
            .refusal(&address)
            .or_else(|| context.allowance_refusal(&address))
        {
            return Err(refusal.into_error());
        }
        if let Err(full) = context.seats.take() {
            return Err(context.seat_refusal(full).into_error());
        }
        let before = rfc3339(Some(&roster_kit::clock::to_timestamp(
            invitation.expires_at,
        )));
        invitation.expires_at = now + context.lifetime;
        invitation.last_sent_at = now;
        invitation.send_count += 1;
        invitation.workspace_ids = context.workspace_ids.clone();
        let token = token::mint(TOKEN_PREFIX);
        store::record_resend(&tx, &invitation, &token.hash).await?;
        let proto = invitation.to_proto(now);
        let send = Send {
            account_name: &context.account_name,
            workspace_names: context.workspace_names(),
            inviter_name: &inviter_name,
            inviter: principal,
        };
        send.email(&tx, now, &proto, &token.secret).await?;
        audit::record(
            &tx,
            caller,
            now,
            AuditRecord {
                action: "invitation.invitation.resend",
                target_type: "invitation",
                target_id: invitation.id.to_string(),
                account_id: Some(invitation.account_id),
                changes: Changes::new()
                    .field("expire_time", before, rfc3339(proto.expire_time.as_ref()))
                    .field(
                        "send_count",
                        invitation.send_count - 1,
                        invitation.send_count,
                    ),
            },
        )
        .await?;
        let answer = pb::ResendInvitationResponse {
            invitation: Some(proto.clone()),
        };
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        Ok(proto)
    }
}

impl Context {
    fn workspace_names(&self) -> Vec<&str> {
        self.workspace_ids
            .iter()
            .map(|id| self.workspace_name(*id))
            .collect()
    }
}

/// What every email of one send says about who invited whom to what.
struct Send<'a> {
    account_name: &'a str,
    workspace_names: Vec<&'a str>,
    inviter_name: &'a str,
    inviter: &'a Principal,
}

impl Send<'_> {
    /// Writes the invitation email to the outbox; the link's token is a secret variable,
    /// wiped once the notification service has it.
    async fn email(
        &self,
        db: &impl roster_kit::db::GenericClient,
        now: DateTime<Utc>,
        invitation: &pb::Invitation,
        token: &str,
    ) -> Result<()> {
        outbox::enqueue(
            db,
            now,
            OutboxMessage {
                template: "invitation",
                recipient: &invitation.email,
                variables: json!({
                    "invitation_id": invitation.invitation_id,
                    "account_id": invitation.account_id,
                    "account_name": self.account_name,
                    "workspace_names": self.workspace_names,
                    "all_workspaces": invitation.all_workspaces,
                    "inviter_name": self.inviter_name,
                    "inviter_email": self.inviter.email,
                    "email": invitation.email,
                    "message": invitation.message,
                    "expire_time": rfc3339(invitation.expire_time.as_ref()),
                    "send_count": invitation.send_count,
                }),
                secret_variables: Some(json!({ "token": token })),
            },
        )
        .await?;
        Ok(())
    }
}

/// A timestamp as RFC 3339 text ("" when absent).
pub(crate) fn rfc3339(time: Option<&prost_types::Timestamp>) -> String {
    time.and_then(|t| {
        DateTime::<Utc>::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0))
    })
    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    .unwrap_or_default()
}
