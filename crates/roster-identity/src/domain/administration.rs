//! What identity asks membership about a user's accounts: who may act on the user
//! platform-wide (operators, and account administrators of every account of the user),
//! and whether the user may reset their own password by email.
use std::time::Duration;

use roster_kit::remote::{Intercepted, Outgoing, answer};
use roster_proto::membership as membership_pb;
use roster_proto::membership::membership_service_client::MembershipServiceClient;

use roster_kit::auth::{Caller, Principal};
use roster_kit::{Error, Result};
use uuid::Uuid;

use super::Identity;
use tracing::instrument;

/// The longest an impersonation grant may last for someone in no account (DESIGN §3).
pub(super) const DEFAULT_IMPERSONATION_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// How an account administrator stands towards a user's accounts.
#[derive(Debug, Clone, Copy)]
pub(super) struct UserAdministration {
    /// They administer every account of the user (who is in at least one).
    pub(super) allowed: bool,
    /// The shortest impersonation window of the user's accounts.
    pub(super) impersonation_window: Duration,
}

/// Asks membership about a user's accounts: whether an account administrator may act on
/// the user, and whether their accounts allow self-service password reset.
#[derive(Debug, Clone)]
pub struct AdministrationCheck {
    membership: MembershipServiceClient<Intercepted>,
}

impl AdministrationCheck {
    /// Asks membership at `membership`, presenting `service_token`.
    pub fn new(
        membership: tonic::transport::Channel,
        service_token: roster_kit::auth::ServiceToken,
    ) -> Self {
        Self {
            membership: roster_kit::client!(
                MembershipServiceClient,
                membership,
                Outgoing::as_service(&service_token)
            ),
        }
    }

    /// How `administrator_id` stands towards the accounts of `user_id`.
    pub(super) async fn standing(
        &self,
        administrator_id: Uuid,
        user_id: Uuid,
    ) -> Result<UserAdministration> {
        let request = membership_pb::CheckUserAdministrationRequest {
            administrator_user_id: administrator_id.to_string(),
            user_id: user_id.to_string(),
        };
        let check = answer(
            "membership",
            self.membership.clone().check_user_administration(request),
        )
        .await?;
        let window = check
            .impersonation_window
            .and_then(|w| Duration::try_from(w).ok())
            .unwrap_or(DEFAULT_IMPERSONATION_WINDOW);
        Ok(UserAdministration {
            allowed: check.allowed,
            impersonation_window: window,
        })
    }

    /// Whether `user_id` may get a password reset link: in no account, or in at least one
    /// whose self-service password reset is on.
    pub(super) async fn self_service_reset_allowed(&self, user_id: Uuid) -> Result<bool> {
        let request = membership_pb::CheckSelfServicePasswordResetRequest {
            user_id: user_id.to_string(),
        };
        let check = answer(
            "membership",
            self.membership
                .clone()
                .check_self_service_password_reset(request),
        )
        .await?;
        Ok(check.allowed)
    }
}

impl Identity {
    /// Operators, or an account administrator of every account `user_id` belongs to.
    #[instrument(skip_all, name = "identity.domain.require_user_administrator")]
    pub(crate) async fn require_user_administrator<'c>(
        &self,
        caller: &'c Caller,
        user_id: Uuid,
        action: &str,
    ) -> Result<&'c Principal> {
        let principal = caller.principal()?;
        if principal.is_operator {
            return Ok(principal);
        }
        let allowed = match &self.administration {
            Some(check) if !principal.is_roster_service => {
                check.standing(principal.user_id, user_id).await?.allowed
            }
            _ => false,
        };
        if allowed {
            Ok(principal)
        } else {
            Err(Error::permission_denied(format!(
                "you may {action} only users whose every account you administer; \
                 to keep someone out of your workspace, suspend them there instead"
            ))
            .with_metadata("user_id", user_id.to_string()))
        }
    }
}
