//! A scripted peer for TCP tests: we play the remote host segment by segment, on virtual time.
//!
//! The host under test is 10.77.0.2; the test is 10.77.0.1. `send` builds a segment as the
//! peer, hands it to the host; `recv` takes the host's next segment and parses it. Time moves
//! only when a test calls `advance`.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::device::offload::{complete_checksum, Checksum, Offloads, PacketInfo};
use crate::host::{Config, Host};
use crate::ip::checksum;
use crate::ip::header::{self as ip_header, IpProtocol};
use crate::ip::icmp::DstUnreachable;
use crate::tcp::header::{Packet, Repr};
use crate::tcp::options::{SackBlock, SackBlocks, Timestamps};
use crate::tcp::{ConnId, Flags, SeqNumber, State, TcpConfig};
use crate::time::Instant;

pub(super) const US: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
pub(super) const THEM: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
/// The peer's port.
pub(super) const PEER_PORT: u16 = 40000;
/// The peer's initial sequence number: just below 2^32, so every test crosses the wrap.
pub(super) const PEER_ISN: u32 = 0xffff_ff00;

/// A segment as the test sees it.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Seg {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: SeqNumber,
    pub ack: SeqNumber,
    pub flags: Flags,
    pub window: u16,
    /// The urgent pointer (meaningful with URG).
    pub urgent: u16,
    pub mss: Option<u16>,
    pub window_scale: Option<u8>,
    pub sack_permitted: bool,
    /// SACK blocks, as (left, right) sequence numbers.
    pub sack: Vec<(u32, u32)>,
    /// Timestamps: (value, echo).
    pub ts: Option<(u32, u32)>,
    pub payload: Vec<u8>,
    pub comment: Option<String>,
}

impl std::fmt::Debug for Seg {
    /// One line, like a capture's summary; the payload by its length only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} > {} {} seq={} ack={} win={} len={}",
            self.src_port,
            self.dst_port,
            self.flags,
            self.seq,
            self.ack,
            self.window,
            self.payload.len()
        )?;
        if self.flags.urg() {
            write!(f, " up={}", self.urgent)?;
        }
        if let Some(comment) = &self.comment {
            write!(f, " ({comment})")?;
        }
        Ok(())
    }
}

impl Seg {
    /// A segment from the peer to our `port`, with only `flags` set.
    pub fn to(port: u16, flags: Flags, seq: u32, ack: u32) -> Seg {
        Seg {
            src_port: PEER_PORT,
            dst_port: port,
            seq: SeqNumber(seq),
            ack: SeqNumber(ack),
            flags,
            window: 65535,
            urgent: 0,
            mss: None,
            window_scale: None,
            sack_permitted: false,
            sack: Vec::new(),
            ts: None,
            payload: Vec::new(),
            comment: None,
        }
    }

    /// The header this segment is sent with.
    pub fn repr(&self) -> Repr {
        let mut sack_blocks = SackBlocks::default();
        for &(left, right) in &self.sack {
            sack_blocks.push(SackBlock {
                left: SeqNumber(left),
                right: SeqNumber(right),
            });
        }
        Repr {
            src_port: self.src_port,
            dst_port: self.dst_port,
            seq: self.seq,
            ack: self.ack,
            flags: self.flags,
            window: self.window,
            urgent: self.urgent,
            mss: self.mss,
            window_scale: self.window_scale,
            sack_permitted: self.sack_permitted,
            sack_blocks,
            timestamps: self.ts.map(|(value, echo)| Timestamps { value, echo }),
            payload_len: self.payload.len(),
        }
    }

    pub fn with_sack_permitted(mut self) -> Seg {
        self.sack_permitted = true;
        self
    }

    pub fn with_sack(mut self, blocks: &[(u32, u32)]) -> Seg {
        self.sack = blocks.to_vec();
        self
    }

    pub fn with_ts(mut self, value: u32, echo: u32) -> Seg {
        self.ts = Some((value, echo));
        self
    }

    pub fn with_payload(mut self, payload: &[u8]) -> Seg {
        self.payload = payload.to_vec();
        self
    }

    /// URG set, with `pointer`: the urgent data ends `pointer` bytes after `seq`.
    pub fn with_urgent(mut self, pointer: u16) -> Seg {
        self.flags |= Flags::URG;
        self.urgent = pointer;
        self
    }

    pub fn with_window(mut self, window: u16) -> Seg {
        self.window = window;
        self
    }

    pub fn with_mss(mut self, mss: u16) -> Seg {
        self.mss = Some(mss);
        self
    }

    pub fn with_window_scale(mut self, shift: u8) -> Seg {
        self.window_scale = Some(shift);
        self
    }
}

/// The host under test and the virtual clock.
pub(super) struct Harness {
    pub host: Host,
    pub now: Instant,
}

/// An IPv4 header from `src` to `dst` for `payload_len` bytes of `protocol`.
fn ip_repr(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: IpProtocol,
    payload_len: usize,
) -> ip_header::Repr {
    ip_header::Repr {
        src_addr: src,
        dst_addr: dst,
        protocol,
        ttl: 64,
        tos: 0,
        ident: 1,
        dont_fragment: true,
        more_fragments: false,
        fragment_offset: 0,
        payload_len,
    }
}

pub(super) fn cx() -> Context<'static> {
    Context::from_waker(Waker::noop())
}

impl Harness {
    /// A host with short timers (MSL 1 s, initial RTO 1 s), every segment acknowledged at once
    /// (tests of delayed ACK switch it back on), and no SACK or timestamps unless the peer
    /// offers them.
    pub fn new() -> Harness {
        Self::with_config(|_| {})
    }

    pub fn with_config(tweak: impl FnOnce(&mut TcpConfig)) -> Harness {
        Self::on_device(Offloads::NONE, tweak)
    }

    /// A host on a device with `offloads` (TSO, checksum offload).
    pub fn on_device(offloads: Offloads, tweak: impl FnOnce(&mut TcpConfig)) -> Harness {
        let mut config = Config::new("10.77.0.2/24".parse().unwrap_or_else(|_| unreachable!()));
        config.offloads = offloads;
        config.seed = Some(7);
        config.tcp.msl = Duration::from_secs(1);
        config.tcp.delayed_ack = None;
        tweak(&mut config.tcp);
        Harness {
            host: Host::new(config),
            now: Instant::from_secs(100),
        }
    }

    /// Lets `d` pass.
    pub fn advance(&mut self, d: Duration) {
        self.now += d;
    }

    /// The peer sends `seg`.
    pub fn send(&mut self, seg: &Seg) {
        self.send_info(seg, PacketInfo::PLAIN, false);
    }

    /// The peer's device hands up `seg` saying `info` about it; `bad_checksum`: its checksum
    /// field is off by one.
    pub fn send_info(&mut self, seg: &Seg, info: PacketInfo, bad_checksum: bool) {
        let header = seg.repr();
        let tcp_len = header.buffer_len();
        let ip = ip_repr(THEM, US, IpProtocol::Tcp, tcp_len);
        let mut packet = vec![0u8; ip.total_len()];
        ip.emit(&mut packet);
        let data_at = 20 + header.header_len();
        packet[data_at..].copy_from_slice(&seg.payload);
        header.emit(&mut packet[20..], THEM, US);
        if bad_checksum {
            packet[36] ^= 1;
        }
        self.host.receive_info(self.now, &packet, info);
    }

    /// A router (or the peer's host) answers `quoted`, a segment of ours, with an ICMP
    /// destination unreachable: its IP header and first 8 bytes quoted, as RFC 792 says.
    pub fn send_unreachable(&mut self, reason: DstUnreachable, quoted: &Seg) {
        let quoted_ip = ip_repr(US, THEM, IpProtocol::Tcp, 20 + quoted.payload.len());
        let mut invoking = vec![0u8; 28];
        quoted_ip.emit(&mut invoking);
        invoking[20..22].copy_from_slice(&quoted.src_port.to_be_bytes());
        invoking[22..24].copy_from_slice(&quoted.dst_port.to_be_bytes());
        invoking[24..28].copy_from_slice(&quoted.seq.0.to_be_bytes());
        let icmp = crate::ip::icmp::header::Repr::DstUnreachable {
            reason,
            invoking: &invoking,
        };
        let ip = ip_repr(THEM, US, IpProtocol::Icmp, icmp.buffer_len());
        let mut packet = vec![0u8; ip.total_len()];
        ip.emit(&mut packet);
        icmp.emit(&mut packet[20..]);
        self.host.receive(self.now, &packet);
    }

    /// The host's next segment, if it has one now.
    pub fn recv(&mut self) -> Option<Seg> {
        self.recv_info().map(|(seg, _)| seg)
    }

    /// The host's next segment, if it has one now, and what it asks of the device: a partial
    /// checksum is completed (as the device would) before the segment is parsed.
    pub fn recv_info(&mut self) -> Option<(Seg, PacketInfo)> {
        let mut buf = Vec::new();
        let transmit = self.host.transmit(self.now, &mut buf)?;
        assert!(
            buf.len() <= self.host.config().mtu || transmit.info.gso.is_some(),
            "a packet over the MTU: {} bytes",
            buf.len()
        );
        if let Checksum::Partial { start, offset } = transmit.info.checksum {
            assert!(complete_checksum(&mut buf, start, offset));
        }
        // A BIG TCP super-packet (Total Length 0) parses as the device would read it.
        let ip = ip_header::Packet::new_checked_super(&buf[..]).expect("our packets parse");
        let ip_repr = ip_header::Repr::parse(&ip).expect("our IP headers are valid");
        assert_eq!(ip_repr.protocol, IpProtocol::Tcp, "expected TCP");
        assert_eq!((ip_repr.src_addr, ip_repr.dst_addr), (US, THEM));
        let packet = Packet::new_checked(ip.payload()).expect("our segments parse");
        let h = match ip.payload().len() > usize::from(u16::MAX) {
            // Longer than a segment on a wire may be: summed as Linux sums it, with its
            // length as 32 bits (what the device completed).
            true => {
                let len = ip.payload().len();
                let sum = checksum::pseudo_header_ip(US.into(), THEM.into(), 6, len);
                assert_eq!(checksum::finish(checksum::add(sum, ip.payload())), 0);
                let head = Packet::new_checked(&ip.payload()[..packet.header_len()]);
                let mut h = Repr::parse_trusted(&head.expect("a header")).expect("a valid one");
                h.payload_len = len - packet.header_len();
                h
            }
            false => Repr::parse(&packet, US, THEM).expect("our checksums are right"),
        };
        let seg = Seg {
            src_port: h.src_port,
            dst_port: h.dst_port,
            seq: h.seq,
            ack: h.ack,
            flags: h.flags,
            window: h.window,
            urgent: h.urgent,
            mss: h.mss,
            window_scale: h.window_scale,
            sack_permitted: h.sack_permitted,
            sack: h
                .sack_blocks
                .as_slice()
                .iter()
                .map(|b| (b.left.0, b.right.0))
                .collect(),
            ts: h.timestamps.map(|ts| (ts.value, ts.echo)),
            payload: packet.payload().to_vec(),
            comment: transmit.why.map(|why| why.to_string()),
        };
        Some((seg, transmit.info))
    }

    /// Exactly one segment from the host, which must exist.
    pub fn expect(&mut self) -> Seg {
        match self.recv() {
            Some(seg) => seg,
            None => panic!("expected a segment at {}, the host sent none", self.now),
        }
    }

    /// Every segment the host has now.
    pub fn recv_all(&mut self) -> Vec<Seg> {
        std::iter::from_fn(|| self.recv()).collect()
    }

    /// Lets time pass in steps of `step` until the host sends something; returns it and how
    /// long that took. Fails after `limit`.
    pub fn wait_for_segment(&mut self, step: Duration, limit: Duration) -> (Seg, Duration) {
        let mut waited = Duration::ZERO;
        loop {
            if let Some(seg) = self.recv() {
                return (seg, waited);
            }
            assert!(waited < limit, "nothing sent within {limit:?}");
            self.advance(step);
            waited += step;
        }
    }

    /// Asserts the host sends nothing now.
    pub fn expect_silence(&mut self) {
        if let Some(seg) = self.recv() {
            panic!("expected no segment at {}, got {seg:?}", self.now);
        }
    }

    pub fn listen(&mut self, port: u16) {
        self.host
            .tcp_listen(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port), None)
            .expect("listen");
    }

    pub fn listen_with_backlog(&mut self, port: u16, backlog: usize) {
        self.host
            .tcp_listen(
                SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port),
                Some(backlog),
            )
            .expect("listen");
    }

    pub fn accept(&mut self, port: u16) -> Option<ConnId> {
        match self.host.tcp_poll_accept(&mut cx(), port) {
            Poll::Ready(Ok((id, remote))) => {
                assert_eq!(remote, SocketAddrV4::new(THEM, PEER_PORT).into());
                Some(id)
            }
            Poll::Ready(Err(err)) => panic!("accept failed: {err}"),
            Poll::Pending => None,
        }
    }

    pub fn connect(&mut self, port: u16) -> ConnId {
        self.host
            .tcp_connect(self.now, SocketAddrV4::new(THEM, port))
            .expect("connect")
    }

    pub fn state(&self, id: ConnId) -> Option<State> {
        self.host.tcp_info(id).ok().map(|info| info.state)
    }

    /// Everything readable now; `Ok(None)` when nothing is (the read would wait).
    pub fn read(&mut self, id: ConnId) -> io::Result<Option<Vec<u8>>> {
        let mut buf = vec![0u8; 1 << 20];
        match self.host.tcp_poll_read(&mut cx(), id, &mut buf) {
            Poll::Ready(Ok(n)) => {
                buf.truncate(n);
                Ok(Some(buf))
            }
            Poll::Ready(Err(err)) => Err(err),
            Poll::Pending => Ok(None),
        }
    }

    /// Writes all of `data` (panics if the send buffer cannot take it).
    pub fn write(&mut self, id: ConnId, data: &[u8]) -> io::Result<usize> {
        match self.host.tcp_poll_write(&mut cx(), id, data) {
            Poll::Ready(result) => result,
            Poll::Pending => Ok(0),
        }
    }

    /// Writes `data` as urgent data (0 if the send buffer is full).
    pub fn send_urgent(&mut self, id: ConnId, data: &[u8]) -> io::Result<usize> {
        match self.host.tcp_poll_send_urgent(&mut cx(), id, data) {
            Poll::Ready(result) => result,
            Poll::Pending => Ok(0),
        }
    }

    /// How many bytes the application must read to pass the urgent mark.
    pub fn urgent_mark(&self, id: ConnId) -> Option<u64> {
        self.host.tcp_urgent_mark(id).expect("connection")
    }

    /// Reads at most `max` bytes; `Ok(None)` when nothing is readable now.
    pub fn read_at_most(&mut self, id: ConnId, max: usize) -> io::Result<Option<Vec<u8>>> {
        let mut buf = vec![0u8; max];
        match self.host.tcp_poll_read(&mut cx(), id, &mut buf) {
            Poll::Ready(Ok(n)) => {
                buf.truncate(n);
                Ok(Some(buf))
            }
            Poll::Ready(Err(err)) => Err(err),
            Poll::Pending => Ok(None),
        }
    }

    /// The local port of a connection.
    pub fn local_port(&self, id: ConnId) -> u16 {
        self.host
            .tcp_info(id)
            .expect("connection")
            .quad
            .local
            .port()
    }

    /// Opens a connection from the peer to our listener on `port`: SYN, our SYN-ACK, the
    /// peer's ACK. Returns the accepted connection and our ISS.
    pub fn passive_open(&mut self, port: u16) -> (ConnId, SeqNumber) {
        self.listen(port);
        self.send(&Seg::to(port, Flags::SYN, PEER_ISN, 0).with_mss(1460));
        let syn_ack = self.expect();
        assert_eq!(syn_ack.flags, Flags::SYN | Flags::ACK);
        assert_eq!(syn_ack.ack, SeqNumber(PEER_ISN) + 1);
        self.send(&Seg::to(
            port,
            Flags::ACK,
            PEER_ISN.wrapping_add(1),
            syn_ack.seq.0.wrapping_add(1),
        ));
        let id = self.accept(port).expect("the handshake completed");
        (id, syn_ack.seq)
    }

    /// Opens a connection from us to the peer's `port`; returns it and our ISS.
    pub fn active_open(&mut self, port: u16) -> (ConnId, SeqNumber) {
        let id = self.connect(port);
        let syn = self.expect();
        assert_eq!(syn.flags, Flags::SYN);
        let local = syn.src_port;
        let mut syn_ack = Seg::to(
            local,
            Flags::SYN | Flags::ACK,
            PEER_ISN,
            syn.seq.0.wrapping_add(1),
        )
        .with_mss(1460);
        syn_ack.src_port = port;
        self.send(&syn_ack);
        let ack = self.expect();
        assert_eq!(ack.flags, Flags::ACK);
        assert_eq!(self.state(id), Some(State::Established));
        (id, syn.seq)
    }
}

/// A segment from the peer's `port` to our `local` port (for active opens, where our port is
/// ephemeral).
pub(super) fn from_port(port: u16, local: u16, flags: Flags, seq: u32, ack: u32) -> Seg {
    let mut seg = Seg::to(local, flags, seq, ack);
    seg.src_port = port;
    seg
}
