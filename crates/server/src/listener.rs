//! Accepting connections: HTTP/1.1 and HTTP/2 (hyper), over TLS when a certificate is configured, with the
//! limits a server facing the internet needs and `axum::serve` does not set: a client gets a few seconds to
//! finish its TLS handshake and to send its request's head, or the connection is closed (a client that sends
//! half its headers and waits would otherwise hold its connection forever), and a head hyper cannot read is
//! answered in problem+json (`parse_errors`). Stopping finishes the requests in flight.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::parse_errors::ProblemHeads;

/// How long stopping waits for the requests in flight.
const DRAIN: Duration = Duration::from_secs(30);

/// The certificate chain and private key to serve HTTPS with (PEM files).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {0}: {1}")]
    Read(String, String),
    #[error("the TLS certificate and key do not go together: {0}")]
    Config(String),
}

/// The TLS acceptor for `files`: TLS 1.2 and 1.3, HTTP/2 offered before HTTP/1.1.
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, TlsError> {
    let read = |p: &Path, e: &dyn std::fmt::Display| TlsError::Read(p.display().to_string(), e.to_string());
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| read(&files.cert, &e))?
        .collect::<Result<_, _>>()
        .map_err(|e| read(&files.cert, &e))?;
    if certs.is_empty() {
        return Err(TlsError::Read(files.cert.display().to_string(), "no certificate in it".into()));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| read(&files.key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets the requests in flight finish.
/// `head_timeout`: how long a client has to send its request's head (and, with TLS, to finish the handshake).
pub async fn run(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    head_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(head_timeout);
    builder.http2().timer(TokioTimer::new()).keep_alive_interval(Some(Duration::from_secs(20)));
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: wait a moment rather than spin.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        // The peer's address reaches the handlers as `ConnectInfo` (sign-in is limited per client address).
        let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request.map(axum::body::Body::new))
        });
        let (builder, watcher) = (builder.clone(), graceful.watcher());
        let tls = tls.clone();
        tokio::spawn(async move {
            let served = match tls {
                None => {
                    watcher
                        .watch(
                            builder
                                .serve_connection_with_upgrades(TokioIo::new(ProblemHeads::new(stream)), service)
                                .into_owned(),
                        )
                        .await
                }
                Some(acceptor) => match tokio::time::timeout(head_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(tls_stream)) => {
                        let conn = builder
                            .serve_connection_with_upgrades(TokioIo::new(ProblemHeads::new(tls_stream)), service);
                        watcher.watch(conn.into_owned()).await
                    }
                    Ok(Err(e)) => return tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => return tracing::debug!(%peer, "TLS handshake took too long"),
                },
            };
            if let Err(e) = served {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still in flight after {} s; stopping anyway", DRAIN.as_secs());
    }
}
