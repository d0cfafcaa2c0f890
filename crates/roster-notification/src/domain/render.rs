//! Email templates: `templates/<name>.{subject,txt,html}`, embedded in the binary and
//! rendered with minijinja. HTML is autoescaped, text and subjects are not. A variable a
//! template uses without a `default` must be there: a message missing its link token
//! fails to render rather than going out with a dead link.
use chrono::{DateTime, Utc};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use roster_kit::{Error, Result};
use serde_json::{Map, Value};

use super::model::{Rendered, Template};

/// `(file name, source)` of a template's subject, text and HTML.
macro_rules! template_files {
    ($($name:literal),+ $(,)?) => {
        &[$(
            (concat!($name, ".subject"), include_str!(concat!("../../templates/", $name, ".subject"))),
            (concat!($name, ".txt"), include_str!(concat!("../../templates/", $name, ".txt"))),
            (concat!($name, ".html"), include_str!(concat!("../../templates/", $name, ".html"))),
        )+]
    };
}

/// Every template's parts; a name missing here fails at start, in [`Renderer::new`].
const TEMPLATES: &[(&str, &str)] = template_files!(
    "invitation",
    "password_reset",
    "email_change_verification",
    "account_locked",
    "failed_sign_ins",
    "temporary_password_set",
    "member_removed",
    "impersonation_request",
    "impersonation_started",
    "removal_summary",
);

/// What every message's text and HTML extend.
const LAYOUTS: &[(&str, &str)] = &[
    ("layout.txt", include_str!("../../templates/layout.txt")),
    ("layout.html", include_str!("../../templates/layout.html")),
];

/// Renders messages; built once, shared by the delivery tasks (and public for the
/// template fuzz target).
#[derive(Debug)]
pub struct Renderer {
    environment: Environment<'static>,
    product_name: String,
    public_url: String,
}

impl Renderer {
    /// Parses every template; `product_name` and `public_url` are given to all of them.
    pub fn new(product_name: &str, public_url: &str) -> Result<Self> {
        let mut environment = Environment::new();
        environment.set_undefined_behavior(UndefinedBehavior::Strict);
        environment.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        // Block tags on lines of their own leave no blank lines behind in the text part.
        environment.set_syntax(
            SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .build()
                .map_err(|e| Error::internal("email template syntax", e))?,
        );
        environment.add_filter("datetime", datetime);
        for (name, source) in LAYOUTS.iter().chain(TEMPLATES) {
            environment
                .add_template(name, source)
                .map_err(|e| Error::internal(format!("email template {name}"), e))?;
        }
        for template in Template::ALL {
            for part in ["subject", "txt", "html"] {
                let name = format!("{}.{part}", template.name());
                environment
                    .get_template(&name)
                    .map_err(|e| Error::internal("email templates", e))?;
            }
        }
        Ok(Self {
            environment,
            product_name: product_name.to_owned(),
            public_url: public_url.to_owned(),
        })
    }

    /// Renders `template` with `variables` and `secrets` (JSON objects; secrets win a
    /// clash), plus `product_name` and `public_url`, which win over both.
    pub fn render(
        &self,
        template: Template,
        variables: &Value,
        secrets: Option<&Value>,
    ) -> std::result::Result<Rendered, minijinja::Error> {
        let mut context = Map::new();
        for object in [Some(variables), secrets].into_iter().flatten() {
            if let Value::Object(fields) = object {
                context.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        context.insert("product_name".to_owned(), self.product_name.clone().into());
        context.insert("public_url".to_owned(), self.public_url.clone().into());
        let context = minijinja::Value::from(Serde(&context));
        let part = |extension: &str| {
            self.environment
                .get_template(&format!("{}.{extension}", template.name()))?
                .render(context.clone())
        };
        Ok(Rendered {
            // A header is one line, whatever a display name holds.
            subject: part("subject")?
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            text: part("txt")?,
            html: part("html")?,
        })
    }
}

/// The `datetime` filter: an RFC 3339 time as people read it ("5 March 2030, 14:00 UTC");
/// anything else is shown as it is.
fn datetime(value: String) -> String {
    DateTime::parse_from_rfc3339(&value).map_or(value, |time| {
        time.with_timezone(&Utc)
            .format("%-d %B %Y, %H:%M UTC")
            .to_string()
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const TOKEN: &str = "riv_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";

    fn renderer() -> Renderer {
        Renderer::new("Roster", "https://roster.example.com").expect("templates parse")
    }

    /// What each sender writes to its outbox, shape for shape.
    fn sent_by_senders() -> Vec<(Template, Value, Option<Value>)> {
        vec![
            (
                Template::Invitation,
                // roster-invitation, domain/invite.rs, Send::email.
                json!({
                    "invitation_id": "0190f5a4-7c4e-7a39-9d2c-3f4a5b6c7d8e",
                    "account_id": "0190f5a4-7c4e-7a39-9d2c-000000000001",
                    "account_name": "Acme",
                    "workspace_names": ["Design", "Engineering"],
                    "all_workspaces": false,
                    "inviter_name": "Ada Lovelace",
                    "inviter_email": "ada@acme.example",
                    "email": "joe@example.com",
                    "message": "Welcome aboard!\nSee you Monday.",
                    "expire_time": "2030-03-05T14:00:00Z",
                    "send_count": 1,
                }),
                Some(json!({ "token": TOKEN })),
            ),
            (
                Template::PasswordReset,
                // roster-identity, domain/passwords.rs: a chrono time, serialized.
                json!({ "display_name": "Joe", "expire_time": "2030-03-05T14:00:00.123456Z" }),
                Some(json!({
                    "token": TOKEN,
                    "reset_url": format!("http://elsewhere/reset-password?token={TOKEN}"),
                })),
            ),
            (
                Template::EmailChangeVerification,
                // roster-identity, domain/email.rs.
                json!({ "display_name": "Joe", "expire_time": "2030-03-05T14:00:00.123456Z" }),
                Some(json!({
                    "token": TOKEN,
                    "verify_url": format!("http://elsewhere/verify-email?token={TOKEN}"),
                })),
            ),
            (
                Template::AccountLocked,
                // roster-identity, domain/mod.rs, enqueue_lock_notice.
                json!({
                    "display_name": "Joe",
                    "lock_expire_time": "2030-03-05T14:15:00Z",
                }),
                None,
            ),
            (
                Template::FailedSignIns,
                // roster-identity, domain/mod.rs, enqueue_failed_login_notice.
                json!({
                    "display_name": "Joe",
                    "source": "203.0.113.9",
                    "attempt_time": "2030-03-05T14:15:00.5Z",
                }),
                None,
            ),
            (
                Template::TemporaryPasswordSet,
                // roster-identity, domain/passwords.rs.
                json!({ "display_name": "Joe" }),
                None,
            ),
            (
                Template::MemberRemoved,
                // roster-membership, domain/members.rs, enqueue_removal_notice.
                json!({
                    "display_name": "Joe",
                    "workspace_name": "Design",
                    "purge_time": "2030-04-04T14:00:00.5Z",
                }),
                None,
            ),
            (
                Template::ImpersonationRequest,
                // roster-identity, domain/impersonation.rs, request_impersonation.
                json!({
                    "display_name": "Joe",
                    "requester_name": "Grace Hopper",
                    "reason": "Ticket 42",
                    "duration": "2 days",
                    "expire_time": "2030-03-05T14:00:00.123456Z",
                }),
                None,
            ),
            (
                Template::ImpersonationStarted,
                // roster-identity, domain/impersonation.rs, start_impersonation.
                json!({
                    "display_name": "Joe",
                    "impersonator_name": "Grace Hopper",
                    "reason": "Ticket 42",
                    "start_time": "2030-03-05T14:00:00.123456Z",
                    "expire_time": "2030-03-05T15:00:00.123456Z",
                    "automatic": false,
                }),
                None,
            ),
            (
                Template::RemovalSummary,
                // roster-membership, domain/removals.rs, enqueue_summary.
                json!({
                    "workspace_name": "Design",
                    "member_name": "Joe",
                    "member_email": "joe@example.com",
                    "phase": "transfer",
                    "needs_action": true,
                    "steps": [
                        { "custodian": "flows", "state": "succeeded",
                          "completed": [{ "kind": "flow", "count": 12 }], "failed_count": 0, "error": "" },
                        { "custodian": "datasets", "state": "needs_action",
                          "completed": [{ "kind": "dataset", "count": 2 }], "failed_count": 1,
                          "error": "1 assets could not be transferred" },
                    ],
                    "removal_id": "0190aaaa-0000-7000-8000-000000000000",
                }),
                None,
            ),
        ]
    }

    fn assert_complete(template: Template, rendered: &Rendered) {
        for part in [&rendered.subject, &rendered.text, &rendered.html] {
            assert!(!part.trim().is_empty(), "{template:?}: an empty part");
            assert!(
                !part.contains("{{") && !part.contains("{%"),
                "{template:?}: template syntax left in {part}"
            );
        }
        assert!(!rendered.subject.contains('\n'));
        assert!(rendered.text.contains("Roster"), "{template:?}: no footer");
        assert!(rendered.html.starts_with("<!DOCTYPE html>"));
    }

    #[test]
    fn every_template_renders_what_its_sender_writes() {
        let renderer = renderer();
        let sent = sent_by_senders();
        assert_eq!(sent.len(), Template::ALL.len());
        for (template, variables, secrets) in sent {
            let rendered = renderer
                .render(template, &variables, secrets.as_ref())
                .unwrap_or_else(|e| panic!("{template:?}: {e}"));
            assert_complete(template, &rendered);
        }
    }

    #[test]
    fn the_invitation_names_the_inviter_the_workspaces_and_the_link() {
        let (template, variables, secrets) = sent_by_senders().remove(0);
        let rendered = renderer()
            .render(template, &variables, secrets.as_ref())
            .expect("renders");
        let link = format!("https://roster.example.com/accept-invitation?token={TOKEN}");
        assert!(rendered.text.contains(&link), "{}", rendered.text);
        assert!(
            rendered
                .text
                .contains("Ada Lovelace (ada@acme.example) invited you to join Design, Engineering in Acme on Roster."),
            "{}",
            rendered.text
        );
        assert!(
            rendered
                .text
                .contains("    Welcome aboard!\n    See you Monday.")
        );
        assert!(rendered.text.contains("until 5 March 2030, 14:00 UTC"));
        assert_eq!(rendered.subject, "Invitation to join Acme on Roster");
        // Autoescaping writes the link's slashes as entities, which mail clients read back.
        assert!(rendered.html.contains(TOKEN));
        assert!(rendered.html.contains("accept-invitation?token="));
    }

    #[test]
    fn an_account_wide_resent_invitation_without_a_note_says_so() {
        let (template, mut variables, secrets) = sent_by_senders().remove(0);
        variables["all_workspaces"] = json!(true);
        variables["message"] = json!("");
        variables["send_count"] = json!(2);
        let rendered = renderer()
            .render(template, &variables, secrets.as_ref())
            .expect("renders");
        assert!(rendered.text.contains("every workspace of Acme"));
        assert!(!rendered.text.contains("note"));
        assert_eq!(
            rendered.subject,
            "Reminder: invitation to join Acme on Roster"
        );
    }

    #[test]
    fn each_link_goes_to_its_page() {
        let renderer = renderer();
        for (template, page) in [
            (Template::PasswordReset, "reset-password"),
            (Template::EmailChangeVerification, "confirm-email"),
        ] {
            let (_, variables, secrets) = sent_by_senders()
                .into_iter()
                .find(|(t, _, _)| *t == template)
                .expect("a sample");
            let rendered = renderer
                .render(template, &variables, secrets.as_ref())
                .expect("renders");
            let link = format!("https://roster.example.com/{page}?token={TOKEN}");
            assert!(rendered.text.contains(&link), "{}", rendered.text);
            // The sender's prebuilt URL is not what the email links to.
            assert!(!rendered.text.contains("elsewhere"));
        }
    }

    #[test]
    fn a_missing_token_fails_rendering() {
        let renderer = renderer();
        for (template, variables, secrets) in sent_by_senders() {
            if secrets.is_none() {
                continue;
            }
            let error = renderer
                .render(template, &variables, None)
                .expect_err("no token");
            assert_eq!(error.kind(), minijinja::ErrorKind::UndefinedError);
        }
    }

    #[test]
    fn optional_variables_may_be_left_out() {
        let renderer = renderer();
        let minimal = [
            (
                Template::Invitation,
                json!({ "account_name": "Acme" }),
                true,
            ),
            (Template::PasswordReset, json!({}), true),
            (Template::EmailChangeVerification, json!({}), true),
            (
                Template::AccountLocked,
                json!({ "lock_expire_time": null }),
                false,
            ),
            (
                Template::FailedSignIns,
                json!({ "source": "203.0.113.9", "attempt_time": "2030-03-05T14:15:00Z" }),
                false,
            ),
            (Template::TemporaryPasswordSet, json!({}), false),
            (
                Template::MemberRemoved,
                json!({ "workspace_name": "Design" }),
                false,
            ),
            (
                Template::ImpersonationRequest,
                json!({ "requester_name": "Grace" }),
                false,
            ),
            (
                Template::ImpersonationStarted,
                json!({
                    "impersonator_name": "Grace",
                    "start_time": "2030-03-05T14:00:00Z",
                    "expire_time": "2030-03-05T15:00:00Z",
                    "automatic": true,
                }),
                false,
            ),
            (
                Template::RemovalSummary,
                json!({ "workspace_name": "Design", "phase": "delete", "needs_action": false, "steps": [], "removal_id": "r" }),
                false,
            ),
        ];
        for (template, variables, needs_token) in minimal {
            let secrets = needs_token.then(|| json!({ "token": TOKEN }));
            let rendered = renderer
                .render(template, &variables, secrets.as_ref())
                .unwrap_or_else(|e| panic!("{template:?}: {e}"));
            assert_complete(template, &rendered);
        }
    }

    #[test]
    fn the_removal_summary_lists_each_custodian_on_its_line() {
        let (template, variables, _) = sent_by_senders()
            .into_iter()
            .find(|(t, _, _)| *t == Template::RemovalSummary)
            .expect("a removal summary");
        let rendered = renderer()
            .render(template, &variables, None)
            .expect("renders");
        assert_eq!(
            rendered.subject,
            "Action needed: the transfer of the assets of Joe in Design stopped"
        );
        assert!(
            rendered.text.contains(
                "- flows: succeeded; 12 flow.\n\
                 - datasets: needs action; 2 dataset; 1 failed (1 assets could not be transferred).\n\n\
                 An administrator can retry"
            ),
            "{}",
            rendered.text
        );
    }

    #[test]
    fn an_indefinite_lock_says_an_administrator_must_unlock() {
        let rendered = renderer()
            .render(
                Template::AccountLocked,
                &json!({ "display_name": "Joe", "lock_expire_time": null }),
                None,
            )
            .expect("renders");
        assert!(rendered.text.contains("An administrator locked"));
        assert!(rendered.text.contains("until an administrator unlocks it"));
    }

    #[test]
    fn html_escapes_what_people_typed_and_text_does_not() {
        let rendered = renderer()
            .render(
                Template::PasswordReset,
                &json!({ "display_name": "<script>alert(1)</script>" }),
                Some(&json!({ "token": TOKEN })),
            )
            .expect("renders");
        assert!(!rendered.html.contains("<script>"), "{}", rendered.html);
        assert!(rendered.html.contains("&lt;script&gt;"));
        assert!(rendered.text.contains("Hello <script>alert(1)</script>,"));
    }

    #[test]
    fn subjects_stay_on_one_line() {
        let rendered = renderer()
            .render(
                Template::MemberRemoved,
                &json!({ "workspace_name": "Design\r\nBcc: victim@example.com" }),
                None,
            )
            .expect("renders");
        assert_eq!(
            rendered.subject,
            "You were removed from Design Bcc: victim@example.com on Roster"
        );
    }

    #[test]
    fn the_text_reads_cleanly() {
        let (template, variables, secrets) = sent_by_senders().remove(1);
        let rendered = renderer()
            .render(template, &variables, secrets.as_ref())
            .expect("renders");
        assert_eq!(
            rendered.text,
            format!(
                "Hello Joe,\n\n\
                 Someone, hopefully you, asked to reset the password of your Roster account. \
                 Choose a new password here:\n\
                 https://roster.example.com/reset-password?token={TOKEN}\n\n\
                 The link works once, until 5 March 2030, 14:00 UTC.\n\n\
                 If you did not ask for this, ignore this email: your password stays as it is.\n\n\
                 --\nRoster\nhttps://roster.example.com"
            )
        );
    }

    #[test]
    fn an_impersonation_request_quotes_its_reason() {
        let rendered = renderer()
            .render(
                Template::ImpersonationRequest,
                &json!({
                    "requester_name": "Grace",
                    "reason": "Ticket 42:\nthe export fails",
                }),
                None,
            )
            .expect("renders");
        assert!(
            rendered
                .text
                .contains("on Roster, for this reason:\n\n    Ticket 42:\n    the export fails\n"),
            "{}",
            rendered.text
        );
    }

    #[test]
    fn datetimes_read_as_dates() {
        assert_eq!(
            datetime("2030-03-05T15:00:00+01:00".to_owned()),
            "5 March 2030, 14:00 UTC"
        );
        assert_eq!(datetime("soon".to_owned()), "soon");
    }
}
