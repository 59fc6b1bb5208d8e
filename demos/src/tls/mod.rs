//! TLS for the HTTP demos: the set-up that `http-server --tls` and `http-get https://` share.
//!
//! TLS sits between TCP and HTTP. On the course's "request's full journey" it is the step after
//! the TCP handshake: in TLS 1.3 ([RFC 8446]) the client's first flight (ClientHello, with its
//! key share) and the server's answer (ServerHello, its key share, then the encrypted
//! certificate, CertificateVerify and Finished) take one round trip, after which the client's
//! Finished and its first request go out together.
//!
//! ```text
//!   client                                                server
//!     │ ── ClientHello (versions, suites, key share, SNI, ALPN) ─► │ ┐
//!     │ ◄─ ServerHello (key share) {EncryptedExtensions (ALPN),    │ │ one round trip
//!     │        Certificate, CertificateVerify, Finished} ──────── │ ┘
//!     │ ── {Finished} {GET / ...} ────────────────────────────────► │
//! ```
//!
//! The TLS itself is rustls's, through tokio-rustls, which runs on any `AsyncRead +
//! AsyncWrite`: our `TcpStream` as well as tokio's. This module holds what the demos choose:
//!
//! - the server's certificate: made at start ([`Identity::self_signed`], with rcgen) or read
//!   from PEM files ([`Identity::from_pem_files`]); and its config ([`server_config`]);
//! - the client's trust ([`Trust`]: roots from a PEM file, or [`insecure`] acceptance of any
//!   certificate) and its config ([`client_config`]); the name it asks for ([`server_name`]);
//! - ALPN, which picks HTTP/2 or HTTP/1.1 inside the handshake ([`ALPN_H2`], [`ALPN_HTTP11`]);
//! - a key log for Wireshark ([`KeyLogFile`]);
//! - what was negotiated, in a line ([`describe`]: "TLS 1.3, TLS13_AES_128_GCM_SHA256, ALPN h2").
//!
//! The crypto provider is a parameter everywhere: [`default_provider`] (ring) for the demos; the
//! tour passes one of its own, with a seeded random source, for a capture that is the same on
//! every run.
//!
//! [RFC 8446]: https://www.rfc-editor.org/rfc/rfc8446

use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ConnectionCommon, KeyLog, RootCertStore, ServerConfig};

pub mod insecure;
mod keylog;

pub use keylog::{line as key_log_line, KeyLogFile};

/// ALPN's name for HTTP/2 ([RFC 9113 section 3.2]).
///
/// [RFC 9113 section 3.2]: https://www.rfc-editor.org/rfc/rfc9113#section-3.2
pub const ALPN_H2: &[u8] = b"h2";

/// ALPN's name for HTTP/1.1 ([RFC 7301 section 6]).
///
/// [RFC 7301 section 6]: https://www.rfc-editor.org/rfc/rfc7301#section-6
pub const ALPN_HTTP11: &[u8] = b"http/1.1";

/// The demos' crypto provider: ring, rustls's default cipher suites and key exchanges (X25519
/// first).
///
/// rustls 0.23.48 marks it deprecated because ring has no post-quantum key exchange; the
/// project uses ring (no aws-lc), and a classical X25519 key share is what a learner finds
/// explained in RFC 8446 and in Wireshark.
#[allow(deprecated)]
pub fn default_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server's certificate chain and private key.
#[derive(Debug)]
pub struct Identity {
    /// The certificate first, then any intermediates.
    pub certs: Vec<CertificateDer<'static>>,
    /// The certificate's private key.
    pub key: PrivateKeyDer<'static>,
    /// The certificate in PEM, when it was made here: what a client that wants to check it
    /// needs (`http-get --ca FILE`, `curl --cacert FILE`).
    pub cert_pem: Option<String>,
}

impl Identity {
    /// A self-signed certificate, with a fresh key pair, for `names`: each a DNS name
    /// (`www.course.test`, `localhost`) or an IP address (`10.77.0.2`, `fd77::2`), which becomes
    /// an IP address SAN, the entry a client checks when the URL's host is an address.
    pub fn self_signed(names: &[String]) -> Result<Identity, String> {
        let made = rcgen::generate_simple_self_signed(names.to_vec())
            .map_err(|err| format!("making a certificate for {}: {err}", names.join(", ")))?;
        let key = PrivateKeyDer::try_from(made.signing_key.serialize_der())
            .map_err(|err| format!("the new key: {err}"))?;
        Ok(Identity {
            certs: vec![made.cert.der().clone()],
            key,
            cert_pem: Some(made.cert.pem()),
        })
    }

    /// The certificate chain and key from PEM files (as openssl, certbot or rcgen write them).
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Identity, String> {
        let certs = read_certs(cert)?;
        let key = PrivateKeyDer::from_pem_file(key)
            .map_err(|err| format!("{}: no private key read: {err}", key.display()))?;
        Ok(Identity {
            certs,
            key,
            cert_pem: None,
        })
    }
}

/// Every certificate in a PEM file; an error when there is none.
fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|err| format!("{}: {err}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "{}: no certificate in it (a PEM file has -----BEGIN CERTIFICATE----- blocks)",
            path.display()
        ));
    }
    Ok(certs)
}

/// A server's TLS config: `identity`'s certificate, the ALPN protocols it speaks in order of
/// preference (the server picks the first of its own that the client offers, as
/// [RFC 7301 section 3.2] lets it), and where to log secrets, if anywhere.
///
/// TLS 1.3 and 1.2 are on (rustls's safe defaults); a client of this decade negotiates 1.3.
///
/// [RFC 7301 section 3.2]: https://www.rfc-editor.org/rfc/rfc7301#section-3.2
pub fn server_config(
    provider: Arc<CryptoProvider>,
    identity: Identity,
    alpn: &[&[u8]],
    key_log: Option<Arc<dyn KeyLog>>,
) -> Result<Arc<ServerConfig>, String> {
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| format!("TLS: {err}"))?
        .with_no_client_auth()
        .with_single_cert(identity.certs, identity.key)
        .map_err(|err| format!("TLS: the certificate and key: {err}"))?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    if let Some(key_log) = key_log {
        config.key_log = key_log;
    }
    Ok(Arc::new(config))
}

/// Whom a client trusts to be the server.
#[derive(Debug, Clone)]
pub enum Trust {
    /// Any certificate at all (the handshake's signatures are still checked): see [`insecure`].
    Anyone,
    /// Certificates that chain to one of these roots, and name the server.
    Roots(Vec<CertificateDer<'static>>),
}

impl Trust {
    /// The roots in a PEM file: a CA's certificate, or a self-signed server's own.
    pub fn from_pem_file(path: &Path) -> Result<Trust, String> {
        read_certs(path).map(Trust::Roots)
    }
}

/// A client's TLS config: whom it trusts, the ALPN protocols it offers, in order of
/// preference, and where to log secrets, if anywhere.
pub fn client_config(
    provider: Arc<CryptoProvider>,
    trust: Trust,
    alpn: &[&[u8]],
    key_log: Option<Arc<dyn KeyLog>>,
) -> Result<Arc<ClientConfig>, String> {
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|err| format!("TLS: {err}"))?;
    let mut config = match trust {
        Trust::Anyone => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(insecure::AcceptAnyCertificate::new(
                provider,
            )))
            .with_no_client_auth(),
        Trust::Roots(certs) => {
            let mut roots = RootCertStore::empty();
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|err| format!("TLS: a root certificate: {err}"))?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    if let Some(key_log) = key_log {
        config.key_log = key_log;
    }
    Ok(Arc::new(config))
}

/// The name a client asks for and checks the certificate against: for an IP address, the
/// address itself, which rustls checks against the certificate's IP address SANs and does not
/// send as SNI (server name indication carries host names only, [RFC 6066 section 3]).
///
/// [RFC 6066 section 3]: https://www.rfc-editor.org/rfc/rfc6066#section-3
pub fn server_name(ip: IpAddr) -> ServerName<'static> {
    ServerName::IpAddress(ip.into())
}

/// What one connection's handshake settled on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The protocol version, e.g. `TLS 1.3`.
    pub version: String,
    /// The cipher suite, e.g. `TLS13_AES_128_GCM_SHA256`.
    pub cipher_suite: String,
    /// The protocol ALPN chose, e.g. `h2`; `None` when the client offered none the server
    /// speaks (or offered none at all).
    pub alpn: Option<String>,
}

impl Negotiated {
    /// Whether ALPN chose HTTP/2.
    pub fn is_h2(&self) -> bool {
        self.alpn.as_deref() == Some("h2")
    }
}

impl fmt::Display for Negotiated {
    /// `TLS 1.3, TLS13_AES_128_GCM_SHA256, ALPN h2`, or `..., no ALPN`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, {}, ", self.version, self.cipher_suite)?;
        match &self.alpn {
            Some(alpn) => write!(f, "ALPN {alpn}"),
            None => write!(f, "no ALPN"),
        }
    }
}

/// What `conn`'s handshake negotiated (a client's or a server's connection; "?" for what is
/// not settled yet).
pub fn describe<Data>(conn: &ConnectionCommon<Data>) -> Negotiated {
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3".to_string(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2".to_string(),
        Some(other) => format!("{other:?}"),
        None => "?".to_string(),
    };
    let cipher_suite = match conn.negotiated_cipher_suite() {
        Some(suite) => {
            let suite = suite.suite();
            suite
                .as_str()
                .map_or_else(|| format!("{suite:?}"), str::to_string)
        }
        None => "?".to_string(),
    };
    let alpn = conn
        .alpn_protocol()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    Negotiated {
        version,
        cipher_suite,
        alpn,
    }
}

#[cfg(test)]
mod tests;
