//! The https side of http-server: the certificate, the TLS config (ALPN, key log), and the
//! choice that ALPN makes between HTTP/2 and HTTP/1.1 once the handshake is over.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsAcceptor;
use tunstack::Stack;
use tunstack_demos::tls::{self, Identity, KeyLogFile, ALPN_H2, ALPN_HTTP11};

use crate::{Args, Body};

/// The TLS side of `--tls`: the certificate (made now, or read from --cert and --key), ALPN
/// h2 then http/1.1, the key log. Returns the acceptor and a line about the certificate.
pub fn tls_acceptor(args: &Args, stack: &Stack) -> Result<(TlsAcceptor, String), String> {
    let (identity, about) = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => (
            Identity::from_pem_files(cert, key)?,
            format!("certificate: {} (key {})", cert.display(), key.display()),
        ),
        _ => {
            let mut names = vec!["www.course.test".to_string(), "localhost".to_string()];
            names.push(stack.addr().to_string());
            names.extend(stack.addr6().map(|addr6| addr6.to_string()));
            let about = format!(
                "certificate: self-signed, made now for {} (clients: curl -k, or trust it)",
                names.join(", ")
            );
            (Identity::self_signed(&names)?, about)
        }
    };
    let key_log: Option<Arc<dyn rustls::KeyLog>> = match &args.keylog {
        Some(path) => Some(Arc::new(KeyLogFile::create(path).map_err(|err| {
            format!("cannot write the key log {}: {err}", path.display())
        })?)),
        None => None,
    };
    let about = match &args.keylog {
        Some(path) => format!(
            "{about}\nTLS secrets go to {} (Wireshark: Edit > Preferences > Protocols > TLS > \
             (Pre)-Master-Secret log filename; tshark -o tls.keylog_file:{})",
            path.display(),
            path.display()
        ),
        None => about,
    };
    let alpn = [ALPN_H2, ALPN_HTTP11];
    let config = tls::server_config(tls::default_provider(), identity, &alpn, key_log)?;
    Ok((TlsAcceptor::from(config), about))
}

/// Serves HTTP on a TLS stream: HTTP/2 when ALPN chose `h2` (its streams run as tasks, hence
/// the executor), HTTP/1.1 otherwise.
pub async fn serve_http<I, S>(
    io: I,
    h2: bool,
    http: &http1::Builder,
    service: S,
) -> Result<(), hyper::Error>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::HttpService<Incoming, ResBody = Body> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    match h2 {
        true => {
            http2::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(io), service)
                .await
        }
        false => http.serve_connection(TokioIo::new(io), service).await,
    }
}
