//! Ethernet captures: ARP's rows, the stream each ARP frame joins, broadcasts, and the MAC
//! addresses `--mac` shows. Frames are built with tunstack's Ethernet and ARP codecs.

use tunstack::link::arp::header as arp;
use tunstack::link::arp::Operation;
use tunstack::link::ethernet::header as ethernet;
use tunstack::link::ethernet::{EtherType, MacAddr};

use super::*;
use crate::ladder::decode::decode_arp;
use crate::ladder::{Selection, Style};

/// A host: its MAC address and its IPv4 address.
type Host = (MacAddr, Ipv4Addr);

/// `02:00:0a:4d:00:NN` and `10.77.0.NN`, as `Config::mac_for` gives them.
const fn host(n: u8) -> Host {
    (
        MacAddr::new([0x02, 0x00, 0x0a, 0x4d, 0x00, n]),
        Ipv4Addr::new(10, 77, 0, n),
    )
}

const C: Host = host(1);
const S: Host = host(2);
const ROUTER: Host = host(254);

impl Trace {
    /// Adds a frame from `src` to `dst` around the IPv4 packet `bytes`.
    fn framed(&mut self, src: MacAddr, dst: MacAddr, bytes: Vec<u8>) -> &mut Frame {
        let frame = self.packet(bytes);
        frame.ethernet = Some(ethernet::Repr {
            dst_addr: dst,
            src_addr: src,
            ethertype: EtherType::Ipv4,
        });
        frame
    }

    /// Adds a frame to `dst` around an ARP packet, read back with the ladder's decoder.
    fn arp(&mut self, dst: MacAddr, repr: arp::Repr) -> &mut Frame {
        let mut bytes = vec![0; repr.buffer_len()];
        repr.emit(&mut bytes);
        let frame = self.packet(Vec::new());
        frame.content = Content::Arp(decode_arp(&bytes).expect("an ARP packet"));
        frame.ethernet = Some(ethernet::Repr {
            dst_addr: dst,
            src_addr: repr.sender_mac,
            ethertype: EtherType::Arp,
        });
        frame
    }

    /// "Who has `target`? tell `asker`", to everyone.
    fn who_has(&mut self, asker: Host, target: Ipv4Addr) -> &mut Frame {
        self.arp(MacAddr::BROADCAST, request(asker, target))
    }

    /// "`answerer` is at its MAC address", to `asker` alone.
    fn is_at(&mut self, answerer: Host, asker: Host) -> &mut Frame {
        let reply = arp::Repr {
            operation: Operation::Reply,
            sender_mac: answerer.0,
            sender_ip: answerer.1,
            target_mac: asker.0,
            target_ip: asker.1,
        };
        self.arp(asker.0, reply)
    }

    /// A gratuitous ARP: `who` tells everyone its address.
    fn announce(&mut self, who: Host) -> &mut Frame {
        self.arp(MacAddr::BROADCAST, request(who, who.1))
    }

    /// One ping from `a` to `b` and its reply, in frames between their MAC addresses.
    fn ping(&mut self, a: Host, b: Host, seq_no: u16) {
        let request = icmp::Repr::EchoRequest {
            ident: 7,
            seq_no,
            data: &[0; 56],
        };
        let reply = icmp::Repr::EchoReply {
            ident: 7,
            seq_no,
            data: &[0; 56],
        };
        self.framed(a.0, b.0, icmp_packet(a.1, b.1, &request));
        self.framed(b.0, a.0, icmp_packet(b.1, a.1, &reply));
    }
}

fn request(asker: Host, target: Ipv4Addr) -> arp::Repr {
    arp::Repr {
        operation: Operation::Request,
        sender_mac: asker.0,
        sender_ip: asker.1,
        target_mac: MacAddr::UNSPECIFIED,
        target_ip: target,
    }
}

/// The tour's first step: both hosts announce themselves, the client asks for the server's MAC
/// address, gets it, and pings.
fn first_ping() -> Trace {
    let mut t = Trace::default();
    t.announce(C).comment = Some("gratuitous ARP: the interface is up".into());
    t.announce(S);
    t.who_has(C, S.1);
    t.is_at(S, C);
    t.ping(C, S, 1);
    t
}

fn with_mac() -> Options {
    Options {
        style: Style {
            mac: true,
            ..Style::default()
        },
        ..Options::default()
    }
}

#[test]
fn arp_is_drawn_before_the_ping_that_needed_it() {
    let t = first_ping();
    let lines = t.render(&Options::default());
    assert_eq!(
        lines[..3],
        [
            "test.pcapng: pcapng, raw IPv4 (228), 6 packets, 1 stream",
            "",
            "stream 0: ICMP 10.77.0.1 → 10.77.0.2, 6 packets, 4 of them ARP",
        ],
        "{lines:#?}"
    );
    let rows: Vec<String> = arrows(&lines).iter().map(|l| squeeze(l)).collect();
    assert_eq!(
        rows,
        [
            "│═ ARP announcement 10.77.0.1 is at 02:00:0a:4d:00:01 ═►│  \
             broadcast: to every host on the link  # gratuitous ARP: the interface is up",
            "│◄═ ARP announcement 10.77.0.2 is at 02:00:0a:4d:00:02 ═│  \
             broadcast: to every host on the link",
            "│═ ARP who has 10.77.0.2? tell 10.77.0.1 ═►│  broadcast: to every host on the link",
            "│◄─ ARP 10.77.0.2 is at 02:00:0a:4d:00:02 ─│",
            "│─ ICMP echo request seq=1 len=56 ─►│  id=0x0007",
            "│◄─ ICMP echo reply seq=1 len=56 ─│  id=0x0007",
        ]
    );
    // The footnotes say what ARP is and what a double line means.
    let notes = lines.join(" ");
    assert!(notes.contains("ARP finds the MAC address"), "{notes}");
    assert!(notes.contains("════► broadcast: a frame to ff:ff:ff:ff:ff:ff"));
    assert!(!notes.contains("seq and ack are relative"));
}

#[test]
fn mac_puts_each_sides_address_under_its_ip_address() {
    let t = first_ping();
    let lines = t.render(&with_mac());
    let at = lines
        .iter()
        .position(|l| l.trim_start().starts_with("time"))
        .expect("the heading");
    let (ips, macs) = (&lines[at], &lines[at + 1]);
    assert!(
        macs.trim_start().starts_with("02:00:0a:4d:00:01"),
        "{lines:#?}"
    );
    assert!(macs.ends_with(" 02:00:0a:4d:00:02"), "{lines:#?}");
    // Each MAC address starts (left) or ends (right) where the IP address above it does.
    assert_eq!(ips.find("10.77.0.1"), macs.find("02:00:0a:4d:00:01"));
    assert_eq!(ips.chars().count(), macs.chars().count());
    let sides = lines[at + 2].trim();
    assert!(
        sides.starts_with("client") && sides.ends_with("server"),
        "{lines:#?}"
    );
    // The rails stay in their columns.
    let rails: Vec<Vec<usize>> = lines
        .iter()
        .filter(|line| line.contains('│'))
        .map(|line| {
            line.chars()
                .enumerate()
                .filter(|(_, c)| *c == '│')
                .map(|(i, _)| i)
                .collect()
        })
        .collect();
    assert!(rails.iter().all(|r| r[..2] == rails[0][..2]), "{lines:#?}");
    // A broadcast says so once, not as "to ff:ff:ff:ff:ff:ff" too.
    assert!(
        !arrows(&lines)
            .iter()
            .any(|l| l.contains("to ff:ff:ff:ff:ff:ff")),
        "{lines:#?}"
    );
}

#[test]
fn mac_notes_a_frame_from_another_card() {
    // The server's reply comes from another card than its ARP answer named: --mac says so.
    let mut t = Trace::default();
    t.who_has(C, S.1);
    t.is_at(S, C);
    let request = icmp::Repr::EchoRequest {
        ident: 7,
        seq_no: 1,
        data: &[0; 8],
    };
    let reply = icmp::Repr::EchoReply {
        ident: 7,
        seq_no: 1,
        data: &[0; 8],
    };
    t.framed(C.0, S.0, icmp_packet(C.1, S.1, &request));
    t.framed(ROUTER.0, C.0, icmp_packet(S.1, C.1, &reply));
    let rows: Vec<String> = arrows(&t.render(&with_mac()))
        .iter()
        .map(|l| squeeze(l))
        .collect();
    assert_eq!(
        rows[3],
        "│◄─ ICMP echo reply seq=1 len=8 ─│  from 02:00:0a:4d:00:fe  id=0x0007"
    );
    assert!(!rows[2].contains("from"), "{rows:#?}");
}

#[test]
fn a_capture_without_ethernet_draws_as_before_with_or_without_mac() {
    // Bare IP, as a TUN device carries it: no ARP, no MAC addresses, the same ladder.
    let mut t = Trace::default();
    handshake(&mut t, 1000, 5000);
    let plain = t.render(&Options::default());
    let mac = t.render(&with_mac());
    assert_eq!(
        mac[1],
        "--mac: no MAC addresses to show: the packets in this capture have no Ethernet header \
         (bare IP, as a TUN device carries them)"
    );
    assert_eq!(mac[0], plain[0]);
    assert_eq!(mac[2..], plain[1..]);
    assert!(!plain.iter().any(|l| l.contains("ARP") || l.contains('═')));
}

#[test]
fn arp_joins_the_stream_of_the_next_packet_between_its_hosts() {
    let mut t = Trace::default();
    let (a, b) = (SocketAddrV4::new(C.1, 40000), SocketAddrV4::new(C.1, 40001));
    t.framed(C.0, S.0, udp_packet(a, SERVER, b"one"));
    // A unicast request: the client checks that the server is still at its address.
    t.arp(S.0, request(C, S.1));
    t.is_at(S, C);
    t.framed(C.0, S.0, udp_packet(b, SERVER, b"two"));
    // After the last packet between them: the stream of the last one.
    t.who_has(S, C.1);
    let lines = t.render(&Options {
        selection: Selection::All,
        ..Options::default()
    });
    let titles: Vec<&String> = lines.iter().filter(|l| l.starts_with("stream ")).collect();
    assert_eq!(
        titles,
        [
            "stream 0: UDP 10.77.0.1:40000 → 10.77.0.2:7, 1 packet",
            "stream 1: UDP 10.77.0.1:40001 → 10.77.0.2:7, 4 packets, 3 of them ARP",
        ]
    );
    let rows: Vec<String> = arrows(&lines).iter().map(|l| squeeze(l)).collect();
    assert_eq!(
        rows[1..],
        [
            "│─ ARP who has 10.77.0.2? tell 10.77.0.1 ─►│  unicast: checking a known address",
            "│◄─ ARP 10.77.0.2 is at 02:00:0a:4d:00:02 ─│",
            "│─ UDP len=3 ─►│  \"two\"",
            "│◄═ ARP who has 10.77.0.1? tell 10.77.0.2 ═│  broadcast: to every host on the link",
        ]
    );
}

#[test]
fn arp_with_no_ip_packet_between_its_hosts_is_a_stream_of_its_own() {
    // The client talks to a host on another network through its router: it asks for the
    // router's MAC address, and no IP packet goes to the router's own address.
    let far = SocketAddrV4::new(Ipv4Addr::new(93, 184, 216, 34), 80);
    let mut t = Trace::default();
    t.announce(host(9));
    t.who_has(C, ROUTER.1);
    t.is_at(ROUTER, C);
    let mut syn = Segment::new(Flags::SYN, 1, 0);
    syn.mss = Some(1460);
    t.framed(C.0, ROUTER.0, tcp_packet(CLIENT, far, syn, b""));
    let lines = t.render(&Options {
        selection: Selection::All,
        ..Options::default()
    });
    let titles: Vec<&String> = lines.iter().filter(|l| l.starts_with("stream ")).collect();
    // The IP stream keeps number 0; the ARP stream comes after it.
    assert_eq!(
        titles,
        [
            "stream 0: TCP 10.77.0.1:49152 → 93.184.216.34:80, 1 packet",
            "stream 1: ARP 10.77.0.1 → 10.77.0.254, 2 packets",
        ],
        "{lines:#?}"
    );
    let rows: Vec<String> = arrows(&lines).iter().map(|l| squeeze(l)).collect();
    assert_eq!(
        rows[1..],
        [
            "│═ ARP who has 10.77.0.254? tell 10.77.0.1 ═►│  broadcast: to every host on the link",
            "│◄─ ARP 10.77.0.254 is at 02:00:0a:4d:00:fe ─│",
        ]
    );
    // An announcement by a host with no IP packet in the capture is listed, not drawn.
    let at = lines
        .iter()
        .position(|l| l == "not in any ladder:")
        .expect("the list");
    assert_eq!(
        lines[at + 1],
        "  ARP announcement of 10.77.0.9, with no IP packet of that host to join: frame 1"
    );
}

#[test]
fn ascii_draws_a_broadcast_with_equals_signs() {
    let lines = first_ping().render(&Options {
        style: Style {
            ascii: true,
            ..Style::default()
        },
        ..Options::default()
    });
    assert!(lines.iter().all(|l| l.is_ascii()), "{lines:#?}");
    assert!(
        lines.iter().any(
            |l| l.contains("|==== ARP who has 10.77.0.2? tell 10.77.0.1 ==")
                && l.contains("=>|  broadcast")
        ),
        "{lines:#?}"
    );
    assert!(lines
        .iter()
        .any(|l| l.starts_with("====> broadcast: a frame to")));
}
