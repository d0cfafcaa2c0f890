//! Password change, reset by emailed link, and temporary passwords.

use roster_kit::audit::Changes;
use roster_kit::auth::Caller;
use roster_kit::outbox::OutboxMessage;
use roster_kit::requests::Replay;
use roster_kit::{Error, Result, outbox, requests, token};
use roster_proto::identity as pb;
use serde_json::json;
use tracing::{info, instrument, warn};
use uuid::Uuid;

use super::hashing::{check_policy, generate_temporary};
use super::model::Kind;
use super::{
    Identity, RESET_PREFIX, acting_as, anonymous, invalid_credentials, to_chrono, token_invalid,
    wrong_kind,
};
use crate::store::{self, Purpose, UserPatch};

impl Identity {
    /// Changes one's own password, proving the current one; ends one's other sessions.
    #[instrument(skip_all, name = "identity.domain.change_password")]
    pub(crate) async fn change_password(
        &self,
        caller: &Caller,
        user_id: Uuid,
        old: &str,
        new: &str,
    ) -> Result<()> {
        let principal = caller.principal()?;
        if principal.user_id != user_id {
            return Err(Error::permission_denied(
                "only the user may change their password; operators set a temporary one",
            ));
        }
        let user = {
            let db = self.pool.get().await?;
            // A retry after success would fail the old-password check: the log answers it.
            let answered =
                requests::answered::<pb::ChangePasswordResponse>(&db, caller, "ChangePassword");
            if answered.await?.is_some() {
                return Ok(());
            }
            self.load(&db, user_id, false).await?
        };
        if user.kind == Kind::Service {
            return Err(wrong_kind());
        }
        check_policy("new_password", new, &user.email)?;
        if !self
            .hasher
            .turn()?
            .verify(old, user.password_hash.as_deref())
            .await?
        {
            return Err(invalid_credentials().with_metadata("field", "old_password"));
        }
        let hash = self.hasher.hash(new).await?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(_) =
            requests::begin::<pb::ChangePasswordResponse>(&tx, caller, "ChangePassword", now)
                .await?
        {
            // A concurrent duplicate finished first.
            return Ok(());
        }
        let patch = UserPatch {
            password_hash: Some(hash),
            password_change_required: Some(false),
            ..UserPatch::default()
        };
        store::update_user(&tx, user_id, patch, now).await?;
        store::revoke_sessions(&tx, user_id, principal.session_id, now).await?;
        if let Some(session_id) = principal.session_id {
            store::lift_session_restriction(&tx, session_id).await?;
        }
        self.audit_user(
            &tx,
            caller,
            now,
            "identity.password.change",
            user_id,
            Changes::new().field("password", "(set)", "(changed)"),
        )
        .await?;
        requests::finish(&tx, caller, Some(&pb::ChangePasswordResponse {})).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Emails a reset link if `email` belongs to a person whose accounts allow it. The
    /// answer, and its timing, are the same either way.
    #[instrument(skip_all, name = "identity.domain.request_password_reset")]
    pub(crate) async fn request_password_reset(&self, email: &str, request_id: &str) -> Result<()> {
        let email = roster_kit::email::normalize("email", email)?;
        let answer_at = tokio::time::Instant::now() + self.config.reset_response_floor;
        let outcome = self.send_reset_link(&email, request_id).await;
        tokio::time::sleep_until(answer_at).await;
        if let Err(error) = outcome {
            // Failures are logged, not returned: an error for known emails only would tell.
            warn!(error = %error, "password reset request failed");
        }
        Ok(())
    }

    /// Whether membership lets `user_id` reset by email; an error when it cannot be asked
    /// (the caller then sends nothing: the setting is a security control).
    async fn self_service_reset_allowed(&self, user_id: Uuid) -> Result<bool> {
        match &self.administration {
            Some(membership) => membership.self_service_reset_allowed(user_id).await,
            // Without membership there is no account to turn the setting off.
            None => Ok(true),
        }
    }

    async fn send_reset_link(&self, email: &str, request_id: &str) -> Result<()> {
        let person = store::find_by_email(&self.pool.get().await?, email)
            .await?
            .filter(|user| user.kind == Kind::Human);
        // Asked for every request, known person or not, so the round trip costs the same
        // (the nil id belongs to no account); no transaction is open across the call.
        let asked_for = person.as_ref().map_or(Uuid::nil(), |user| user.id);
        let allowed = self.self_service_reset_allowed(asked_for).await?;
        let Some(user) = person else {
            return Ok(());
        };
        if !allowed {
            info!(user_id = %user.id, "password reset not sent: every account of the user turned self-service reset off");
            return Ok(());
        }
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        let caller = anonymous(request_id, email);
        if let Replay::Done(_) = requests::begin::<pb::RequestPasswordResetResponse>(
            &tx,
            &caller,
            "RequestPasswordReset",
            now,
        )
        .await?
        {
            return Ok(());
        }
        // One email a minute per person: a public RPC must not flood an inbox.
        let throttle_since = now - chrono::Duration::minutes(1);
        if store::token_sent_since(&tx, user.id, Purpose::PasswordReset, throttle_since).await? {
            info!(user_id = %user.id, "password reset throttled");
            return Ok(());
        }
        let minted = token::mint(RESET_PREFIX);
        let expires_at = now + to_chrono(self.config.reset_token_ttl);
        store::replace_one_time_token(
            &tx,
            user.id,
            Purpose::PasswordReset,
            &minted.hash,
            None,
            now,
            expires_at,
        )
        .await?;
        outbox::enqueue(
            &tx,
            now,
            OutboxMessage {
                template: "password_reset",
                recipient: &user.email,
                variables: json!({ "display_name": user.display_name, "expire_time": expires_at }),
                // The notification service builds the link from ROSTER_PUBLIC_URL.
                secret_variables: Some(json!({ "token": minted.secret })),
            },
        )
        .await?;
        self.audit_user(
            &tx,
            &Caller::default(),
            now,
            "identity.password.reset_request",
            user.id,
            Changes::new(),
        )
        .await?;
        requests::finish(&tx, &caller, Some(&pb::RequestPasswordResetResponse {})).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets a new password with a reset token; ends every session and marks the email
    /// verified. A retry with the same token and `request_id` answers as the first call.
    #[instrument(skip_all, name = "identity.domain.reset_password")]
    pub(crate) async fn reset_password(
        &self,
        secret: &str,
        new: &str,
        request_id: &str,
    ) -> Result<()> {
        check_policy("new_password", new, "")?;
        let hash = self.hasher.hash(new).await?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        let logged = anonymous(request_id, secret);
        if let Replay::Done(_) =
            requests::begin::<pb::ResetPasswordResponse>(&tx, &logged, "ResetPassword", now).await?
        {
            return Ok(());
        }
        let (user_id, _) =
            store::consume_one_time_token(&tx, Purpose::PasswordReset, &token::hash(secret), now)
                .await?
                .ok_or_else(token_invalid)?;
        let user = self.load(&tx, user_id, true).await?;
        // Rolling back keeps the token usable with a better password.
        check_policy("new_password", new, &user.email)?;
        let patch = UserPatch {
            password_hash: Some(hash),
            password_change_required: Some(false),
            // The link reached the user's email: that proves it.
            email_verified_at: Some(now),
            ..UserPatch::default()
        };
        store::update_user(&tx, user_id, patch, now).await?;
        store::revoke_sessions(&tx, user_id, None, now).await?;
        let caller = acting_as(&user);
        self.audit_user(
            &tx,
            &caller,
            now,
            "identity.password.reset",
            user_id,
            Changes::new().field("password", "(set)", "(reset)"),
        )
        .await?;
        requests::finish(&tx, &logged, Some(&pb::ResetPasswordResponse {})).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets a generated temporary password (operators, and administrators of every
    /// account of the user); returns it once.
    #[instrument(skip_all, name = "identity.domain.set_temporary_password")]
    pub(crate) async fn set_temporary_password(
        &self,
        caller: &Caller,
        user_id: Uuid,
    ) -> Result<String> {
        self.require_user_administrator(caller, user_id, "set a temporary password for")
            .await?;
        let temporary = generate_temporary();
        let hash = self.hasher.hash(&temporary).await?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(_) = requests::begin::<pb::SetTemporaryPasswordResponse>(
            &tx,
            caller,
            "SetTemporaryPassword",
            now,
        )
        .await?
        {
            return Err(Error::internal("request log", "a secret answer was stored"));
        }
        let user = self.load(&tx, user_id, true).await?;
        if user.kind == Kind::Service {
            return Err(wrong_kind());
        }
        let patch = UserPatch {
            password_hash: Some(hash),
            password_change_required: Some(true),
            ..UserPatch::default()
        };
        store::update_user(&tx, user_id, patch, now).await?;
        store::revoke_sessions(&tx, user_id, None, now).await?;
        outbox::enqueue(
            &tx,
            now,
            OutboxMessage {
                template: "temporary_password_set",
                recipient: &user.email,
                variables: json!({ "display_name": user.display_name }),
                secret_variables: None,
            },
        )
        .await?;
        self.audit_user(
            &tx,
            caller,
            now,
            "identity.password.set_temporary",
            user_id,
            Changes::new().field(
                "password_change_required",
                user.password_change_required,
                true,
            ),
        )
        .await?;
        requests::finish(&tx, caller, None::<&pb::SetTemporaryPasswordResponse>).await?;
        tx.commit().await?;
        Ok(temporary)
    }
}
