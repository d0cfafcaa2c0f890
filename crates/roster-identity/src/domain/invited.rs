//! People created for an invitation being accepted (the invitation service asks).
use super::users::person_fields;
use roster_kit::audit::Changes;
use roster_kit::auth::Caller;
use roster_kit::{Error, Result};
use roster_proto::identity as pb;
use roster_proto::types::ErrorReason;
use tracing::{info, instrument};
use uuid::Uuid;

use super::hashing::check_policy;
use super::model::{Kind, UserRecord};
use super::{Identity, acting_as};
use crate::store::{self, NewUser, UserPatch};

/// The refusal for an email that belongs to someone the invitation did not create.
fn has_an_account(email: &str) -> Error {
    Error::refused(
        ErrorReason::EmailTaken,
        "this person already has an account: they sign in and accept the invitation with their session",
    )
    .with_metadata("email", email)
}

impl Identity {
    /// Gets or creates the person `invitation_id` is accepted for, and opens a session for
    /// them (Roster services). Idempotent on the invitation: a retry finds the same user
    /// and needs the same password.
    #[instrument(
        skip(self, caller, request),
        name = "identity.domain.provision_invited_user"
    )]
    pub(crate) async fn provision_invited_user(
        &self,
        caller: &Caller,
        invitation_id: Uuid,
        request: &pb::ProvisionInvitedUserRequest,
    ) -> Result<pb::ProvisionInvitedUserResponse> {
        if !caller.principal()?.is_roster_service {
            return Err(Error::permission_denied(
                "only Roster's services may provision invited users",
            ));
        }
        let (email, display_name) = person_fields(&request.email, &request.display_name)?;
        check_policy("password", &request.password, &email)?;
        let password = request.password.as_str();
        let existing = store::find_by_email(&self.pool.get().await?, &email).await?;
        let session = match existing {
            Some(user) => self.resume_invited(user, invitation_id, password).await?,
            None => match self
                .create_invited(caller, invitation_id, &email, display_name, password)
                .await
            {
                Err(error) if error.reason() == Some(ErrorReason::EmailTaken) => {
                    // A concurrent call created the user first: from here on, a retry.
                    let user = store::find_by_email(&self.pool.get().await?, &email)
                        .await?
                        // The invitation's user exists with another email by now.
                        .ok_or_else(store::invitation_taken)?;
                    self.resume_invited(user, invitation_id, password).await?
                }
                outcome => outcome?,
            },
        };
        Ok(pb::ProvisionInvitedUserResponse {
            user: session.user,
            session_token: session.session_token,
            session_expire_time: session.expire_time,
        })
    }

    /// Creates the invited person (an active human bound to the invitation, created by
    /// the calling service) and their first session, in one transaction.
    async fn create_invited(
        &self,
        caller: &Caller,
        invitation_id: Uuid,
        email: &str,
        display_name: &str,
        password: &str,
    ) -> Result<pb::LoginResponse> {
        let password_hash = self.hasher.hash(password).await?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        let person = NewUser {
            kind: Kind::Human,
            email,
            display_name,
            phone: "",
            description: "",
            is_operator: false,
            password_hash: Some(&password_hash),
            invitation_id: Some(invitation_id),
            // The invitation reached this address: accepting it proves the email.
            email_verified_at: Some(now),
        };
        let user = self.insert_person(&tx, caller, now, &person).await?;
        let user_id = user.id;
        let session = self.open_session(&tx, user, now).await?;
        tx.commit().await?;
        info!(user_id = %user_id, invitation_id = %invitation_id, "invited user created");
        Ok(session)
    }

    /// A retry for `user`, who holds the invitation's email: only the user this invitation
    /// created, proving the same password, gets a new session.
    async fn resume_invited(
        &self,
        user: UserRecord,
        invitation_id: Uuid,
        password: &str,
    ) -> Result<pb::LoginResponse> {
        if user.invitation_id != Some(invitation_id) {
            return Err(has_an_account(&user.email));
        }
        let user = self.verify_login(Some(user), password).await?;
        self.start_session(user).await
    }

    /// Marks `email` verified for `user_id`, who accepted an invitation sent to it with
    /// their own session (Roster services). Idempotent: a verified email keeps its time.
    #[instrument(
        skip(self, caller, email),
        name = "identity.domain.verify_invited_email"
    )]
    pub(crate) async fn verify_invited_email(
        &self,
        caller: &Caller,
        user_id: Uuid,
        email: &str,
        invitation_id: Uuid,
    ) -> Result<pb::User> {
        if !caller.principal()?.is_roster_service {
            return Err(Error::permission_denied(
                "only Roster's services may record an accepted invitation",
            ));
        }
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        let user = self.load(&tx, user_id, true).await?;
        if user.email != email {
            return Err(Error::refused(
                ErrorReason::EmailMismatch,
                "the user's email is no longer the invited one",
            ));
        }
        if user.email_verified_at.is_some() {
            return Ok(user.to_proto(now));
        }
        let patch = UserPatch {
            email_verified_at: Some(now),
            ..UserPatch::default()
        };
        let verified = store::update_user(&tx, user_id, patch, now).await?;
        let actor = acting_as(&user);
        self.audit_user(
            &tx,
            &actor,
            now,
            "identity.user.verify_email",
            user_id,
            Changes::new().field("email_verified", false, true).field(
                "invitation_id",
                "",
                invitation_id.to_string(),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(verified.to_proto(now))
    }
}
