//! The HTTPS demos end to end, each run in a network namespace made for it: `http-server --tls`
//! answers curl (HTTP/1.1 and HTTP/2, IPv4 and IPv6), wrk and a headless Chromium on the
//! kernel's side, and tshark decrypts its capture with its key log; `http-get` fetches over
//! TLS from a hyper + tokio-rustls server on the kernel's sockets.
//!
//! Needs root and `/dev/net/tun` (else each test prints `skipped: <why>` and passes, except
//! under CI), and curl, wrk, chromium and tshark, which `.ci/run` installs.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{
    chromium_with, complete_connections, expected_pattern, installed, namespace, start_demo,
    TempDir, EXIT, READY,
};
use tunstack::device::netns::NetNs;
use tunstack_tests::{linux_tcp_listener, output_within, Exited, Running, TempFile};

mod common;

const HTTP_SERVER: &str = env!("CARGO_BIN_EXE_http-server");

/// The site's address, as the demo's "try:" line gives it.
const SITE: &str = "https://10.77.0.2";

/// Runs `curl -sS -k ARGS...` inside `ns` (-k: the server's certificate is self-signed);
/// fails the test if curl fails.
fn curl(ns: &NetNs, args: &[&str]) -> Output {
    let mut all = vec!["-k"];
    all.extend_from_slice(args);
    common::curl(ns, &all)
}

/// The body at `url` and the HTTP version curl used (`1.1`, `2`), from curl's last line.
fn page_and_version(ns: &NetNs, url: &str, extra: &[&str]) -> (String, String) {
    let mut args = extra.to_vec();
    args.extend_from_slice(&["-w", "\n%{http_version}", url]);
    let stdout = String::from_utf8_lossy(&curl(ns, &args).stdout).into_owned();
    let (page, version) = stdout.rsplit_once('\n').unwrap();
    (page.to_string(), version.to_string())
}

/// Stops the TLS server with Ctrl-C; checks it stopped cleanly and how its output began;
/// returns its output.
fn stop_server(demo: Running) -> Exited {
    demo.interrupt().unwrap();
    let exited = demo.wait_within(EXIT).unwrap();
    assert!(exited.status.success(), "{exited:?}");
    let stdout = &exited.stdout;
    assert!(
        stdout[0]
            .starts_with("http-server ready: https://10.77.0.2/ and https://[fd77::2]/ on tun0"),
        "{stdout:?}"
    );
    assert_eq!(
        stdout[1],
        "try: curl -k https://10.77.0.2/   or   curl -k -6 'https://[fd77::2]/'"
    );
    assert!(
        exited.stderr.contains("http-server: stopped after "),
        "{exited:?}"
    );
    exited
}

/// The values tshark prints for `fields` of the packets that match `filter` in `capture`,
/// decrypted with `keylog`: one line per packet.
fn tshark_decrypted(
    capture: &TempFile,
    keylog: &TempFile,
    filter: &str,
    fields: &[&str],
) -> String {
    let mut args = vec![
        "-r".to_string(),
        capture.path().display().to_string(),
        "-o".to_string(),
        format!("tls.keylog_file:{}", keylog.path().display()),
        "-Y".to_string(),
        filter.to_string(),
        "-T".to_string(),
        "fields".to_string(),
    ];
    for field in fields {
        args.extend(["-e".to_string(), field.to_string()]);
    }
    let output =
        output_within(Command::new("tshark").args(&args), Duration::from_secs(60)).unwrap();
    assert!(output.status.success(), "tshark {args:?}: {output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn https_server_answers_curl_over_http1_and_http2_and_tshark_decrypts_it() {
    let Some(ns) = namespace("https-server") else {
        return;
    };
    if !installed("curl", "curl") || !installed("tshark", "tshark") {
        return;
    }
    let capture = TempFile::new("demo-https-server");
    let keylog = TempFile::new("demo-https-keylog");
    let args = [
        "--tls",
        "--capture",
        capture.path().to_str().unwrap(),
        "--keylog",
        keylog.path().to_str().unwrap(),
    ];
    let demo = start_demo(&ns, HTTP_SERVER, &args);

    // HTTP/1.1 over TLS: curl offers only http/1.1 in ALPN.
    let (page, version) = page_and_version(&ns, &format!("{SITE}/?over=h1"), &["--http1.1"]);
    assert_eq!(version, "1.1");
    for text in [
        "<tr><th>TLS version</th><td>TLS 1.3</td></tr>",
        "<tr><th>ALPN protocol</th><td><code>http/1.1</code></td></tr>",
        "<tr><th>HTTP version</th><td>HTTP/1.1</td></tr>",
        "<code>10.77.0.2:443</code>",
        "[TLS] TLS 1.3 records: ",
        "<th>cipher suite</th><td><code>TLS13_",
    ] {
        assert!(page.contains(text), "{text:?} missing:\n{page}");
    }
    assert!(!page.contains("none: plain HTTP"), "{page}");

    // HTTP/2: curl offers h2 first, the server picks it.
    let (page, version) = page_and_version(&ns, &format!("{SITE}/?over=h2"), &["--http2"]);
    assert_eq!(version, "2");
    for text in [
        "<tr><th>TLS version</th><td>TLS 1.3</td></tr>",
        "<tr><th>ALPN protocol</th><td><code>h2</code></td></tr>",
        "<tr><th>HTTP version</th><td>HTTP/2</td></tr>",
        "[Layer 7] HTTP/2 request, decrypted",
    ] {
        assert!(page.contains(text), "{text:?} missing:\n{page}");
    }

    // Over IPv6 too.
    let (page, version) = page_and_version(&ns, "https://[fd77::2]/", &["--http2", "-6"]);
    assert_eq!(version, "2");
    for text in [
        "<code>[fd77::2]:443</code>",
        "IPv6 header 40 bytes",
        "<code>h2</code>",
    ] {
        assert!(page.contains(text), "{text:?} missing:\n{page}");
    }

    // 10 MB over HTTP/2, byte-exact.
    let started = Instant::now();
    let body = curl(&ns, &["--http2", &format!("{SITE}/bytes/10000000")]).stdout;
    eprintln!("10 MB over HTTP/2 and TLS took {:?}", started.elapsed());
    assert_eq!(body.len(), 10_000_000);
    assert!(
        body == expected_pattern(10_000_000),
        "the pattern, byte-exact"
    );

    let exited = stop_server(demo);
    assert!(
        exited.stdout[2].starts_with(
            "certificate: self-signed, made now for www.course.test, localhost, 10.77.0.2, fd77::2"
        ),
        "{exited:?}"
    );
    assert!(exited.stderr.contains("TLS 1.3, TLS13_"), "{exited:?}");

    // The key log: five TLS 1.3 secrets per connection, four connections.
    let keys = std::fs::read_to_string(keylog.path()).unwrap();
    assert_eq!(keys.lines().count(), 4 * 5, "{keys}");

    // tshark decrypts the capture with it: the paths of the requests, in HTTP/2's headers and
    // in HTTP/1.1's request line.
    let h2 = tshark_decrypted(
        &capture,
        &keylog,
        "http2.type == 1",
        &["http2.header.value"],
    );
    for path in ["/?over=h2", "/bytes/10000000"] {
        assert!(
            h2.lines().any(|l| l.split(',').any(|v| v == path)),
            "{path}: {h2}"
        );
    }
    let h1 = tshark_decrypted(&capture, &keylog, "http.request", &["http.request.uri"]);
    assert_eq!(h1.trim(), "/?over=h1", "{h1}");
    // Without the key log, tshark sees TLS records, and no HTTP.
    let output = output_within(
        Command::new("tshark").args([
            "-r",
            capture.path().to_str().unwrap(),
            "-Y",
            "http || http2",
        ]),
        Duration::from_secs(60),
    )
    .unwrap();
    assert!(
        String::from_utf8_lossy(&output.stdout).trim().is_empty(),
        "{output:?}"
    );
}

#[test]
fn https_server_takes_wrk_load_on_kept_alive_tls_connections_without_errors() {
    let Some(ns) = namespace("https-wrk") else {
        return;
    };
    if !installed("wrk", "wrk") {
        return;
    }
    let demo = start_demo(&ns, HTTP_SERVER, &["--tls"]);
    let url = format!("{SITE}/bytes/1000");
    let args = ["-t2", "-c16", "-d3s", &url];
    let output = output_within(&mut ns.exec("wrk", &args), Duration::from_secs(30)).unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    eprintln!("wrk {}:\n{report}", args.join(" "));
    // wrk only prints these lines when something went wrong.
    assert!(!report.contains("Socket errors"), "{report}");
    assert!(!report.contains("Non-2xx"), "{report}");
    let requests: u64 = report
        .lines()
        .find_map(|line| line.trim().split_once(" requests in "))
        .unwrap_or_else(|| panic!("no request count: {report}"))
        .0
        .parse()
        .unwrap();
    assert!(requests > 300, "{report}");
    let exited = stop_server(demo);
    // Keep-alive: wrk's 16 connections carried every request (and one to check the server).
    let (_, rest) = exited.stderr.split_once("stopped after ").unwrap();
    assert!(rest.starts_with("17 connections, "), "{rest}");
}

#[test]
fn headless_chromium_renders_the_journey_over_https() {
    let Some(ns) = namespace("https-chromium") else {
        return;
    };
    if !installed("chromium", "chromium") {
        return;
    }
    let demo = start_demo(&ns, HTTP_SERVER, &["--tls"]);
    let profile = TempDir::new("chromium-https-profile");
    let started = Instant::now();
    let command = &mut chromium_with(
        &ns,
        profile.path(),
        "https://10.77.0.2/",
        &["--ignore-certificate-errors"],
    );
    let output = output_within(command, Duration::from_secs(90)).unwrap();
    eprintln!("chromium --dump-dom took {:?}", started.elapsed());
    assert!(output.status.success(), "{output:?}");
    let dom = String::from_utf8_lossy(&output.stdout);
    for text in [
        "<code>10.77.0.2:443</code>",
        "<tr><th>TLS version</th><td>TLS 1.3</td></tr>",
        "<tr><th>ALPN protocol</th><td><code>h2</code></td></tr>",
        "<tr><th>HTTP version</th><td>HTTP/2</td></tr>",
        "HeadlessChrome",
    ] {
        assert!(dom.contains(text), "{text:?} missing:\n{dom}");
    }
    stop_server(demo);
}

const HTTP_GET: &str = env!("CARGO_BIN_EXE_http-get");

/// What the kernel-side TLS server saw: each request's HTTP version and path.
type Served = Vec<(String, String)>;

/// A small HTTPS server on the kernel's sockets inside `ns`, on [::]:8443 (IPv4 clients too):
/// tokio-rustls with `identity`, ALPN h2 and http/1.1, and hyper-util's `auto` server, which
/// serves HTTP/2 or HTTP/1.1, whichever the connection speaks. It answers every path with a
/// line naming the version and the path, serves `connections` connections one after the other,
/// and returns what it served.
///
/// The kernel, not our stack, is the peer here on purpose: http-get's TCP, TLS and HTTP/2 are
/// checked against Linux's TCP and rustls/hyper, not against our own server on our own stack.
fn kernel_https_server(
    ns: &NetNs,
    identity: tunstack_demos::tls::Identity,
    connections: usize,
) -> std::thread::JoinHandle<Served> {
    kernel_https_server_on(ns, 8443, identity, connections)
}

/// [`kernel_https_server`] on `port`.
fn kernel_https_server_on(
    ns: &NetNs,
    port: u16,
    identity: tunstack_demos::tls::Identity,
    connections: usize,
) -> std::thread::JoinHandle<Served> {
    use std::sync::{Arc, Mutex};
    use tunstack_demos::tls::{self, ALPN_H2, ALPN_HTTP11};

    let listener = linux_tcp_listener(ns, (std::net::Ipv6Addr::UNSPECIFIED, port)).unwrap();
    listener.set_nonblocking(true).unwrap();
    let config = tls::server_config(
        tls::default_provider(),
        identity,
        &[ALPN_H2, ALPN_HTTP11],
        None,
    )
    .unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let acceptor = tokio_rustls::TlsAcceptor::from(config);
            let served = Arc::new(Mutex::new(Vec::new()));
            for _ in 0..connections {
                let accepted = tokio::time::timeout(READY + EXIT, listener.accept()).await;
                let Ok(Ok((tcp, _))) = accepted else { break };
                // As servers do: a response written in pieces goes out without waiting for
                // the ACK of the one before (Nagle's algorithm would hold it a round trip).
                tcp.set_nodelay(true).unwrap();
                let Ok(tls) = acceptor.accept(tcp).await else {
                    continue;
                };
                let served = served.clone();
                let service = hyper::service::service_fn(move |request: hyper::Request<_>| {
                    let version = format!("{:?}", request.version());
                    let path = request.uri().path().to_string();
                    let body = format!("Hello over {version} from the kernel's side: {path}\n");
                    served.lock().unwrap().push((version, path));
                    async move {
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(
                            http_body_util::Full::new(hyper::body::Bytes::from(body)),
                        ))
                    }
                });
                let builder = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                );
                let io = hyper_util::rt::TokioIo::new(tls);
                let _ = builder.serve_connection(io, service).await;
            }
            let served = served.lock().unwrap().clone();
            served
        })
    })
}

/// Runs http-get with `args` inside `ns` to the end; returns its output.
fn http_get(ns: &NetNs, args: &[&str]) -> Exited {
    let client = start_demo(ns, HTTP_GET, args);
    client.wait_within(EXIT + EXIT).unwrap()
}

/// Checks that `exited` printed each of `lines` as a whole line.
fn assert_lines(exited: &Exited, lines: &[&str]) {
    for line in lines {
        assert!(
            exited.stdout.iter().any(|l| l == line),
            "{line:?} missing: {exited:#?}"
        );
    }
}

/// Checks the timeline: a heading with the SRTT, then each step's row in order, each with its
/// milliseconds and round trips.
fn assert_timeline(exited: &Exited, tls: bool) {
    assert_journey(exited, false, tls);
}

/// Like [`assert_timeline`], with a DNS lookup's row first when `dns`.
fn assert_journey(exited: &Exited, dns: bool, tls: bool) {
    let mut start = exited
        .stdout
        .iter()
        .position(|l| l.starts_with("The journey, step by step (SRTT "))
        .unwrap_or_else(|| panic!("no timeline: {exited:#?}"));
    if dns {
        start += 1;
        let row = &exited.stdout[start];
        assert!(row.starts_with("  DNS lookup (query → answer)"), "{row}");
        assert!(row.contains(" RTT "), "{row}");
    }
    let mut steps = vec!["TCP handshake (SYN, SYN-ACK, ACK)"];
    if tls {
        steps.push("TLS handshake (ClientHello … Finished)");
    }
    steps.extend(["request → first byte", "rest of the body", "total"]);
    for (row, step) in exited.stdout[start + 1..].iter().zip(&steps) {
        let rest = row
            .strip_prefix(&format!("  {step}"))
            .unwrap_or_else(|| panic!("{step:?} expected: {row:?} in {exited:#?}"));
        let (ms, rest) = rest.trim_start().split_once(" ms").unwrap();
        assert!(ms.parse::<f64>().unwrap() >= 0.0, "{row}");
        // A handshake whose SYN went again has no RTT sample yet (Karn's algorithm: a
        // retransmitted segment's ACK times nothing), so its row may have no round trips; the
        // rows after the data exchange always have them.
        let rest = rest.trim_start();
        if *step == steps[0] && rest.starts_with("? RTT") {
            continue;
        }
        let rtts = rest.strip_prefix("≈ ").unwrap_or_else(|| panic!("{row}"));
        let (rtts, _) = rtts.split_once(" RTT").unwrap();
        assert!(rtts.parse::<f64>().unwrap() >= 0.0, "{row}");
    }
    let tls_row = &exited.stdout[start + 2];
    if tls {
        assert!(tls_row.contains("TLS 1.3, TLS13_"), "{tls_row}");
    }
}

#[test]
fn http_get_fetches_over_tls_from_a_kernel_side_server_insecure_and_checked_and_over_http2() {
    let Some(ns) = namespace("https-get") else {
        return;
    };
    let dir = TempDir::new("https-get");
    let names = ["10.77.0.1", "fd77::1", "localhost"].map(String::from);
    let identity = tunstack_demos::tls::Identity::self_signed(&names).unwrap();
    let ca = dir.path().join("server.pem");
    std::fs::write(&ca, identity.cert_pem.as_ref().unwrap()).unwrap();
    let ca = ca.to_str().unwrap();
    let server = kernel_https_server(&ns, identity, 3);

    // --insecure, HTTP/1.1 written by hand over TLS.
    let exited = http_get(&ns, &["--insecure", "https://10.77.0.1:8443/hello.txt"]);
    assert!(exited.status.success(), "{exited:#?}");
    assert_lines(
        &exited,
        &[
            "> GET /hello.txt HTTP/1.1",
            "> Host: 10.77.0.1:8443",
            "< HTTP/1.1 200 OK",
            "Hello over HTTP/1.1 from the kernel's side: /hello.txt",
            "Certificate: NOT checked (--insecure): the connection is encrypted, but to a server \
             nobody vouched for",
        ],
    );
    assert!(
        exited
            .stdout
            .iter()
            .any(|l| l.starts_with("TLS: TLS 1.3, TLS13_")
                && l.contains(", ALPN http/1.1 (handshake ")),
        "{exited:#?}"
    );
    assert_timeline(&exited, true);

    // --ca with the server's own certificate, and HTTP/2 through hyper's client.
    let capture = TempFile::new("demo-https-get-h2");
    let path = capture.path().to_str().unwrap();
    let args = [
        "--capture",
        path,
        "--ca",
        ca,
        "--http2",
        "https://10.77.0.1:8443/two",
    ];
    let exited = http_get(&ns, &args);
    assert!(exited.status.success(), "{exited:#?}");
    assert_lines(
        &exited,
        &[
            "> :method: GET",
            "> :authority: 10.77.0.1:8443",
            "> :path: /two",
            "< HTTP/2 200 OK",
            "Hello over HTTP/2.0 from the kernel's side: /two",
            "Body: 49 bytes (HTTP/2 DATA frames, until END_STREAM)",
            &format!("Certificate: checked: issued by a certificate in {ca}, and names 10.77.0.1"),
        ],
    );
    assert!(
        exited
            .stdout
            .iter()
            .any(|l| l.starts_with("TLS: ") && l.contains(", ALPN h2 (")),
        "{exited:#?}"
    );
    assert_timeline(&exited, true);
    // The connection closed cleanly: both FINs, nothing reset.
    let conversations = complete_connections(&ns, &capture);
    assert_eq!(conversations.len(), 1, "{conversations:#?}");

    // Over IPv6, checked against the certificate's IPv6 address.
    let exited = http_get(&ns, &["--ca", ca, "https://[fd77::1]:8443/six"]);
    assert!(exited.status.success(), "{exited:#?}");
    assert_lines(
        &exited,
        &["Hello over HTTP/1.1 from the kernel's side: /six"],
    );
    assert_timeline(&exited, true);

    let served = server.join().unwrap();
    let served: Vec<(&str, &str)> = served
        .iter()
        .map(|(v, p)| (v.as_str(), p.as_str()))
        .collect();
    assert_eq!(
        served,
        [
            ("HTTP/1.1", "/hello.txt"),
            ("HTTP/2.0", "/two"),
            ("HTTP/1.1", "/six")
        ]
    );
}

#[test]
fn http_get_refuses_a_certificate_its_ca_file_does_not_vouch_for() {
    let Some(ns) = namespace("https-get-bad-ca") else {
        return;
    };
    let dir = TempDir::new("https-get-bad-ca");
    let names = ["10.77.0.1".to_string()];
    let identity = tunstack_demos::tls::Identity::self_signed(&names).unwrap();
    let stranger = tunstack_demos::tls::Identity::self_signed(&names).unwrap();
    let ca = dir.path().join("stranger.pem");
    std::fs::write(&ca, stranger.cert_pem.as_ref().unwrap()).unwrap();
    let server = kernel_https_server(&ns, identity, 1);
    let exited = http_get(
        &ns,
        &["--ca", ca.to_str().unwrap(), "https://10.77.0.1:8443/"],
    );
    assert_eq!(exited.status.code(), Some(1), "{exited:#?}");
    assert!(
        exited
            .stderr
            .contains("http-get: TLS handshake with 10.77.0.1:8443: invalid peer certificate"),
        "{exited:#?}"
    );
    assert!(
        exited
            .stderr
            .contains("is the server's certificate, or its issuer, in"),
        "{exited:#?}"
    );
    assert!(server.join().unwrap().is_empty());
}

#[test]
fn http_get_explains_the_tls_options_it_needs() {
    for (args, why) in [
        (&["https://10.77.0.1/"][..], "say whom to trust. --ca FILE"),
        (
            &["--http2", "http://10.77.0.1/"][..],
            "--http2 is for https:// URLs",
        ),
        (
            &["--insecure", "http://10.77.0.1/"][..],
            "--insecure is for https:// URLs",
        ),
        (
            &["--insecure", "--ca", "x.pem", "https://10.77.0.1/"][..],
            "cannot be used with",
        ),
    ] {
        let output = output_within(Command::new(HTTP_GET).args(args), EXIT).unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(why), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "not ready: {args:?}");
    }
}

#[test]
fn https_server_serves_a_certificate_from_pem_files_that_curl_checks() {
    let Some(ns) = namespace("https-pem") else {
        return;
    };
    if !installed("curl", "curl") {
        return;
    }
    let dir = TempDir::new("https-pem");
    let names = ["www.course.test", "10.77.0.2"].map(String::from).to_vec();
    let made = rcgen::generate_simple_self_signed(names).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let demo = start_demo(
        &ns,
        HTTP_SERVER,
        &["--tls", "--cert", cert, "--key", key, "--port", "8443"],
    );
    // Checked, not -k: curl trusts the file, and the certificate names the address.
    let args = [
        "-sS",
        "--max-time",
        "10",
        "--cacert",
        cert,
        "-o",
        "/dev/null",
        "-w",
        "%{http_version} %{http_code}",
        "https://10.77.0.2:8443/stats",
    ];
    let output = output_within(&mut ns.exec("curl", &args), Duration::from_secs(15)).unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "2 200");
    demo.interrupt().unwrap();
    let exited = demo.wait_within(EXIT).unwrap();
    assert!(exited.status.success(), "{exited:?}");
    assert!(
        exited.stdout[0]
            .starts_with("http-server ready: https://10.77.0.2:8443/ and https://[fd77::2]:8443/ "),
        "{exited:?}"
    );
    assert_eq!(exited.stdout[2], format!("certificate: {cert} (key {key})"));
}

/// The course's whole journey, as a browser takes it: `https://www.course.test/journey`
/// with the name looked up by our stub resolver (asking dnsmasq on the kernel's side, which
/// names the kernel's address), then TCP's handshake, TLS's (the name sent as SNI, and the
/// certificate checked against it), and the request over HTTP/2; the timeline has a row for
/// each. The capture holds it all: the DNS query and answer, then the connection.
#[test]
fn http_get_takes_the_whole_journey_dns_tcp_tls_http2() {
    let Some(ns) = namespace("https-journey") else {
        return;
    };
    if !common::installed("dnsmasq", "dnsmasq-base") {
        return;
    }
    let _dns = common::dnsmasq(
        &ns,
        &["--host-record=www.course.test,10.77.0.1,fd77::1".to_string()],
    );
    let dir = TempDir::new("https-journey");
    let names = ["www.course.test"].map(String::from);
    let identity = tunstack_demos::tls::Identity::self_signed(&names).unwrap();
    let ca = dir.path().join("server.pem");
    std::fs::write(&ca, identity.cert_pem.as_ref().unwrap()).unwrap();
    let ca = ca.to_str().unwrap();
    let server = kernel_https_server_on(&ns, 443, identity, 1);
    let capture = TempFile::new("demo-https-journey");
    let path = capture.path().to_str().unwrap();
    let args = [
        "--capture",
        path,
        "--ca",
        ca,
        "--http2",
        "https://www.course.test/journey",
    ];
    let exited = http_get(&ns, &args);
    assert!(exited.status.success(), "{exited:#?}");
    let dns = exited
        .stdout
        .iter()
        .find(|l| l.starts_with("DNS: "))
        .unwrap_or_else(|| panic!("no DNS line: {exited:#?}"));
    assert!(
        dns.starts_with("DNS: www.course.test → 10.77.0.1, fd77::1 (")
            && dns.ends_with(" ms, over UDP, 1 query each for A and AAAA; asked 10.77.0.1:53)"),
        "{dns}"
    );
    assert_lines(
        &exited,
        &[
            "> :authority: www.course.test",
            "> :path: /journey",
            "Hello over HTTP/2.0 from the kernel's side: /journey",
            &format!(
                "Certificate: checked: issued by a certificate in {ca}, and names www.course.test"
            ),
        ],
    );
    assert_journey(&exited, true, true);
    assert_eq!(server.join().unwrap().len(), 1);

    // On the wire: two queries and their answers, then the connection, whose ClientHello
    // names the host (SNI).
    let fields = [
        "frame.number",
        "dns.qry.name",
        "dns.flags.response",
        "tls.handshake.extensions_server_name",
    ];
    let frames = tunstack_tests::tshark_check_fields(capture.path(), &fields);
    let dns: Vec<_> = frames
        .iter()
        .filter(|f| f.get("dns.qry.name").is_some())
        .collect();
    assert_eq!(dns.len(), 4, "{frames:#?}");
    let hello = frames
        .iter()
        .find(|f| f.get("tls.handshake.extensions_server_name").is_some())
        .unwrap_or_else(|| panic!("no ClientHello with SNI: {frames:#?}"));
    assert_eq!(
        hello.get("tls.handshake.extensions_server_name"),
        Some("www.course.test")
    );
    assert!(dns.iter().all(|f| f.number() < hello.number()), "DNS first");

    // localhost names this machine, which a TUN device does not reach: said so at once.
    let exited = http_get(&ns, &["http://localhost:8000/"]);
    assert!(!exited.status.success());
    assert!(
        exited
            .stderr
            .contains("localhost is 127.0.0.1, the loopback address"),
        "{exited:#?}"
    );
}
