//! The https side of http-get: which TLS options go with which URL, the client config they
//! make (trust, ALPN, key log), and the TLS handshake as a step of the journey.

use std::io;
use std::sync::Arc;

use rustls::pki_types::ServerName;
use tokio::time::{timeout, Instant};
use tokio_rustls::TlsConnector;
use tunstack::{Stack, TcpStream};
use tunstack_demos::http::timeline::{Step, Timeline};
use tunstack_demos::http::url::{Host, Scheme};
use tunstack_demos::millis;
use tunstack_demos::tls::{self, KeyLogFile, Trust, ALPN_H2, ALPN_HTTP11};

use crate::{srtt, Args};

/// The TLS options make sense for the URL: https needs a choice of trust; http takes none.
pub fn check_tls_options(args: &Args) -> Result<(), String> {
    let https = args.url.scheme == Scheme::Https;
    if https && !args.insecure && args.ca.is_none() {
        return Err(format!(
            "{} is https: say whom to trust. --ca FILE checks the server's certificate against \
             the certificates in FILE (PEM; for a self-signed server, its own certificate); \
             --insecure accepts any certificate (still encrypted, but the server could be \
             anyone). This demo has no system roots: its servers are on a TUN device.",
            args.url
        ));
    }
    if !https {
        let tls_only = [
            (args.insecure, "--insecure"),
            (args.ca.is_some(), "--ca"),
            (args.keylog.is_some(), "--keylog"),
        ];
        if let Some((_, option)) = tls_only.iter().find(|(given, _)| *given) {
            return Err(format!(
                "{option} is for https:// URLs; {} is plain http",
                args.url
            ));
        }
        if args.http2 {
            return Err(format!(
                "--http2 is for https:// URLs: HTTP/2 is agreed on inside the TLS handshake \
                 (ALPN); over plain http, {} is fetched with HTTP/1.1",
                args.url
            ));
        }
    }
    Ok(())
}

/// The TLS client for an https URL (`None` for http): the trust chosen, ALPN, the key log.
pub fn tls_connector(args: &Args) -> Result<Option<TlsConnector>, String> {
    if args.url.scheme != Scheme::Https {
        return Ok(None);
    }
    let trust = match &args.ca {
        Some(path) => Trust::from_pem_file(path).map_err(|err| format!("http-get: --ca {err}"))?,
        None => Trust::Anyone,
    };
    let alpn: &[&[u8]] = match args.http2 {
        true => &[ALPN_H2, ALPN_HTTP11],
        false => &[ALPN_HTTP11],
    };
    let key_log: Option<Arc<dyn rustls::KeyLog>> = match &args.keylog {
        Some(path) => Some(Arc::new(KeyLogFile::create(path).map_err(|err| {
            format!(
                "http-get: cannot write the key log {}: {err}",
                path.display()
            )
        })?)),
        None => None,
    };
    let config = tls::client_config(tls::default_provider(), trust, alpn, key_log)
        .map_err(|err| format!("http-get: {err}"))?;
    Ok(Some(TlsConnector::from(config)))
}

/// The TLS handshake on `stream`, with its row in the timeline and a line saying what it
/// settled and how far the certificate was checked.
pub async fn shake_hands(
    stack: &Stack,
    args: &Args,
    connector: TlsConnector,
    stream: TcpStream,
    timeline: &mut Timeline,
) -> io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let local = stream.info()?.quad.local;
    let to = stream.peer_addr()?;
    let (name, named) = server_name(&args.url.host)?;
    // Nagle's algorithm would hold the request back until the server ACKs our Finished (both
    // are small segments): one round trip for nothing. curl and browsers turn it off too.
    stream.set_nodelay(true)?;
    let began = Instant::now();
    let handshake = connector.connect(name, stream);
    let stream = match timeout(args.timeout, handshake).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(err)) => {
            let hint = match &args.ca {
                Some(ca) => format!(
                    " (is the server's certificate, or its issuer, in {}, and does it name {}?)",
                    ca.display(),
                    named
                ),
                None => String::new(),
            };
            return Err(io::Error::new(
                err.kind(),
                format!("TLS handshake with {to}: {err}{hint}"),
            ));
        }
        Err(_) => {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "no TLS handshake with {to} within {:.2} s (is it a TLS server?)",
                    args.timeout.as_secs_f64()
                ),
            ))
        }
    };
    let took = began.elapsed();
    let negotiated = tls::describe(stream.get_ref().1);
    println!("TLS: {negotiated} (handshake {:.2} ms)", millis(took));
    match &args.ca {
        Some(ca) => println!(
            "Certificate: checked: issued by a certificate in {}, and names {}",
            ca.display(),
            named
        ),
        None => println!(
            "Certificate: NOT checked (--insecure): the connection is encrypted, but to a \
             server nobody vouched for"
        ),
    }
    if args.http2 && !negotiated.is_h2() {
        println!("The server did not choose h2 (ALPN): the request goes over HTTP/1.1");
    }
    timeline.push(Step::new(
        "TLS handshake (ClientHello … Finished)",
        took,
        srtt(stack, local),
        negotiated.to_string(),
    ));
    Ok(stream)
}

/// The name the client asks for (SNI) and checks the certificate against: the URL's host name,
/// or for an address, the address (no SNI then: it carries host names only, RFC 6066 3); and
/// the name as text, for messages.
fn server_name(host: &Host) -> io::Result<(ServerName<'static>, String)> {
    match host {
        Host::Addr(ip) => Ok((tls::server_name(*ip), ip.to_string())),
        Host::Name(name) => ServerName::try_from(name.clone())
            .map(|server| (server, name.clone()))
            .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, format!("{name}: {err}"))),
    }
}
