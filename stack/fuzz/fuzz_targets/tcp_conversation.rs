//! TCP connections with a fuzzed peer: a host at 10.77.0.2/24 listens on port 80 (a SYN queue
//! of 4, so SYN cookies take over from the fifth handshake on) and opens a connection of its
//! own to 10.77.0.9:8080. The input plays the peers and the application.
//!
//! Random bytes would never complete a handshake, so the peers keep track of what the host
//! sent them: a segment's sequence and acknowledgment numbers are chosen relative to that (the
//! host's last ACK, the end of what it sent, the peer's own next number), its timestamp echoes
//! the host's, and so handshakes complete, cookies come back valid, windows fill and close,
//! and the input still reaches every odd number around them. There are eight peers:
//!
//! ```text
//! peer 0-5   clients 10.77.0.20-25, ports 40000-40005, of the listener on port 80
//! peer 6, 7  servers 10.77.0.9:8080 and :8081, for the host's own connections
//! ```
//!
//! The input's first byte chooses how the host sends: with its lowest bit set, TCP sends
//! trains of whole segments (`Host::set_trains`), which the target cuts with
//! `offload::segment` as the driver cuts them, and checks segment by segment; otherwise one
//! segment per packet.
//!
//! The rest is a list of records; the first byte says what and to whom (`op >> 3` picks the
//! action, modulo the number of actions; `op & 7` the peer, or the application's socket). A
//! record cut short reads zeros.
//!
//! ```text
//! SEG      flags modes delta:u16be len window extra opts
//!          a segment from the peer: any TCP flags (FIN 01, SYN 02, RST 04, PSH 08, ACK 10,
//!          URG 20); modes bits 0-2 the sequence number, 3-4 the ACK number (see `seq_for`
//!          and `ack_for`), bit 5 a timestamp, bit 6 an older one (PAWS), bit 7 a SACK block;
//!          len*8 bytes of data; window [w, w]; extra: the urgent pointer (x 8), or in a SYN
//!          the MSS (x 8); opts, in a SYN: bit 0 MSS, 1 window scale (shift: bits 4-7), 2 SACK;
//!          otherwise bit 0: the ACK number is the host's ISN + 1 + delta*4
//! SYN      opts               a SYN with a timestamp (opts as above, 0: the usual four options)
//! ACK      -                  an ACK of all the host sent, at the peer's next number
//! DATA     len                len*8 bytes, PSH and ACK
//! FIN      -                  FIN and ACK
//! RST      how                a RST: 0 exact, 1 in the window, 2 with ACK at the ACK number...
//! RAW      len fix bytes[len] a segment from these bytes; the ports and checksum made right,
//!                             fix bit 0: our next sequence number, 1: ACK all, 2: data pattern
//! TIME     unit amount        time passes: ms, 10 ms, s, min, h, days, to the next deadline
//! ACCEPT   -                  the application accepts on port 80
//! READ     n                  reads up to n*16 bytes from socket `op & 7`
//! WRITE    n                  writes n*64 bytes
//! URGENT   n                  writes n*4 bytes as urgent data
//! SHUTDOWN / RELEASE / ABORT  on socket `op & 7`
//! CONNECT  -                  a new connection to peer 6 or 7
//! LISTEN   -                  closes the listener, or opens it again
//! OPTION   what               nodelay, delayed ACK, keep-alive, user timeout, congestion
//! QUERY    -                  the urgent mark, poll_urgent, poll_established
//! ```
//!
//! Each packet the host sends is parsed with the stack's own parsers and checked: a whole IPv4
//! packet within the MTU, from us, with right checksums, TCP only, to one of the peers; data
//! no larger than the peer's MSS allows, and the very bytes the application wrote, at their
//! place in its stream; an acknowledgment number inside a segment the peer really sent (the
//! host never acknowledges what it never received). The application checks that it reads the
//! peer's bytes in order, nothing after the end, and that, once the host has sent all it had,
//! its next deadline is in the future.
//!
//! Set `TUNSTACK_FUZZ_LOG=1` (and `RUST_LOG=tunstack=debug`) to see the stack's trace when
//! replaying an input.
#![no_main]

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tunstack::device::offload::{self, PacketInfo};
use tunstack::ip::header::{self as ip, IpProtocol};
use tunstack::tcp::header::{self as tcp_header, Repr};
use tunstack::tcp::{
    Algorithm, ConnId, Flags, KeepAlive, SackBlock, SackBlocks, SeqNumber, Timestamps,
};
use tunstack::time::Instant;
use tunstack::{Config, Host, Ipv4Cidr};

const US: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
const LISTEN_PORT: u16 = 80;
const SERVER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 9);
const CLIENTS: usize = 6;
/// Our MSS on a 1500-byte link.
const OUR_MSS: usize = 1460;
/// The MSS a peer is taken to have without the option, and the smallest a SYN cookie says.
const DEFAULT_MSS: usize = 536;
/// The most sockets the application holds.
const MAX_SOCKETS: usize = 8;
/// More packets than this at one instant: the host is looping.
const MAX_BURST: usize = 20_000;
/// How many rounds of timers, a microsecond apart, the host may take to catch up with its
/// deadlines: one. Every timer, run once, sets its next deadline in the future (keep-alive
/// probes once fell behind a late caller and went back to back).
const CATCH_UP: usize = 1;

fuzz_target!(|data: &[u8]| {
    // The first byte's lowest bit: TCP sends trains, cut as the driver cuts them.
    let Some((&settings, records)) = data.split_first() else {
        return;
    };
    // Before the conversation, so that its trace shows (a panic ends it early).
    let log = logging();
    let mut conversation = Conversation::new(settings & 1 != 0);
    conversation.run(records);
    if log {
        eprintln!(
            "tcp_conversation: {:?}",
            conversation.host.stats().handshakes
        );
    }
});

/// Whether `TUNSTACK_FUZZ_LOG` is set: then the stack's trace goes to stderr (filtered by
/// `RUST_LOG`), and each input ends with the host's handshake counters.
fn logging() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        let on = std::env::var_os("TUNSTACK_FUZZ_LOG").is_some();
        if on {
            tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .with_writer(std::io::stderr)
                .init();
        }
        on
    })
}

/// The input, read a byte at a time; zeros past its end.
struct Input<'a> {
    bytes: &'a [u8],
}

impl Input<'_> {
    fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn u8(&mut self) -> u8 {
        match self.bytes.split_first() {
            Some((&b, rest)) => {
                self.bytes = rest;
                b
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    fn take(&mut self, n: usize) -> &[u8] {
        let (taken, rest) = self.bytes.split_at(n.min(self.bytes.len()));
        self.bytes = rest;
        taken
    }
}

/// What one peer knows of its conversation with the host.
#[derive(Debug)]
struct Peer {
    remote: SocketAddrV4,
    /// The host's port: 80 for clients, learned from the host's SYN for servers (0 before).
    local_port: u16,
    /// The peer's own next sequence number.
    snd_nxt: u32,
    /// Added to the clock for the peer's timestamps.
    ts_offset: u32,
    /// The end of what the host sent (sequence number plus length, the furthest seen).
    host_nxt: Option<u32>,
    /// The host's last acknowledgment number: what it expects next.
    host_ack: Option<u32>,
    /// The host's last TSval, to echo.
    host_ts: Option<u32>,
    /// The last acknowledgment number the peer sent.
    acked: Option<u32>,
    /// The largest MSS the peer announced in a SYN (536 for a SYN without one).
    mss_max: usize,
    /// Every segment the peer sent that parses: its sequence range, SYN and FIN included.
    sent: Vec<(u32, u32)>,
    /// The host's ISNs towards this peer (its SYNs and SYN-ACKs).
    host_isns: Vec<u32>,
}

/// A socket the application holds, and what it has read and written.
#[derive(Debug)]
struct Socket {
    id: ConnId,
    peer: usize,
    /// The byte the next read must start with (the peer's bytes count up).
    next_byte: Option<u8>,
    /// A read returned the end of the stream.
    eof: bool,
    /// Bytes written so far: byte k of the stream is `k as u8`.
    written: u64,
}

struct Conversation {
    host: Host,
    now: Instant,
    peers: Vec<Peer>,
    sockets: Vec<Socket>,
    listening: bool,
    /// Bytes the application ever wrote towards each peer (over all its connections).
    written_to: [u64; 8],
    out: Vec<u8>,
    ident: u16,
    mtu: usize,
}

impl Conversation {
    fn new(trains: bool) -> Conversation {
        let mut config = Config::new(Ipv4Cidr::new(US, 24).expect("a /24"));
        config.seed = Some(0x7457_0a4d_0003);
        config.tcp.syn_queue = 4;
        config.tcp.backlog = 4;
        // Room for more than 64 KiB of urgent data ahead of a segment (a pointer of 65535).
        config.tcp.send_buffer = 96 * 1024;
        // A small window, so that it fills and closes.
        config.tcp.recv_buffer = 8 * 1024;
        config.tcp.time_wait_max = 4;
        // A host budget of 2 to 6 challenge ACKs a second, which eight peers can spend.
        config.tcp.challenge_ack_limit.per_second = 4;
        let mtu = config.mtu;
        let mut peers = Vec::new();
        for i in 0..8u16 {
            let (remote, local_port) = if usize::from(i) < CLIENTS {
                let addr = Ipv4Addr::new(10, 77, 0, 20 + i as u8);
                (SocketAddrV4::new(addr, 40000 + i), LISTEN_PORT)
            } else {
                (SocketAddrV4::new(SERVER, 8080 + i - CLIENTS as u16), 0)
            };
            peers.push(Peer {
                remote,
                local_port,
                // Peer 3 starts just below 2^32, so its numbers wrap early on.
                snd_nxt: if i == 3 {
                    0xffff_ff00
                } else {
                    u32::from(i + 1) << 28
                },
                ts_offset: u32::from(i) * 0x1000_0000 + 7,
                host_nxt: None,
                host_ack: None,
                host_ts: None,
                acked: None,
                mss_max: 0,
                sent: Vec::new(),
                host_isns: Vec::new(),
            });
        }
        let mut host = Host::new(config);
        host.set_trains(trains);
        let mut conversation = Conversation {
            host,
            now: Instant::ZERO,
            peers,
            sockets: Vec::new(),
            listening: false,
            written_to: [0; 8],
            out: Vec::new(),
            ident: 0,
            mtu,
        };
        conversation.listen();
        conversation.connect(CLIENTS);
        conversation.drain();
        conversation
    }

    fn run(&mut self, data: &[u8]) {
        let mut input = Input { bytes: data };
        while !input.is_empty() {
            let op = input.u8();
            let who = usize::from(op & 7);
            match (op >> 3) % 17 {
                0 => {
                    let flags = Flags::from_bits_truncate(u16::from(input.u8() & 0x3f));
                    let seg = SegmentSpec::read(flags, &mut input);
                    self.send(who, seg);
                }
                1 => {
                    let opts = match input.u8() {
                        0 => 0xf7, // MSS, window scale 15 (clamped to 14), SACK
                        opts => opts,
                    };
                    let mut seg = SegmentSpec::new(Flags::SYN);
                    seg.opts = opts;
                    seg.extra = 182; // MSS 1456
                    self.send(who, seg);
                }
                2 => self.send(who, SegmentSpec::new(Flags::ACK)),
                3 => {
                    let mut seg = SegmentSpec::new(Flags::ACK | Flags::PSH);
                    seg.len = input.u8();
                    self.send(who, seg);
                }
                4 => self.send(who, SegmentSpec::new(Flags::FIN | Flags::ACK)),
                5 => {
                    let how = input.u8();
                    let mut seg = SegmentSpec::new(Flags::RST);
                    seg.modes = match how % 4 {
                        0 => 0b0010_0001, // at the host's ACK number
                        1 => 0b0010_0011, // in the window, not exact
                        2 => 0b0010_0000, // at the peer's own next number
                        _ => 0b0010_0111, // a wild number
                    };
                    seg.delta = u16::from(how >> 2) + 1;
                    if how & 0x80 != 0 {
                        seg.flags |= Flags::ACK;
                    }
                    self.send(who, seg);
                }
                6 => {
                    let len = usize::from(input.u8());
                    let fix = input.u8();
                    let bytes = input.take(len).to_vec();
                    self.send_raw(who, fix, &bytes);
                }
                7 => {
                    let unit = input.u8();
                    let amount = input.u8();
                    self.pass_time(unit, amount);
                }
                8 => self.accept(),
                9 => {
                    let n = usize::from(input.u8()) * 16;
                    self.read(who, n);
                }
                10 => {
                    let n = usize::from(input.u8()) * 64;
                    self.write(who, n, false);
                }
                11 => {
                    let n = usize::from(input.u8()) * 4;
                    self.write(who, n, true);
                }
                12 => {
                    if let Some(socket) = self.socket(who) {
                        let _ = self.host.tcp_shutdown(socket.id);
                    }
                }
                13 => {
                    if let Some(socket) = self.take_socket(who) {
                        self.host.tcp_release(socket.id);
                    }
                }
                14 => {
                    if let Some(socket) = self.take_socket(who) {
                        self.host.tcp_abort(socket.id);
                    }
                }
                15 => match who {
                    0 => self.connect(CLIENTS),
                    1 => self.connect(CLIENTS + 1),
                    2 if self.listening => {
                        self.host.tcp_unlisten(LISTEN_PORT);
                        self.listening = false;
                    }
                    2 => self.listen(),
                    _ => self.query(who),
                },
                _ => {
                    let what = input.u8();
                    self.set_option(who, what);
                }
            }
            self.drain();
        }
    }

    // ----- the peers -----

    /// The segment `seg` from peer `who`, numbered from what the peer knows.
    fn send(&mut self, who: usize, seg: SegmentSpec) {
        let now_ms = self.now.total_millis() as u32;
        let peer = &self.peers[who];
        if peer.local_port == 0 {
            return; // a server the host has not called yet
        }
        let seq = seg.seq_for(peer);
        let ack = seg.ack_for(peer);
        let syn = seg.flags.syn();
        let mut repr = Repr {
            src_port: peer.remote.port(),
            dst_port: peer.local_port,
            seq: SeqNumber(seq),
            ack: SeqNumber(if seg.flags.ack() { ack } else { 0 }),
            flags: seg.flags,
            window: u16::from_be_bytes([seg.window, seg.window]),
            urgent: if syn { 0 } else { u16::from(seg.extra) * 8 },
            mss: None,
            window_scale: None,
            sack_permitted: false,
            sack_blocks: SackBlocks::new(),
            timestamps: None,
            payload_len: usize::from(seg.len) * 8,
        };
        if syn {
            if seg.opts & 1 != 0 {
                repr.mss = Some(u16::from(seg.extra) * 8);
            }
            if seg.opts & 2 != 0 {
                repr.window_scale = Some(seg.opts >> 4);
            }
            repr.sack_permitted = seg.opts & 4 != 0;
        }
        if seg.modes & 0x20 != 0 {
            let clock = now_ms.wrapping_add(peer.ts_offset);
            let value = if seg.modes & 0x40 != 0 {
                clock.wrapping_sub(u32::from(seg.delta) * 1000 + 1)
            } else {
                clock
            };
            let echo = if seg.flags.ack() {
                peer.host_ts.unwrap_or(0)
            } else {
                0
            };
            repr.timestamps = Some(Timestamps { value, echo });
        }
        if seg.modes & 0x80 != 0 && !syn {
            repr.sack_blocks = sack_blocks(peer, ack, seg.delta);
        }
        let mut segment = vec![0; repr.buffer_len()];
        let data_start = seq.wrapping_add(u32::from(syn));
        fill_pattern(&mut segment[repr.header_len()..], data_start);
        let remote_ip = *peer.remote.ip();
        repr.emit(&mut segment, remote_ip, US);
        self.deliver(who, segment, seg.acks_all());
    }

    /// A segment from `bytes`, with peer `who`'s ports and a right checksum.
    fn send_raw(&mut self, who: usize, fix: u8, bytes: &[u8]) {
        let peer = &self.peers[who];
        if peer.local_port == 0 {
            return;
        }
        let mut segment = bytes.to_vec();
        if segment.len() < tcp_header::HEADER_LEN {
            segment.resize(tcp_header::HEADER_LEN, 0);
        }
        let header_len = usize::from(segment[12] >> 4) * 4;
        if header_len < tcp_header::HEADER_LEN || header_len > segment.len() {
            segment[12] = (segment[12] & 0x0f) | 0x50;
        }
        let mut packet = tcp_header::Packet::new_unchecked(&mut segment[..]);
        packet.set_src_port(peer.remote.port());
        packet.set_dst_port(peer.local_port);
        if fix & 1 != 0 {
            packet.set_seq_number(SeqNumber(peer.snd_nxt));
        }
        if fix & 2 != 0 {
            packet.set_ack_number(SeqNumber(peer.host_nxt.unwrap_or(0)));
        }
        if fix & 4 != 0 {
            let start = packet
                .seq_number()
                .0
                .wrapping_add(u32::from(packet.flags().syn()));
            fill_pattern(packet.payload_mut(), start);
        }
        let remote_ip = *peer.remote.ip();
        packet.fill_checksum(remote_ip, US);
        self.deliver(who, segment, fix & 2 != 0);
    }

    /// Wraps `segment` in IPv4 and hands it to the host; notes what the peer sent.
    fn deliver(&mut self, who: usize, segment: Vec<u8>, acks_all: bool) {
        let peer = &mut self.peers[who];
        let remote_ip = *peer.remote.ip();
        if let Ok(packet) = tcp_header::Packet::new_checked(&segment[..]) {
            if let Ok(repr) = Repr::parse(&packet, remote_ip, US) {
                peer.note_sent(&repr, acks_all);
            }
        }
        self.ident = self.ident.wrapping_add(1);
        let header = ip::Repr {
            src_addr: remote_ip,
            dst_addr: US,
            protocol: IpProtocol::Tcp,
            ttl: 64,
            tos: 0,
            ident: self.ident,
            dont_fragment: true,
            more_fragments: false,
            fragment_offset: 0,
            payload_len: segment.len(),
        };
        let mut packet = vec![0; header.total_len()];
        header.emit(&mut packet);
        packet[ip::HEADER_LEN..].copy_from_slice(&segment);
        self.host.receive(self.now, &packet);
    }

    // ----- time -----

    fn pass_time(&mut self, unit: u8, amount: u8) {
        let amount = u64::from(amount);
        let step = match unit % 8 {
            0 => Duration::from_millis(amount),
            1 => Duration::from_millis(amount * 10),
            2 => Duration::from_secs(amount),
            3 => Duration::from_secs(amount * 60),
            4 => Duration::from_secs(amount * 3600),
            5 => Duration::from_secs(amount * 86_400),
            6 => {
                // To the next deadline, and a little past it.
                if let Some(at) = self.host.poll_at() {
                    self.now = self.now.max(at);
                }
                Duration::from_millis(amount % 8)
            }
            _ => {
                // From deadline to deadline: retransmissions, SYN-ACK retries, probes.
                for _ in 0..=amount % 16 {
                    let Some(at) = self.host.poll_at() else { break };
                    self.now = self.now.max(at);
                    self.drain();
                }
                Duration::ZERO
            }
        };
        self.now += step;
    }

    // ----- the application -----

    fn listen(&mut self) {
        let addr = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, LISTEN_PORT);
        let port = self.host.tcp_listen(addr, None).expect("port 80 is free");
        assert_eq!(port, LISTEN_PORT);
        self.listening = true;
    }

    fn connect(&mut self, peer: usize) {
        if self.sockets.len() >= MAX_SOCKETS {
            return;
        }
        let remote = self.peers[peer].remote;
        if let Ok(id) = self.host.tcp_connect(self.now, remote) {
            self.sockets.push(Socket::new(id, peer));
        }
    }

    fn accept(&mut self) {
        if self.sockets.len() >= MAX_SOCKETS {
            return;
        }
        let mut cx = Context::from_waker(Waker::noop());
        match self.host.tcp_poll_accept(&mut cx, LISTEN_PORT) {
            Poll::Ready(Ok((id, remote))) => {
                let peer = self
                    .peers
                    .iter()
                    .position(|p| SocketAddr::V4(p.remote) == remote)
                    .unwrap_or_else(|| {
                        panic!("accepted a connection from {remote}, no peer of ours")
                    });
                assert!(peer < CLIENTS, "accepted from server {remote}");
                self.sockets.push(Socket::new(id, peer));
            }
            Poll::Ready(Err(_)) => assert!(!self.listening, "accept failed on an open listener"),
            Poll::Pending => {}
        }
    }

    fn socket(&self, index: usize) -> Option<&Socket> {
        match self.sockets.len() {
            0 => None,
            n => self.sockets.get(index % n),
        }
    }

    fn take_socket(&mut self, index: usize) -> Option<Socket> {
        match self.sockets.len() {
            0 => None,
            n => Some(self.sockets.swap_remove(index % n)),
        }
    }

    fn read(&mut self, index: usize, n: usize) {
        let Some(len) = std::num::NonZeroUsize::new(self.sockets.len()) else {
            return;
        };
        let socket = &mut self.sockets[index % len];
        let mut buf = vec![0; n.max(1)];
        let mut cx = Context::from_waker(Waker::noop());
        if let Poll::Ready(Ok(got)) = self.host.tcp_poll_read(&mut cx, socket.id, &mut buf) {
            assert!(got <= buf.len(), "read {got} bytes into {}", buf.len());
            if got == 0 {
                socket.eof = true;
                return;
            }
            assert!(!socket.eof, "{got} bytes read after the end of the stream");
            for &b in &buf[..got] {
                if let Some(expected) = socket.next_byte {
                    assert_eq!(
                        b,
                        expected,
                        "the peer's bytes out of order: {:?}",
                        &buf[..got]
                    );
                }
                socket.next_byte = Some(b.wrapping_add(1));
            }
        }
    }

    fn write(&mut self, index: usize, n: usize, urgent: bool) {
        let Some(len) = std::num::NonZeroUsize::new(self.sockets.len()) else {
            return;
        };
        let socket = &mut self.sockets[index % len];
        let data: Vec<u8> = (0..n as u64).map(|k| (socket.written + k) as u8).collect();
        let mut cx = Context::from_waker(Waker::noop());
        let written = if urgent {
            self.host.tcp_poll_send_urgent(&mut cx, socket.id, &data)
        } else {
            self.host.tcp_poll_write(&mut cx, socket.id, &data)
        };
        if let Poll::Ready(Ok(took)) = written {
            assert!(took <= data.len(), "wrote {took} of {} bytes", data.len());
            socket.written += took as u64;
            self.written_to[socket.peer] += took as u64;
        }
    }

    fn query(&mut self, index: usize) {
        let Some(socket) = self.socket(index) else {
            return;
        };
        let id = socket.id;
        let mut cx = Context::from_waker(Waker::noop());
        let mark = self.host.tcp_urgent_mark(id);
        if let Poll::Ready(Ok(ahead)) = self.host.tcp_poll_urgent(&mut cx, id) {
            if let Ok(mark) = mark {
                assert_eq!(ahead, mark, "poll_urgent and urgent_mark disagree");
            }
        }
        let _ = self.host.tcp_poll_established(&mut cx, id);
        let _ = self.host.tcp_info(id);
    }

    fn set_option(&mut self, index: usize, what: u8) {
        let Some(socket) = self.socket(index) else {
            return;
        };
        let id = socket.id;
        let _ = match what % 6 {
            0 => self.host.tcp_set_nodelay(id, what & 0x80 != 0),
            1 => {
                let delay =
                    (what & 0x80 == 0).then(|| Duration::from_millis(u64::from(what >> 3) * 10));
                self.host.tcp_set_delayed_ack(id, delay)
            }
            2 => {
                let keepalive = (what & 0x80 == 0).then_some(KeepAlive {
                    idle: Duration::from_secs(u64::from(what >> 3) + 1),
                    interval: Duration::from_secs(1),
                    probes: 3,
                });
                self.host.tcp_set_keepalive(id, keepalive)
            }
            3 => {
                let timeout =
                    (what & 0x80 == 0).then(|| Duration::from_secs(u64::from(what >> 3) + 1));
                self.host.tcp_set_user_timeout(id, timeout)
            }
            4 => self.host.tcp_set_congestion(
                id,
                if what & 0x80 != 0 {
                    Algorithm::NewReno
                } else {
                    Algorithm::Cubic
                },
            ),
            _ => {
                let _ = self.host.tcp_nodelay(id);
                let _ = self.host.tcp_keepalive(id);
                self.host.tcp_user_timeout(id).map(|_| ())
            }
        };
    }

    // ----- what the host sends -----

    /// Takes every packet the host has for the link now, and checks each.
    ///
    /// The host runs its timers once per instant, so a call since then (a socket option, a
    /// read) may leave a deadline that is already due; so may a timer that counts from the
    /// past and has fallen behind (keep-alive probes after a long silence go one per call).
    /// A few microseconds later the host must have caught up, or a driver would spin.
    fn drain(&mut self) {
        self.drain_now();
        for _ in 0..CATCH_UP {
            if !self.host.poll_at().is_some_and(|at| at <= self.now) {
                return;
            }
            self.now += Duration::from_micros(1);
            self.drain_now();
        }
        if let Some(at) = self.host.poll_at() {
            assert!(
                at > self.now,
                "at {:?}, after {CATCH_UP} rounds of timers, the host's next deadline is {at:?}",
                self.now
            );
        }
    }

    fn drain_now(&mut self) {
        let mut sent = 0;
        let mut segments = Vec::new();
        while let Some(transmit) = self.host.transmit(self.now, &mut self.out) {
            sent += 1;
            assert!(sent < MAX_BURST, "the host keeps sending at {:?}", self.now);
            let packet = std::mem::take(&mut self.out);
            if transmit.info == PacketInfo::PLAIN {
                self.check_sent(&packet);
            } else {
                // A train: cut into the segments the wire carries, as the driver does.
                assert!(
                    transmit.info.gso.is_some(),
                    "only trains leave work to the device here: {:?}",
                    transmit.info
                );
                offload::segment(&packet, &transmit.info, 0, &mut segments)
                    .expect("a train the driver can cut");
                for segment in segments.drain(..) {
                    self.check_sent(&segment);
                }
            }
            self.out = packet;
        }
    }

    fn check_sent(&mut self, bytes: &[u8]) {
        assert!(
            bytes.len() <= self.mtu,
            "sent {} bytes over MTU {}",
            bytes.len(),
            self.mtu
        );
        let packet = ip::Packet::new_checked(bytes).expect("we send whole IPv4 packets");
        let header = ip::Repr::parse(&packet).expect("with a right checksum");
        assert_eq!(header.src_addr, US);
        assert_eq!(packet.total_len() as usize, bytes.len(), "no padding");
        assert_eq!(header.protocol, IpProtocol::Tcp, "only TCP is spoken here");
        let segment = tcp_header::Packet::new_checked(packet.payload()).expect("a whole segment");
        let repr = Repr::parse(&segment, US, header.dst_addr).expect("a right TCP checksum");
        let remote = SocketAddrV4::new(header.dst_addr, repr.dst_port);
        let who = self
            .peers
            .iter()
            .position(|p| p.remote == remote)
            .unwrap_or_else(|| panic!("sent to {remote}, who is no peer: {repr:?}"));
        let peer = &mut self.peers[who];
        if who < CLIENTS {
            assert_eq!(
                repr.src_port, LISTEN_PORT,
                "to a client from port {}",
                repr.src_port
            );
        } else if repr.flags.syn() {
            peer.local_port = repr.src_port;
        }
        // Data: within the peer's MSS, and what the application wrote, where it wrote it.
        let payload = segment.payload();
        if !payload.is_empty() {
            let mss = peer.mss_max.clamp(DEFAULT_MSS, OUR_MSS);
            assert!(
                payload.len() <= mss,
                "{} bytes of data to a peer whose MSS is {mss}",
                payload.len()
            );
            let start = repr.seq.0.wrapping_add(u32::from(repr.flags.syn()));
            let written = self.written_to[who];
            let matches = peer.host_isns.iter().any(|&isn| {
                let offset = start.wrapping_sub(isn).wrapping_sub(1);
                u64::from(offset) + payload.len() as u64 <= written
                    && payload
                        .iter()
                        .enumerate()
                        .all(|(j, &b)| b == offset.wrapping_add(j as u32) as u8)
            });
            assert!(
                matches,
                "data at {} ({} bytes) is not what was written ({written} bytes; ISNs {:?})",
                repr.seq.0,
                payload.len(),
                peer.host_isns
            );
        }
        // The host acknowledges only what the peer sent.
        if repr.flags.ack() {
            let ack = repr.ack.0;
            let known = peer
                .sent
                .iter()
                .any(|&(seq, end)| ack.wrapping_sub(seq) <= end.wrapping_sub(seq));
            assert!(known, "ACK {ack} inside nothing the peer sent: {repr:?}");
        }
        peer.note_received(&repr);
    }
}

impl Peer {
    /// The peer sent `repr`: remember it, and move its own numbers on.
    fn note_sent(&mut self, repr: &Repr, acks_all: bool) {
        let seq = repr.seq.0;
        let end = seq.wrapping_add(repr.segment_len() as u32);
        if repr.flags.syn() {
            self.mss_max = self.mss_max.max(repr.mss.map_or(DEFAULT_MSS, usize::from));
        }
        if repr.flags.rst() {
            return;
        }
        self.sent.push((seq, end));
        let ahead = end.wrapping_sub(self.snd_nxt);
        if repr.flags.syn() || (ahead as i32 > 0 && ahead < 1 << 20) {
            self.snd_nxt = end;
        }
        if repr.flags.ack() && acks_all {
            self.acked = Some(repr.ack.0);
        }
    }

    /// The host sent `repr` to this peer: its numbers become the peer's reference.
    fn note_received(&mut self, repr: &Repr) {
        if repr.flags.rst() {
            return;
        }
        let end = repr.seq.0.wrapping_add(repr.segment_len() as u32);
        if repr.flags.syn() {
            self.host_isns.push(repr.seq.0);
            self.host_nxt = Some(end);
        } else {
            match self.host_nxt {
                Some(nxt) if (end.wrapping_sub(nxt) as i32) <= 0 => {}
                _ => self.host_nxt = Some(end),
            }
        }
        if repr.flags.ack() {
            self.host_ack = Some(repr.ack.0);
        }
        if let Some(ts) = repr.timestamps {
            self.host_ts = Some(ts.value);
        }
    }
}

impl Socket {
    fn new(id: ConnId, peer: usize) -> Socket {
        Socket {
            id,
            peer,
            next_byte: None,
            eof: false,
            written: 0,
        }
    }
}

/// A segment a peer is to send, its numbers still relative.
#[derive(Debug, Clone, Copy)]
struct SegmentSpec {
    flags: Flags,
    modes: u8,
    delta: u16,
    len: u8,
    window: u8,
    extra: u8,
    opts: u8,
}

impl SegmentSpec {
    /// The usual segment: at the peer's next number, acknowledging all, with a timestamp,
    /// a 64 KiB window.
    fn new(flags: Flags) -> SegmentSpec {
        SegmentSpec {
            flags,
            modes: 0x20,
            delta: 0,
            len: 0,
            window: 0xff,
            extra: 0,
            opts: 0,
        }
    }

    fn read(flags: Flags, input: &mut Input<'_>) -> SegmentSpec {
        SegmentSpec {
            flags,
            modes: input.u8(),
            delta: input.u16(),
            len: input.u8(),
            window: input.u8(),
            extra: input.u8(),
            opts: input.u8(),
        }
    }

    /// Whether the ACK number is the end of all the host sent.
    fn acks_all(&self) -> bool {
        (self.modes >> 3) & 3 == 0 && (self.flags.syn() || self.opts & 1 == 0)
    }

    /// The sequence number, by `modes` bits 0-2.
    fn seq_for(&self, peer: &Peer) -> u32 {
        let next = peer.snd_nxt;
        let expected = peer.host_ack.unwrap_or(next);
        let delta = u32::from(self.delta);
        match self.modes & 7 {
            0 => next,
            1 => expected,
            2 => next.wrapping_add(delta),
            3 => expected.wrapping_add(delta),
            4 => expected.wrapping_sub(delta),
            5 => next.wrapping_sub(delta),
            6 => expected.wrapping_add(delta << 16),
            _ => delta.wrapping_mul(0x9e37_79b9),
        }
    }

    /// The acknowledgment number, by `modes` bits 3-4; outside a SYN, `opts` bit 0 counts it
    /// from the host's ISN instead (an ACK far behind).
    fn ack_for(&self, peer: &Peer) -> u32 {
        let all = peer.host_nxt.unwrap_or(0);
        let delta = u32::from(self.delta);
        if !self.flags.syn() && self.opts & 1 != 0 {
            let isn = peer.host_isns.last().copied().unwrap_or(all);
            return isn.wrapping_add(1).wrapping_add(delta * 4);
        }
        match (self.modes >> 3) & 3 {
            0 => all,
            1 => all.wrapping_sub(delta),
            2 => all.wrapping_add(delta),
            _ => peer.acked.unwrap_or(all),
        }
    }
}

/// A SACK block for the peer to send with acknowledgment `ack`: part of what the host sent
/// beyond it, or (odd `delta`) a D-SACK below it.
fn sack_blocks(peer: &Peer, ack: u32, delta: u16) -> SackBlocks {
    let mut blocks = SackBlocks::new();
    let all = peer.host_nxt.unwrap_or(ack);
    let (left, right) = if delta & 1 != 0 {
        (ack.wrapping_sub(u32::from(delta >> 1) + 1), ack)
    } else {
        match all.wrapping_sub(ack) {
            // Nothing beyond the ACK: a block of what was never sent.
            0 => (
                ack.wrapping_add(u32::from(delta)),
                ack.wrapping_add(u32::from(delta) + 100),
            ),
            span => (ack.wrapping_add(u32::from(delta) % span), all),
        }
    };
    blocks.push(SackBlock {
        left: SeqNumber(left),
        right: SeqNumber(right),
    });
    blocks
}

/// The peers' data: the byte at sequence number `s` is `s as u8`, so the application can
/// tell that it reads them in order.
fn fill_pattern(payload: &mut [u8], start: u32) {
    for (j, b) in payload.iter_mut().enumerate() {
        *b = start.wrapping_add(j as u32) as u8;
    }
}
