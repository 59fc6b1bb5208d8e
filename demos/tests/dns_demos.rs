//! The `dns-server` demo against real clients, each run in a network namespace made for it:
//! dig over UDP, TCP and IPv6 (answers, CNAMEs, NXDOMAIN, REFUSED, NOTIMP, truncation, EDNS),
//! Python's `socket.getaddrinfo` through the namespace's own resolv.conf (the course's
//! snippet), garbage after a header (FORMERR), TCP's several queries per connection and idle
//! timeout, and a zone file. tshark checks the server's capture: no malformed DNS, TC where it
//! was expected.
//!
//! Needs root and `/dev/net/tun` (else each test prints `skipped: <why>` and passes, except
//! under CI), and dig (Debian: dnsutils), python3 and tshark, which `.ci/run` installs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::{assert_ready_then_hint, installed, namespace, start_demo, TempDir, EXIT};
use tunstack::device::netns::NetNs;
use tunstack_tests::{output_within, tshark_check, tshark_filter, Exited, Running, TempFile};

mod common;

const DNS_SERVER: &str = env!("CARGO_BIN_EXE_dns-server");

/// How long a dig or a Python snippet may take.
const CLIENT: Duration = Duration::from_secs(15);

/// Runs `dig +time=3 +tries=1 ARGS...` inside `ns` and returns what it printed; fails the test
/// if dig fails (it does not, for a negative answer: that is an answer).
fn dig(ns: &NetNs, args: &[&str]) -> String {
    let mut all = vec!["+time=3", "+tries=1"];
    all.extend_from_slice(args);
    let output = output_within(&mut ns.exec("dig", &all), CLIENT).unwrap();
    assert!(output.status.success(), "dig {all:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// The records of dig's ANSWER SECTION, one line each, tabs and spaces made single spaces.
fn answer_section(text: &str) -> Vec<String> {
    section(text, ";; ANSWER SECTION:")
}

/// The lines of one of dig's sections, each with its whitespace made single spaces.
fn section(text: &str, title: &str) -> Vec<String> {
    text.lines()
        .skip_while(|line| *line != title)
        .skip(1)
        .take_while(|line| !line.is_empty())
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// dig's status (NOERROR, NXDOMAIN...) and flags (`qr aa rd`), from its header lines.
fn status_and_flags(text: &str) -> (String, String) {
    let status = text
        .split_once("status: ")
        .and_then(|(_, rest)| rest.split(',').next())
        .unwrap_or_else(|| panic!("no status: {text}"));
    let flags = text
        .split_once(";; flags: ")
        .and_then(|(_, rest)| rest.split(';').next())
        .unwrap_or_else(|| panic!("no flags: {text}"));
    (status.to_string(), flags.to_string())
}

/// Stops the server with Ctrl-C; checks that it stopped cleanly; returns its output.
fn stop_server(demo: Running) -> Exited {
    demo.interrupt().unwrap();
    let exited = demo.wait_within(EXIT).unwrap();
    assert!(exited.status.success(), "{exited:?}");
    assert_ready_then_hint(&exited, "dns-server");
    assert!(
        exited.stderr.contains("dns-server: stopped after "),
        "{exited:?}"
    );
    exited
}

/// The server's query lines: `query: CLIENT TRANSPORT NAME TYPE RCODE N answers...`, without
/// the client's port (it is dig's ephemeral port).
fn query_lines(exited: &Exited) -> Vec<String> {
    exited
        .stdout
        .iter()
        .filter_map(|line| line.strip_prefix("query: "))
        .map(|line| {
            let (client, rest) = line.split_once(' ').unwrap();
            let host = client.rsplit_once(':').unwrap().0;
            format!("{host} {rest}")
        })
        .collect()
}

fn tools_installed() -> bool {
    installed("dig", "dnsutils") && installed("python3", "python3") && installed("tshark", "tshark")
}

#[test]
fn dns_server_answers_dig_over_udp_tcp_and_ipv6() {
    let Some(ns) = namespace("dns-server") else {
        return;
    };
    if !tools_installed() {
        return;
    }
    let capture = TempFile::new("demo-dns-server");
    let demo = start_demo(
        &ns,
        DNS_SERVER,
        &["--capture", capture.path().to_str().unwrap()],
    );

    // UDP: one A record, TTL 60, from an authoritative server that does not recurse.
    let text = dig(&ns, &["@10.77.0.2", "www.course.test", "A"]);
    assert_eq!(
        answer_section(&text),
        ["www.course.test. 60 IN A 10.77.0.2"],
        "{text}"
    );
    assert_eq!(
        status_and_flags(&text),
        ("NOERROR".into(), "qr aa rd".into()),
        "{text}"
    );
    assert!(text.contains("(UDP)"), "{text}");
    // TCP: the same answer, with its 2-byte length.
    let text = dig(&ns, &["@10.77.0.2", "www.course.test", "A", "+tcp"]);
    assert_eq!(
        answer_section(&text),
        ["www.course.test. 60 IN A 10.77.0.2"],
        "{text}"
    );
    assert!(text.contains("(TCP)"), "{text}");
    // IPv6, AAAA.
    let text = dig(&ns, &["-6", "@fd77::2", "www.course.test", "AAAA"]);
    assert_eq!(
        answer_section(&text),
        ["www.course.test. 60 IN AAAA fd77::2"],
        "{text}"
    );
    // The CNAME, then the name it leads to, in one answer.
    let text = dig(&ns, &["@10.77.0.2", "web.course.test", "A"]);
    assert_eq!(
        answer_section(&text),
        [
            "web.course.test. 60 IN CNAME www.course.test.",
            "www.course.test. 60 IN A 10.77.0.2"
        ],
        "{text}"
    );
    // A name that does not exist: NXDOMAIN, and the SOA for the resolver's negative cache.
    let text = dig(&ns, &["@10.77.0.2", "nope.course.test", "A"]);
    assert_eq!(status_and_flags(&text).0, "NXDOMAIN", "{text}");
    let authority = section(&text, ";; AUTHORITY SECTION:");
    assert_eq!(authority.len(), 1, "{text}");
    assert!(
        authority[0].starts_with("course.test. 60 IN SOA ns.course.test. hostmaster.course.test."),
        "{text}"
    );
    // A name with no record of the type: NODATA.
    let text = dig(&ns, &["@10.77.0.2", "www.course.test", "TXT"]);
    assert_eq!(status_and_flags(&text).0, "NOERROR", "{text}");
    assert!(answer_section(&text).is_empty(), "{text}");
    // Not our zone.
    let text = dig(&ns, &["@10.77.0.2", "example.com", "A"]);
    assert_eq!(
        status_and_flags(&text),
        ("REFUSED".into(), "qr rd".into()),
        "{text}"
    );
    // An opcode we do not do.
    let text = dig(&ns, &["@10.77.0.2", "+opcode=2", "www.course.test", "A"]);
    assert_eq!(status_and_flags(&text).0, "NOTIMP", "{text}");

    // The big name: over 512 bytes. Without EDNS, cut to what fits (TC; dig is told not to
    // retry over TCP); with EDNS offering 4096 bytes, or over TCP, all ten records.
    let text = dig(
        &ns,
        &["@10.77.0.2", "big.course.test", "TXT", "+noedns", "+ignore"],
    );
    let (status, flags) = status_and_flags(&text);
    assert_eq!(
        (status.as_str(), flags.as_str()),
        ("NOERROR", "qr aa tc rd"),
        "{text}"
    );
    let text = dig(
        &ns,
        &["@10.77.0.2", "big.course.test", "TXT", "+bufsize=4096"],
    );
    assert_eq!(answer_section(&text).len(), 10, "{text}");
    assert_eq!(status_and_flags(&text).1, "qr aa rd", "{text}");
    assert!(
        text.contains("; EDNS: version: 0, flags:; udp: 1232"),
        "{text}"
    );
    let text = dig(
        &ns,
        &["@10.77.0.2", "big.course.test", "TXT", "+tcp", "+noedns"],
    );
    assert_eq!(answer_section(&text).len(), 10, "{text}");

    let exited = stop_server(demo);
    assert_eq!(
        exited.stdout[1],
        "try: dig @10.77.0.2 www.course.test A   or   dig -6 @fd77::2 www.course.test AAAA"
    );
    assert_eq!(
        query_lines(&exited),
        [
            "10.77.0.1 UDP www.course.test. A NOERROR 1 answer",
            "10.77.0.1 TCP www.course.test. A NOERROR 1 answer",
            "[fd77::1] UDP www.course.test. AAAA NOERROR 1 answer",
            "10.77.0.1 UDP web.course.test. A NOERROR 2 answers",
            "10.77.0.1 UDP nope.course.test. A NXDOMAIN 0 answers",
            "10.77.0.1 UDP www.course.test. TXT NOERROR 0 answers",
            "10.77.0.1 UDP example.com. A REFUSED 0 answers",
            "10.77.0.1 UDP www.course.test. A NOTIMP 0 answers",
            "10.77.0.1 UDP big.course.test. TXT NOERROR 0 answers, truncated (TC)",
            "10.77.0.1 UDP big.course.test. TXT NOERROR 10 answers",
            "10.77.0.1 TCP big.course.test. TXT NOERROR 10 answers",
        ],
        "{exited:?}"
    );

    // Wireshark's DNS dissector finds nothing malformed, and TC on exactly one response.
    tshark_check(capture.path());
    let malformed = tshark_filter(capture.path(), "dns && _ws.malformed").unwrap();
    assert!(malformed.is_empty(), "{malformed:#?}");
    let truncated = tshark_filter(capture.path(), "dns.flags.truncated == 1").unwrap();
    assert_eq!(truncated.len(), 1, "{truncated:#?}");
    let responses = tshark_filter(capture.path(), "dns.flags.response == 1").unwrap();
    assert_eq!(responses.len(), 11, "{responses:#?}");
}

/// `/etc/netns/NAME/resolv.conf` for one namespace: `ip netns exec` mounts it over
/// `/etc/resolv.conf` for the programs it starts. Removed when dropped.
struct NetnsResolvConf(PathBuf);

impl NetnsResolvConf {
    fn new(ns: &NetNs, nameserver: &str) -> NetnsResolvConf {
        let dir = Path::new("/etc/netns").join(ns.name());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("resolv.conf"),
            format!("nameserver {nameserver}\noptions timeout:2 attempts:2\n"),
        )
        .unwrap();
        NetnsResolvConf(dir)
    }
}

impl Drop for NetnsResolvConf {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        // /etc/netns itself, if nothing else is in it.
        let _ = std::fs::remove_dir(Path::new("/etc/netns"));
    }
}

/// Runs `python3 -c SNIPPET` inside `ns` through `ip netns exec` (which mounts the namespace's
/// resolv.conf); fails the test if it fails.
fn python(ns: &NetNs, snippet: &str) -> Output {
    let output = output_within(&mut ns.exec("python3", &["-c", snippet]), CLIENT).unwrap();
    assert!(output.status.success(), "{snippet}\n{output:?}");
    output
}

#[test]
fn getaddrinfo_finds_www_through_the_namespaces_resolv_conf() {
    let Some(ns) = namespace("dns-getaddrinfo") else {
        return;
    };
    if !tools_installed() {
        return;
    }
    let _resolv = NetnsResolvConf::new(&ns, "10.77.0.2");
    let demo = start_demo(&ns, DNS_SERVER, &[]);
    // The course's snippet: the resolver in the C library reads resolv.conf, asks for A and
    // AAAA, and hands back one address of each family.
    let snippet = "import socket\n\
                   infos = socket.getaddrinfo('www.course.test', 80, proto=socket.IPPROTO_TCP)\n\
                   print(sorted(info[4][0] for info in infos))";
    let output = python(&ns, snippet);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "['10.77.0.2', 'fd77::2']"
    );
    // And a name that is not there is an error, as socket.gaierror.
    let snippet = "import socket\n\
                   try:\n    socket.getaddrinfo('nope.course.test', 80)\n\
                   except socket.gaierror as err:\n    print('gaierror', err.errno == socket.EAI_NONAME)";
    let output = python(&ns, snippet);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "gaierror True"
    );
    let exited = stop_server(demo);
    let lines = query_lines(&exited);
    for expected in [
        "10.77.0.1 UDP www.course.test. A NOERROR 1 answer",
        "10.77.0.1 UDP www.course.test. AAAA NOERROR 1 answer",
        "10.77.0.1 UDP nope.course.test. A NXDOMAIN 0 answers",
    ] {
        assert!(
            lines.iter().any(|line| line == expected),
            "{expected:?} not in {lines:#?}"
        );
    }
}

#[test]
fn garbage_after_a_header_is_formerr_and_tcp_takes_several_queries_then_times_out() {
    let Some(ns) = namespace("dns-tcp") else {
        return;
    };
    if !tools_installed() {
        return;
    }
    let demo = start_demo(&ns, DNS_SERVER, &["--tcp-idle", "1"]);
    // A header (ID 0x4242, one question) and then bytes that are no question: FORMERR, with
    // the ID; and fewer bytes than a header: no answer at all.
    let snippet = "import socket\n\
                   s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
                   s.settimeout(3)\n\
                   s.sendto(bytes.fromhex('424201000001000000000000') + b'\\x09garbage', ('10.77.0.2', 53))\n\
                   reply = s.recv(512)\n\
                   print(reply[:2].hex(), reply[3] & 15, len(reply))\n\
                   s.sendto(b'\\x42', ('10.77.0.2', 53))\n\
                   try:\n    s.recv(512)\n    print('answered')\n\
                   except socket.timeout:\n    print('silence')";
    let output = python(&ns, snippet);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "4242 1 12\nsilence\n"
    );

    // Two queries on one TCP connection (dig +keepopen), both answered.
    let text = dig(
        &ns,
        &[
            "@10.77.0.2",
            "+tcp",
            "+keepopen",
            "www.course.test",
            "A",
            "web.course.test",
            "A",
        ],
    );
    assert_eq!(text.matches("status: NOERROR").count(), 2, "{text}");
    // A connection that sends nothing is closed after the idle timeout (1 s here).
    let snippet = "import socket, time\n\
                   s = socket.create_connection(('10.77.0.2', 53), timeout=10)\n\
                   start = time.monotonic()\n\
                   data = s.recv(10)\n\
                   print(data == b'', round(time.monotonic() - start, 1))";
    let output = python(&ns, snippet);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let (closed, after) = stdout.trim().split_once(' ').unwrap();
    let after: f64 = after.parse().unwrap();
    assert_eq!(closed, "True", "{stdout}");
    assert!((0.8..5.0).contains(&after), "closed after {after} s");

    let exited = stop_server(demo);
    let lines = query_lines(&exited);
    assert_eq!(
        lines,
        [
            "10.77.0.1 UDP (no question) FORMERR 0 answers",
            "10.77.0.1 UDP 1 bytes, not a query: dropped",
            "10.77.0.1 TCP www.course.test. A NOERROR 1 answer",
            "10.77.0.1 TCP web.course.test. A NOERROR 2 answers",
        ],
        "{exited:?}"
    );
    // dig's connection and Python's: one with two queries, one closed for being idle.
    assert!(
        exited
            .stderr
            .contains("stopped after 2 UDP queries and 2 TCP connections"),
        "{exited:?}"
    );
    assert!(
        exited.stderr.contains(": 2 queries, closed by the client"),
        "{exited:?}"
    );
    assert!(
        exited.stderr.contains(": 0 queries, idle for 1 s, closing"),
        "{exited:?}"
    );
}

#[test]
fn a_zone_file_is_served_and_a_bad_one_is_refused_before_any_device() {
    let dir = TempDir::new("dns-zone");
    let bad = dir.path().join("bad.zone");
    std::fs::write(
        &bad,
        "lab.test 60 SOA ns.lab.test me.lab.test 1 1 1 1 1\nlab.test 60 A 10.0.0.300\n",
    )
    .unwrap();
    // No device is made: this runs anywhere, root or not.
    let output = output_within(
        Command::new(DNS_SERVER).args(["--zone", bad.to_str().unwrap()]),
        EXIT,
    )
    .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("line 2: A: \"10.0.0.300\" is not an IPv4 address"),
        "{stderr}"
    );

    let Some(ns) = namespace("dns-zone") else {
        return;
    };
    if !tools_installed() {
        return;
    }
    let zone = dir.path().join("lab.zone");
    let text = "; a zone of our own\n\
                lab.test 3600 SOA ns.lab.test hostmaster.lab.test 7 3600 600 86400 30\n\
                lab.test 3600 NS ns.lab.test\n\
                ns.lab.test 120 A 10.77.0.2\n\
                www.lab.test 120 A 10.77.0.2 ; the web server\n";
    std::fs::write(&zone, text).unwrap();
    let demo = start_demo(
        &ns,
        DNS_SERVER,
        &["--zone", zone.to_str().unwrap(), "--no-ipv6"],
    );
    let text = dig(&ns, &["@10.77.0.2", "www.lab.test", "A"]);
    assert_eq!(
        answer_section(&text),
        ["www.lab.test. 120 IN A 10.77.0.2"],
        "{text}"
    );
    let text = dig(&ns, &["@10.77.0.2", "www.course.test", "A"]);
    assert_eq!(status_and_flags(&text).0, "REFUSED", "{text}");
    let text = dig(&ns, &["@10.77.0.2", "mail.lab.test", "A"]);
    assert_eq!(status_and_flags(&text).0, "NXDOMAIN", "{text}");
    // The SOA's TTL in a negative answer: the smaller of its TTL and MINIMUM.
    assert!(
        section(&text, ";; AUTHORITY SECTION:")[0].starts_with("lab.test. 30 IN SOA"),
        "{text}"
    );
    let exited = stop_server(demo);
    assert!(
        exited.stdout[0].contains("authoritative for lab.test. (4 records)"),
        "{exited:?}"
    );
    assert_eq!(exited.stdout[1], "try: dig @10.77.0.2 www.lab.test A");
}

#[test]
fn dns_server_on_tap_answers_after_arp() {
    let Some(ns) = namespace("dns-tap") else {
        return;
    };
    if !tools_installed() {
        return;
    }
    let demo = start_demo(&ns, DNS_SERVER, &["--tap"]);
    // The kernel finds our MAC address with ARP first (or NDP for IPv6), then asks.
    let text = dig(&ns, &["@10.77.0.2", "www.course.test", "A"]);
    assert_eq!(
        answer_section(&text),
        ["www.course.test. 60 IN A 10.77.0.2"],
        "{text}"
    );
    let text = dig(&ns, &["-6", "@fd77::2", "www.course.test", "AAAA", "+tcp"]);
    assert_eq!(
        answer_section(&text),
        ["www.course.test. 60 IN AAAA fd77::2"],
        "{text}"
    );
    let exited = stop_server(demo);
    assert!(exited.stdout[0].contains("on tap0"), "{exited:?}");
    assert_eq!(query_lines(&exited).len(), 2, "{exited:?}");
}
