//! hyper answers a request whose head it cannot read — a malformed request line or header (400), too many or
//! too large headers (431), an address too long (414) — by itself, before any of our layers sees the request,
//! with an empty body. This wrapper around a connection's stream recognizes that answer as hyper writes it and
//! writes a problem+json one in its place, so that every error a client gets from BuyNow reads the same way.
//!
//! It is recognized by its shape: a 400, 414 or 431 head with `content-length: 0` and nothing after it. Our own
//! handlers never answer so (every API error has a problem body, see `hardening`), and everything else passes
//! through untouched.

use crate::hardening::problem_body;
use axum::http::StatusCode;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub struct ProblemHeads<IO> {
    inner: IO,
    replacing: Option<Replacing>,
}

/// Our answer, part written, and how many bytes of hyper's it stands for (what the write reports once done).
struct Replacing {
    bytes: Vec<u8>,
    written: usize,
    stands_for: usize,
}

impl<IO> ProblemHeads<IO> {
    pub fn new(inner: IO) -> Self {
        ProblemHeads { inner, replacing: None }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for ProblemHeads<IO> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> ProblemHeads<IO> {
    /// Writes the rest of our answer; `Ready(Ok)` with the length of hyper's once all of it is out.
    fn drive(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let r = self.replacing.as_mut().expect("driven only while replacing");
        while r.written < r.bytes.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &r.bytes[r.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            r.written += n;
        }
        let stands_for = r.stands_for;
        self.replacing = None;
        Poll::Ready(Ok(stands_for))
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for ProblemHeads<IO> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.replacing.is_none() {
            match replacement(buf) {
                Some(bytes) => self.replacing = Some(Replacing { bytes, written: 0, stands_for: buf.len() }),
                None => return Pin::new(&mut self.inner).poll_write(cx, buf),
            }
        }
        self.drive(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // hyper's own answer is a head alone: one slice. Anything else goes out as it came.
        let mut filled = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(only), None) = (filled.next(), filled.next()) {
            if self.replacing.is_some() || replacement(only).is_some() {
                return self.poll_write(cx, only);
            }
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Our answer in place of `written`, when it is hyper's own to a head it could not read.
fn replacement(written: &[u8]) -> Option<Vec<u8>> {
    // Every response passes here: the status is compared before anything is allocated.
    let status = match written.strip_prefix(b"HTTP/1.1 ")?.get(..4)? {
        b"400 " => StatusCode::BAD_REQUEST,
        b"431 " => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        b"414 " => StatusCode::URI_TOO_LONG,
        _ => return None,
    };
    let head_end = written.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&written[..head_end]).to_ascii_lowercase();
    if head_end != written.len() || !head.contains("\r\ncontent-length: 0\r\n") {
        return None;
    }
    let body = problem_body(status, None);
    let reason = status.canonical_reason().unwrap_or("Error");
    let head = format!(
        "HTTP/1.1 {} {reason}\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\n\
         x-content-type-options: nosniff\r\ncache-control: no-store\r\nconnection: close\r\n\r\n",
        status.as_u16(),
        body.len()
    );
    Some([head.into_bytes(), body.into_bytes()].concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_own_empty_answers_are_replaced() {
        let hypers = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Sun, 06 Dec 2026 \
                       21:00:00 GMT\r\n\r\n";
        let ours = String::from_utf8(replacement(hypers).expect("replaced")).unwrap();
        assert!(ours.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"), "{ours}");
        let (head, body) = ours.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let problem: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(problem["type"], "https://buynow.dev/errors/headers_too_large");
        assert_eq!(problem["status"], 431);
        // A 400 of ours has a body; a 200 with no body is nobody's error; a head with its body is not hyper's.
        assert!(replacement(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n").is_none());
        assert!(replacement(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(replacement(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{}").is_none());
        assert!(replacement(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n").is_none());
    }
}
