//! The TLS set-up, in memory: a client and a server config shake hands over a tokio duplex
//! pipe, without any network.

use super::*;

use std::sync::Mutex;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::{TlsAcceptor, TlsConnector};

const OURS: &str = "10.77.0.2";

fn names() -> Vec<String> {
    ["www.course.test", "localhost", OURS, "fd77::2"]
        .map(String::from)
        .to_vec()
}

/// Shakes hands between `server` and `client` (asking for `name`), sends "ping" up and "pong"
/// back; returns what each side says was negotiated, or the client's error.
async fn handshake(
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
    name: ServerName<'static>,
) -> Result<(Negotiated, Negotiated), String> {
    let (near, far) = tokio::io::duplex(64 * 1024);
    let server = tokio::spawn(async move {
        let mut tls = TlsAcceptor::from(server).accept(far).await.ok()?;
        let mut ping = [0u8; 4];
        tls.read_exact(&mut ping).await.ok()?;
        assert_eq!(&ping, b"ping");
        tls.write_all(b"pong").await.ok()?;
        tls.flush().await.ok()?;
        Some(describe(tls.get_ref().1))
    });
    let mut tls = TlsConnector::from(client)
        .connect(name, near)
        .await
        .map_err(|err| err.to_string())?;
    tls.write_all(b"ping").await.unwrap();
    let mut pong = [0u8; 4];
    tls.read_exact(&mut pong).await.unwrap();
    assert_eq!(&pong, b"pong");
    let ours = describe(tls.get_ref().1);
    let theirs = server.await.unwrap().expect("the server's side");
    Ok((ours, theirs))
}

fn ip(text: &str) -> ServerName<'static> {
    server_name(text.parse().unwrap())
}

#[tokio::test]
async fn tls_1_3_with_h2_when_both_offer_it() {
    let identity = Identity::self_signed(&names()).unwrap();
    let server = server_config(default_provider(), identity, &[ALPN_H2, ALPN_HTTP11], None);
    let client = client_config(
        default_provider(),
        Trust::Anyone,
        &[ALPN_H2, ALPN_HTTP11],
        None,
    );
    let (ours, theirs) = handshake(server.unwrap(), client.unwrap(), ip(OURS))
        .await
        .unwrap();
    assert_eq!(ours, theirs);
    assert_eq!(ours.version, "TLS 1.3");
    assert!(ours.cipher_suite.starts_with("TLS13_"), "{ours}");
    assert!(ours.is_h2());
    assert_eq!(
        ours.to_string(),
        format!("TLS 1.3, {}, ALPN h2", ours.cipher_suite)
    );
}

#[tokio::test]
async fn http_1_1_when_the_client_offers_only_that_and_none_when_it_offers_nothing() {
    for (offer, chosen) in [(&[ALPN_HTTP11][..], Some("http/1.1")), (&[][..], None)] {
        let identity = Identity::self_signed(&names()).unwrap();
        let server = server_config(default_provider(), identity, &[ALPN_H2, ALPN_HTTP11], None);
        let client = client_config(default_provider(), Trust::Anyone, offer, None);
        let (ours, theirs) = handshake(server.unwrap(), client.unwrap(), ip(OURS))
            .await
            .unwrap();
        assert_eq!(ours.alpn.as_deref(), chosen);
        assert_eq!(theirs.alpn.as_deref(), chosen);
        assert!(!ours.is_h2());
    }
    let no_alpn = Negotiated {
        version: "TLS 1.3".into(),
        cipher_suite: "TLS13_AES_256_GCM_SHA384".into(),
        alpn: None,
    };
    assert_eq!(
        no_alpn.to_string(),
        "TLS 1.3, TLS13_AES_256_GCM_SHA384, no ALPN"
    );
}

#[tokio::test]
async fn a_root_from_pem_checks_the_ip_san_and_the_issuer() {
    let dir = std::env::temp_dir().join(format!("tunstack-tls-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let identity = Identity::self_signed(&names()).unwrap();
    let ca = dir.join("server.pem");
    std::fs::write(&ca, identity.cert_pem.as_ref().unwrap()).unwrap();
    let server = server_config(default_provider(), identity, &[ALPN_HTTP11], None).unwrap();
    let trust = Trust::from_pem_file(&ca).unwrap();
    let client = client_config(default_provider(), trust.clone(), &[ALPN_HTTP11], None).unwrap();

    for good in [OURS, "fd77::2"] {
        let result = handshake(server.clone(), client.clone(), ip(good)).await;
        assert!(result.is_ok(), "{good}: {result:?}");
    }
    let named = ServerName::try_from("www.course.test").unwrap();
    assert!(handshake(server.clone(), client.clone(), named)
        .await
        .is_ok());

    // An address the certificate does not name.
    let err = handshake(server.clone(), client, ip("10.77.0.9"))
        .await
        .unwrap_err();
    assert!(err.contains("not valid for name"), "{err}");

    // A certificate from someone else: the same names, another key, not our root.
    let stranger = Identity::self_signed(&names()).unwrap();
    let stranger = server_config(default_provider(), stranger, &[ALPN_HTTP11], None).unwrap();
    let client = client_config(default_provider(), trust, &[ALPN_HTTP11], None).unwrap();
    let err = handshake(stranger, client, ip(OURS)).await.unwrap_err();
    assert!(err.contains("invalid peer certificate"), "{err}");

    // A certificate and key in PEM files, as rcgen (or openssl) writes them, serve as well.
    let made = rcgen::generate_simple_self_signed(names()).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    let loaded = Identity::from_pem_files(&cert, &key).unwrap();
    assert_eq!(loaded.certs, [made.cert.der().clone()]);
    let server = server_config(default_provider(), loaded, &[ALPN_HTTP11], None).unwrap();
    let client = client_config(
        default_provider(),
        Trust::from_pem_file(&cert).unwrap(),
        &[ALPN_HTTP11],
        None,
    );
    assert!(handshake(server, client.unwrap(), ip(OURS)).await.is_ok());

    let err = Trust::from_pem_file(&key).unwrap_err();
    assert!(err.contains("no certificate in it"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A key log that keeps its lines in memory.
#[derive(Debug, Default)]
struct Lines(Mutex<Vec<String>>);

impl KeyLog for Lines {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        self.0
            .lock()
            .unwrap()
            .push(key_log_line(label, client_random, secret));
    }
}

#[tokio::test]
async fn the_key_log_has_every_tls_1_3_secret_of_the_connection() {
    let path = std::env::temp_dir().join(format!("tunstack-keylog-unit-{}", std::process::id()));
    let file = Arc::new(KeyLogFile::create(&path).unwrap());
    assert_eq!(file.path(), path);
    let client_log = Arc::new(Lines::default());
    let identity = Identity::self_signed(&names()).unwrap();
    let server = server_config(default_provider(), identity, &[ALPN_H2], Some(file.clone()));
    let client = client_config(
        default_provider(),
        Trust::Anyone,
        &[ALPN_H2],
        Some(client_log.clone()),
    );
    handshake(server.unwrap(), client.unwrap(), ip(OURS))
        .await
        .unwrap();
    let written = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let mut labels = Vec::new();
    let mut randoms = std::collections::BTreeSet::new();
    for line in written.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let [label, random, secret] = fields[..] else {
            panic!("{line:?}");
        };
        assert_eq!(random.len(), 64, "32 bytes of client random: {line}");
        assert!(secret.len() >= 64, "{line}");
        let hex = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        assert!(hex(random) && hex(secret), "{line}");
        labels.push(label.to_string());
        randoms.insert(random.to_string());
    }
    labels.sort();
    assert_eq!(
        labels,
        [
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
            "CLIENT_TRAFFIC_SECRET_0",
            "EXPORTER_SECRET",
            "SERVER_HANDSHAKE_TRAFFIC_SECRET",
            "SERVER_TRAFFIC_SECRET_0",
        ]
    );
    assert_eq!(randoms.len(), 1, "one connection: {written}");
    // Both ends derived the same secrets: the client's log has the same lines.
    let mut client_lines = client_log
        .0
        .lock()
        .unwrap()
        .concat()
        .lines()
        .map(str::to_string)
        .collect::<Vec<_>>();
    let mut server_lines = written.lines().map(str::to_string).collect::<Vec<_>>();
    client_lines.sort();
    server_lines.sort();
    assert_eq!(client_lines, server_lines);
}

#[test]
fn a_key_log_line_is_the_label_then_hex() {
    assert_eq!(
        key_log_line(
            "CLIENT_TRAFFIC_SECRET_0",
            &[0x00, 0xab],
            &[0x0f, 0xf0, 0x12]
        ),
        "CLIENT_TRAFFIC_SECRET_0 00ab 0ff012\n"
    );
}

/// A server that always presents `0`: here, one certificate with another's key.
#[derive(Debug)]
struct Presents(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for Presents {
    fn resolve(
        &self,
        _hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

#[tokio::test]
async fn insecure_still_refuses_a_server_without_the_certificates_key() {
    let shown = Identity::self_signed(&names()).unwrap();
    let held = Identity::self_signed(&names()).unwrap();
    let provider = default_provider();
    let key = provider.key_provider.load_private_key(held.key).unwrap();
    let impostor = Arc::new(rustls::sign::CertifiedKey::new(shown.certs, key));
    let server = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Presents(impostor)));
    let client = client_config(provider, Trust::Anyone, &[], None).unwrap();
    let err = handshake(Arc::new(server), client, ip(OURS))
        .await
        .unwrap_err();
    assert!(err.contains("BadSignature"), "{err}");
}
