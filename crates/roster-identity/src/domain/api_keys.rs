//! API keys: created with a secret shown once, listed without it, revoked.
use chrono::{DateTime, Utc};
use roster_kit::audit::{AuditRecord, Changes};
use roster_kit::auth::Caller;
use roster_kit::paging::PageSize;
use roster_kit::requests::Replay;
use roster_kit::{Error, Result, audit, paging, requests, token};
use roster_proto::identity as pb;
use uuid::Uuid;

use super::{API_KEY_PREFIX, Identity, require_self_or_operator, secret_prefix};
use crate::store;
use tracing::instrument;

impl Identity {
    /// Creates an API key (operators, or for oneself).
    #[instrument(skip_all, name = "identity.domain.create_api_key")]
    pub(crate) async fn create_api_key(
        &self,
        caller: &Caller,
        user_id: Uuid,
        display_name: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<pb::CreateApiKeyResponse> {
        require_self_or_operator(caller, user_id)?;
        let now = self.now();
        if expires_at.is_some_and(|at| at <= now) {
            return Err(Error::invalid("expire_time", "must be in the future"));
        }
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        if let Replay::Done(previous) =
            requests::begin::<pb::CreateApiKeyResponse>(&tx, caller, "CreateApiKey", now).await?
        {
            return Ok(previous);
        }
        self.load(&tx, user_id, false).await?;
        let minted = token::mint(API_KEY_PREFIX);
        let prefix = secret_prefix(&minted.secret);
        let key = store::insert_api_key(
            &tx,
            user_id,
            display_name.trim(),
            &prefix,
            &minted.hash,
            now,
            expires_at,
        )
        .await?;
        audit::record(
            &tx,
            caller,
            now,
            AuditRecord {
                action: "identity.api_key.create",
                target_type: "api_key",
                target_id: key.id.to_string(),
                account_id: None,
                changes: Changes::new()
                    .field("user_id", None::<String>, user_id)
                    .field("expire_time", None::<String>, expires_at),
            },
        )
        .await?;
        requests::finish(&tx, caller, None::<&pb::CreateApiKeyResponse>).await?;
        tx.commit().await?;
        Ok(pb::CreateApiKeyResponse {
            api_key: Some(key.to_proto()),
            secret: minted.secret,
        })
    }

    /// Lists a user's API keys.
    #[instrument(skip_all, name = "identity.domain.list_api_keys")]
    pub(crate) async fn list_api_keys(
        &self,
        caller: &Caller,
        user_id: Uuid,
        show_all: bool,
        page_size: i32,
        page_token: &str,
    ) -> Result<pb::ListApiKeysResponse> {
        require_self_or_operator(caller, user_id)?;
        let limit = PageSize::LIST.resolve(page_size)?;
        let query = (user_id, show_all);
        let after: Option<(DateTime<Utc>, Uuid)> = paging::decode(&query, page_token)?;
        let db = self.pool.get().await?;
        let keys = store::list_api_keys(
            &db,
            user_id,
            !show_all,
            after.as_ref(),
            i64::from(limit) + 1,
            self.now(),
        )
        .await?;
        let (keys, next_page_token) =
            paging::finish_page(keys, limit, &query, |k| (k.created_at, k.id));
        Ok(pb::ListApiKeysResponse {
            api_keys: keys
                .iter()
                .map(store::records::ApiKeyRecord::to_proto)
                .collect(),
            next_page_token,
        })
    }

    /// Revokes an API key (operators, or the key's user).
    #[instrument(skip_all, name = "identity.domain.revoke_api_key")]
    pub(crate) async fn revoke_api_key(
        &self,
        caller: &Caller,
        api_key_id: Uuid,
    ) -> Result<pb::ApiKey> {
        let principal = caller.principal()?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        let key = store::get_api_key(&tx, api_key_id).await?;
        // Someone else's key reads as missing: its existence is not theirs to learn.
        let key = key
            .filter(|k| principal.is_operator || k.user_id == principal.user_id)
            .ok_or_else(|| Error::not_found("api key", api_key_id))?;
        if key.revoked_at.is_some() {
            return Ok(key.to_proto());
        }
        store::watchers::touch_user(&tx, key.user_id).await?;
        let revoked = store::revoke_api_key(&tx, api_key_id, now)
            .await?
            .ok_or_else(|| Error::not_found("api key", api_key_id))?;
        audit::record(
            &tx,
            caller,
            now,
            AuditRecord {
                action: "identity.api_key.revoke",
                target_type: "api_key",
                target_id: api_key_id.to_string(),
                account_id: None,
                changes: Changes::new().field("revoke_time", None::<String>, now),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(revoked.to_proto())
    }
}
