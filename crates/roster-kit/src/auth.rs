//! Who is calling: the principal behind a bearer token, and the request's id.
use tonic::metadata::MetadataMap;
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
    Uuid::parse_str(value).map_err(|_| Error::invalid(field, format!("is not a UUID: {value:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

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
