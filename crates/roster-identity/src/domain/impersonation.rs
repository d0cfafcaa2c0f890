//! Impersonation with the user's consent (seed 001, "Request account access"): a requester
//! asks, the user answers from their own session, and an approved grant lets the requester
//! open short sessions as the user that name both people. Whether such a session may still
//! act is decided at every call from the grant and both people as they are then, so a
//! revoked grant, a lost standing or a disable ends it at the very next call.
use std::time::Duration;

use chrono::{DateTime, Utc};
use roster_kit::audit::Changes;
use roster_kit::auth::{Caller, Principal};
use roster_kit::clock::to_timestamp;
use roster_kit::paging::PageSize;
use roster_kit::requests::Replay;
use roster_kit::{Error, Result, paging, requests, token};
use roster_proto::identity as pb;
use roster_proto::types::ErrorReason;
use serde_json::json;
use tracing::{instrument, warn};
use uuid::Uuid;

use super::administration::DEFAULT_IMPERSONATION_WINDOW;
use super::model::{Kind, Status, UserRecord, effective_status};
use super::{Identity, SESSION_PREFIX, check_can_authenticate, enqueue_notice, to_chrono};
use crate::store::records::{
    GrantRecord, GrantState, ImpersonationFacts, ImpersonationSessionRecord, TokenOwner,
};
use crate::store::{self, GrantQuery, ImpersonationQuery, NewGrant};

/// The shortest grant worth asking for.
const SHORTEST_GRANT: Duration = Duration::from_secs(60);

/// A duration as people read it in an email: "2 days 4 hours", "90 minutes" reads
/// "1 hour 30 minutes".
fn spoken(duration: Duration) -> String {
    let minutes = duration.as_secs() / 60;
    let parts = [
        (minutes / (24 * 60), "day"),
        (minutes / 60 % 24, "hour"),
        (minutes % 60, "minute"),
    ];
    let words: Vec<String> = parts
        .iter()
        .filter(|(count, _)| *count > 0)
        .map(|(count, unit)| format!("{count} {unit}{}", if *count == 1 { "" } else { "s" }))
        .collect();
    words.join(" ")
}

/// The refusal for what an impersonation may not do, or whom nobody impersonates.
pub(crate) fn impersonation_forbidden(message: impl Into<String>) -> Error {
    Error::refused(ErrorReason::ImpersonationForbidden, message)
}

fn not_pending(grant: &GrantRecord, now: DateTime<Utc>) -> Error {
    let state = grant_state(grant, now).as_str_name();
    Error::refused(
        ErrorReason::InvalidState,
        "the request is no longer waiting for an answer",
    )
    .with_metadata("state", state)
}

/// A grant's state now: a pending request past its deadline, or an approved grant past its
/// end, reads as expired.
fn grant_state(grant: &GrantRecord, now: DateTime<Utc>) -> pb::ImpersonationGrantState {
    use pb::ImpersonationGrantState as S;
    match grant.state {
        GrantState::Pending if grant.answer_deadline > now => S::Pending,
        GrantState::Approved if grant.expires_at.is_some_and(|at| at > now) => S::Approved,
        GrantState::Pending | GrantState::Approved => S::Expired,
        GrantState::Denied => S::Denied,
        GrantState::Revoked => S::Revoked,
    }
}

fn grant_to_proto(grant: &GrantRecord, now: DateTime<Utc>) -> pb::ImpersonationGrant {
    pb::ImpersonationGrant {
        grant_id: grant.id.to_string(),
        user_id: grant.user_id.to_string(),
        requester_user_id: grant.requester_id.to_string(),
        reason: grant.reason.clone(),
        duration: Some(prost_types::Duration {
            seconds: grant.duration_secs,
            nanos: 0,
        }),
        state: grant_state(grant, now).into(),
        automatic: grant.automatic,
        create_time: Some(to_timestamp(grant.created_at)),
        answer_deadline: Some(to_timestamp(grant.answer_deadline)),
        decide_time: grant.decided_at.map(to_timestamp),
        expire_time: grant.expires_at.map(to_timestamp),
        revoke_time: grant.revoked_at.map(to_timestamp),
        revoker_user_id: grant
            .revoker_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
    }
}

fn session_to_proto(
    session: &ImpersonationSessionRecord,
    now: DateTime<Utc>,
) -> pb::ImpersonationSession {
    let end = session
        .revoked_at
        .or((session.expires_at <= now).then_some(session.expires_at));
    pb::ImpersonationSession {
        session_id: session.id.to_string(),
        grant_id: session.grant_id.to_string(),
        user_id: session.user_id.to_string(),
        impersonator_user_id: session.impersonator_id.to_string(),
        start_time: Some(to_timestamp(session.created_at)),
        expire_time: Some(to_timestamp(session.expires_at)),
        end_time: end.map(to_timestamp),
    }
}

/// Refuses to impersonate `user`: oneself, operators, service accounts, and people who
/// may not sign in now.
fn check_impersonable(requester: &Principal, user: &UserRecord, now: DateTime<Utc>) -> Result<()> {
    requester.forbid_self(user.id, "impersonate")?;
    if user.kind == Kind::Service {
        return Err(impersonation_forbidden(
            "service accounts are not impersonated: use one of their API keys",
        ));
    }
    if user.is_operator {
        return Err(impersonation_forbidden("operators are never impersonated"));
    }
    check_can_authenticate(user.status, user.locked_until, now)
}

/// A person acting as themself through a session: the only one who may answer for the
/// user or hold a grant's leave.
fn require_own_session(caller: &Caller) -> Result<&Principal> {
    let principal = caller.principal()?;
    if principal.is_service || principal.is_roster_service || principal.session_id.is_none() {
        return Err(Error::permission_denied(
            "only a person signed in as themself may do this (not an API key)",
        ));
    }
    Ok(principal)
}

/// Operators list everyone's; others only what one of `filters` (the user, or the other
/// person, named by `other`) says is theirs.
fn require_own_list(caller: &Caller, filters: [Option<Uuid>; 2], other: &str) -> Result<()> {
    let principal = caller.principal()?;
    if principal.is_operator || filters.contains(&Some(principal.user_id)) {
        return Ok(());
    }
    Err(Error::permission_denied(format!(
        "list your own: set user_id or {other} to yourself"
    )))
}

impl Identity {
    /// The user's impersonation window, and whether `requester` administers every
    /// account of the user (operators need not).
    async fn impersonation_standing(
        &self,
        requester: &Principal,
        user_id: Uuid,
    ) -> Result<(bool, Duration)> {
        match &self.administration {
            Some(check) => {
                let standing = check.standing(requester.user_id, user_id).await?;
                Ok((
                    requester.is_operator || standing.allowed,
                    standing.impersonation_window,
                ))
            }
            None => Ok((requester.is_operator, DEFAULT_IMPERSONATION_WINDOW)),
        }
    }

    /// Asks for leave to impersonate `user_id` for `duration`, for `reason`.
    #[instrument(skip_all, name = "identity.domain.request_impersonation")]
    pub(crate) async fn request_impersonation(
        &self,
        caller: &Caller,
        user_id: Uuid,
        reason: &str,
        duration: Duration,
    ) -> Result<pb::ImpersonationGrant> {
        let requester = require_own_session(caller)?;
        let (entitled, window) = self.impersonation_standing(requester, user_id).await?;
        if !entitled {
            return Err(Error::permission_denied(
                "only operators, and administrators of every account of the user, may ask \
                 to impersonate them",
            )
            .with_metadata("user_id", user_id.to_string()));
        }
        if duration < SHORTEST_GRANT || duration > window {
            return Err(Error::invalid(
                "duration",
                format!(
                    "must be between 1 minute and the user's impersonation window ({})",
                    spoken(window)
                ),
            ));
        }
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(previous) = requests::begin::<pb::RequestImpersonationResponse>(
            &tx,
            caller,
            "RequestImpersonation",
            now,
        )
        .await?
        {
            return previous
                .grant
                .ok_or_else(|| Error::internal("replay", "no grant"));
        }
        // The user's row lock orders concurrent requests for them.
        let user = self.load(&tx, user_id, true).await?;
        check_impersonable(requester, &user, now)?;
        let automatic = requester.is_operator
            && store::has_automatic_impersonation(&tx, requester.user_id).await?;
        if !automatic && store::grant_pending(&tx, user_id, requester.user_id, now).await? {
            return Err(Error::refused(
                ErrorReason::AlreadyExists,
                "your earlier request is still waiting for the user's answer; revoke it to ask again",
            ));
        }
        let duration_secs = i64::try_from(duration.as_secs()).unwrap_or(i64::MAX);
        let grant = store::insert_grant(
            &tx,
            &NewGrant {
                user_id,
                requester_id: requester.user_id,
                reason,
                duration_secs,
                automatic,
                answer_deadline: now + to_chrono(window),
            },
            now,
        )
        .await?;
        self.audit_user(
            &tx,
            caller,
            now,
            "identity.impersonation.request",
            user_id,
            Changes::new()
                .field("grant_id", None::<String>, grant.id)
                .field("reason", None::<String>, reason)
                .field("duration_seconds", None::<i64>, duration_secs)
                .field("automatic", None::<bool>, automatic),
        )
        .await?;
        if !automatic {
            let requester_user = self.load(&tx, requester.user_id, false).await?;
            let variables = json!({
                "display_name": user.display_name,
                "requester_name": requester_user.display_name,
                "reason": reason,
                "duration": spoken(duration),
                "expire_time": grant.answer_deadline,
            });
            enqueue_notice(&tx, now, "impersonation_request", &user, variables).await?;
        }
        let answer = grant_to_proto(&grant, now);
        let response = pb::RequestImpersonationResponse {
            grant: Some(answer.clone()),
        };
        requests::finish(&tx, caller, Some(&response)).await?;
        tx.commit().await?;
        Ok(answer)
    }

    /// The user's answer to a pending request of theirs.
    #[instrument(skip_all, name = "identity.domain.answer_impersonation")]
    pub(crate) async fn answer_impersonation(
        &self,
        caller: &Caller,
        grant_id: Uuid,
        approve: bool,
    ) -> Result<pb::ImpersonationGrant> {
        let user = require_own_session(caller)?;
        let (rpc, action) = if approve {
            ("ApproveImpersonation", "identity.impersonation.approve")
        } else {
            ("DenyImpersonation", "identity.impersonation.deny")
        };
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(previous) =
            requests::begin::<pb::ImpersonationGrant>(&tx, caller, rpc, now).await?
        {
            return Ok(previous);
        }
        let grant = store::get_grant(&tx, grant_id, true)
            .await?
            .filter(|g| g.user_id == user.user_id)
            .ok_or_else(|| Error::not_found("impersonation grant", grant_id))?;
        if grant_state(&grant, now) != pb::ImpersonationGrantState::Pending {
            return Err(not_pending(&grant, now));
        }
        let grant = store::decide_grant(&tx, grant_id, approve, now).await?;
        self.audit_user(
            &tx,
            caller,
            now,
            action,
            grant.user_id,
            Changes::new()
                .field("grant_id", None::<String>, grant.id)
                .field("expire_time", None::<String>, grant.expires_at),
        )
        .await?;
        let answer = grant_to_proto(&grant, now);
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        Ok(answer)
    }

    /// Revokes a pending or approved grant, ending its sessions.
    #[instrument(skip_all, name = "identity.domain.revoke_impersonation")]
    pub(crate) async fn revoke_impersonation(
        &self,
        caller: &Caller,
        grant_id: Uuid,
    ) -> Result<pb::ImpersonationGrant> {
        let principal = caller.principal()?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(previous) =
            requests::begin::<pb::ImpersonationGrant>(&tx, caller, "RevokeImpersonation", now)
                .await?
        {
            return Ok(previous);
        }
        // Someone else's grant reads as missing; the user revokes from their own session.
        let grant = store::get_grant(&tx, grant_id, true)
            .await?
            .filter(|g| {
                principal.is_operator
                    || g.requester_id == principal.user_id
                    || (g.user_id == principal.user_id && require_own_session(caller).is_ok())
            })
            .ok_or_else(|| Error::not_found("impersonation grant", grant_id))?;
        let grant = match grant_state(&grant, now) {
            pb::ImpersonationGrantState::Revoked => grant,
            pb::ImpersonationGrantState::Pending | pb::ImpersonationGrantState::Approved => {
                let revoked = store::revoke_grant(&tx, grant_id, principal.user_id, now).await?;
                self.audit_user(
                    &tx,
                    caller,
                    now,
                    "identity.impersonation.revoke",
                    revoked.user_id,
                    Changes::new().field("grant_id", None::<String>, revoked.id),
                )
                .await?;
                revoked
            }
            state => {
                return Err(Error::refused(
                    ErrorReason::InvalidState,
                    "a denied or expired grant has nothing left to revoke",
                )
                .with_metadata("state", state.as_str_name()));
            }
        };
        let answer = grant_to_proto(&grant, now);
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        Ok(answer)
    }

    /// Opens an impersonation session under an approved grant of the caller's.
    #[instrument(skip_all, name = "identity.domain.start_impersonation")]
    pub(crate) async fn start_impersonation(
        &self,
        caller: &Caller,
        grant_id: Uuid,
    ) -> Result<pb::StartImpersonationResponse> {
        let requester = require_own_session(caller)?;
        let mine = |g: &GrantRecord| g.requester_id == requester.user_id;
        let missing = || Error::not_found("impersonation grant", grant_id);
        // Standing is asked of membership before any transaction: no row stays locked
        // across a remote call. Losing it later still ends the session at its next call.
        let grant = store::get_grant(&self.pool.get().await?, grant_id, false)
            .await?
            .filter(mine)
            .ok_or_else(missing)?;
        if !self.still_entitled(requester, &grant).await? {
            return Err(Error::permission_denied(
                "you no longer have the standing this grant was given for",
            ));
        }
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(previous) = requests::begin::<pb::StartImpersonationResponse>(
            &tx,
            caller,
            "StartImpersonation",
            now,
        )
        .await?
        {
            return Ok(previous);
        }
        // Locked, so a revoke of the grant either comes first or ends this session too.
        let grant = store::get_grant(&tx, grant_id, true)
            .await?
            .filter(mine)
            .ok_or_else(missing)?;
        let state = grant_state(&grant, now);
        let grant_expires_at = match (state, grant.expires_at) {
            (pb::ImpersonationGrantState::Approved, Some(at)) => at,
            _ => {
                return Err(Error::refused(
                    ErrorReason::InvalidState,
                    "only an approved grant that has not expired opens an impersonation",
                )
                .with_metadata("state", state.as_str_name()));
            }
        };
        let user = self.load(&tx, grant.user_id, false).await?;
        check_impersonable(requester, &user, now)?;
        let minted = token::mint(SESSION_PREFIX);
        let expires_at =
            (now + to_chrono(self.config.impersonation_session_ttl)).min(grant_expires_at);
        let session =
            store::insert_impersonation_session(&tx, &grant, &minted.hash, now, expires_at).await?;
        self.audit_user(
            &tx,
            caller,
            now,
            "identity.impersonation.start",
            user.id,
            Changes::new()
                .field("grant_id", None::<String>, grant.id)
                .field("session_id", None::<String>, session.id)
                .field("expire_time", None::<String>, expires_at),
        )
        .await?;
        let impersonator = self.load(&tx, requester.user_id, false).await?;
        let variables = json!({
            "display_name": user.display_name,
            "impersonator_name": impersonator.display_name,
            "reason": grant.reason,
            "start_time": now,
            "expire_time": expires_at,
            "automatic": grant.automatic,
        });
        enqueue_notice(&tx, now, "impersonation_started", &user, variables).await?;
        requests::finish(&tx, caller, None::<&pb::StartImpersonationResponse>).await?;
        tx.commit().await?;
        Ok(pb::StartImpersonationResponse {
            session_token: minted.secret,
            session: Some(session_to_proto(&session, now)),
        })
    }

    /// Whether the grant's requester still stands where the grant needs them: an
    /// operator (with automatic permission, for an automatic grant), or an administrator
    /// of every account of the user.
    async fn still_entitled(&self, requester: &Principal, grant: &GrantRecord) -> Result<bool> {
        if grant.automatic {
            return Ok(requester.is_operator
                && store::has_automatic_impersonation(&self.pool.get().await?, requester.user_id)
                    .await?);
        }
        Ok(self
            .impersonation_standing(requester, grant.user_id)
            .await?
            .0)
    }

    /// Ends the calling impersonation session.
    #[instrument(skip_all, name = "identity.domain.end_impersonation")]
    pub(crate) async fn end_impersonation(&self, caller: &Caller) -> Result<()> {
        let principal = caller.principal()?;
        let (Some(session_id), Some(_)) = (principal.session_id, principal.impersonator_id) else {
            return Err(Error::refused(
                ErrorReason::InvalidState,
                "this is not an impersonation session; Logout ends a session of your own",
            ));
        };
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(_) =
            requests::begin::<pb::EndImpersonationResponse>(&tx, caller, "EndImpersonation", now)
                .await?
        {
            return Ok(());
        }
        store::revoke_session(&tx, session_id, now).await?;
        self.audit_user(
            &tx,
            caller,
            now,
            "identity.impersonation.end",
            principal.user_id,
            Changes::new().field("session_id", None::<String>, session_id),
        )
        .await?;
        requests::finish(&tx, caller, Some(&pb::EndImpersonationResponse {})).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Refuses an impersonation session that may no longer act, ending it for good (its
    /// end is audited once, naming both people).
    pub(super) async fn check_impersonation(
        &self,
        owner: &TokenOwner,
        facts: &ImpersonationFacts,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let Some(cause) = self.impersonation_end_cause(owner, facts, now).await? else {
            return Ok(());
        };
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Some(session_id) = owner.session_id {
            store::revoke_session(&tx, session_id, now).await?;
            let caller = Caller {
                principal: Some(Principal {
                    user_id: owner.user_id,
                    is_service: false,
                    is_operator: false,
                    impersonator_id: Some(facts.impersonator_id),
                    email: owner.email.clone(),
                    session_id: Some(session_id),
                    api_key_id: None,
                    is_roster_service: false,
                }),
                request_id: String::new(),
            };
            self.audit_user(
                &tx,
                &caller,
                now,
                "identity.impersonation.end",
                owner.user_id,
                Changes::new()
                    .field("session_id", None::<String>, session_id)
                    .field("grant_id", None::<String>, facts.grant_id)
                    .field("cause", None::<String>, cause),
            )
            .await?;
        }
        tx.commit().await?;
        warn!(user_id = %owner.user_id, impersonator = %facts.impersonator_id, cause, "impersonation ended");
        Err(Error::refused(
            ErrorReason::ImpersonationEnded,
            format!("the impersonation ended: {cause}"),
        ))
    }

    async fn impersonation_end_cause(
        &self,
        owner: &TokenOwner,
        facts: &ImpersonationFacts,
        now: DateTime<Utc>,
    ) -> Result<Option<&'static str>> {
        let cause = if facts.grant_state != GrantState::Approved {
            Some("the grant was revoked")
        } else if facts.grant_expires_at.is_none_or(|at| at <= now) {
            Some("the grant expired")
        } else if effective_status(
            facts.impersonator_status,
            facts.impersonator_locked_until,
            now,
        ) != Status::Active
        {
            Some("the impersonator is disabled or locked")
        } else if owner.is_operator || owner.kind == Kind::Service {
            Some("the user can no longer be impersonated")
        } else if facts.grant_automatic {
            (!(facts.impersonator_is_operator && facts.impersonator_has_automatic))
                .then_some("the impersonator lost automatic permission")
        } else if facts.impersonator_is_operator {
            None
        } else {
            let entitled = match &self.administration {
                Some(check) => {
                    check
                        .standing(facts.impersonator_id, owner.user_id)
                        .await?
                        .allowed
                }
                None => false,
            };
            (!entitled)
                .then_some("the impersonator no longer administers every account of the user")
        };
        Ok(cause)
    }

    /// Lists grants: the caller's own as user or requester, or any for operators.
    #[instrument(skip_all, name = "identity.domain.list_impersonation_grants")]
    pub(crate) async fn list_impersonation_grants(
        &self,
        caller: &Caller,
        query: GrantQuery,
        page_size: i32,
        page_token: &str,
    ) -> Result<pb::ListImpersonationGrantsResponse> {
        require_own_list(
            caller,
            [query.user_id, query.requester_id],
            "requester_user_id",
        )?;
        let limit = PageSize::LIST.resolve(page_size)?;
        let after: Option<(DateTime<Utc>, Uuid)> = paging::decode(&query, page_token)?;
        let now = self.now();
        let grants = store::list_grants(
            &self.pool.get().await?,
            &query,
            after.as_ref(),
            i64::from(limit) + 1,
            now,
        )
        .await?;
        let (grants, next_page_token) =
            paging::finish_page(grants, limit, &query, |g| (g.created_at, g.id));
        Ok(pb::ListImpersonationGrantsResponse {
            grants: grants.iter().map(|g| grant_to_proto(g, now)).collect(),
            next_page_token,
        })
    }

    /// Lists impersonations: of or by the caller, or any for operators.
    #[instrument(skip_all, name = "identity.domain.list_impersonation_sessions")]
    pub(crate) async fn list_impersonation_sessions(
        &self,
        caller: &Caller,
        query: ImpersonationQuery,
        page_size: i32,
        page_token: &str,
    ) -> Result<pb::ListImpersonationSessionsResponse> {
        require_own_list(
            caller,
            [query.user_id, query.impersonator_id],
            "impersonator_user_id",
        )?;
        let limit = PageSize::LIST.resolve(page_size)?;
        let after: Option<(DateTime<Utc>, Uuid)> = paging::decode(&query, page_token)?;
        let now = self.now();
        let sessions = store::list_impersonation_sessions(
            &self.pool.get().await?,
            &query,
            after.as_ref(),
            i64::from(limit) + 1,
            now,
        )
        .await?;
        let (sessions, next_page_token) =
            paging::finish_page(sessions, limit, &query, |s| (s.created_at, s.id));
        Ok(pb::ListImpersonationSessionsResponse {
            sessions: sessions.iter().map(|s| session_to_proto(s, now)).collect(),
            next_page_token,
        })
    }

    /// Gives an operator automatic permission to impersonate, or takes it back.
    #[instrument(skip_all, name = "identity.domain.set_automatic_impersonation")]
    pub(crate) async fn set_automatic_impersonation(
        &self,
        caller: &Caller,
        user_id: Uuid,
        allowed: bool,
    ) -> Result<pb::SetAutomaticImpersonationResponse> {
        let operator = caller.operator()?;
        operator.forbid_self(user_id, "give automatic impersonation to")?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(previous) = requests::begin::<pb::SetAutomaticImpersonationResponse>(
            &tx,
            caller,
            "SetAutomaticImpersonation",
            now,
        )
        .await?
        {
            return Ok(previous);
        }
        let user = self.load(&tx, user_id, true).await?;
        if allowed && !user.is_operator {
            return Err(Error::refused(
                ErrorReason::InvalidState,
                "only operators may be given automatic permission to impersonate",
            ));
        }
        if store::set_automatic_impersonation(&tx, user_id, allowed, operator.user_id, now).await? {
            self.audit_user(
                &tx,
                caller,
                now,
                "identity.impersonation.automatic",
                user_id,
                Changes::new().field("allowed", !allowed, allowed),
            )
            .await?;
        }
        let response = pb::SetAutomaticImpersonationResponse {
            user_id: user_id.to_string(),
            allowed,
        };
        requests::finish(&tx, caller, Some(&response)).await?;
        tx.commit().await?;
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_days_hours_and_minutes() {
        let cases = [
            (60, "1 minute"),
            (90 * 60, "1 hour 30 minutes"),
            (7 * 24 * 3600, "7 days"),
            (26 * 3600 + 120, "1 day 2 hours 2 minutes"),
        ];
        for (seconds, words) in cases {
            assert_eq!(spoken(Duration::from_secs(seconds)), words);
        }
    }
}
