//! The tonic adapter: authenticates, parses and shape-checks requests, calls the domain.
use std::sync::Arc;

use prost_types::Struct;
use roster_kit::auth::{Caller, parse_id};
use roster_kit::clock::from_timestamp;
use roster_kit::error::Violations;
use roster_kit::protobuf::value_to_json;
use roster_kit::remote::Authenticator;
use roster_kit::{Error, Result};
use roster_proto::notification as pb;
use roster_proto::notification::notification_service_server::{
    NotificationService, NotificationServiceServer,
};
use serde_json::Value;
use tonic::{Request, Response, Status};

use crate::domain::NotificationQuery;
use crate::domain::model::{NewNotification, State, Template};
use crate::domain::{ListRequest, Notifications};

/// The notification service's gRPC service.
#[derive(Debug, Clone)]
pub struct NotificationApi {
    notifications: Arc<Notifications>,
    authenticator: Authenticator,
}

type Answer<T> = std::result::Result<Response<T>, Status>;

/// The longest idempotency key; senders use their outbox row id.
const MAX_IDEMPOTENCY_KEY_CHARS: usize = 200;
/// The longest locale tag (BCP 47 allows 35 characters in practice).
const MAX_LOCALE_CHARS: usize = 35;

impl NotificationApi {
    /// Serves `notifications`, resolving callers with `authenticator`.
    pub fn new(notifications: Arc<Notifications>, authenticator: Authenticator) -> Self {
        Self {
            notifications,
            authenticator,
        }
    }

    /// The tonic server of this service.
    pub fn into_server(self) -> NotificationServiceServer<Self> {
        NotificationServiceServer::new(self)
    }

    async fn caller<T>(&self, request: &Request<T>) -> Result<Caller> {
        self.authenticator.caller(request.metadata(), "").await
    }
}

/// A `Struct` as a JSON object.
fn struct_to_json(fields: Struct) -> Value {
    Value::Object(
        fields
            .fields
            .iter()
            .map(|(name, value)| (name.clone(), value_to_json(value)))
            .collect(),
    )
}

fn new_notification(message: pb::EnqueueRequest) -> Result<NewNotification> {
    let mut violations = Violations::new();
    let template = violations.check(Template::parse("template", message.template.trim()));
    let recipient = violations.check(roster_kit::email::normalize(
        "recipient",
        &message.recipient,
    ));
    let idempotency_key = message.idempotency_key.trim();
    if idempotency_key.is_empty() {
        violations.add("idempotency_key", "is required");
    } else if idempotency_key.chars().count() > MAX_IDEMPOTENCY_KEY_CHARS {
        violations.add(
            "idempotency_key",
            format!("is longer than {MAX_IDEMPOTENCY_KEY_CHARS} characters"),
        );
    }
    let locale = match message.locale.trim() {
        "" => "en",
        locale => locale,
    };
    let well_formed = locale.len() <= MAX_LOCALE_CHARS
        && locale
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !well_formed {
        violations.add("locale", format!("is not a language tag: {locale:?}"));
    }
    violations.finish()?;
    let (Some(template), Some(recipient)) = (template, recipient) else {
        return Err(Error::internal(
            "enqueue request",
            "violations not reported",
        ));
    };
    Ok(NewNotification {
        template: template.name(),
        recipient,
        locale: locale.to_owned(),
        variables: struct_to_json(message.variables.unwrap_or_default()),
        secret_variables: message
            .secret_variables
            .filter(|secrets| !secrets.fields.is_empty())
            .map(struct_to_json),
        idempotency_key: idempotency_key.to_owned(),
    })
}

fn list_query(message: &pb::ListNotificationsRequest) -> Result<NotificationQuery> {
    let recipient = message.recipient.trim().to_lowercase();
    let template = message.template.trim();
    let template = if template.is_empty() {
        None
    } else {
        Some(Template::parse("template", template)?.name().to_owned())
    };
    let state = pb::NotificationState::try_from(message.state)
        .map_err(|_| Error::invalid("state", format!("unknown state {}", message.state)))?;
    Ok(NotificationQuery {
        recipient: (!recipient.is_empty()).then_some(recipient),
        template,
        state: State::from_proto(state),
        start: message
            .start_time
            .as_ref()
            .map(|t| from_timestamp("start_time", t))
            .transpose()?,
        end: message
            .end_time
            .as_ref()
            .map(|t| from_timestamp("end_time", t))
            .transpose()?,
    })
}

#[tonic::async_trait]
impl NotificationService for NotificationApi {
    async fn enqueue(&self, request: Request<pb::EnqueueRequest>) -> Answer<pb::EnqueueResponse> {
        let caller = self.caller(&request).await?;
        let new = new_notification(request.into_inner())?;
        let notification = self.notifications.enqueue(&caller, new).await?;
        Ok(Response::new(pb::EnqueueResponse {
            notification: Some(notification),
        }))
    }

    async fn get_notification(
        &self,
        request: Request<pb::GetNotificationRequest>,
    ) -> Answer<pb::GetNotificationResponse> {
        let caller = self.caller(&request).await?;
        let notification_id = parse_id("notification_id", &request.get_ref().notification_id)?;
        let notification = self.notifications.get(&caller, notification_id).await?;
        Ok(Response::new(pb::GetNotificationResponse {
            notification: Some(notification),
        }))
    }

    async fn list_notifications(
        &self,
        request: Request<pb::ListNotificationsRequest>,
    ) -> Answer<pb::ListNotificationsResponse> {
        let caller = self.caller(&request).await?;
        let message = request.into_inner();
        let list = ListRequest {
            query: list_query(&message)?,
            page_size: message.page_size,
            page_token: message.page_token,
        };
        Ok(Response::new(self.notifications.list(&caller, list).await?))
    }
}

#[cfg(test)]
mod tests {
    use prost_types::value::Kind;

    use super::*;

    fn string(text: &str) -> prost_types::Value {
        prost_types::Value {
            kind: Some(Kind::StringValue(text.to_owned())),
        }
    }

    fn request() -> pb::EnqueueRequest {
        pb::EnqueueRequest {
            template: "password_reset".to_owned(),
            recipient: " Joe@Example.COM ".to_owned(),
            locale: String::new(),
            variables: Some(Struct {
                fields: [("display_name".to_owned(), string("Joe"))].into(),
            }),
            secret_variables: Some(Struct {
                fields: [("token".to_owned(), string("rrt_secret"))].into(),
            }),
            idempotency_key: "0190f5a4-7c4e-7a39-9d2c-3f4a5b6c7d8e".to_owned(),
        }
    }

    #[test]
    fn enqueue_requests_are_normalized() {
        let new = new_notification(request()).expect("valid");
        assert_eq!(new.template, Template::PasswordReset.name());
        assert_eq!(new.recipient, "joe@example.com");
        assert_eq!(new.locale, "en");
        assert_eq!(new.variables, serde_json::json!({ "display_name": "Joe" }));
        assert_eq!(
            new.secret_variables,
            Some(serde_json::json!({ "token": "rrt_secret" }))
        );
    }

    #[test]
    fn empty_secrets_are_none() {
        let new = new_notification(pb::EnqueueRequest {
            secret_variables: Some(Struct::default()),
            ..request()
        })
        .expect("valid");
        assert_eq!(new.secret_variables, None);
    }

    #[test]
    fn bad_enqueue_requests_name_every_bad_field() {
        let status: Status = new_notification(pb::EnqueueRequest {
            template: "newsletter".to_owned(),
            recipient: "joe".to_owned(),
            locale: "en US".to_owned(),
            idempotency_key: "k".repeat(MAX_IDEMPOTENCY_KEY_CHARS + 1),
            ..request()
        })
        .expect_err("invalid")
        .into();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        let message = status.message();
        for field in ["template", "recipient", "locale", "idempotency_key"] {
            assert!(message.contains(field), "{field} missing from {message}");
        }
        let missing_key = new_notification(pb::EnqueueRequest {
            idempotency_key: "  ".to_owned(),
            ..request()
        });
        assert!(missing_key.is_err());
    }

    #[test]
    fn list_filters_are_parsed() {
        let query = list_query(&pb::ListNotificationsRequest {
            recipient: " Joe@Example.com".to_owned(),
            template: "invitation".to_owned(),
            state: pb::NotificationState::Failed.into(),
            ..pb::ListNotificationsRequest::default()
        })
        .expect("valid");
        assert_eq!(query.recipient.as_deref(), Some("joe@example.com"));
        assert_eq!(query.template.as_deref(), Some("invitation"));
        assert_eq!(query.state, Some(State::Failed));
        let unfiltered = list_query(&pb::ListNotificationsRequest::default()).expect("valid");
        assert_eq!(unfiltered.state, None);
        assert!(
            list_query(&pb::ListNotificationsRequest {
                state: 42,
                ..pb::ListNotificationsRequest::default()
            })
            .is_err()
        );
    }
}
