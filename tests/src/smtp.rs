//! A real SMTP server for the tests: Python's `aiosmtpd` (from PyPI), writing every
//! message it accepts into a Maildir that the tests read back.
//!
//! The interpreter is `ROSTER_TEST_PYTHON` when set; otherwise `python3`, and when that
//! lacks `aiosmtpd`, a virtual environment under the system temp directory into which
//! the harness installs it once.
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use mailparse::MailHeaderMap as _;

/// An email as the SMTP server received it.
#[derive(Debug, Clone)]
pub struct Email {
    /// The `To` header.
    pub to: String,
    /// The `Subject` header.
    pub subject: String,
    /// The `X-Roster-Notification-Id` header.
    pub notification_id: String,
    /// The plain-text part, decoded.
    pub text: String,
    /// The HTML part, decoded.
    pub html: String,
}

impl Email {
    /// The token of the first link in the text.
    pub fn link_token(&self) -> String {
        crate::emailed::link_token(&self.text)
    }
}

/// A running aiosmtpd; stopped and its Maildir removed when dropped.
pub struct SmtpServer {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

fn has_aiosmtpd(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The Python interpreter that has aiosmtpd, installing it into a venv if needed.
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        if let Ok(python) = std::env::var("ROSTER_TEST_PYTHON") {
            return PathBuf::from(python);
        }
        let system = PathBuf::from("python3");
        if has_aiosmtpd(&system) {
            return system;
        }
        let venv = std::env::temp_dir().join("roster-test-aiosmtpd");
        let python = venv.join("bin/python");
        if !has_aiosmtpd(&python) {
            let run = |command: &mut Command| {
                let status = command.status().expect("run python3");
                assert!(status.success(), "{command:?} failed: {status}");
            };
            run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
            run(Command::new(&python).args(["-m", "pip", "install", "--quiet", "aiosmtpd"]));
        }
        python
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

impl SmtpServer {
    /// Starts a server on a free local port and waits until it accepts connections.
    pub async fn start() -> Self {
        let maildir = std::env::temp_dir().join(format!("roster-mail-{}", uuid::Uuid::now_v7()));
        let port = free_port();
        let child = Command::new(python())
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        let server = Self {
            child,
            port,
            maildir,
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("aiosmtpd did not start on port {port}");
    }

    /// `ROSTER_SMTP_URL` for this server.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every email received so far.
    pub fn emails(&self) -> Vec<Email> {
        let mut emails = Vec::new();
        for folder in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.maildir.join(folder)) else {
                continue;
            };
            for entry in entries.flatten() {
                let raw = std::fs::read(entry.path()).expect("read an email");
                emails.push(parse(&raw));
            }
        }
        emails
    }

    /// Waits until `count` emails to `to` arrived (or fails after 30 s); returns them.
    pub async fn wait_for(&self, to: &str, count: usize) -> Vec<Email> {
        for _ in 0..600 {
            let emails: Vec<Email> = self.emails().into_iter().filter(|e| e.to == to).collect();
            if emails.len() >= count {
                return emails;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{count} emails to {to} did not arrive; got {:?}",
            self.emails()
        );
    }
}

fn parse(raw: &[u8]) -> Email {
    let mail = mailparse::parse_mail(raw).expect("a parsable email");
    let header = |name: &str| mail.headers.get_first_value(name).unwrap_or_default();
    let part = |mime: &str| {
        mail.subparts
            .iter()
            .chain(std::iter::once(&mail))
            .find(|part| part.ctype.mimetype == mime)
            .and_then(|part| part.get_body().ok())
            .unwrap_or_default()
    };
    let to = header("To");
    Email {
        to: to
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_owned(),
        subject: header("Subject"),
        notification_id: header("X-Roster-Notification-Id"),
        text: part("text/plain"),
        html: part("text/html"),
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}
