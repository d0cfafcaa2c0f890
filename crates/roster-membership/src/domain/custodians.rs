//! The registry of asset custodians: the services removals ask to transfer and delete a
//! member's assets. Operators keep it; the credential Roster presents to custodians comes
//! from configuration, never from here.
use roster_kit::audit::{self, AuditRecord, Changes};
use roster_kit::auth::Caller;
use roster_kit::db::GenericClient as _;
use roster_kit::requests::{self, Replay};
use roster_kit::{Error, Result};
use roster_proto::membership as pb;
use tracing::instrument;
use uuid::Uuid;

use super::model::CustodianRecord;
use super::{Membership, invalid_state};
use crate::store;

/// The most custodians a deployment registers: each removal calls every one.
const MAX_CUSTODIANS: usize = 100;

/// What UpdateCustodian changes; `None` keeps the value.
#[derive(Debug, Default)]
pub(crate) struct CustodianPatch {
    pub(crate) name: Option<String>,
    pub(crate) url: Option<String>,
    pub(crate) description: Option<String>,
}

fn custodian_name(raw: &str) -> Result<String> {
    let name = raw.trim();
    let well_formed = name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !well_formed {
        return Err(Error::invalid(
            "custodian.name",
            "must be 1 to 63 lower-case letters, digits and dashes, starting with a letter",
        ));
    }
    Ok(name.to_owned())
}

fn custodian_url(raw: &str) -> Result<String> {
    let url = raw.trim();
    let parsed = url.parse::<tonic::codegen::http::Uri>().ok();
    let usable = parsed.as_ref().is_some_and(|uri| {
        matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some()
    });
    if !usable {
        return Err(Error::invalid(
            "custodian.url",
            "must be an http:// or https:// URL with a host",
        ));
    }
    Ok(url.to_owned())
}

fn custodian_audit<'a>(
    action: &'a str,
    custodian: &CustodianRecord,
    changes: Changes,
) -> AuditRecord<'a> {
    AuditRecord {
        action,
        target_type: "custodian",
        target_id: custodian.id.to_string(),
        account_id: None,
        changes,
    }
}

impl Membership {
    /// Registers a custodian (operators).
    #[instrument(skip_all, name = "membership.domain.create_custodian")]
    pub(crate) async fn create_custodian(
        &self,
        caller: &Caller,
        name: &str,
        url: &str,
        description: &str,
    ) -> Result<pb::Custodian> {
        caller.operator()?;
        let now = self.now();
        let custodian = CustodianRecord {
            id: Uuid::now_v7(),
            name: custodian_name(name)?,
            url: custodian_url(url)?,
            description: description.trim().to_owned(),
            created_at: now,
            updated_at: now,
        };
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(previous) =
            requests::begin::<pb::CreateCustodianResponse>(&tx, caller, "CreateCustodian", now)
                .await?
        {
            return previous
                .custodian
                .ok_or_else(|| Error::internal("create custodian", "no custodian in the answer"));
        }
        // Serializes registrations, so the limit holds under concurrency.
        tx.batch_execute("LOCK TABLE custodians IN SHARE ROW EXCLUSIVE MODE")
            .await?;
        if store::list_custodians(&tx).await?.len() >= MAX_CUSTODIANS {
            return Err(invalid_state(format!(
                "{MAX_CUSTODIANS} custodians are registered already"
            )));
        }
        store::insert_custodian(&tx, &custodian).await?;
        let changes = Changes::new()
            .field("name", None::<String>, &custodian.name)
            .field("url", None::<String>, &custodian.url);
        audit::record(
            &tx,
            caller,
            now,
            custodian_audit("membership.custodian.create", &custodian, changes),
        )
        .await?;
        let answer = pb::CreateCustodianResponse {
            custodian: Some(custodian.to_proto()),
        };
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        Ok(custodian.to_proto())
    }

    /// Every custodian by name (operators).
    #[instrument(skip_all, name = "membership.domain.list_custodians")]
    pub(crate) async fn list_custodians(&self, caller: &Caller) -> Result<Vec<pb::Custodian>> {
        caller.operator()?;
        let custodians = store::list_custodians(&self.pool.get().await?).await?;
        Ok(custodians.iter().map(CustodianRecord::to_proto).collect())
    }

    /// Changes a custodian's name, URL or description (operators).
    #[instrument(skip_all, name = "membership.domain.update_custodian")]
    pub(crate) async fn update_custodian(
        &self,
        caller: &Caller,
        custodian_id: Uuid,
        patch: CustodianPatch,
    ) -> Result<pb::Custodian> {
        caller.operator()?;
        let name = patch.name.as_deref().map(custodian_name).transpose()?;
        let url = patch.url.as_deref().map(custodian_url).transpose()?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(previous) =
            requests::begin::<pb::UpdateCustodianResponse>(&tx, caller, "UpdateCustodian", now)
                .await?
        {
            return previous
                .custodian
                .ok_or_else(|| Error::internal("update custodian", "no custodian in the answer"));
        }
        let before = store::get_custodian(&tx, custodian_id, true)
            .await?
            .ok_or_else(|| Error::not_found("custodian", custodian_id))?;
        let mut after = before.clone();
        if let Some(name) = name {
            after.name = name;
        }
        if let Some(url) = url {
            after.url = url;
        }
        if let Some(description) = patch.description {
            after.description = description.trim().to_owned();
        }
        after.updated_at = now;
        store::save_custodian(&tx, &after).await?;
        let changes = Changes::new()
            .field("name", &before.name, &after.name)
            .field("url", &before.url, &after.url)
            .field("description", &before.description, &after.description);
        audit::record(
            &tx,
            caller,
            now,
            custodian_audit("membership.custodian.update", &after, changes),
        )
        .await?;
        let answer = pb::UpdateCustodianResponse {
            custodian: Some(after.to_proto()),
        };
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        Ok(after.to_proto())
    }

    /// Unregisters a custodian (operators); refused while removals still need it unless
    /// `force`, which cancels their steps.
    #[instrument(skip_all, name = "membership.domain.delete_custodian")]
    pub(crate) async fn delete_custodian(
        &self,
        caller: &Caller,
        custodian_id: Uuid,
        force: bool,
    ) -> Result<()> {
        caller.operator()?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(_) =
            requests::begin::<pb::DeleteCustodianResponse>(&tx, caller, "DeleteCustodian", now)
                .await?
        {
            return Ok(());
        }
        let custodian = store::get_custodian(&tx, custodian_id, true)
            .await?
            .ok_or_else(|| Error::not_found("custodian", custodian_id))?;
        let open = store::count_open_steps_of(&tx, custodian_id).await?;
        if open > 0 && !force {
            return Err(invalid_state(format!(
                "{open} removal steps still call this custodian: let them finish, or delete with force to cancel them"
            ))
            .with_metadata("open_steps", open.to_string()));
        }
        store::delete_custodian(&tx, custodian_id, now).await?;
        let changes = Changes::new()
            .field("name", &custodian.name, None::<String>)
            .field("cancelled_steps", None::<i64>, open);
        audit::record(
            &tx,
            caller,
            now,
            custodian_audit("membership.custodian.delete", &custodian, changes),
        )
        .await?;
        requests::finish(&tx, caller, Some(&pb::DeleteCustodianResponse {})).await?;
        tx.commit().await?;
        Ok(())
    }
}
