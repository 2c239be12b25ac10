//! E-mail: a message with HTML and text parts and the headers that name its event, sent over SMTP (lettre), or
//! written as an `.eml` file when no server is configured. The `Message-ID` comes from the event and the
//! recipient, so a message sent again after a crash carries the id of the first.

use crate::message::Rendered;
use buynow_domain::EventKind;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct MailerConfig {
    /// `smtp://user:pass@host:port` (STARTTLS with `?tls=required`) or `smtps://…` (implicit TLS); none writes
    /// `.eml` files to `mail_dir` instead.
    pub smtp_url: Option<SecretString>,
    pub mail_dir: PathBuf,
    /// The sender, e.g. `BuyNow <orders@shop.example>`.
    pub from: String,
    /// How long one SMTP conversation may take before it counts as failed (and is tried again later).
    pub timeout: Duration,
}

/// Why a message did not go.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later: the server was unreachable, busy, or timed out.
    #[error("{0}")]
    Transient(String),
    /// Will never go as it is: the server refused the recipient or the message for good.
    #[error("{0}")]
    Permanent(String),
}

/// A rendered message to one recipient.
pub struct OutgoingMail<'a> {
    pub event_id: &'a str,
    pub kind: EventKind,
    pub order_id: &'a str,
    pub to_address: &'a str,
    pub to_name: &'a str,
    pub rendered: &'a Rendered,
}

pub enum Mailer {
    Smtp { transport: AsyncSmtpTransport<Tokio1Executor>, from: Mailbox, server: String, timeout: Duration },
    Dir { dir: PathBuf, from: Mailbox },
}

impl Mailer {
    pub fn new(config: &MailerConfig) -> Result<Mailer, String> {
        let from: Mailbox = config.from.parse().map_err(|e| format!("--mail-from is not an address: {e}"))?;
        match &config.smtp_url {
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .map_err(|e| format!("--smtp-url is not an SMTP URL: {}", without_secrets(&e.to_string())))?
                    .timeout(Some(config.timeout))
                    .build();
                Ok(Mailer::Smtp { transport, from, server: redact(url.expose_secret()), timeout: config.timeout })
            }
            None => Ok(Mailer::Dir { dir: config.mail_dir.clone(), from }),
        }
    }

    /// Where messages go, for the start-up lines: never with a password.
    pub fn describe(&self) -> String {
        match self {
            Mailer::Smtp { server, .. } => format!("e-mail over SMTP to {server}"),
            Mailer::Dir { dir, .. } => format!("e-mail written as .eml files to {}", dir.display()),
        }
    }

    fn from(&self) -> &Mailbox {
        match self {
            Mailer::Smtp { from, .. } | Mailer::Dir { from, .. } => from,
        }
    }

    /// The message as it goes out: the same bytes but for the date, however often it is made again.
    pub fn build(&self, m: &OutgoingMail<'_>) -> Result<Message, SendError> {
        let address = m.to_address.parse().map_err(|_| SendError::Permanent("not an e-mail address".into()))?;
        let to = Mailbox::new(Some(m.to_name.to_string()), address);
        Message::builder()
            .from(self.from().clone())
            .to(to)
            .subject(m.rendered.subject.clone())
            .message_id(Some(message_id(m.event_id, m.to_address, self.from().email.domain())))
            .header(XBuyNowEvent(m.kind.as_str().to_string()))
            .header(XBuyNowOrder(m.order_id.to_string()))
            .multipart(MultiPart::alternative_plain_html(m.rendered.text.clone(), m.rendered.html.clone()))
            .map_err(|e| SendError::Permanent(format!("the message could not be built: {e}")))
    }

    pub async fn send(&self, m: &OutgoingMail<'_>) -> Result<(), SendError> {
        let message = self.build(m)?;
        match self {
            // lettre's own timeout covers the connection; a server that stops answering mid-conversation is
            // bounded here, as a whole.
            Mailer::Smtp { transport, timeout, .. } => match tokio::time::timeout(*timeout, transport.send(message))
                .await
            {
                Err(_) => Err(SendError::Transient(format!("no answer within {} ms (timed out)", timeout.as_millis()))),
                Ok(sent) => sent.map(drop).map_err(|e| {
                    let what = without_secrets(&e.to_string());
                    if e.is_permanent() {
                        SendError::Permanent(what)
                    } else {
                        SendError::Transient(what)
                    }
                }),
            },
            Mailer::Dir { dir, .. } => write_eml(dir, &file_name(m.event_id, m.to_address), message.formatted())
                .await
                .map_err(|e| SendError::Transient(format!("writing the .eml file: {e}"))),
        }
    }
}

/// `<{event id}.{first 16 hex of SHA-256 of the recipient}@{host}>`: the same on every re-send.
pub fn message_id(event_id: &str, recipient: &str, host: &str) -> String {
    format!("<{event_id}.{}@{host}>", recipient_hash(recipient))
}

fn recipient_hash(recipient: &str) -> String {
    hex::encode(&Sha256::digest(recipient.trim().to_ascii_lowercase().as_bytes())[..8])
}

fn file_name(event_id: &str, recipient: &str) -> String {
    format!("{event_id}.{}.eml", recipient_hash(recipient))
}

/// Written whole or not at all: to a temporary name first, then renamed over any earlier copy. The three file
/// operations go to the blocking pool together, as one hop rather than three.
async fn write_eml(dir: &std::path::Path, name: &str, bytes: Vec<u8>) -> std::io::Result<()> {
    let (dir, name) = (dir.to_path_buf(), name.to_string());
    tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&dir)?;
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, dir.join(name))
    })
    .await
    .map_err(std::io::Error::other)?
}

/// An SMTP URL for a log line: the user's password replaced.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// lettre's errors can quote the server's reply; nothing of ours with a secret goes in, but keep them short.
fn without_secrets(message: &str) -> String {
    message.chars().take(300).collect()
}

macro_rules! text_header {
    ($name:ident, $header:literal) => {
        #[derive(Debug, Clone)]
        struct $name(String);

        impl Header for $name {
            fn name() -> HeaderName {
                HeaderName::new_from_ascii_str($header)
            }

            fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
                Ok($name(s.to_string()))
            }

            fn display(&self) -> HeaderValue {
                HeaderValue::new(Self::name(), self.0.clone())
            }
        }
    };
}

text_header!(XBuyNowEvent, "X-BuyNow-Event");
text_header!(XBuyNowOrder, "X-BuyNow-Order");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_id_is_the_same_for_the_same_event_and_recipient() {
        let a = message_id("evt_1", "Ada@Example.com", "shop.example");
        assert_eq!(a, message_id("evt_1", "ada@example.com ", "shop.example"));
        assert_ne!(a, message_id("evt_2", "ada@example.com", "shop.example"));
        assert_ne!(a, message_id("evt_1", "bob@example.com", "shop.example"));
        assert!(a.starts_with("<evt_1.") && a.ends_with("@shop.example>"));
    }

    #[test]
    fn a_password_never_reaches_a_log_line() {
        assert_eq!(
            redact("smtp://ada:hunter2@mail.example:587?tls=required"),
            "smtp://ada:***@mail.example:587?tls=required"
        );
        assert_eq!(redact("smtp://127.0.0.1:2525"), "smtp://127.0.0.1:2525");
    }

    #[tokio::test]
    async fn without_smtp_a_message_is_an_eml_file_named_by_event_and_recipient() {
        let dir = std::env::temp_dir().join(format!("buynow-mail-{}", std::process::id()));
        let mailer = Mailer::new(&MailerConfig {
            smtp_url: None,
            mail_dir: dir.clone(),
            from: "BuyNow <orders@shop.example>".into(),
            timeout: Duration::from_secs(10),
        })
        .unwrap();
        let rendered = Rendered { subject: "Hello".into(), html: "<p>Hi</p>".into(), text: "Hi".into() };
        let m = OutgoingMail {
            event_id: "evt_1",
            kind: EventKind::OrderPlaced,
            order_id: "ord_1",
            to_address: "ada@example.com",
            to_name: "Ada",
            rendered: &rendered,
        };
        mailer.send(&m).await.unwrap();
        mailer.send(&m).await.unwrap();
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(files.len(), 1, "a re-send replaces the file");
        let eml = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
        assert!(eml.contains("X-BuyNow-Event: order.placed"));
        assert!(eml.contains("X-BuyNow-Order: ord_1"));
        assert!(eml.contains(&format!("Message-ID: {}", message_id("evt_1", "ada@example.com", "shop.example"))));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
