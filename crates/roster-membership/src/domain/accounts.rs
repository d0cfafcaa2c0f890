//! Accounts, their settings and administrators.
use roster_kit::audit::{AuditRecord, Changes};
use roster_kit::auth::Caller;
use roster_kit::paging::PageSize;
use roster_kit::requests::Replay;
use roster_kit::{Error, Result, audit, paging, requests};
use roster_proto::membership as pb;
use roster_proto::types::ErrorReason;
use tracing::{info, instrument};
use uuid::Uuid;

use super::model::AccountRecord;
use super::{Membership, etag_mismatch, required_name};
use crate::domain::access::ALL_PERMISSIONS;
use crate::domain::model::{BuiltIn, InvitationScope, RoleRecord, Settings};
use crate::store::{self, notify_access_changed};

/// Which of an account's settings an update names.
#[derive(Debug, Default, Clone)]
pub(crate) struct AccountPatch {
    pub(crate) name: Option<String>,
    pub(crate) invitation_lifetime_secs: Option<i64>,
    pub(crate) allowed_email_domains: Option<Vec<String>>,
    pub(crate) impersonation_window_secs: Option<i64>,
    pub(crate) restore_window_secs: Option<i64>,
    pub(crate) self_service_password_reset: Option<bool>,
    pub(crate) invitation_scope: Option<InvitationScope>,
    /// Operators only.
    pub(crate) seat_allowance: Option<i32>,
}

impl AccountPatch {
    fn apply(&self, settings: &mut Settings) {
        if let Some(v) = self.invitation_lifetime_secs {
            settings.invitation_lifetime_secs = v;
        }
        if let Some(v) = &self.allowed_email_domains {
            settings.allowed_email_domains.clone_from(v);
        }
        if let Some(v) = self.impersonation_window_secs {
            settings.impersonation_window_secs = v;
        }
        if let Some(v) = self.restore_window_secs {
            settings.restore_window_secs = v;
        }
        if let Some(v) = self.self_service_password_reset {
            settings.self_service_password_reset = v;
        }
        if let Some(v) = self.invitation_scope {
            settings.invitation_scope = v;
        }
    }
}

fn account_audit(action: &str, account_id: Uuid, changes: Changes) -> AuditRecord<'_> {
    AuditRecord {
        action,
        target_type: "account",
        target_id: account_id.to_string(),
        account_id: Some(account_id),
        changes,
    }
}

impl Membership {
    /// Creates an account with its built-in roles; the operator becomes its first
    /// administrator.
    #[instrument(skip_all, name = "membership.domain.create_account")]
    pub(crate) async fn create_account(
        &self,
        caller: &Caller,
        name: &str,
        patch: AccountPatch,
    ) -> Result<pb::Account> {
        let principal = caller.operator()?;
        let name = required_name("name", name)?;
        let mut settings = Settings::default();
        patch.apply(&mut settings);
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(previous) =
            requests::begin::<pb::Account>(&tx, caller, "CreateAccount", now).await?
        {
            return Ok(previous);
        }
        let account_id = Uuid::now_v7();
        store::insert_account(&tx, account_id, &name, &settings, 0, now).await?;
        for (which, description, permissions) in [
            (
                BuiltIn::Admin,
                "Administers the workspace: every permission",
                vec![ALL_PERMISSIONS.to_owned()],
            ),
            (
                BuiltIn::Member,
                "A standard member",
                vec!["roster.members.read".to_owned()],
            ),
        ] {
            let role = RoleRecord {
                account_id,
                id: Uuid::now_v7(),
                name: which.as_db().to_owned(),
                description: description.to_owned(),
                permissions,
                built_in: Some(which),
                created_at: now,
                updated_at: now,
            };
            store::insert_role(&tx, &role).await?;
        }
        store::add_administrator(&tx, account_id, principal.user_id, now).await?;
        let changes = Changes::new()
            .field("name", None::<String>, &name)
            .field("settings", None::<String>, &settings)
            .field("administrators", None::<String>, [principal.user_id]);
        audit::record(
            &tx,
            caller,
            now,
            account_audit("membership.account.create", account_id, changes),
        )
        .await?;
        let answer = self.account(&tx, account_id, false).await?.to_proto();
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        info!(account_id = %account_id, "account created");
        Ok(answer)
    }

    /// Reads an account (operators, its administrators and members).
    #[instrument(skip_all, name = "membership.domain.get_account")]
    pub(crate) async fn get_account(
        &self,
        caller: &Caller,
        account_id: Uuid,
    ) -> Result<pb::Account> {
        let db = self.pool.get().await?;
        self.require_account_reader(&db, caller, account_id).await?;
        Ok(self.account(&db, account_id, false).await?.to_proto())
    }

    /// Lists accounts by name: all for operators, else the caller's own.
    #[instrument(skip_all, name = "membership.domain.list_accounts")]
    pub(crate) async fn list_accounts(
        &self,
        caller: &Caller,
        query: Option<String>,
        page_size: i32,
        page_token: &str,
    ) -> Result<pb::ListAccountsResponse> {
        let principal = caller.principal()?;
        let visible_to = (!principal.is_operator).then_some(principal.user_id);
        let limit = PageSize::LIST.resolve(page_size)?;
        let fingerprint = (&query, visible_to);
        let after: Option<(String, Uuid)> = paging::decode(&fingerprint, page_token)?;
        let db = self.pool.get().await?;
        let accounts = store::list_accounts(
            &db,
            visible_to,
            query.as_deref(),
            after.as_ref(),
            i64::from(limit) + 1,
        )
        .await?;
        let (accounts, next_page_token) = paging::finish_page(accounts, limit, &fingerprint, |a| {
            (a.name.to_lowercase(), a.id)
        });
        Ok(pb::ListAccountsResponse {
            accounts: accounts.iter().map(AccountRecord::to_proto).collect(),
            next_page_token,
        })
    }

    /// Updates an account's name and settings (operators and its administrators).
    #[instrument(skip_all, name = "membership.domain.update_account")]
    pub(crate) async fn update_account(
        &self,
        caller: &Caller,
        account_id: Uuid,
        patch: AccountPatch,
        etag: &str,
    ) -> Result<pb::Account> {
        let name = patch
            .name
            .as_deref()
            .map(|n| required_name("account.name", n))
            .transpose()?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        let principal = self.require_account_admin(&tx, caller, account_id).await?;
        if patch.seat_allowance.is_some() && !principal.is_operator {
            // The allowance is what the account pays for: its administrators cannot set it.
            return Err(Error::permission_denied(
                "only platform operators may change an account's seat allowance",
            )
            .with_metadata("field", "seat_allowance"));
        }
        if let Replay::Done(previous) =
            requests::begin::<pb::Account>(&tx, caller, "UpdateAccount", now).await?
        {
            return Ok(previous);
        }
        let before = self.account(&tx, account_id, true).await?;
        if !etag.is_empty() && etag != before.etag() {
            return Err(etag_mismatch(before.etag()));
        }
        let mut settings = before.settings.clone();
        patch.apply(&mut settings);
        let name = name.unwrap_or_else(|| before.name.clone());
        let seat_allowance = patch.seat_allowance.unwrap_or(before.seat_allowance);
        store::update_account(&tx, account_id, &name, &settings, seat_allowance, now).await?;
        let changes = Changes::new()
            .field("name", &before.name, &name)
            .field("settings", &before.settings, &settings)
            .field("seat_allowance", before.seat_allowance, seat_allowance);
        audit::record(
            &tx,
            caller,
            now,
            account_audit("membership.account.update", account_id, changes),
        )
        .await?;
        let answer = self.account(&tx, account_id, false).await?.to_proto();
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        Ok(answer)
    }

    /// Adds or removes an account administrator (operators and administrators). The
    /// account keeps at least one, and nobody removes themself.
    #[instrument(skip_all, name = "membership.domain.set_administrator")]
    pub(crate) async fn set_administrator(
        &self,
        caller: &Caller,
        account_id: Uuid,
        user_id: Uuid,
        administrator: bool,
    ) -> Result<pb::Account> {
        if administrator {
            self.ensure_user(user_id).await?;
        }
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        let principal = self.require_account_admin(&tx, caller, account_id).await?;
        let (rpc, action) = if administrator {
            (
                "AddAccountAdministrator",
                "membership.account.add_administrator",
            )
        } else {
            principal.forbid_self(user_id, "remove the account administration of")?;
            (
                "RemoveAccountAdministrator",
                "membership.account.remove_administrator",
            )
        };
        if let Replay::Done(previous) =
            requests::begin::<pb::Account>(&tx, caller, rpc, now).await?
        {
            return Ok(previous);
        }
        // The account row lock serializes administrator changes (the last-admin rule).
        let before = self.account(&tx, account_id, true).await?;
        let changed = if administrator {
            store::add_administrator(&tx, account_id, user_id, now).await?
        } else {
            if before.administrators == [user_id] {
                return Err(Error::refused(
                    ErrorReason::LastAdmin,
                    "an account keeps at least one administrator",
                )
                .with_metadata("account_id", account_id.to_string()));
            }
            store::remove_administrator(&tx, account_id, user_id).await?
        };
        let after = self.account(&tx, account_id, false).await?;
        if changed {
            let changes = Changes::new().field(
                "administrators",
                &before.administrators,
                &after.administrators,
            );
            audit::record(&tx, caller, now, account_audit(action, account_id, changes)).await?;
            notify_access_changed(&tx, account_id).await?;
        }
        let answer = after.to_proto();
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        self.access_changed(account_id);
        Ok(answer)
    }
}
