//! Who is calling: the principal behind a bearer token, and the request's id; and the
//! credential Roster's services present to each other.
use std::sync::Arc;

use sha2::{Digest as _, Sha256};
use tonic::metadata::{Ascii, MetadataMap, MetadataValue};
use uuid::Uuid;

use crate::error::{Error, Result};

/// An authenticated caller, as identity's `Authenticate` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user the token belongs to.
    pub user_id: Uuid,
    /// A service account rather than a person.
    pub is_service: bool,
    /// A platform operator.
    pub is_operator: bool,
    /// The operator acting as this user, when impersonating.
    pub impersonator_id: Option<Uuid>,
    /// The user's email.
    pub email: String,
    /// The session behind the token, if it is a session token.
    pub session_id: Option<Uuid>,
    /// The API key behind the token, if it is an API key.
    pub api_key_id: Option<Uuid>,
    /// One of Roster's own services, calling with the service credential.
    pub is_roster_service: bool,
}

/// The caller of one request: who (if anyone) and the request's `request_id`.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// `None` for the public RPCs.
    pub principal: Option<Principal>,
    /// The caller's `request_id` (may be empty).
    pub request_id: String,
}

impl Caller {
    /// The authenticated principal, or `UNAUTHENTICATED`.
    pub fn principal(&self) -> Result<&Principal> {
        self.principal
            .as_ref()
            .ok_or_else(|| Error::unauthenticated("this call needs a bearer token"))
    }

    /// The acting user, if any.
    pub fn actor_id(&self) -> Option<Uuid> {
        self.principal.as_ref().map(|p| p.user_id)
    }

    /// The impersonating operator, if any.
    pub fn impersonator_id(&self) -> Option<Uuid> {
        self.principal.as_ref().and_then(|p| p.impersonator_id)
    }

    /// Whether the caller is a platform operator.
    pub fn is_operator(&self) -> bool {
        self.principal.as_ref().is_some_and(|p| p.is_operator)
    }

    /// The principal of a platform operator, or `PERMISSION_DENIED`.
    pub fn operator(&self) -> Result<&Principal> {
        let principal = self.principal()?;
        if principal.is_operator {
            Ok(principal)
        } else {
            Err(Error::permission_denied(
                "only platform operators may do this",
            ))
        }
    }
}

impl Principal {
    /// `SELF_ACTION_FORBIDDEN` when `user_id` is the principal: nobody may `action`
    /// themself (disable, lock, suspend, remove, demote).
    pub fn forbid_self(&self, user_id: Uuid, action: &str) -> Result<()> {
        if self.user_id == user_id {
            return Err(Error::refused(
                roster_proto::types::ErrorReason::SelfActionForbidden,
                format!("you cannot {action} yourself"),
            ));
        }
        Ok(())
    }
}

/// The shared secret Roster's services present to each other (`ROSTER_SERVICE_TOKEN`).
///
/// It stands for "a Roster service" rather than a user: RPCs meant only for other Roster
/// services (the user change feed, adding members on acceptance) accept it and refuse
/// end users. Compared by SHA-256 digest, so the comparison time says nothing of the secret.
#[derive(Clone)]
pub struct ServiceToken {
    secret: Arc<str>,
    digest: [u8; 32],
}

impl std::fmt::Debug for ServiceToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServiceToken(***)")
    }
}

impl ServiceToken {
    /// The token `secret`.
    pub fn new(secret: &str) -> Self {
        Self {
            secret: Arc::from(secret),
            digest: Sha256::digest(secret.as_bytes()).into(),
        }
    }

    /// A random token, for a process whose services only talk among themselves.
    pub fn generate() -> Self {
        Self::new(&crate::token::mint("rsv").secret)
    }

    /// Whether a presented bearer token is this one.
    pub fn matches(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        digest == self.digest
    }

    /// The principal of a call made with this token.
    pub fn principal() -> Principal {
        Principal {
            user_id: Uuid::nil(),
            is_service: true,
            is_operator: false,
            impersonator_id: None,
            email: String::new(),
            session_id: None,
            api_key_id: None,
            is_roster_service: true,
        }
    }

    /// The principal of Roster's services when `presented` is this token.
    pub fn principal_of(&self, presented: &str) -> Option<Principal> {
        self.matches(presented).then(Self::principal)
    }

    /// The `authorization` value of calls made with this token (`None` only for a token
    /// that is not valid metadata, which [`ServiceToken::generate`] never makes).
    pub(crate) fn bearer(&self) -> Option<MetadataValue<Ascii>> {
        MetadataValue::try_from(format!("Bearer {}", self.secret)).ok()
    }
}

/// The token of an `authorization: Bearer <token>` header.
pub fn bearer_token(metadata: &MetadataMap) -> Result<&str> {
    let header = metadata
        .get("authorization")
        .ok_or_else(|| Error::unauthenticated("missing authorization: Bearer <token> metadata"))?;
    let value = header
        .to_str()
        .map_err(|_| Error::unauthenticated("authorization metadata is not text"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(Error::unauthenticated(
            "authorization metadata must be \"Bearer <token>\"",
        )),
    }
}

/// Parses a UUID field of a request.
pub fn parse_id(field: &str, value: &str) -> Result<Uuid> {
    if value.is_empty() {
        return Err(Error::invalid(field, "is required"));
    }
    Uuid::parse_str(value).map_err(|_| {
        Error::invalid(
            field,
            format!("is not a UUID: {}", crate::error::quote(value)),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_tokens_match_only_themselves() {
        let token = ServiceToken::new("rsv_secret");
        assert!(token.matches("rsv_secret"));
        assert!(!token.matches("rsv_secreT"));
        assert!(!format!("{token:?}").contains("secret"));
        let mut metadata = MetadataMap::new();
        metadata.insert("authorization", token.bearer().expect("valid metadata"));
        assert_eq!(bearer_token(&metadata).ok(), Some("rsv_secret"));
    }

    #[test]
    fn reads_bearer_tokens() {
        let mut metadata = MetadataMap::new();
        assert!(bearer_token(&metadata).is_err());
        metadata.insert("authorization", "Bearer rst_abc".parse().expect("ascii"));
        assert_eq!(bearer_token(&metadata).ok(), Some("rst_abc"));
        metadata.insert("authorization", "Basic abc".parse().expect("ascii"));
        assert!(bearer_token(&metadata).is_err());
    }
}
