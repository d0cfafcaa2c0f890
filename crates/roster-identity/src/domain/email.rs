//! Email changes, confirmed by a link sent to the new address.
use roster_kit::audit::Changes;
use roster_kit::auth::Caller;
use roster_kit::outbox::OutboxMessage;
use roster_kit::requests::Replay;
use roster_kit::{Error, Result, outbox, requests, token};
use roster_proto::identity as pb;
use serde_json::json;
use uuid::Uuid;

use super::{EMAIL_CHANGE_PREFIX, Identity, acting_as, anonymous, to_chrono, token_invalid};
use crate::store::{self, Purpose, UserPatch};
use tracing::instrument;

impl Identity {
    /// Sends a verification link to a new email (operators only: the email is the login).
    #[instrument(skip_all, name = "identity.domain.change_email")]
    pub(crate) async fn change_email(
        &self,
        caller: &Caller,
        user_id: Uuid,
        new_email: &str,
    ) -> Result<pb::User> {
        caller.operator().map_err(|_| {
            Error::permission_denied("only platform operators may change a user's email")
        })?;
        let new_email = roster_kit::email::normalize("new_email", new_email)?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(previous) =
            requests::begin::<pb::User>(&tx, caller, "ChangeEmail", now).await?
        {
            return Ok(previous);
        }
        let before = self.load(&tx, user_id, true).await?;
        if before.email == new_email {
            return Err(Error::invalid("new_email", "is already the user's email"));
        }
        if store::find_by_email(&tx, &new_email).await?.is_some() {
            return Err(store::email_taken(&new_email));
        }
        let minted = token::mint(EMAIL_CHANGE_PREFIX);
        let expires_at = now + to_chrono(self.config.email_change_ttl);
        store::replace_one_time_token(
            &tx,
            user_id,
            Purpose::EmailChange,
            &minted.hash,
            Some(&new_email),
            now,
            expires_at,
        )
        .await?;
        let after = store::update_user(
            &tx,
            user_id,
            UserPatch {
                pending_email: Some(Some(new_email.clone())),
                ..UserPatch::default()
            },
            now,
        )
        .await?;
        outbox::enqueue(
            &tx,
            now,
            OutboxMessage {
                template: "email_change_verification",
                recipient: &new_email,
                variables: json!({ "display_name": after.display_name, "expire_time": expires_at }),
                // The notification service builds the link from ROSTER_PUBLIC_URL.
                secret_variables: Some(json!({ "token": minted.secret })),
            },
        )
        .await?;
        self.audit_user(
            &tx,
            caller,
            now,
            "identity.user.email_change_request",
            user_id,
            Changes::new().field("pending_email", &before.pending_email, &new_email),
        )
        .await?;
        let answer = after.to_proto(now);
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        Ok(answer)
    }

    /// Applies an email change with its token, which proves the new email. A retry with
    /// the same token and `request_id` answers as the first call.
    #[instrument(skip_all, name = "identity.domain.confirm_email_change")]
    pub(crate) async fn confirm_email_change(
        &self,
        secret: &str,
        request_id: &str,
    ) -> Result<pb::User> {
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        let logged = anonymous(request_id, secret);
        if let Replay::Done(previous) =
            requests::begin::<pb::User>(&tx, &logged, "ConfirmEmailChange", now).await?
        {
            return Ok(previous);
        }
        let (user_id, new_email) =
            store::consume_one_time_token(&tx, Purpose::EmailChange, &token::hash(secret), now)
                .await?
                .ok_or_else(token_invalid)?;
        let new_email = new_email.ok_or_else(token_invalid)?;
        let before = self.load(&tx, user_id, true).await?;
        let patch = UserPatch {
            email: Some(new_email.clone()),
            pending_email: Some(None),
            // The link reached the new address.
            email_verified_at: Some(now),
            ..UserPatch::default()
        };
        let after = store::update_user(&tx, user_id, patch, now).await?;
        let caller = acting_as(&before);
        self.audit_user(
            &tx,
            &caller,
            now,
            "identity.user.email_change",
            user_id,
            Changes::new().field("email", &before.email, &after.email),
        )
        .await?;
        let answer = after.to_proto(now);
        requests::finish(&tx, &logged, Some(&answer)).await?;
        tx.commit().await?;
        Ok(answer)
    }
}
