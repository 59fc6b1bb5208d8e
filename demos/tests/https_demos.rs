//! The HTTPS demos end to end, each run in a network namespace made for it: `http-server --tls`
//! answers curl (HTTP/1.1 and HTTP/2, IPv4 and IPv6), wrk and a headless Chromium on the
//! kernel's side, and tshark decrypts its capture with its key log; `http-get` fetches over
//! TLS from a hyper + tokio-rustls server on the kernel's sockets.
//!
//! Needs root and `/dev/net/tun` (else each test prints `skipped: <why>` and passes, except
//! under CI), and curl, wrk, chromium and tshark, which `.ci/run` installs.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{chromium_with, installed, namespace, start_demo, TempDir, EXIT};
use tunstack::device::netns::NetNs;
use tunstack_tests::{output_within, Exited, Running, TempFile};

mod common;

const HTTP_SERVER: &str = env!("CARGO_BIN_EXE_http-server");

/// The site's address, as the demo's "try:" line gives it.
const SITE: &str = "https://10.77.0.2";

/// Runs `curl -sS -k --max-time 20 ARGS...` inside `ns`; fails the test if curl fails.
fn curl(ns: &NetNs, args: &[&str]) -> Output {
    let mut all = vec!["-sS", "-k", "--max-time", "20"];
    all.extend_from_slice(args);
    let output = output_within(&mut ns.exec("curl", &all), Duration::from_secs(25)).unwrap();
    assert!(
        output.status.success(),
        "curl {all:?} ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The body at `url` and the HTTP version curl used (`1.1`, `2`), from curl's last line.
fn page_and_version(ns: &NetNs, url: &str, extra: &[&str]) -> (String, String) {
    let mut args = extra.to_vec();
    args.extend_from_slice(&["-w", "\n%{http_version}", url]);
    let stdout = String::from_utf8_lossy(&curl(ns, &args).stdout).into_owned();
    let (page, version) = stdout.rsplit_once('\n').unwrap();
    (page.to_string(), version.to_string())
}

/// The first `len` bytes of `/bytes/N`, made here independently of the demo: 64-byte lines,
/// each its first byte's offset in ten digits, a space, the 52 letters, a newline.
fn expected_pattern(len: usize) -> Vec<u8> {
    let letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::with_capacity(len + 64);
    let mut offset = 0;
    while out.len() < len {
        out.extend_from_slice(format!("{offset:010} {letters}\n").as_bytes());
        offset += 64;
    }
    out.truncate(len);
    out
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
