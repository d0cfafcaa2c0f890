//! Where rendered messages go: an SMTP server, or the log when none is configured.
use chrono::{DateTime, Utc};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use roster_kit::config::redact_url;
use roster_kit::{Error, Result};
use tracing::{info, instrument};
use uuid::Uuid;

use super::model::Rendered;
use crate::NotificationConfig;

/// The header that carries the notification id, so receivers (and tests) can tell a
/// redelivery from a second message.
const NOTIFICATION_ID_HEADER: HeaderName =
    HeaderName::new_from_ascii_str("X-Roster-Notification-Id");

/// One email to hand over.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Email<'a> {
    pub(crate) notification_id: Uuid,
    pub(crate) template: &'a str,
    pub(crate) recipient: &'a str,
    pub(crate) rendered: &'a Rendered,
    /// The `Date` header.
    pub(crate) date: DateTime<Utc>,
}

enum Transport {
    /// A pooled connection to `server` (the URL, password hidden, for logs).
    Smtp {
        server: String,
        transport: AsyncSmtpTransport<Tokio1Executor>,
    },
    /// Development: nothing is sent; the worker keeps the rendered message in its row.
    Log,
}

/// Builds emails and hands them to the configured transport.
pub(crate) struct Mailer {
    from: Mailbox,
    transport: Transport,
}

// By hand: lettre's transport shows its credentials.
impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let transport = match &self.transport {
            Transport::Smtp { server, .. } => server.as_str(),
            Transport::Log => "log",
        };
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .field("transport", &transport)
            .finish()
    }
}

impl Mailer {
    /// The mailer of `config`: SMTP when `smtp_url` is set, else the log. Fails on a
    /// malformed URL or From address. The SMTP pool starts a Tokio task, so this runs
    /// inside the runtime.
    pub(crate) fn new(config: &NotificationConfig) -> Result<Self> {
        let from = config
            .from
            .parse::<Mailbox>()
            .map_err(|e| Error::internal(format!("ROSTER_SMTP_FROM={:?}", config.from), e))?;
        let transport = match &config.smtp_url {
            None => Transport::Log,
            Some(url) => {
                let server = redact_url(url);
                let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| Error::internal(format!("ROSTER_SMTP_URL={server}"), e))?;
                // Without a runtime the pool's start would panic; say so instead.
                tokio::runtime::Handle::try_current()
                    .map_err(|e| Error::internal("the SMTP transport needs a Tokio runtime", e))?;
                // One connection per message of a batch, so a batch goes out at once
                // rather than queueing behind each message's SMTP round trips.
                let connections = u32::try_from(config.batch_size).unwrap_or(1).max(1);
                Transport::Smtp {
                    server,
                    transport: builder
                        .pool_config(PoolConfig::new().max_size(connections))
                        .build(),
                }
            }
        };
        Ok(Self { from, transport })
    }

    /// Whether sent messages should be kept rendered: only the log transport's, which
    /// nobody receives.
    pub(crate) fn keeps_rendered(&self) -> bool {
        matches!(self.transport, Transport::Log)
    }

    /// Sends `email`; the error says why not, without the message's content.
    #[instrument(skip_all, name = "notification.domain.send")]
    pub(crate) async fn send(&self, email: &Email<'_>) -> std::result::Result<(), String> {
        let message = self.compose(email)?;
        match &self.transport {
            Transport::Smtp { transport, .. } => transport
                .send(message)
                .await
                .map(drop)
                .map_err(|e| format!("smtp: {e}")),
            Transport::Log => {
                info!(
                    notification_id = %email.notification_id,
                    template = email.template,
                    recipient = email.recipient,
                    "email logged instead of sent"
                );
                Ok(())
            }
        }
    }

    /// The MIME message: text and HTML alternatives, with ids derived from the
    /// notification so a redelivery carries the same `Message-ID`.
    fn compose(&self, email: &Email<'_>) -> std::result::Result<Message, String> {
        let to = email
            .recipient
            .parse::<Mailbox>()
            .map_err(|e| format!("recipient {:?}: {e}", email.recipient))?;
        let id = email.notification_id;
        Message::builder()
            .message_id(Some(format!("<{id}@roster>")))
            .raw_header(HeaderValue::new(NOTIFICATION_ID_HEADER, id.to_string()))
            .date(email.date.into())
            .from(self.from.clone())
            .to(to)
            .subject(email.rendered.subject.as_str())
            .multipart(MultiPart::alternative_plain_html(
                email.rendered.text.clone(),
                email.rendered.html.clone(),
            ))
            .map_err(|e| format!("building the message: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(smtp_url: Option<&str>) -> NotificationConfig {
        NotificationConfig {
            smtp_url: smtp_url.map(str::to_owned),
            ..NotificationConfig::default()
        }
    }

    fn email(rendered: &Rendered) -> Email<'_> {
        Email {
            notification_id: Uuid::nil(),
            template: "password_reset",
            recipient: "joe@example.com",
            rendered,
            date: DateTime::UNIX_EPOCH,
        }
    }

    fn rendered() -> Rendered {
        Rendered {
            subject: "Reset your Roster password".to_owned(),
            text: "Hello Joe,".to_owned(),
            html: "<p>Hello Joe,</p>".to_owned(),
        }
    }

    #[test]
    fn without_an_smtp_url_messages_go_to_the_log() {
        let mailer = Mailer::new(&config(None)).expect("log mailer");
        assert!(mailer.keeps_rendered());
        assert!(format!("{mailer:?}").contains("\"log\""));
    }

    #[tokio::test]
    async fn an_smtp_url_makes_a_pooled_smtp_transport() {
        for url in [
            "smtp://localhost:2525",
            "smtp://mailer:hunter2@smtp.example.com:587?tls=required",
            "smtps://mailer:hunter2@smtp.example.com",
        ] {
            let mailer = Mailer::new(&config(Some(url))).expect(url);
            assert!(!mailer.keeps_rendered());
            assert!(!format!("{mailer:?}").contains("hunter2"));
        }
    }

    #[tokio::test]
    async fn a_bad_smtp_url_or_sender_is_refused() {
        assert!(Mailer::new(&config(Some("not a url"))).is_err());
        assert!(Mailer::new(&config(Some("http://"))).is_err());
        let bad_from = NotificationConfig {
            from: "nobody".to_owned(),
            ..NotificationConfig::default()
        };
        assert!(Mailer::new(&bad_from).is_err());
    }

    #[test]
    fn emails_carry_the_notification_id_and_both_parts() {
        let mailer = Mailer::new(&config(None)).expect("log mailer");
        let rendered = rendered();
        let message = mailer.compose(&email(&rendered)).expect("composes");
        let formatted = String::from_utf8(message.formatted()).expect("ascii");
        let id = Uuid::nil();
        assert!(
            formatted.contains(&format!("Message-ID: <{id}@roster>")),
            "{formatted}"
        );
        assert!(formatted.contains(&format!("X-Roster-Notification-Id: {id}")));
        assert!(formatted.contains("From: Roster <no-reply@localhost>"));
        assert!(formatted.contains("To: joe@example.com"));
        assert!(formatted.contains("Subject: Reset your Roster password"));
        assert!(formatted.contains("multipart/alternative"));
        assert!(formatted.contains("text/plain"));
        assert!(formatted.contains("text/html"));
        assert!(formatted.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000"));
    }

    #[tokio::test]
    async fn the_log_transport_accepts_everything_well_formed() {
        let mailer = Mailer::new(&config(None)).expect("log mailer");
        let rendered = rendered();
        assert_eq!(mailer.send(&email(&rendered)).await, Ok(()));
        let bad = Email {
            recipient: "not an address",
            ..email(&rendered)
        };
        assert!(mailer.send(&bad).await.is_err());
    }
}
