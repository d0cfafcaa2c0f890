//! The first operator, and upkeep of stale credentials.
use std::time::Duration;

use roster_kit::audit::Changes;
use roster_kit::{Error, Result, token};
use roster_proto::identity as pb;
use roster_proto::types::ErrorReason;

use super::model::Kind;
use super::{API_KEY_PREFIX, Identity, acting_as, secret_prefix};
use crate::store::{self, NewUser};
use tracing::instrument;

impl Identity {
    /// Creates the first platform operator and an API key for it: the way in on an empty
    /// database. Refused once any operator exists.
    #[instrument(skip_all, name = "identity.domain.bootstrap_operator")]
    pub async fn bootstrap_operator(
        &self,
        email: &str,
        display_name: &str,
    ) -> Result<(pb::User, String)> {
        let email = roster_kit::email::normalize("operator_email", email)?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        store::lock_bootstrap(&tx).await?;
        if store::operator_exists(&tx).await? {
            return Err(Error::refused(
                ErrorReason::AlreadyExists,
                "a platform operator already exists; ask one for an API key (CreateApiKey)",
            ));
        }
        let user = self
            .insert_user(
                &tx,
                &NewUser {
                    kind: Kind::Human,
                    email: &email,
                    display_name: if display_name.trim().is_empty() {
                        "Operator"
                    } else {
                        display_name.trim()
                    },
                    phone: "",
                    description: "",
                    is_operator: true,
                    password_hash: None,
                    invitation_id: None,
                    email_verified_at: None,
                },
                now,
            )
            .await?;
        let minted = token::mint(API_KEY_PREFIX);
        let prefix = secret_prefix(&minted.secret);
        let key =
            store::insert_api_key(&tx, user.id, "bootstrap", &prefix, &minted.hash, now, None)
                .await?;
        let caller = acting_as(&user);
        self.audit_user(
            &tx,
            &caller,
            now,
            "identity.user.bootstrap_operator",
            user.id,
            Changes::new().field("email", None::<String>, &email).field(
                "api_key_id",
                None::<String>,
                key.id,
            ),
        )
        .await?;
        tx.commit().await?;
        Ok((user.to_proto(now), minted.secret))
    }

    /// Deletes long-expired sessions and tokens and old request answers, every
    /// `interval`, until `shutdown`.
    pub async fn run_janitor(
        &self,
        interval: Duration,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        roster_kit::worker::every(interval, shutdown, "delete stale credentials", || async {
            let keep_after = self.now() - chrono::Duration::days(1);
            store::delete_stale(&self.pool.get().await?, keep_after).await
        })
        .await;
    }
}
