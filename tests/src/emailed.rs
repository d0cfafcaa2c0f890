//! Tokens as people receive them: from the emails the notification service delivered.
//! Without an SMTP server the log transport delivers, keeping each rendered message.
use std::time::Duration;

use crate::TestEnv;
use crate::membership::eventually;

/// The token of the first link in an email's text (`...?token=<token>`).
pub fn link_token(text: &str) -> String {
    let start = text
        .find("token=")
        .unwrap_or_else(|| panic!("no link with a token in {text:?}"))
        + "token=".len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

impl TestEnv {
    /// The link token of the latest `template` email to `recipient`, once every such
    /// email in the `schema` service's outbox was handed over and the latest delivered.
    pub async fn emailed_token(&self, schema: &str, template: &str, recipient: &str) -> String {
        self.emailed_token_within(Duration::from_secs(10), schema, template, recipient)
            .await
    }

    /// As [`Self::emailed_token`], waiting at most `within` (for servers of their own,
    /// which share the cores with every other test).
    pub async fn emailed_token_within(
        &self,
        within: Duration,
        schema: &str,
        template: &str,
        recipient: &str,
    ) -> String {
        let waiting = format!(
            "SELECT count(*) FROM {schema}.outbox
             WHERE template = $1 AND recipient = $2 AND dispatched_at IS NULL"
        );
        eventually(within, "the email", || async {
            let sql = self.sql().await;
            let waiting: i64 = sql
                .query_one(&waiting, &[&template, &recipient])
                .await
                .expect("outbox")
                .get(0);
            if waiting > 0 {
                return None;
            }
            // The newest message, once it is sent (an older one's link may be void).
            let newest = sql
                .query_opt(
                    "SELECT state, rendered_text FROM notification.notifications
                     WHERE template = $1 AND recipient = $2
                     ORDER BY created_at DESC, notification_id DESC LIMIT 1",
                    &[&template, &recipient],
                )
                .await
                .expect("notifications")?;
            let (state, text): (String, Option<String>) = (newest.get(0), newest.get(1));
            (state == "sent").then_some(())?;
            text.map(|text| link_token(&text))
        })
        .await
    }
}
