//! The HTTP demos end to end, each run in a network namespace made for it: `http-server` answers
//! curl, wrk and a headless Chromium on the kernel's side; `http-get` fetches files from
//! Python's `http.server` there.
//!
//! Needs root and `/dev/net/tun` (else each test prints `skipped: <why>` and passes, except
//! under CI), and curl, python3, wrk and chromium, which `.ci/run` installs. Chromium runs with
//! a fresh profile, inside the namespace, pointed only at the demo's address.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{
    assert_ready_then_hint, chromium, complete_connections, curl, ephemeral_port, expected_pattern,
    installed, namespace, start_demo, TempDir, EVENT, EXIT, READY,
};
use tunstack::device::netns::NetNs;
use tunstack_tests::{
    output_within, wait_for_closes_in_capture, Direction, Exited, Running, TempFile, STACK,
};

mod common;

const HTTP_SERVER: &str = env!("CARGO_BIN_EXE_http-server");
const HTTP_GET: &str = env!("CARGO_BIN_EXE_http-get");

/// The site's address, as the demo's "try:" line gives it.
const SITE: &str = "http://10.77.0.2";

/// The page at `path`, with curl's local port (its ephemeral port) from the last line curl
/// prints after it.
fn page_and_port(ns: &NetNs, path: &str, extra: &[&str]) -> (String, u16) {
    let url = format!("{SITE}{path}");
    let mut args = extra.to_vec();
    args.extend_from_slice(&["-w", "\n%{local_port}", &url]);
    let stdout = String::from_utf8(curl(ns, &args).stdout).unwrap();
    let (page, port) = stdout.rsplit_once('\n').unwrap();
    (page.to_string(), port.parse().unwrap())
}

/// Stops the server with Ctrl-C; checks it stopped cleanly; returns its output.
fn stop_server(demo: Running) -> Exited {
    demo.interrupt().unwrap();
    let exited = demo.wait_within(EXIT).unwrap();
    assert!(exited.status.success(), "{exited:?}");
    assert_ready_then_hint(&exited, "http-server");
    assert_eq!(
        exited.stdout[1],
        "try: curl http://10.77.0.2/   or   curl -6 'http://[fd77::2]/'"
    );
    assert!(
        exited.stderr.contains("http-server: stopped after "),
        "{exited:?}"
    );
    exited
}

/// The number of connections in the server's "stopped after N connections" line.
fn connections_served(exited: &Exited) -> u64 {
    let (_, rest) = exited
        .stderr
        .split_once("http-server: stopped after ")
        .unwrap_or_else(|| panic!("{exited:?}"));
    rest.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn http_server_answers_curl_on_every_page_and_keeps_connections_alive() {
    let Some(ns) = namespace("http-server") else {
        return;
    };
    if !installed("curl", "curl") || !installed("python3", "python3") {
        return;
    }
    let capture = TempFile::new("demo-http-server");
    let path = capture.path().to_str().unwrap();
    let demo = start_demo(&ns, HTTP_SERVER, &["--capture", path]);

    // The index page tells curl about its own request: the 5-tuple, each layer's header, the
    // request's size (a request line and three headers: 16 + 17 + 27 + 13 + 2 bytes).
    let agent = ["-H", "User-Agent: tunstack-test"];
    let (page, port) = page_and_port(&ns, "/", &agent);
    for text in [
        format!("<code>10.77.0.1:{port}</code>"),
        "<code>10.77.0.2:80</code>".to_string(),
        format!("TCP 10.77.0.1:{port} &rarr; 10.77.0.2:80"),
        "IPv4 header 20 bytes".to_string(),
        "TCP header 32 bytes".to_string(),
        "HTTP request: 75 bytes".to_string(),
        "20 + 32 + 75 = 127 bytes".to_string(),
        "user-agent: tunstack-test".to_string(),
        "This is request 1 on the connection".to_string(),
        "<tr><th>retransmissions so far</th><td>0 segments sent again".to_string(),
        "<a href=\"/stats\">".to_string(),
        "<a href=\"/bytes/1000000\">".to_string(),
    ] {
        assert!(page.contains(&text), "{text:?} missing:\n{page}");
    }
    assert!(!page.contains("not measured yet"), "SRTT measured: {page}");

    let (stats, _) = page_and_port(&ns, "/stats", &[]);
    for text in [
        "<h2>Packets per layer</h2>",
        "<th>tcp</th>",
        "<th>no_socket</th>",
    ] {
        assert!(stats.contains(text), "{text:?} missing:\n{stats}");
    }
    assert!(stats.contains("<td>10.77.0.2:80</td>"), "{stats}");

    // /stats.json is JSON, as a learner would check it: curl | python3.
    let check = "import json, sys\n\
                 d = json.load(sys.stdin)\n\
                 assert sorted(d['layers']) == ['icmp', 'ip', 'tcp', 'udp'], d\n\
                 assert all(l['dropped']['total'] == 0 for l in d['layers'].values()), d\n\
                 mine = [c for c in d['tcp_connections'] if c['state'] == 'ESTABLISHED']\n\
                 assert mine and mine[0]['local'] == '10.77.0.2:80', d\n\
                 print(d['layers']['tcp']['received'], mine[0]['srtt_ms'], mine[0]['cwnd'])";
    let pipeline = format!("curl -sS --max-time 10 {SITE}/stats.json | python3 -c \"{check}\"");
    let output = output_within(&mut ns.exec("sh", &["-c", &pipeline]), EXIT).unwrap();
    assert!(output.status.success(), "{output:?}");
    let numbers = String::from_utf8(output.stdout).unwrap();
    let numbers: Vec<f64> = numbers
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    let [tcp_received, srtt_ms, cwnd] = numbers[..] else {
        panic!("{numbers:?}");
    };
    assert!(
        tcp_received >= 9.0 && srtt_ms > 0.0 && cwnd >= 14600.0,
        "{numbers:?}"
    );

    // A million bytes, streamed, byte-exact.
    let body = curl(&ns, &[&format!("{SITE}/bytes/1000000")]).stdout;
    assert_eq!(body.len(), 1_000_000);
    assert!(
        body == expected_pattern(1_000_000),
        "the pattern, byte-exact"
    );

    // Keep-alive: two URLs in one curl, one connection.
    let output = curl(&ns, &["-v", &format!("{SITE}/stats"), &format!("{SITE}/")]);
    let verbose = String::from_utf8_lossy(&output.stderr);
    assert!(
        verbose.contains("Re-using existing connection"),
        "{verbose}"
    );
    let both = String::from_utf8_lossy(&output.stdout);
    assert!(
        both.contains("This is request 2 on the connection"),
        "{both}"
    );

    // A request and the client's FIN at once (a half-close): the answer still comes.
    let nc = "printf 'GET /bytes/100 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' | nc -N -w 5 10.77.0.2 80";
    let output = output_within(&mut ns.exec("sh", &["-c", nc]), EXIT).unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(output.stdout.ends_with(&expected_pattern(100)), "{text}");

    // What is not there.
    let status = |path: &str| {
        let url = format!("{SITE}{path}");
        let output = curl(&ns, &["-o", "/dev/null", "-w", "%{http_code}", &url]);
        String::from_utf8(output.stdout).unwrap()
    };
    assert_eq!(status("/nope"), "404");
    assert_eq!(status("/bytes/ten"), "404");
    assert_eq!(status("/bytes/1073741825"), "400", "over 1 GiB");

    // Each curl closes its connection as it exits: stop the server once it has read the last
    // ACK of every close (its capture shows them).
    wait_for_closes_in_capture(capture.path(), 9, EVENT).unwrap();
    let exited = stop_server(demo);
    assert_eq!(connections_served(&exited), 9, "{exited:?}");

    let conversations = complete_connections(&ns, &capture);
    assert_eq!(conversations.len(), 9, "{conversations:#?}");
    for conversation in &conversations {
        assert_eq!(conversation.client_direction, Some(Direction::Inbound));
        assert_eq!(conversation.server.to_string(), "10.77.0.2:80");
    }
}

#[test]
fn http_server_takes_wrk_load_on_kept_alive_connections_without_errors() {
    let Some(ns) = namespace("http-wrk") else {
        return;
    };
    if !installed("wrk", "wrk") {
        return;
    }
    let demo = start_demo(&ns, HTTP_SERVER, &[]);
    let url = format!("{SITE}/bytes/1000");
    let args = ["-t2", "-c32", "-d3s", &url];
    let output = output_within(&mut ns.exec("wrk", &args), Duration::from_secs(30)).unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    eprintln!("wrk {}:\n{report}", args.join(" "));
    // wrk only prints these lines when something went wrong.
    assert!(!report.contains("Socket errors"), "{report}");
    assert!(!report.contains("Non-2xx"), "{report}");
    let requests_per_second: f64 = report
        .lines()
        .find_map(|line| line.strip_prefix("Requests/sec:"))
        .unwrap_or_else(|| panic!("no Requests/sec: {report}"))
        .trim()
        .parse()
        .unwrap();
    assert!(requests_per_second > 100.0, "{report}");

    let exited = stop_server(demo);
    // Keep-alive: wrk's 32 connections carried every request; wrk opens one more first, only
    // to check that the server answers.
    assert_eq!(connections_served(&exited), 33, "{exited:?}");
}

#[test]
fn headless_chromium_renders_the_journey_of_its_own_request() {
    let Some(ns) = namespace("http-chromium") else {
        return;
    };
    if !installed("chromium", "chromium") {
        return;
    }
    let demo = start_demo(&ns, HTTP_SERVER, &[]);
    let profile = TempDir::new("chromium-profile");
    let started = Instant::now();
    let output = output_within(
        &mut chromium(&ns, profile.path(), "http://10.77.0.2/"),
        Duration::from_secs(90),
    )
    .unwrap();
    eprintln!("chromium --dump-dom took {:?}", started.elapsed());
    assert!(output.status.success(), "{output:?}");
    let dom = String::from_utf8_lossy(&output.stdout);

    // The visitor's 5-tuple: their port is one the server saw a connection from.
    let (_, rest) = dom
        .split_once("<code>10.77.0.1:")
        .unwrap_or_else(|| panic!("no client address: {dom}"));
    let port: u16 = rest.split('<').next().unwrap().parse().unwrap();
    for text in [
        "<code>10.77.0.2:80</code>",
        "IPv4 header 20 bytes",
        "TCP header 32 bytes",
        "HTTP request: ",
        "user-agent: Mozilla/5.0",
        "HeadlessChrome",
        "[Layer 3] IPv4 packet 10.77.0.1",
    ] {
        assert!(dom.contains(text), "{text:?} missing:\n{dom}");
    }
    let exited = stop_server(demo);
    // The server listens on [::]: an IPv4 visitor's address comes out of accept mapped into
    // IPv6's, as on Linux.
    assert!(
        exited
            .stderr
            .contains(&format!("connection from [::ffff:10.77.0.1]:{port}\n")),
        "port {port}: {exited:?}"
    );
}

/// Python's http.server inside `ns`, on 0.0.0.0:8000, serving `dir`; started before the client
/// creates tun0, as a learner would start it.
fn python_http_server(ns: &NetNs, dir: &Path) -> Running {
    let dir = dir.to_str().unwrap();
    let args = [
        "-u",
        "-m",
        "http.server",
        "8000",
        "--bind",
        "0.0.0.0",
        "--directory",
        dir,
    ];
    let mut server = Running::spawn(&mut ns.exec("python3", &args)).unwrap();
    server.wait_for_line("Serving HTTP", READY).unwrap();
    server
}

/// The milliseconds in http-get's line that starts with `prefix`.
fn millis_after(exited: &Exited, prefix: &str) -> f64 {
    let line = exited
        .stdout
        .iter()
        .find_map(|line| line.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line: {exited:?}"));
    line.split(" ms").next().unwrap().parse().unwrap()
}

#[test]
fn http_get_fetches_files_from_pythons_http_server() {
    let Some(ns) = namespace("http-get") else {
        return;
    };
    if !installed("python3", "python3") {
        return;
    }
    let site = TempDir::new("http-get-site");
    let hello = "Hello from Python's http.server, fetched over tunstack!\n";
    std::fs::write(site.path().join("hello.txt"), hello).unwrap();
    let big = expected_pattern(100_000);
    std::fs::write(site.path().join("big.txt"), &big).unwrap();
    let server = python_http_server(&ns, site.path());

    let capture = TempFile::new("demo-http-get");
    let path = capture.path().to_str().unwrap();
    let url = "http://10.77.0.1:8000/hello.txt";
    let client = start_demo(&ns, HTTP_GET, &["--capture", path, url]);
    let exited = client.wait_within(EXIT).unwrap();
    assert!(exited.status.success(), "{exited:?}");
    assert_ready_then_hint(&exited, "http-get");
    let port = ephemeral_port(&exited);
    assert!((49152..=65535).contains(&port), "{port}");
    for line in [
        "> GET /hello.txt HTTP/1.1",
        "> Host: 10.77.0.1:8000",
        "> Connection: close",
        "< HTTP/1.0 200 OK",
        "< Content-type: text/plain",
        &format!("< Content-Length: {}", hello.len()),
        hello.trim_end(),
        &format!("Body: {} bytes (Content-Length)", hello.len()),
    ] {
        assert!(
            exited.stdout.iter().any(|l| l == line),
            "{line:?} missing: {exited:#?}"
        );
    }
    // The timeline: over plain HTTP, no TLS row between TCP's handshake and the request.
    let rows: Vec<&str> = exited
        .stdout
        .iter()
        .filter_map(|l| l.strip_prefix("  "))
        .filter(|l| l.contains(" ms "))
        .map(|l| l.split("  ").next().unwrap())
        .collect();
    assert_eq!(
        rows,
        [
            "TCP handshake (SYN, SYN-ACK, ACK)",
            "request → first byte",
            "rest of the body",
            "total"
        ],
        "{exited:#?}"
    );
    let connect = millis_after(&exited, "Time to connect (the handshake): ");
    let first_byte = millis_after(&exited, "Time to first byte: ");
    let total = millis_after(&exited, "Total time: ");
    assert!(
        0.0 < connect && connect <= first_byte && first_byte <= total && total < 5000.0,
        "{connect} {first_byte} {total}"
    );
    let conversations = complete_connections(&ns, &capture);
    let [conversation] = &conversations[..] else {
        panic!("one connection: {conversations:#?}");
    };
    assert_eq!(conversation.client_direction, Some(Direction::Outbound));
    assert_eq!(conversation.client.to_string(), format!("{STACK}:{port}"));
    assert_eq!(conversation.server.to_string(), "10.77.0.1:8000");

    // 100 kB in many segments: all of it read and counted, the first 1000 bytes shown.
    let url = "http://10.77.0.1:8000/big.txt";
    let client = start_demo(&ns, HTTP_GET, &["--max-body", "1000", url]);
    let exited = client.wait_within(EXIT).unwrap();
    assert!(exited.status.success(), "{exited:?}");
    let body_lines: Vec<&str> = exited
        .stdout
        .iter()
        .filter(|l| {
            l.len() == 63
                && l.as_bytes()[10] == b' '
                && l.as_bytes()[..10].iter().all(u8::is_ascii_digit)
        })
        .map(String::as_str)
        .collect();
    assert_eq!(
        body_lines.len(),
        15,
        "1000 bytes are 15 whole lines: {exited:#?}"
    );
    for line in [
        "Body: 100000 bytes (Content-Length)",
        "[... 99000 more bytes not shown; --max-body 1000 limits the output]",
    ] {
        assert!(
            exited.stdout.iter().any(|l| l == line),
            "{line:?}: {exited:#?}"
        );
    }

    // Python's log names our stack's address as the client. It stops on SIGTERM: Ctrl-C
    // (SIGINT) would not reach it when the tests run as a background job, whose children
    // start with SIGINT ignored, which Python keeps.
    let pid = libc::pid_t::try_from(server.id()).unwrap();
    // SAFETY: kill(2) takes two integers and touches no memory of ours.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let python = server.wait_within(EXIT).unwrap();
    for request in [
        "\"GET /hello.txt HTTP/1.1\" 200",
        "\"GET /big.txt HTTP/1.1\" 200",
    ] {
        assert!(
            python
                .stderr
                .lines()
                .any(|l| l.starts_with("10.77.0.2 ") && l.contains(request)),
            "{request}: {python:?}"
        );
    }
}

#[test]
fn http_get_explains_urls_it_cannot_fetch() {
    for (url, why) in [
        ("https://10.77.0.1/", "say whom to trust"),
        ("ftp://10.77.0.1/", "only http:// and https://"),
        (
            "http://no_such.test/",
            "neither a host name like www.course.test",
        ),
        ("http://10.77.0.1:http/", "not a port"),
    ] {
        let output = output_within(Command::new(HTTP_GET).arg(url), EXIT).unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{url}: {stderr}");
        assert!(stderr.contains(why), "{url}: {stderr}");
        assert!(output.stdout.is_empty(), "not ready: {url}");
    }
}

#[test]
fn http_get_says_when_nobody_listens() {
    let Some(ns) = namespace("http-get-refused") else {
        return;
    };
    let client = start_demo(&ns, HTTP_GET, &["http://10.77.0.1:8000/"]);
    let exited = client.wait_within(EXIT).unwrap();
    assert_eq!(exited.status.code(), Some(1), "{exited:?}");
    assert!(
        exited.stderr.contains(
            "http-get: 10.77.0.1:8000 refused the connection (it answered our SYN with a \
             reset): nothing listens on port 8000 there"
        ),
        "{exited:?}"
    );
    // A name, and no name server on the kernel's side to ask.
    let client = start_demo(&ns, HTTP_GET, &["http://www.course.test:8000/"]);
    let exited = client.wait_within(EXIT).unwrap();
    assert_eq!(exited.status.code(), Some(1), "{exited:?}");
    assert!(
        exited.stderr.contains(
            "http-get: DNS lookup failed: nothing serves DNS at 10.77.0.1:53: it answered with \
             ICMP port unreachable"
        ),
        "{exited:?}"
    );
}

#[test]
fn http_server_and_http_get_help_explain_every_option() {
    let common = [
        "--tun <NAME>",
        "--addr <IP>",
        "--peer <IP/PREFIX>",
        "--capture <FILE>",
        "--loss <",
        "--delay <",
    ];
    let server = [
        "--port <PORT>",
        "by default 80",
        "--tls",
        "--keylog <FILE>",
        "--cert <FILE>",
        "--nagle",
        "/stats.json",
        "/bytes/N",
        "curl http://10.77.0.2/",
        "wrk",
    ];
    let get = [
        "[URL]",
        "[default: http://10.77.0.1:8000/]",
        "--timeout <DURATION>",
        "[default: 5s]",
        "--max-body <BYTES>",
        "[default: 4096]",
        "python3 -m http.server 8000",
        "--dns <ADDR>",
        "looked up with DNS",
    ];
    for (program, own) in [(HTTP_SERVER, &server[..]), (HTTP_GET, &get[..])] {
        let output = output_within(Command::new(program).arg("--help"), EXIT).unwrap();
        assert!(output.status.success());
        let help = String::from_utf8_lossy(&output.stdout);
        for option in common.iter().chain(own) {
            assert!(
                help.contains(option),
                "{program} --help lacks {option:?}:\n{help}"
            );
        }
    }
}
