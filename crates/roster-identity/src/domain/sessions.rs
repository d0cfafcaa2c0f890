//! Authentication, login (throttled by email and source), logout and sessions.
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use roster_kit::audit::Changes;
use roster_kit::auth::{Caller, Principal};
use roster_kit::changes::{CachedPrincipal, token_key};
use roster_kit::clock::to_timestamp;
use roster_kit::db::GenericClient;
use roster_kit::requests::Replay;
use roster_kit::{Error, Result, requests, token};
use roster_proto::identity as pb;
use roster_proto::types::ErrorReason;
use tracing::{instrument, warn};
use uuid::Uuid;

use super::hashing::HashTurn;
use super::model::{Kind, Status, UserRecord};
use super::throttle::CountedCheck;
use super::{
    API_KEY_PREFIX, Authenticated, Identity, SESSION_PREFIX, acting_as, actor,
    check_can_authenticate, enqueue_failed_login_notice, invalid_credentials,
    password_change_required, require_self_or_operator, to_chrono,
};
use crate::store::{self, UserPatch};

/// What a password check found.
enum PasswordCheck {
    /// The password is this person's.
    Right(UserRecord),
    /// It is not, or no person has the email.
    Wrong(Option<UserRecord>),
}

impl Identity {
    /// Resolves a session token or API key.
    #[instrument(skip_all, name = "identity.domain.authenticate")]
    pub(crate) async fn authenticate(&self, secret: &str) -> Result<Authenticated> {
        let key = token_key(secret);
        if let Some(cached) = self.watch.as_ref().and_then(|w| w.cached_principal(&key)) {
            return Ok(Authenticated {
                principal: cached.principal,
                password_change_only: false,
                expire_time: cached.expire_time,
            });
        }
        let ticket = self.watch.as_ref().and_then(|w| w.principal_ticket());
        let now = self.now();
        let hash = token::hash(secret);
        let db = self.pool.get().await?;
        let owner = match secret.split_once('_').map(|(prefix, _)| prefix) {
            Some(SESSION_PREFIX) => store::session_owner(&db, &hash, now).await?,
            Some(API_KEY_PREFIX) => store::api_key_owner(&db, &hash, now).await?,
            _ => None,
        };
        drop(db);
        let owner = owner
            .ok_or_else(|| Error::unauthenticated("the token is unknown, expired or revoked"))?;
        check_can_authenticate(owner.status, owner.locked_until, now)?;
        if let Some(facts) = &owner.impersonation {
            self.check_impersonation(&owner, facts, now).await?;
        }
        let authenticated = Authenticated {
            principal: Principal {
                user_id: owner.user_id,
                is_service: owner.kind == Kind::Service,
                is_operator: owner.is_operator,
                impersonator_id: owner.impersonator_id,
                email: owner.email,
                session_id: owner.session_id,
                api_key_id: owner.api_key_id,
                is_roster_service: false,
            },
            password_change_only: owner.password_change_only,
            expire_time: owner.expires_at.map(to_timestamp),
        };
        // A restricted session is refused by most RPCs: it is looked up every time.
        if let (Some(watch), Some(ticket)) = (&self.watch, ticket)
            && !authenticated.password_change_only
        {
            let cached = CachedPrincipal {
                principal: authenticated.principal.clone(),
                expire_time: authenticated.expire_time,
            };
            watch.cache_principal(key, cached, ticket);
        }
        Ok(authenticated)
    }

    /// `Authenticate` for other services: restricted sessions are refused.
    #[instrument(skip_all, name = "identity.domain.authenticate_for_service")]
    pub(crate) async fn authenticate_for_service(&self, secret: &str) -> Result<pb::Principal> {
        let authenticated = self.authenticate(secret).await?;
        if authenticated.password_change_only {
            return Err(password_change_required());
        }
        let p = authenticated.principal;
        Ok(pb::Principal {
            expire_time: authenticated.expire_time,
            user_id: p.user_id.to_string(),
            kind: if p.is_service {
                pb::UserKind::Service
            } else {
                pb::UserKind::Human
            }
            .into(),
            platform_role: if p.is_operator {
                pb::PlatformRole::Operator
            } else {
                pb::PlatformRole::User
            }
            .into(),
            impersonator_user_id: p
                .impersonator_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            email: p.email,
            session_id: p.session_id.map(|id| id.to_string()).unwrap_or_default(),
            api_key_id: p.api_key_id.map(|id| id.to_string()).unwrap_or_default(),
        })
    }

    /// Opens a session for email and password, tried from `source` (login throttling
    /// counts failures by email and source).
    #[instrument(skip_all, name = "identity.domain.login")]
    pub(crate) async fn login(
        &self,
        email: &str,
        password: &str,
        source: IpAddr,
    ) -> Result<pb::LoginResponse> {
        let email = roster_kit::email::normalize("email", email)?;
        // Shed for load, then throttled, before any other work.
        let turn = self.hasher.turn()?;
        let check = self.count_password_check(&email, source).await?;
        // The connection goes back to the pool before the (slow) password check.
        let user = store::find_by_email(&self.pool.get().await?, &email).await?;
        match self.check_password(turn, user, password).await? {
            PasswordCheck::Right(user) => {
                self.forget_password_checks(&email, source).await?;
                check_can_authenticate(user.status, user.locked_until, self.now())?;
                self.start_session(user).await
            }
            PasswordCheck::Wrong(user) => {
                if let Some(user) = user {
                    self.record_failed_login(&user, check).await?;
                }
                Err(invalid_credentials())
            }
        }
    }

    /// Proves `password` is `user`'s, as a login does (with no throttling: the caller
    /// holds another credential too); disabled or locked users are refused.
    pub(super) async fn verify_login(
        &self,
        user: Option<UserRecord>,
        password: &str,
    ) -> Result<UserRecord> {
        match self
            .check_password(self.hasher.turn()?, user, password)
            .await?
        {
            PasswordCheck::Right(user) => {
                check_can_authenticate(user.status, user.locked_until, self.now())?;
                Ok(user)
            }
            PasswordCheck::Wrong(_) => Err(invalid_credentials()),
        }
    }

    /// Whether `password` is `user`'s: a service account reads as an unknown user, and an
    /// unknown user takes as long as a known one (the same hashing work against a decoy).
    async fn check_password(
        &self,
        turn: HashTurn,
        user: Option<UserRecord>,
        password: &str,
    ) -> Result<PasswordCheck> {
        // A service account's email answers exactly as an unknown one: a distinct refusal
        // would tell a stranger the address exists.
        let user = user.filter(|u| u.kind == Kind::Human);
        let stored = user.as_ref().and_then(|u| u.password_hash.as_deref());
        Ok(match (turn.verify(password, stored).await?, user) {
            (true, Some(user)) => PasswordCheck::Right(user),
            (_, user) => PasswordCheck::Wrong(user),
        })
    }

    /// Opens a session for `user`, whose password was just proven, in a transaction of
    /// its own.
    pub(super) async fn start_session(&self, user: UserRecord) -> Result<pb::LoginResponse> {
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        let session = self.open_session(&tx, user, now).await?;
        tx.commit().await?;
        Ok(session)
    }

    /// Opens a session for `user` in the caller's transaction: a new token living the
    /// session lifetime, an ended lock lifted, the login audited.
    pub(super) async fn open_session(
        &self,
        db: &impl GenericClient,
        user: UserRecord,
        now: DateTime<Utc>,
    ) -> Result<pb::LoginResponse> {
        let session = token::mint(SESSION_PREFIX);
        let expires_at = now + to_chrono(self.config.session_ttl);
        store::insert_session(
            db,
            user.id,
            &session.hash,
            now,
            expires_at,
            user.password_change_required,
        )
        .await?;
        let user = if user.status == Status::Locked {
            // A lock whose period ended is lifted for good once its owner gets in.
            let status = Some((Status::Active, None, String::new()));
            store::update_user(
                db,
                user.id,
                UserPatch {
                    status,
                    ..UserPatch::default()
                },
                now,
            )
            .await?
        } else {
            user
        };
        let caller = acting_as(&user);
        self.audit_user(
            db,
            &caller,
            now,
            "identity.session.create",
            user.id,
            Changes::new(),
        )
        .await?;
        Ok(pb::LoginResponse {
            session_token: session.secret,
            expire_time: Some(to_timestamp(expires_at)),
            password_change_required: user.password_change_required,
            user: Some(user.to_proto(now)),
        })
    }

    /// Audits a wrong password for `user`; the failure that starts slowing its source
    /// tells the user someone is failing to sign in (at most once per failure window).
    async fn record_failed_login(&self, user: &UserRecord, check: CountedCheck) -> Result<()> {
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        let source = check.source.to_string();
        self.audit_user(
            &tx,
            &Caller::default(),
            now,
            "identity.session.login_failed",
            user.id,
            Changes::new()
                .field("source", None::<String>, &source)
                .field("failures", check.failures - 1, check.failures),
        )
        .await?;
        if self.starts_slowing(check) {
            warn!(user_id = %user.id, %source, failures = check.failures, "sign-in attempts slowed");
            let cutoff = now - to_chrono(self.config.login_throttle.failure_window);
            if store::claim_failed_login_notice(&tx, user.id, now, cutoff).await? {
                enqueue_failed_login_notice(&tx, now, user, &source).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Whether `secret` is a session (live or not) whose logout with `request_id` was
    /// answered: its retry, refused by authentication now that the session ended, answers
    /// as the first call did.
    #[instrument(skip_all, name = "identity.domain.logout_answered")]
    pub(crate) async fn logout_answered(&self, secret: &str, request_id: &str) -> Result<bool> {
        if request_id.is_empty() || secret.split_once('_').map(|(p, _)| p) != Some(SESSION_PREFIX) {
            return Ok(false);
        }
        let db = self.pool.get().await?;
        let Some(user_id) = store::session_user(&db, &token::hash(secret)).await? else {
            return Ok(false);
        };
        let caller = actor(user_id, request_id);
        let answered = requests::answered::<pb::LogoutResponse>(&db, &caller, "Logout");
        Ok(answered.await?.is_some())
    }

    /// Ends the caller's session.
    #[instrument(skip_all, name = "identity.domain.logout")]
    pub(crate) async fn logout(&self, caller: &Caller) -> Result<()> {
        let principal = caller.principal()?;
        let session_id = principal.session_id.ok_or_else(|| {
            Error::refused(
                ErrorReason::InvalidState,
                "API keys have no session to end; revoke the key",
            )
        })?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(_) =
            requests::begin::<pb::LogoutResponse>(&tx, caller, "Logout", now).await?
        {
            return Ok(());
        }
        store::watchers::touch_user(&tx, principal.user_id).await?;
        store::revoke_session(&tx, session_id, now).await?;
        self.audit_user(
            &tx,
            caller,
            now,
            "identity.session.revoke",
            principal.user_id,
            Changes::new(),
        )
        .await?;
        requests::finish(&tx, caller, Some(&pb::LogoutResponse {})).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends every session of a user.
    #[instrument(skip_all, name = "identity.domain.revoke_sessions")]
    pub(crate) async fn revoke_sessions(
        &self,
        caller: &Caller,
        user_id: Uuid,
    ) -> Result<pb::RevokeSessionsResponse> {
        require_self_or_operator(caller, user_id)?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(previous) =
            requests::begin::<pb::RevokeSessionsResponse>(&tx, caller, "RevokeSessions", now)
                .await?
        {
            return Ok(previous);
        }
        self.load(&tx, user_id, false).await?;
        store::watchers::touch_user(&tx, user_id).await?;
        let revoked = store::revoke_sessions(&tx, user_id, None, now).await?;
        self.audit_user(
            &tx,
            caller,
            now,
            "identity.session.revoke_all",
            user_id,
            Changes::new().field("revoked_sessions", 0, revoked),
        )
        .await?;
        let answer = pb::RevokeSessionsResponse {
            revoked_count: i32::try_from(revoked).unwrap_or(i32::MAX),
        };
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        Ok(answer)
    }
}
