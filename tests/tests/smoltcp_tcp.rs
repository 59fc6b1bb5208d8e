//! TCP between our stack and smoltcp, over the in-memory wire, on virtual time.
//!
//! Our [`Stack`] is 10.0.0.1, smoltcp ([`SmolStack`]) 10.0.0.2, on the two ends of a
//! [`memory::pair`]. Every scenario runs in both roles, ours as the client and smoltcp as the
//! client: the handshake, 10 MiB each way and both ways at once (byte-exact, checked against a
//! [`Pattern`]), half-close, close in both orders (with our TIME-WAIT), resets for closed ports
//! and aborts. One clean run is captured and must show tshark no malformed packet, no bad
//! checksum, no retransmission, duplicate ACK, lost or out-of-order segment.
//!
//! Every test runs on two wires ([`Medium`]): one that carries bare IP packets, as a TUN device
//! does, and one that carries Ethernet frames, as a TAP device does. On Ethernet each stack has
//! a MAC address and finds the other's by ARP before the first segment; every connection checks
//! that it did ([`Net::connect`]): both stacks know each other's MAC address, and the ARP
//! packets are the ones the opening side's question and the other's answer make. A test's name
//! says its wire and, where it runs in both roles, its role: `handshake::ethernet::smol_client`.
//!
//! Both stacks take their time from tokio's clock, paused here: timers (delayed ACKs,
//! TIME-WAIT) run in virtual time, runs repeat exactly, and every test is bounded by
//! [`LIMIT`] of virtual time.

use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{sleep, timeout};
use tunstack::device::impair::{ImpairConfig, Impairments, Match, Rule};
use tunstack::device::{memory, Capture, Device, Impair, Medium, MemoryConfig};
use tunstack::link::neighbour::NeighbourState;
use tunstack::tcp::{KeepAlive, State};
use tunstack::{Config, Stack, TcpStream};
use tunstack_tests::smol::{SmolConfig, SmolStack, SmolState, SmolStream};
use tunstack_tests::{
    tshark_available, tshark_check_fields, tshark_filter, Direction, Pattern, TempFile, TCP_TROUBLE,
};

/// Our stack's address.
const OURS: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// smoltcp's address.
const SMOL: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// The server's port, whichever stack serves.
const PORT: u16 = 7777;
/// Our maximum segment lifetime: TIME-WAIT lasts twice this.
const MSL: Duration = Duration::from_secs(1);
/// How long any test may take, in virtual time. smoltcp's TIME-WAIT alone is 10 s.
const LIMIT: Duration = Duration::from_secs(60);
/// How much the bulk transfers move.
const BULK: u64 = 10 * 1024 * 1024;

/// The two stacks on the two ends of one wire.
struct Net {
    ours: Stack,
    smol: SmolStack,
    medium: Medium,
}

/// Our stack's configuration: a fixed seed (a run repeats exactly) and a short MSL.
fn our_config() -> Config {
    let mut config = Config::new(format!("{OURS}/24").parse().unwrap());
    config.seed = Some(7);
    config.tcp.msl = MSL;
    config
}

fn smol_config() -> SmolConfig {
    SmolConfig::new(format!("{SMOL}/24").parse().unwrap())
}

/// The two ends of a wire that carries `medium`.
fn wire(medium: Medium) -> (memory::MemoryDevice, memory::MemoryDevice) {
    memory::pair(MemoryConfig {
        medium,
        ..MemoryConfig::default()
    })
}

impl Net {
    fn new(medium: Medium) -> Net {
        let (a, b) = wire(medium);
        Net::on(a, b)
    }

    /// The stacks on a wire whose queues hold only `queue_len` packets each way: a burst
    /// larger than that loses its tail, as on a congested link.
    fn congested(medium: Medium, queue_len: usize) -> Net {
        let (a, b) = memory::pair(MemoryConfig {
            queue_len,
            medium,
            ..MemoryConfig::default()
        });
        Net::on(a, b)
    }

    /// The stacks on `ours` and `smol`, two ends of a wire (maybe wrapped in a capture).
    fn on(ours: impl Device, smol: impl Device) -> Net {
        let medium = ours.medium();
        Net {
            ours: Stack::new(ours, our_config()),
            smol: SmolStack::new(smol, smol_config()),
            medium,
        }
    }

    /// One connection between the stacks, `role` saying who opens it; our end and smoltcp's.
    /// On Ethernet, checks that ARP found the addresses on the way ([`Net::check_arp`]).
    async fn connect(&self, role: Role) -> (TcpStream, SmolStream) {
        let conn = match role {
            Role::OursClient => {
                tunstack_tests::smol::ours_connects(&self.ours, &self.smol, PORT).await
            }
            Role::SmolClient => {
                tunstack_tests::smol::smol_connects(&self.ours, &self.smol, PORT).await
            }
        };
        self.check_arp(role);
        conn
    }

    /// What ARP has done once the first connection is open, on Ethernet (on bare IP there is
    /// no ARP, and no MAC address). The client's first segment waited for one question and
    /// its answer: we ask when we open, smoltcp when it does. The one asked learns the asker's
    /// address from the question (RFC 826), so each stack has the other's, and nobody asks
    /// twice. Our gratuitous ARP at start is the one other ARP packet.
    fn check_arp(&self, role: Role) {
        let (stats, smol_arp) = (self.ours.stats(), self.smol.arp_stats());
        if self.medium == Medium::Ip {
            assert_eq!((self.ours.mac(), self.smol.mac()), (None, None));
            assert_eq!(stats.arp.sent + stats.arp.received, 0, "{stats}");
            assert!(self.smol.neighbours().is_empty());
            return;
        }
        let (our_mac, smol_mac) = (Config::mac_for(OURS), Config::mac_for(SMOL));
        assert_eq!(
            (self.ours.mac(), self.smol.mac()),
            (Some(our_mac), Some(smol_mac))
        );
        let ours = self.ours.neighbours();
        assert_eq!(ours.len(), 1, "{ours:?}");
        assert_eq!((ours[0].ip, ours[0].mac), (SMOL.into(), Some(smol_mac)));
        assert_eq!(self.smol.neighbours(), [(OURS, our_mac)]);
        // Our announcement, and our question or our answer; its answer or its question.
        assert_eq!((stats.arp.sent, stats.arp.received), (2, 1), "{stats}");
        assert_eq!(stats.arp.dropped.total(), 0, "{stats}");
        assert_eq!(stats.neighbours.resolved, 1, "{stats}");
        match role {
            Role::OursClient => {
                // We asked; our SYN waited for the answer, which made smoltcp REACHABLE.
                assert_eq!(ours[0].state, NeighbourState::Reachable);
                assert_eq!(stats.neighbours.requests, 1, "{stats}");
                assert_eq!((stats.neighbours.held, stats.neighbours.released), (1, 1));
                // Our announcement and our question came in; it answered the question.
                assert_eq!(smol_arp.requests_received, 2, "{smol_arp:?}");
                assert_eq!(smol_arp.replies_sent, 1, "{smol_arp:?}");
                assert_eq!(smol_arp.requests_sent, 0, "{smol_arp:?}");
            }
            Role::SmolClient => {
                // smoltcp asked; we learned its address from the question (an address it
                // sent on its own: STALE, checked when used) and needed no request of ours.
                assert_ne!(ours[0].state, NeighbourState::Incomplete);
                assert_eq!(stats.neighbours.requests, 0, "{stats}");
                assert_eq!(smol_arp.requests_sent, 1, "{smol_arp:?}");
                assert_eq!(smol_arp.replies_received, 1, "{smol_arp:?}");
                assert_eq!(smol_arp.replies_sent, 0, "{smol_arp:?}");
            }
        }
    }

    /// The states of our TCP connections.
    fn our_states(&self) -> Vec<State> {
        self.ours
            .tcp_connections()
            .iter()
            .map(|c| c.state)
            .collect()
    }
}

/// Which stack opens the connection.
#[derive(Debug, Clone, Copy)]
enum Role {
    /// Our `TcpStream::connect` to a smoltcp listener.
    OursClient,
    /// smoltcp's connect to our `TcpListener`.
    SmolClient,
}

/// Runs `test` on `medium` in `role` within [`LIMIT`] of virtual time.
async fn bounded<F: Future<Output = ()>>(
    medium: Medium,
    role: Role,
    test: impl FnOnce(Medium, Role) -> F,
) {
    if timeout(LIMIT, test(medium, role)).await.is_err() {
        panic!("{medium:?}, {role:?}: not done after {LIMIT:?} of virtual time");
    }
}

/// A test on both wires in both roles, `async fn name(medium: Medium, role: Role)`:
/// `mod name { mod ip { fn ours_client, fn smol_client }, mod ethernet { ... } }`.
macro_rules! both_roles {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        mod $name {
            both_roles!(@on ip, Medium::Ip, $name);
            both_roles!(@on ethernet, Medium::Ethernet, $name);
        }
    };
    (@on $wire:ident, $medium:expr, $name:ident) => {
        mod $wire {
            use super::super::*;

            #[tokio::test(start_paused = true)]
            async fn ours_client() {
                bounded($medium, Role::OursClient, super::super::$name).await;
            }

            #[tokio::test(start_paused = true)]
            async fn smol_client() {
                bounded($medium, Role::SmolClient, super::super::$name).await;
            }
        }
    };
}

/// A test on both wires, `async fn name(medium: Medium)`: `mod name { fn ip, fn ethernet }`.
/// The test bounds its own time.
macro_rules! both_media {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        mod $name {
            use super::*;

            #[tokio::test(start_paused = true)]
            async fn ip() {
                super::$name(Medium::Ip).await;
            }

            #[tokio::test(start_paused = true)]
            async fn ethernet() {
                super::$name(Medium::Ethernet).await;
            }
        }
    };
}

both_roles!(
    /// SYN, SYN-ACK, ACK: both ends ESTABLISHED, each seeing the other's address.
    handshake
);
async fn handshake(medium: Medium, role: Role) {
    let net = Net::new(medium);
    let (ours, smol) = net.connect(role).await;
    let info = ours.info().unwrap();
    assert_eq!(info.state, State::Established);
    assert_eq!(smol.state(), SmolState::Established);
    assert_eq!(ours.local_addr().unwrap(), smol.peer_addr().unwrap());
    assert_eq!(ours.peer_addr().unwrap(), smol.local_addr().unwrap());
    match role {
        Role::OursClient => assert_eq!(smol.local_addr().unwrap().port(), PORT),
        Role::SmolClient => assert_eq!(ours.local_addr().unwrap().port(), PORT),
    }
    // Both announced an MSS for the 1500-byte IP MTU: 1460. (On Ethernet, smoltcp's device
    // MTU is the frame's, 1514: one that said 1500 would make it announce 1446.)
    assert_eq!(info.mss, 1460);
}

both_roles!(
    /// 10 MiB from us to smoltcp, byte-exact, then a clean close.
    bulk_ours_to_smol
);
async fn bulk_ours_to_smol(medium: Medium, role: Role) {
    let net = Net::new(medium);
    let (mut ours, mut smol) = net.connect(role).await;
    let pattern = Pattern::new(1);
    let send = async {
        pattern.write_to(&mut ours, BULK).await.unwrap();
        ours.shutdown().await.unwrap();
    };
    let (_, received) = tokio::join!(send, pattern.read_and_check(&mut smol));
    assert_eq!(received.unwrap(), BULK);
    assert_eq!(ours.info().unwrap().stats.retransmissions, 0);
}

both_roles!(
    /// 10 MiB from smoltcp to us, byte-exact, then a clean close.
    bulk_smol_to_ours
);
async fn bulk_smol_to_ours(medium: Medium, role: Role) {
    let net = Net::new(medium);
    let (mut ours, mut smol) = net.connect(role).await;
    let pattern = Pattern::new(2);
    let send = async {
        pattern.write_to(&mut smol, BULK).await.unwrap();
        smol.shutdown().await.unwrap();
    };
    let (_, received) = tokio::join!(send, pattern.read_and_check(&mut ours));
    assert_eq!(received.unwrap(), BULK);
}

both_roles!(
    /// 10 MiB each way at the same time, each direction byte-exact.
    bulk_both_ways_at_once
);
async fn bulk_both_ways_at_once(medium: Medium, role: Role) {
    let net = Net::new(medium);
    let (ours, smol) = net.connect(role).await;
    let (to_smol, to_ours) = (Pattern::new(3), Pattern::new(4));
    let (mut our_read, mut our_write) = ours.into_split();
    let (mut smol_read, mut smol_write) = tokio::io::split(smol);
    let ours_sends = async {
        to_smol.write_to(&mut our_write, BULK).await.unwrap();
        our_write.shutdown().await.unwrap();
    };
    let smol_sends = async {
        to_ours.write_to(&mut smol_write, BULK).await.unwrap();
        smol_write.shutdown().await.unwrap();
    };
    let (_, _, at_smol, at_ours) = tokio::join!(
        ours_sends,
        smol_sends,
        to_smol.read_and_check(&mut smol_read),
        to_ours.read_and_check(&mut our_read),
    );
    assert_eq!(at_smol.unwrap(), BULK);
    assert_eq!(at_ours.unwrap(), BULK);
}

/// 100 KiB of `pattern`, written in pieces with pauses, so that the other side's FIN is long
/// in the past when the data goes.
async fn write_slowly(writer: &mut (impl tokio::io::AsyncWrite + Unpin), pattern: &Pattern) {
    for i in 0..10u64 {
        sleep(Duration::from_millis(300)).await;
        writer
            .write_all(pattern.chunk(i * 10_240, 10_240))
            .await
            .unwrap();
    }
}

both_roles!(
    /// We shut down writing first (our FIN), keep reading; smoltcp reads our end of stream,
    /// keeps writing for three seconds, then closes.
    ours_half_closes
);
async fn ours_half_closes(medium: Medium, role: Role) {
    let net = Net::new(medium);
    let (mut ours, mut smol) = net.connect(role).await;
    ours.write_all(b"request").await.unwrap();
    ours.shutdown().await.unwrap();
    let mut request = Vec::new();
    smol.read_to_end(&mut request).await.unwrap();
    assert_eq!(request, b"request");
    assert_eq!(smol.state(), SmolState::CloseWait);
    sleep(Duration::from_millis(50)).await; // smoltcp's delayed ACK of our FIN
    assert_eq!(net.our_states(), [State::FinWait2]);

    let pattern = Pattern::new(5);
    let smol_side = async {
        write_slowly(&mut smol, &pattern).await;
        smol.shutdown().await.unwrap();
    };
    let (_, received) = tokio::join!(smol_side, pattern.read_and_check(&mut ours));
    assert_eq!(received.unwrap(), 102_400);
    assert_eq!(
        ours.write(b"more").await.unwrap_err().kind(),
        io::ErrorKind::BrokenPipe
    );
    smol.closed().await;
}

both_roles!(
    /// smoltcp shuts down writing first, keeps reading; we read its end of stream, keep
    /// writing for three seconds, then close.
    smol_half_closes
);
async fn smol_half_closes(medium: Medium, role: Role) {
    let net = Net::new(medium);
    let (mut ours, mut smol) = net.connect(role).await;
    smol.write_all(b"request").await.unwrap();
    smol.shutdown().await.unwrap();
    let mut request = Vec::new();
    ours.read_to_end(&mut request).await.unwrap();
    assert_eq!(request, b"request");
    assert_eq!(ours.info().unwrap().state, State::CloseWait);
    sleep(Duration::from_millis(250)).await; // our delayed ACK of smoltcp's FIN, if any
    assert_eq!(smol.state(), SmolState::FinWait2);

    let pattern = Pattern::new(6);
    let our_side = async {
        write_slowly(&mut ours, &pattern).await;
        ours.shutdown().await.unwrap();
    };
    let (_, received) = tokio::join!(our_side, pattern.read_and_check(&mut smol));
    assert_eq!(received.unwrap(), 102_400);
    let err = smol.write_all(b"more").await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
}

both_roles!(
    /// We close first: FIN-WAIT, then TIME-WAIT for 2 × MSL once smoltcp closes too; smoltcp
    /// goes through CLOSE-WAIT and LAST-ACK to CLOSED; then neither has a connection left.
    ours_closes_first
);
async fn ours_closes_first(medium: Medium, role: Role) {
    let net = Net::new(medium);
    let (mut ours, mut smol) = net.connect(role).await;
    ours.write_all(b"bye").await.unwrap();
    drop(ours); // close: FIN after the data
    let mut got = Vec::new();
    smol.read_to_end(&mut got).await.unwrap();
    assert_eq!(got, b"bye");
    assert_eq!(smol.state(), SmolState::CloseWait);
    smol.shutdown().await.unwrap();
    smol.closed().await;
    // The ACK of smoltcp's FIN left as smoltcp's FIN came: we are in TIME-WAIT.
    assert_eq!(net.our_states(), [State::TimeWait]);
    sleep(2 * MSL - Duration::from_millis(100)).await;
    assert_eq!(
        net.our_states(),
        [State::TimeWait],
        "TIME-WAIT lasts 2 × MSL"
    );
    sleep(Duration::from_millis(200)).await;
    assert_eq!(net.our_states(), [], "TIME-WAIT over");
    drop(smol);
    sleep(Duration::from_millis(10)).await;
    assert_eq!(net.smol.tcp_states(), []);
}

both_roles!(
    /// smoltcp closes first: it goes through TIME-WAIT (10 s in smoltcp); we go through
    /// CLOSE-WAIT and LAST-ACK and forget the connection once our FIN is acknowledged.
    smol_closes_first
);
async fn smol_closes_first(medium: Medium, role: Role) {
    let net = Net::new(medium);
    let (mut ours, mut smol) = net.connect(role).await;
    smol.write_all(b"bye").await.unwrap();
    smol.shutdown().await.unwrap();
    let mut got = Vec::new();
    ours.read_to_end(&mut got).await.unwrap();
    assert_eq!(got, b"bye");
    assert_eq!(ours.info().unwrap().state, State::CloseWait);
    drop(ours); // our FIN: LAST-ACK until smoltcp acknowledges it
    sleep(Duration::from_millis(50)).await;
    assert_eq!(net.our_states(), [], "LAST-ACK over");
    assert_eq!(smol.state(), SmolState::TimeWait);
    let mut rest = Vec::new();
    assert_eq!(
        smol.read_to_end(&mut rest).await.unwrap(),
        0,
        "our FIN was read"
    );
    smol.closed().await;
    drop(smol);
    sleep(Duration::from_millis(10)).await;
    assert_eq!(net.smol.tcp_states(), []);
}

both_media!(
    /// Our connect to a smoltcp port nobody listens on: smoltcp answers the SYN with a reset,
    /// and connect fails with ConnectionRefused.
    our_connect_to_a_closed_smoltcp_port_is_refused
);
async fn our_connect_to_a_closed_smoltcp_port_is_refused(medium: Medium) {
    timeout(LIMIT, async {
        let net = Net::new(medium);
        let err = TcpStream::connect(&net.ours, (SMOL, 9)).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        assert_eq!(net.our_states(), []);
    })
    .await
    .unwrap();
}

both_media!(
    /// smoltcp's connect to a port of ours nobody listens on: we answer with a reset, and its
    /// socket goes from SYN-SENT to CLOSED.
    smoltcp_connect_to_our_closed_port_is_reset
);
async fn smoltcp_connect_to_our_closed_port_is_reset(medium: Medium) {
    timeout(LIMIT, async {
        let net = Net::new(medium);
        let err = SmolStream::connect(&net.smol, SocketAddrV4::new(OURS, 9))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        assert_eq!(net.ours.stats().tcp.sent, 1, "one segment: the reset");
    })
    .await
    .unwrap();
}

both_roles!(
    /// We abort: smoltcp's next read fails with ConnectionReset.
    ours_aborts
);
async fn ours_aborts(medium: Medium, role: Role) {
    let net = Net::new(medium);
    let (ours, mut smol) = net.connect(role).await;
    ours.abort();
    let mut buf = [0; 16];
    let err = smol.read(&mut buf).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    assert_eq!(smol.state(), SmolState::Closed);
    assert_eq!(net.our_states(), []);
}

both_roles!(
    /// smoltcp aborts: our next read fails with ConnectionReset.
    smol_aborts
);
async fn smol_aborts(medium: Medium, role: Role) {
    let net = Net::new(medium);
    let (mut ours, smol) = net.connect(role).await;
    smol.abort();
    let mut buf = [0; 16];
    let err = ours.read(&mut buf).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    sleep(Duration::from_millis(10)).await;
    assert_eq!(net.smol.tcp_states(), []);
}

/// How long the transfers over a congested wire may take, in virtual time: every loss may
/// cost a retransmission timeout.
const CONGESTED_LIMIT: Duration = Duration::from_secs(300);

both_media!(
    /// 1 MiB from us to smoltcp over a wire that holds 16 packets: our slow start overruns the
    /// queue, and retransmissions repair the stream.
    ours_to_smol_over_a_congested_wire
);
async fn ours_to_smol_over_a_congested_wire(medium: Medium) {
    timeout(CONGESTED_LIMIT, async {
        let net = Net::congested(medium, 16);
        let (mut ours, mut smol) = net.connect(Role::OursClient).await;
        let pattern = Pattern::new(9);
        let send = async {
            pattern.write_to(&mut ours, 1 << 20).await.unwrap();
            ours.shutdown().await.unwrap();
        };
        let (_, received) = tokio::join!(send, pattern.read_and_check(&mut smol));
        assert_eq!(received.unwrap(), 1 << 20);
        assert!(
            ours.info().unwrap().stats.retransmissions > 0,
            "the queue overflowed"
        );
    })
    .await
    .unwrap();
}

both_media!(
    /// 1 MiB from smoltcp to us over a wire that holds 64 packets: smoltcp (no congestion
    /// control) sends its whole window at once, the wire drops the tail, and segments arrive
    /// after a hole.
    ///
    /// This scenario found two bugs, both fixed, each with a scripted reproducer in
    /// `tcp_scripted_peer.rs`: the stream we delivered was corrupt at offset 261,340, where the
    /// first segment after the first hole begins (our reader caught up while the segment was
    /// held: `held_segments_survive_the_reader_catching_up`); and we sent one duplicate ACK per
    /// batch of segments, not one per segment, so smoltcp never fast-retransmitted and waited
    /// for its RTO (`each_out_of_order_segment_gets_a_duplicate_ack`).
    smol_to_ours_over_a_congested_wire
);
async fn smol_to_ours_over_a_congested_wire(medium: Medium) {
    timeout(CONGESTED_LIMIT, async {
        let net = Net::congested(medium, 64);
        let (mut ours, mut smol) = net.connect(Role::SmolClient).await;
        let pattern = Pattern::new(10);
        let send = async {
            pattern.write_to(&mut smol, 1 << 20).await?;
            smol.shutdown().await
        };
        // A corrupt stream ends the test at once (the sender would wait forever).
        let (_, received) = tokio::try_join!(send, pattern.read_and_check(&mut ours)).unwrap();
        assert_eq!(received, 1 << 20);
    })
    .await
    .unwrap();
}

both_media!(
    /// One clean exchange, captured on our side of the wire: handshake, 1 MiB each way, close.
    /// tshark must find nothing malformed, no bad checksum, and nothing its TCP analysis
    /// flags; on Ethernet, the capture's frames are Ethernet frames, and it shows our question
    /// for smoltcp's address and its answer.
    a_clean_exchange_has_a_clean_capture
);
async fn a_clean_exchange_has_a_clean_capture(medium: Medium) {
    if !tshark_available() {
        return;
    }
    let file = TempFile::new("smoltcp-clean");
    timeout(LIMIT, async {
        let (a, b) = wire(medium);
        let capture = Capture::create(a, file.path(), "mem0")
            .unwrap()
            .with_epoch(Duration::from_secs(1_700_000_000));
        let net = Net::on(capture, b);
        let (ours, smol) = net.connect(Role::OursClient).await;
        let (to_smol, to_ours) = (Pattern::new(7), Pattern::new(8));
        let (mut our_read, mut our_write) = ours.into_split();
        let (mut smol_read, mut smol_write) = tokio::io::split(smol);
        let ours_sends = async {
            to_smol.write_to(&mut our_write, 1 << 20).await.unwrap();
            our_write.shutdown().await.unwrap();
        };
        let smol_sends = async {
            to_ours.write_to(&mut smol_write, 1 << 20).await.unwrap();
            smol_write.shutdown().await.unwrap();
        };
        let (_, _, at_smol, at_ours) = tokio::join!(
            ours_sends,
            smol_sends,
            to_smol.read_and_check(&mut smol_read),
            to_ours.read_and_check(&mut our_read),
        );
        assert_eq!((at_smol.unwrap(), at_ours.unwrap()), (1 << 20, 1 << 20));
        drop((our_read, our_write, smol_read, smol_write));
        // Both sides closed: let the last ACKs and our TIME-WAIT pass, then stop the stacks.
        sleep(3 * MSL).await;
        assert_eq!(net.our_states(), []);
    })
    .await
    .unwrap();
    // The capture writes each packet as it passes, unbuffered: the file is complete.
    let frames = tshark_check_fields(file.path(), CAPTURE_FIELDS);
    assert!(frames.len() > 100, "{} frames", frames.len());
    check_link_layer(medium, &frames);
    let trouble = tshark_filter(file.path(), TCP_TROUBLE).unwrap();
    assert!(
        trouble.is_empty(),
        "tshark's TCP analysis flags {} frame(s):\n{}",
        trouble.len(),
        trouble
            .iter()
            .map(|f| format!("  #{} {}", f.number(), f.get("_ws.col.Info").unwrap_or("")))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let syns = frames
        .iter()
        .filter(|f| f.num("tcp.flags").is_some_and(|flags| flags & 0x02 != 0))
        .count();
    assert_eq!(syns, 2, "one SYN each way");
}

/// What [`a_clean_exchange_has_a_clean_capture`] reads of each frame.
const CAPTURE_FIELDS: &[&str] = &[
    "frame.number",
    "frame.encap_type",
    "frame.packet_flags_direction",
    "frame.len",
    "eth.src",
    "eth.dst",
    "arp.opcode",
    "arp.src.proto_ipv4",
    "arp.dst.proto_ipv4",
    "tcp.flags",
    "_ws.col.Info",
];

/// The capture's link layer: raw IP packets (Wireshark's encapsulation 7, `WTAP_ENCAP_RAW_IP`,
/// for LINKTYPE_RAW), or Ethernet frames (1, `WTAP_ENCAP_ETHERNET`) between the two MAC
/// addresses, with our announcement, our question for smoltcp's address and its answer as the
/// ARP packets, before the first TCP segment. Both stacks fill the 1500-byte IP MTU and no
/// more: their largest frames are 1500 bytes, and 1514 with the Ethernet header.
fn check_link_layer(medium: Medium, frames: &[tunstack_tests::Frame]) {
    let encap = match medium {
        Medium::Ip => "7",
        Medium::Ethernet => "1",
    };
    assert!(frames
        .iter()
        .all(|f| f.get("frame.encap_type") == Some(encap)));
    for direction in [Direction::Outbound, Direction::Inbound] {
        let largest = frames
            .iter()
            .filter(|f| f.direction() == Some(direction))
            .filter_map(|f| f.num("frame.len"))
            .max();
        let expected = 1500 + medium.header_len() as u64;
        assert_eq!(largest, Some(expected), "{direction:?}");
    }
    let arp: Vec<_> = frames
        .iter()
        .filter(|f| f.get("arp.opcode").is_some())
        .collect();
    if medium == Medium::Ip {
        assert!(arp.is_empty());
        return;
    }
    let (our_mac, smol_mac) = (Config::mac_for(OURS), Config::mac_for(SMOL));
    let ops: Vec<_> = arp
        .iter()
        .map(|f| {
            (
                f.num("arp.opcode").unwrap(),
                f.get("arp.src.proto_ipv4").unwrap(),
                f.get("arp.dst.proto_ipv4").unwrap(),
            )
        })
        .collect();
    // Ours: the announcement (for our own address) and the question; smoltcp's answer.
    assert_eq!(
        ops,
        [
            (1, "10.0.0.1", "10.0.0.1"),
            (1, "10.0.0.1", "10.0.0.2"),
            (2, "10.0.0.2", "10.0.0.1")
        ]
    );
    let first_tcp = frames
        .iter()
        .position(|f| f.get("tcp.flags").is_some())
        .unwrap();
    assert!(arp.iter().all(|f| f.number() <= first_tcp as u64));
    for frame in frames.iter().filter(|f| f.get("tcp.flags").is_some()) {
        let (src, dst) = (frame.get("eth.src").unwrap(), frame.get("eth.dst").unwrap());
        let pair = (src.to_string(), dst.to_string());
        assert!(
            pair == (our_mac.to_string(), smol_mac.to_string())
                || pair == (smol_mac.to_string(), our_mac.to_string()),
            "{frame:?}"
        );
    }
}

/// Keep-alive settings for the tests below: probes after 2 s of silence, then every second,
/// three of them.
const KEEPALIVE: KeepAlive = KeepAlive {
    idle: Duration::from_secs(2),
    interval: Duration::from_secs(1),
    probes: 3,
};

both_media!(
    /// Our keep-alive probes on an idle connection: smoltcp answers each one, and the
    /// connection stays open.
    smoltcp_answers_our_keepalive_probes
);
async fn smoltcp_answers_our_keepalive_probes(medium: Medium) {
    let net = Net::new(medium);
    let (ours, smol) = net.connect(Role::OursClient).await;
    ours.set_keepalive(Some(KEEPALIVE)).unwrap();
    sleep(Duration::from_secs(11)).await;
    let info = ours.info().unwrap();
    // Idle 2 s, probe, answer at once: a probe every 2 s.
    assert_eq!(info.stats.keepalive_probes, 5);
    assert_eq!(info.state, State::Established);
    assert_eq!(smol.state(), SmolState::Established);
}

both_media!(
    /// The same, but smoltcp's answers (pure ACKs) are lost, as if its host had gone: after
    /// three unanswered probes our read fails with TimedOut.
    unanswered_keepalive_probes_time_out
);
async fn unanswered_keepalive_probes_time_out(medium: Medium) {
    let (a, b) = wire(medium);
    let no_acks = ImpairConfig::inbound_only(Impairments {
        script: vec![Rule::every(Match::TcpPureAck)],
        ..Impairments::default()
    });
    let net = Net::on(Impair::new(a, no_acks).unwrap(), b);
    let (mut ours, _smol) = net.connect(Role::OursClient).await;
    ours.set_keepalive(Some(KEEPALIVE)).unwrap();
    let started = tokio::time::Instant::now();
    let mut buf = [0; 16];
    let err = timeout(LIMIT, ours.read(&mut buf))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    // 2 s idle, probes at 2, 3 and 4 s, given up at 5 s.
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(5) && waited < Duration::from_millis(5100),
        "{waited:?}"
    );
}
