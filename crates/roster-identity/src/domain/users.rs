//! Creating, reading, listing and updating users and service accounts.
use chrono::{DateTime, Utc};
use roster_kit::audit::Changes;
use roster_kit::auth::Caller;
use roster_kit::db::GenericClient;
use roster_kit::paging::PageSize;
use roster_kit::requests::Replay;
use roster_kit::{Error, Result, paging, requests};
use roster_proto::identity as pb;
use roster_proto::types::ErrorReason;
use tracing::{info, instrument};
use uuid::Uuid;

use super::hashing::check_policy;
use super::model::{Kind, UserRecord};
use super::{Identity, require_operator_or_service, require_self_or_operator};
use crate::store::{self, NewUser, UserPatch, UserQuery};

/// A new person's normalized email and trimmed name, every bad field reported at once
/// (CreateUser and ProvisionInvitedUser check them alike).
pub(super) fn person_fields<'a>(email: &str, display_name: &'a str) -> Result<(String, &'a str)> {
    let mut violations = roster_kit::error::Violations::new();
    let email = violations.check(roster_kit::email::normalize("email", email));
    let display_name = display_name.trim();
    if display_name.is_empty() {
        violations.add("display_name", "is required");
    }
    violations.finish()?;
    Ok((email.unwrap_or_default(), display_name))
}

impl Identity {
    /// Creates a person (operators).
    #[instrument(skip_all, name = "identity.domain.create_user")]
    pub(crate) async fn create_user(
        &self,
        caller: &Caller,
        request: pb::CreateUserRequest,
    ) -> Result<pb::User> {
        caller.operator()?;
        let (email, display_name) = person_fields(&request.email, &request.display_name)?;
        let password_hash = if request.password.is_empty() {
            None
        } else {
            check_policy("password", &request.password, &email)?;
            Some(self.hasher.hash(&request.password).await?)
        };
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(previous) =
            requests::begin::<pb::User>(&tx, caller, "CreateUser", now).await?
        {
            return Ok(previous);
        }
        let person = NewUser {
            kind: Kind::Human,
            email: &email,
            display_name,
            phone: request.phone.trim(),
            description: "",
            is_operator: request.platform_role == i32::from(pb::PlatformRole::Operator),
            password_hash: password_hash.as_deref(),
            invitation_id: None,
            email_verified_at: None,
        };
        let user = self.insert_person(&tx, caller, now, &person).await?;
        let answer = user.to_proto(now);
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        info!(user_id = %user.id, "user created");
        Ok(answer)
    }

    /// Inserts a person and records its creation by `caller`, in the caller's
    /// transaction; a taken email is `EMAIL_TAKEN`.
    pub(super) async fn insert_person(
        &self,
        db: &impl GenericClient,
        caller: &Caller,
        now: DateTime<Utc>,
        person: &NewUser<'_>,
    ) -> Result<UserRecord> {
        let user = self.insert_user(db, person, now).await?;
        let changes = Changes::new()
            .field("email", None::<String>, &user.email)
            .field("display_name", None::<String>, &user.display_name)
            .field(
                "platform_role",
                None::<String>,
                if user.is_operator { "operator" } else { "user" },
            )
            .field("invitation_id", None::<Uuid>, user.invitation_id);
        self.audit_user(db, caller, now, "identity.user.create", user.id, changes)
            .await?;
        Ok(user)
    }

    /// Creates a service account (operators).
    #[instrument(skip_all, name = "identity.domain.create_service_account")]
    pub(crate) async fn create_service_account(
        &self,
        caller: &Caller,
        request: pb::CreateServiceAccountRequest,
    ) -> Result<pb::User> {
        caller.operator()?;
        if request.display_name.trim().is_empty() {
            return Err(Error::invalid("display_name", "is required"));
        }
        let email = if request.email.trim().is_empty() {
            String::new()
        } else {
            roster_kit::email::normalize("email", &request.email)?
        };
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(previous) =
            requests::begin::<pb::User>(&tx, caller, "CreateServiceAccount", now).await?
        {
            return Ok(previous);
        }
        let user = self
            .insert_user(
                &tx,
                &NewUser {
                    kind: Kind::Service,
                    email: &email,
                    display_name: request.display_name.trim(),
                    phone: "",
                    description: request.description.trim(),
                    is_operator: false,
                    password_hash: None,
                    invitation_id: None,
                    email_verified_at: None,
                },
                now,
            )
            .await?;
        let changes = Changes::new()
            .field("display_name", None::<String>, &user.display_name)
            .field("kind", None::<String>, "service");
        self.audit_user(
            &tx,
            caller,
            now,
            "identity.service_account.create",
            user.id,
            changes,
        )
        .await?;
        let answer = user.to_proto(now);
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        Ok(answer)
    }

    /// Reads a user (operators, Roster's services, or themself).
    #[instrument(skip_all, name = "identity.domain.get_user")]
    pub(crate) async fn get_user(&self, caller: &Caller, user_id: Uuid) -> Result<pb::User> {
        if caller.principal()?.user_id != user_id {
            require_operator_or_service(caller)?;
        }
        let db = self.pool.get().await?;
        Ok(self.load(&db, user_id, false).await?.to_proto(self.now()))
    }

    /// Reads many users (operators and Roster's services).
    #[instrument(skip_all, name = "identity.domain.batch_get_users")]
    pub(crate) async fn batch_get_users(
        &self,
        caller: &Caller,
        ids: Vec<Uuid>,
    ) -> Result<pb::BatchGetUsersResponse> {
        require_operator_or_service(caller)?;
        let db = self.pool.get().await?;
        let found = store::get_users(&db, &ids).await?;
        let now = self.now();
        let mut response = pb::BatchGetUsersResponse::default();
        for id in ids {
            match found.iter().find(|u| u.id == id) {
                Some(user) => response.users.push(user.to_proto(now)),
                None => response.missing_user_ids.push(id.to_string()),
            }
        }
        Ok(response)
    }

    /// Lists users (operators).
    #[instrument(skip_all, name = "identity.domain.list_users")]
    pub(crate) async fn list_users(
        &self,
        caller: &Caller,
        query: UserQuery,
        page_size: i32,
        page_token: &str,
    ) -> Result<pb::ListUsersResponse> {
        caller.operator()?;
        let limit = PageSize::LIST.resolve(page_size)?;
        let after: Option<(String, Uuid)> = paging::decode(&query, page_token)?;
        let now = self.now();
        let db = self.pool.get().await?;
        let users =
            store::list_users(&db, &query, after.as_ref(), i64::from(limit) + 1, now).await?;
        let (users, next_page_token) = paging::finish_page(users, limit, &query, |last| {
            (query.order.key_of(last), last.id)
        });
        Ok(pb::ListUsersResponse {
            users: users.iter().map(|u| u.to_proto(now)).collect(),
            next_page_token,
        })
    }

    /// Updates the display name (operators) and phone (operators, or themself).
    #[instrument(skip_all, name = "identity.domain.update_user")]
    pub(crate) async fn update_user(
        &self,
        caller: &Caller,
        user_id: Uuid,
        display_name: Option<String>,
        phone: Option<String>,
        etag: &str,
    ) -> Result<pb::User> {
        if display_name.is_some() {
            caller.operator().map_err(|_| {
                Error::permission_denied("only platform operators may edit a user's name")
            })?;
        } else {
            require_self_or_operator(caller, user_id)?;
        }
        if display_name
            .as_deref()
            .is_some_and(|name| name.trim().is_empty())
        {
            return Err(Error::invalid("user.display_name", "must not be empty"));
        }
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(previous) =
            requests::begin::<pb::User>(&tx, caller, "UpdateUser", now).await?
        {
            return Ok(previous);
        }
        let before = self.load(&tx, user_id, true).await?;
        if !etag.is_empty() && etag != before.etag() {
            return Err(Error::refused(
                ErrorReason::EtagMismatch,
                "the user changed since it was read; re-read it",
            )
            .with_metadata("etag", before.etag()));
        }
        let patch = UserPatch {
            display_name: display_name.map(|n| n.trim().to_owned()),
            phone: phone.map(|p| p.trim().to_owned()),
            ..UserPatch::default()
        };
        let after = store::update_user(&tx, user_id, patch, now).await?;
        let changes = Changes::new()
            .field("display_name", &before.display_name, &after.display_name)
            .field("phone", &before.phone, &after.phone);
        self.audit_user(&tx, caller, now, "identity.user.update", user_id, changes)
            .await?;
        let answer = after.to_proto(now);
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        Ok(answer)
    }
}
