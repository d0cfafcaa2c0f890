//! Notification records, the templates there are, and how records read as protos.
use roster_kit::clock::to_timestamp;
use roster_kit::protobuf::json_to_struct;
use roster_kit::{Error, Result};
use roster_proto::notification as pb;

pub(crate) use crate::store::records::{
    Attempt, Due, NewNotification, NotificationRecord, Rendered, State,
};

/// The emails Roster sends; each has a subject, text and HTML template under `templates/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    Invitation,
    PasswordReset,
    EmailChangeVerification,
    AccountLocked,
    FailedSignIns,
    TemporaryPasswordSet,
    MemberRemoved,
    ImpersonationRequest,
    ImpersonationStarted,
    RemovalSummary,
}

impl Template {
    /// Every template.
    pub const ALL: [Self; 10] = [
        Self::Invitation,
        Self::PasswordReset,
        Self::EmailChangeVerification,
        Self::AccountLocked,
        Self::FailedSignIns,
        Self::TemporaryPasswordSet,
        Self::MemberRemoved,
        Self::ImpersonationRequest,
        Self::ImpersonationStarted,
        Self::RemovalSummary,
    ];

    /// The name senders use, and the stem of its template files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Invitation => "invitation",
            Self::PasswordReset => "password_reset",
            Self::EmailChangeVerification => "email_change_verification",
            Self::AccountLocked => "account_locked",
            Self::FailedSignIns => "failed_sign_ins",
            Self::TemporaryPasswordSet => "temporary_password_set",
            Self::MemberRemoved => "member_removed",
            Self::ImpersonationRequest => "impersonation_request",
            Self::ImpersonationStarted => "impersonation_started",
            Self::RemovalSummary => "removal_summary",
        }
    }

    /// The template called `name`; `field` names the request field in the error.
    pub(crate) fn parse(field: &str, name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|t| t.name()).collect();
                Error::invalid(
                    field,
                    format!("unknown template {name:?}; use one of {}", names.join(", ")),
                )
            })
    }
}

impl State {
    /// The state a list filter names; `None` for every state.
    pub(crate) fn from_proto(state: pb::NotificationState) -> Option<Self> {
        match state {
            pb::NotificationState::Unspecified => None,
            pb::NotificationState::Queued => Some(Self::Queued),
            pb::NotificationState::Sent => Some(Self::Sent),
            pb::NotificationState::Failed => Some(Self::Failed),
        }
    }

    fn to_proto(self) -> pb::NotificationState {
        match self {
            Self::Queued => pb::NotificationState::Queued,
            Self::Sent => pb::NotificationState::Sent,
            Self::Failed => pb::NotificationState::Failed,
        }
    }
}

impl NotificationRecord {
    pub(crate) fn to_proto(&self) -> pb::Notification {
        pb::Notification {
            notification_id: self.id.to_string(),
            template: self.template.clone(),
            recipient: self.recipient.clone(),
            locale: self.locale.clone(),
            variables: Some(json_to_struct(self.variables.clone())),
            idempotency_key: self.idempotency_key.clone(),
            state: self.state.to_proto().into(),
            attempts: self.attempts,
            last_error: self.last_error.clone().unwrap_or_default(),
            create_time: Some(to_timestamp(self.created_at)),
            next_attempt_time: (self.state == State::Queued)
                .then(|| to_timestamp(self.next_attempt_at)),
            send_time: self.sent_at.map(to_timestamp),
            rendered: self.rendered.as_ref().map(|r| pb::RenderedMessage {
                subject: r.subject.clone(),
                text_body: r.text.clone(),
                html_body: r.html.clone(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_names_round_trip_and_unknown_ones_are_refused() {
        for template in Template::ALL {
            assert_eq!(
                Template::parse("template", template.name()).ok(),
                Some(template)
            );
        }
        assert!(Template::parse("template", "newsletter").is_err());
        assert!(Template::parse("template", "Invitation").is_err());
    }

    #[test]
    fn states_round_trip() {
        for state in [State::Queued, State::Sent, State::Failed] {
            assert_eq!(State::parse(state.as_str()), state);
            assert_eq!(State::from_proto(state.to_proto()), Some(state));
        }
        assert_eq!(State::from_proto(pb::NotificationState::Unspecified), None);
    }
}
