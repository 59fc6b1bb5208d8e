//! Step 9: TLS. The client opens a TCP connection to the server's port 443, the two agree on
//! keys in TLS 1.3's handshake (one round trip), and the request and response then cross the
//! wire encrypted: the capture shows TLS records of type "Application Data", not HTTP. The
//! client writes the handshake's secrets to a key log beside the capture, as a browser does
//! with `SSLKEYLOGFILE`, so that Wireshark can decrypt it.
//!
//! ```text
//!   client                                               server
//!     │ ── SYN ─────────────────────────────────────────► │ ┐ TCP: 1 round trip
//!     │ ◄──────────────────────────────────── SYN-ACK ── │ ┘
//!     │ ── ACK, ClientHello (key share) ────────────────► │ ┐ TLS 1.3: 1 round trip
//!     │ ◄── ServerHello, {Certificate … Finished} ─────── │ ┘
//!     │ ── {Finished}, {GET / HTTP/1.1} ────────────────► │ ┐ HTTP: 1 round trip
//!     │ ◄────────────────────────── {HTTP/1.1 200 OK} ── │ ┘
//! ```

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, KeyLog, RootCertStore, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tunstack::{TcpListener, TcpStream};

use crate::net::{net, Wire, EPOCH, SERVER};
use crate::seeded;
use crate::steps::{answer_one_get, ms};

/// The name the client asks for and the certificate is for.
const HOST: &str = "www.course.test";

/// The key log, collected in memory and written once the step is over: one line per secret,
/// `LABEL CLIENT_RANDOM SECRET` in hex, the NSS key log format Wireshark reads (each line
/// ends in its newline).
#[derive(Debug, Default)]
struct Secrets(Mutex<Vec<String>>);

impl KeyLog for Secrets {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        let line = tunstack_demos::tls::key_log_line(label, client_random, secret);
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line);
    }
}

/// Both sides' TLS configurations: the server with the tour's certificate, the client
/// trusting the tour's CA and logging its secrets to `secrets`.
fn configs(secrets: Arc<Secrets>) -> io::Result<(ServerConfig, ClientConfig)> {
    let certs = seeded::certificates(HOST).map_err(io::Error::other)?;
    let provider = seeded::provider();
    let mut server = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(certs.chain, certs.key)
        .map_err(io::Error::other)?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    // No session tickets: the capture ends with the page and the close.
    server.send_tls13_tickets = 0;
    let mut roots = RootCertStore::empty();
    roots.add(certs.ca).map_err(io::Error::other)?;
    let mut client =
        ClientConfig::builder_with_details(provider, Arc::new(seeded::FixedClock(EPOCH.as_secs())))
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_root_certificates(roots)
            .with_no_client_auth();
    client.alpn_protocols = vec![b"http/1.1".to_vec()];
    client.key_log = secrets;
    Ok((server, client))
}

/// Step 9: an HTTPS GET, its handshake and the encrypted request, with the key log beside the
/// capture.
pub async fn tls(dir: &Path) -> io::Result<PathBuf> {
    let file = dir.join("09-tls.pcapng");
    let keylog = dir.join("09-tls.keylog");
    let net = net(&file, Wire::clean())?;
    let secrets = Arc::new(Secrets::default());
    let (server_config, client_config) = configs(secrets.clone())?;
    let listener = TcpListener::bind(&net.server, "0.0.0.0:443").await?;
    let acceptor = TlsAcceptor::from(Arc::new(server_config));
    let server = tokio::spawn(async move {
        let (conn, _) = listener.accept().await?;
        let mut tls = acceptor.accept(conn).await?;
        answer_one_get(&mut tls).await
    });

    let started = Instant::now();
    let conn = TcpStream::connect(&net.client, (SERVER, 443)).await?;
    let tcp = started.elapsed();
    let name = ServerName::try_from(HOST).map_err(io::Error::other)?;
    let mut tls = TlsConnector::from(Arc::new(client_config))
        .connect(name, conn)
        .await?;
    let handshake = started.elapsed();
    describe(tls.get_ref().1);
    let request = format!("GET / HTTP/1.1\r\nHost: {HOST}\r\nUser-Agent: tunstack-tour\r\n\r\n");
    tls.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    let mut buf = [0u8; 1024];
    let n = tls.read(&mut buf).await?;
    let first_byte = started.elapsed();
    response.extend_from_slice(&buf[..n]);
    tls.read_to_end(&mut response).await?;
    tls.shutdown().await?;
    server.await.map_err(io::Error::other)??;
    drop(tls);
    // Until the server's ACK of the client's FIN is in the capture too.
    tunstack_demos::wait_for_closes(&net.client, Duration::from_secs(1)).await;

    let text = String::from_utf8_lossy(&response);
    println!("  request:  {}", request.lines().next().unwrap_or(""));
    println!("  response: {}", text.lines().next().unwrap_or(""));
    println!(
        "  TCP handshake {}, TLS handshake {} more, first byte of the response {} more: \
         three round trips",
        ms(tcp),
        ms(handshake - tcp),
        ms(first_byte - handshake)
    );
    let lines = secrets
        .0
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    std::fs::write(&keylog, lines.concat())?;
    println!(
        "\n  The key log, {} ({} secrets, one per line: {}):",
        keylog.display(),
        lines.len(),
        lines
            .iter()
            .filter_map(|l| l.split(' ').next())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  without it the capture shows only \"Application Data\"; with it Wireshark shows the GET:\n    \
         tshark -r {} -o tls.keylog_file:{} -Y http\n    \
         (in Wireshark: Edit → Preferences → Protocols → TLS → (Pre)-Master-Secret log filename)",
        file.display(),
        keylog.display()
    );
    Ok(file)
}

/// What the handshake agreed on, and who the server proved to be.
fn describe(conn: &rustls::ClientConnection) {
    let version = conn
        .protocol_version()
        .map_or_else(|| "?".to_string(), |v| format!("{v:?}"));
    let suite = conn
        .negotiated_cipher_suite()
        .map_or_else(|| "?".to_string(), |s| format!("{:?}", s.suite()));
    let alpn = conn.alpn_protocol().map_or_else(
        || "none".to_string(),
        |p| String::from_utf8_lossy(p).into_owned(),
    );
    println!(
        "  handshake done: {version}, cipher suite {suite}, ALPN {alpn}; the server proved it \
         holds the key of a certificate for {HOST}, signed by the tour's CA, which the client \
         trusts"
    );
}
