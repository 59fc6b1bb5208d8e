//! TCP output: which segment a connection sends next, and writing it out.
//!
//! One question, asked each time the link can take a packet: is there something to send? In
//! order: our SYN (or SYN-ACK); data and our FIN, as far as the peer's window, the congestion
//! window and silly-window avoidance allow; a zero-window probe when one is due; otherwise a
//! bare ACK if one is owed. Every segment but the first SYN carries an ACK and our window.
//!
//! Then encapsulation: the data is copied from the send buffer into the packet, the TCP header
//! goes in front of it, then the IP header in front of that. For a device that sends a packet
//! in parts (a TUN device's `writev`), the data is not copied: the packet is the headers, then
//! a slice of the send buffer (`send_buffer.rs`).
//!
//! Several segments may go down as one packet, to be cut apart below (`burst.rs`).

use tracing::debug;

use super::burst::Burst;
use super::connection::Connection;
use super::flags::Flags;
use super::header::Repr;
use super::options::{SackBlock, SackBlocks, Timestamps, MAX_OPTIONS_LEN};
use super::pos::Pos;
use super::recovery::Resend;
use super::seq::SeqNumber;
use super::state::State;
use super::urgent::urgent_why;
use super::why::Why;
use crate::device::offload::Checksum;
use crate::host::Transmit;
use crate::ip::header::IpProtocol;
use crate::ip::layer::IpLayer;
use crate::link::Reason;
use crate::time::Instant;

/// The longest a zero-window probe waits ([RFC 1122 4.2.2.17] asks for exponential backoff; we
/// cap it like the retransmission timeout).
///
/// [RFC 1122 4.2.2.17]: https://www.rfc-editor.org/rfc/rfc1122#section-4.2.2.17
const MAX_PERSIST: std::time::Duration = std::time::Duration::from_secs(60);

/// Segments with less data than this are copied into their packet even when the device takes
/// the data apart ([`Connection::transmit`]'s `parts`): a copy of a few hundred bytes costs
/// less than sharing them, and leaves the send buffer's tail in one piece.
const SLICE_MIN: usize = 4096;

/// A segment chosen to be sent.
#[derive(Debug, Clone, Copy)]
pub(super) struct Plan {
    pub(super) seq: Pos,
    pub(super) flags: Flags,
    /// Bytes of data, starting at `seq` (after the SYN, if any).
    pub(super) len: usize,
    pub(super) probe: bool,
    /// A tail loss probe (new data or the last segment again).
    pub(super) tail_probe: bool,
    /// Sent again by loss recovery (it does not move SND.NXT).
    pub(super) resend: Option<Resend>,
}

/// How many segments' send times a connection keeps (a 4 MiB window of 1448-byte segments is
/// under 3,000); beyond that, segments simply give no RTT sample.
pub(crate) const MAX_SENT_TIMES: usize = 4096;

impl Connection {
    /// Builds the next segment into `buf` (IP header included) if there is one to send.
    ///
    /// With `parts`, the segment's data may stay in the send buffer: `buf` then holds the
    /// headers only, and [`Transmit::tail`] a shared slice of the data, for a device that sends
    /// the two side by side (see `send_buffer.rs`). With `trains` (and [`IpLayer::trains`]),
    /// it may be a train of segments.
    pub(crate) fn transmit(
        &mut self,
        now: Instant,
        ip: &mut IpLayer,
        buf: &mut Vec<u8>,
        (parts, trains): (bool, bool),
    ) -> Option<Transmit> {
        let (src, dst) = (self.quad.local.ip(), self.quad.remote.ip());
        let ip_len = IpLayer::header_len(dst);
        let burst = self.burst_for(ip, dst, trains);
        self.snd.set_burst(match burst {
            Some(Burst::Device(most)) => most,
            _ => 0,
        });
        let plan = self.next_segment(now, burst)?;
        // Before the header takes a D-SACK the segment was sized with (`segment_size`).
        let segment = self.segment_size();
        let header = self.header_for(&plan, now);
        let tcp_len = header.buffer_len();
        // Encapsulation, inside out: data, then the TCP header, then the IP header. Room for
        // the headers first (zeroed, then written over); the data is a slice of the send
        // buffer, or is appended straight from it, with no zero-fill before the copy.
        let data_at = ip_len + header.header_len();
        buf.clear();
        buf.resize(data_at, 0);
        let offset = plan.seq - self.snd.data_start();
        let tail = match parts && plan.len >= SLICE_MIN {
            true => self.snd.buf.slice(offset, plan.len),
            false => None,
        };
        if tail.is_none() {
            self.snd.buf.append_to(offset, plan.len, buf);
            buf.resize(ip_len + tcp_len, 0);
        }
        let info = self.offload_info(ip, &header, (ip_len, segment));
        let partial = matches!(info.checksum, Checksum::Partial { .. });
        let head = &mut buf[ip_len..];
        match &tail {
            Some(_) if partial => header.emit_head_partial(head, src, dst),
            Some(tail) => header.emit_head(head, tail.pieces(), src, dst),
            None if partial => header.emit_partial(head, src, dst),
            None => header.emit(head, src, dst),
        }
        debug!("tcp: wrap {} bytes -> {header}", plan.len);
        ip.with_ttl(self.ttl, |ip| {
            ip.wrap(buf, (src, dst), IpProtocol::Tcp, tcp_len)
        });
        // A burst goes out as several packets, each with an IPv4 Identification of its own
        // (the burst's, plus its index, as Linux's TSO and GSO number them).
        let segments = info.segments(buf.len() + tail.as_ref().map_or(0, |t| t.len()));
        ip.sent_more(dst, segments - 1);

        if header.flags.urg() {
            self.stats.urgent_segments_out += 1;
        }
        let why = urgent_why(self.after_sending(now, &plan, segments), &header);
        Some(Transmit {
            why: why.map(Reason::Tcp),
            info,
            tail: tail.unwrap_or_default(),
        })
    }

    /// The sequence number for a segment without data (an ACK, a RST): SND.MAX, one past the
    /// highest we have sent. That is RFC 9293's SND.NXT; ours goes back to SND.UNA after a
    /// timeout, to resend from there, and an ACK carrying that would look old to the peer,
    /// which answers old segments with a duplicate ACK (or, for a RST, a challenge ACK).
    /// But not beyond the right edge of the peer's window: if that has shrunk (to zero, say)
    /// below what we sent, only a number inside it is acceptable (RFC 9293 3.10.7.4). Linux
    /// chooses the same way (`tcp_acceptable_seq`).
    pub(crate) fn ack_seq(&self) -> Pos {
        let highest = self.snd.max.max(self.snd.nxt);
        let window_end = self.snd.una + self.snd.wnd;
        let open = matches!(
            self.state,
            State::Established
                | State::FinWait1
                | State::FinWait2
                | State::CloseWait
                | State::Closing
                | State::LastAck
                | State::TimeWait
        );
        if open && highest > window_end {
            window_end
        } else {
            highest
        }
    }

    /// Sends the owed ACK at once, into the host's packet queue, instead of after the batch of
    /// packets being received (see [`Connection::ack_immediately`]).
    pub(crate) fn send_ack_now(
        &mut self,
        now: Instant,
        ip: &mut IpLayer,
        out: &mut crate::queue::PacketQueue,
    ) -> bool {
        let plan = Plan {
            seq: self.ack_seq(),
            flags: Flags::ACK,
            len: 0,
            probe: false,
            tail_probe: false,
            resend: None,
        };
        let header = self.header_for(&plan, now);
        let (src, dst) = (self.quad.local.ip(), self.quad.remote.ip());
        let why = urgent_why(self.why.take(), &header).map(Reason::Tcp);
        let sent = ip.with_ttl(self.ttl, |ip| {
            ip.send(
                out,
                (src, dst),
                IpProtocol::Tcp,
                header.buffer_len(),
                why,
                |segment| header.emit(segment, src, dst),
            )
        });
        if sent {
            debug!("tcp: wrap 0 bytes -> {header}");
            if header.flags.urg() {
                self.stats.urgent_segments_out += 1;
            }
            self.after_sending(now, &plan, 1);
        }
        sent
    }

    /// Decides what to send now, if anything. `burst`: with TSO, or trains, the most data one
    /// packet may carry to be cut into segments.
    fn next_segment(&mut self, now: Instant, burst: Option<Burst>) -> Option<Plan> {
        match self.state {
            State::Closed | State::Listen => return None,
            // Our SYN, or SYN-ACK, until it is acknowledged (sent again after a timeout).
            State::SynSent | State::SynReceived if self.snd.nxt == Pos::SYN => {
                let flags = if self.state == State::SynSent {
                    Flags::SYN
                } else {
                    Flags::SYN | Flags::ACK
                };
                return Some(Plan {
                    seq: Pos::SYN,
                    flags,
                    len: 0,
                    probe: false,
                    tail_probe: false,
                    resend: None,
                });
            }
            State::SynSent => return None,
            _ => {}
        }
        if self.state.is_synchronized() {
            if let Some(plan) = self.data_segment(now, burst) {
                return Some(plan);
            }
        }
        if self.timers.keepalive_now {
            // RFC 9293 3.8.4: a sequence number the peer has already acknowledged, and no data
            // (as Linux sends it): the peer answers with an ACK, if it is there.
            self.timers.keepalive_sent();
            self.stats.keepalive_probes += 1;
            self.why = Some(Why::KeepAlive {
                n: self.timers.keepalives_unanswered,
            });
            return Some(Plan {
                seq: self.snd.una - 1,
                flags: Flags::ACK,
                len: 0,
                probe: false,
                tail_probe: false,
                resend: None,
            });
        }
        self.rcv.ack_now.then_some(Plan {
            seq: self.ack_seq(),
            flags: Flags::ACK,
            len: 0,
            probe: false,
            tail_probe: false,
            resend: None,
        })
    }

    /// A retransmission loss recovery asks for, then data (and our FIN) as far as the windows
    /// allow, or a zero-window probe. New data goes in segments of up to `burst` bytes with
    /// TSO (not in urgent mode, whose pointer belongs to one segment); retransmissions and
    /// probes are one segment each.
    fn data_segment(&mut self, now: Instant, burst: Option<Burst>) -> Option<Plan> {
        if let Some(plan) = self.recovery_segment() {
            return Some(plan);
        }
        if self.rec.tail_probe_now {
            if let Some(plan) = self.tail_probe_segment() {
                return Some(plan);
            }
        }
        // After going back to SND.UNA on a timeout, skip what the peer reported holding
        // (RFC 6675 section 5.1).
        while let Some(end) = self.rec.scoreboard.sacked_until(self.snd.nxt) {
            self.snd.skip_to(end);
        }
        let offset = self.snd.nxt - self.snd.data_start();
        let avail = self.snd.buf.len().saturating_sub(offset);
        let probe = self.timers.probe_now && avail > 0;
        let usable = self.snd.window_room().min(self.congestion_room());
        // A probe carries one byte into a zero window, or as much as a small open window takes
        // when silly window avoidance held it back (RFC 1122 4.2.3.4: the override timeout).
        let room = if probe { usable.max(1) } else { usable };
        let segment = self.segment_size();
        // A D-SACK goes in one segment only (RFC 2883 section 4), which has less room for
        // data than the ones after it: that segment goes alone, not at the head of a burst
        // whose every segment would repeat its header.
        let single = self.urgent_mode() || (self.sack_ok && self.rcv.dsack.is_some());
        let (most, train) = match burst {
            Some(Burst::Device(most)) if !single => (most, false),
            Some(Burst::Train(most)) if !single && !probe => (most, true),
            _ => (segment, false),
        };
        let mut len = avail.min(most).min(room);
        if train && len > segment {
            // A train carries whole segments only: the short one after them is decided on its
            // own, as it would be without trains, so the wire sees the same segments.
            len -= len % segment;
        }
        if len > segment {
            len = self.burst_before_sacked(len, segment);
        }
        let most = if train { segment } else { most };
        if len > 0 && !probe && (!self.may_send(len, avail) || self.rest_can_wait(len, avail, most))
        {
            len = 0;
        }
        // The FIN goes with the last byte of data, or alone once the data has all gone.
        let fin = self
            .snd
            .fin
            .is_some_and(|fin| len == avail && self.snd.nxt + len == fin);
        if len == 0 && !fin {
            if avail > 0 && self.snd.max == self.snd.una {
                // Data waits and nothing is in flight to bring an ACK: make sure a probe comes.
                self.arm_persist(now);
            }
            return None;
        }
        let mut flags = Flags::ACK;
        if fin {
            flags |= Flags::FIN;
        }
        if len > 0 && len == avail {
            flags |= Flags::PSH; // the last of what the application wrote
        }
        Some(Plan {
            seq: self.snd.nxt,
            flags,
            len,
            probe,
            tail_probe: false,
            resend: None,
        })
    }

    /// A tail loss probe (see `tail_loss.rs`): one new segment if the peer's window takes one,
    /// whatever the congestion window; else the last segment sent, again.
    fn tail_probe_segment(&mut self) -> Option<Plan> {
        let offset = self.snd.nxt - self.snd.data_start();
        let avail = self.snd.buf.len().saturating_sub(offset);
        let new = avail.min(self.segment_size()).min(self.snd.window_room());
        let (seq, len, fin, resend) = if new > 0 && self.snd.nxt == self.snd.max {
            let fin = self.snd.fin == Some(self.snd.nxt + new);
            (self.snd.nxt, new, fin, None)
        } else {
            let (seq, len, fin) = self.last_segment();
            (seq, len, fin, Some(Resend::Probe))
        };
        if len == 0 && !fin {
            self.rec.no_tail_probe();
            return None;
        }
        let mut flags = Flags::ACK;
        if fin {
            flags |= Flags::FIN;
        }
        if resend.is_none() && len == avail {
            flags |= Flags::PSH;
        }
        Some(Plan {
            seq,
            flags,
            len,
            probe: false,
            tail_probe: true,
            resend,
        })
    }

    /// The segment loss recovery wants resent, if any (see `recovery.rs`). A fast
    /// retransmission goes whatever the congestion window (RFC 5681 3.2); a SACK hole only when
    /// the pipe has room.
    fn recovery_segment(&mut self) -> Option<Plan> {
        let (seq, len, why) = self.recovery_resend()?;
        let fin = self.snd.fin == Some(seq + len);
        if len == 0 && !fin {
            self.rec.nothing_to_resend();
            return None;
        }
        if why == Resend::Sack && self.congestion_room() < len {
            return None;
        }
        let mut flags = Flags::ACK;
        if fin {
            flags |= Flags::FIN;
        }
        Some(Plan {
            seq,
            flags,
            len,
            probe: false,
            tail_probe: false,
            resend: Some(why),
        })
    }

    /// Whether a segment of `len` bytes (of `avail` waiting) may go now: full segments always;
    /// smaller ones under Nagle's rule, or when they fill half the largest window the peer
    /// offered (sender-side silly window avoidance, [RFC 9293 3.8.6.2.1]). Retransmissions
    /// always go.
    ///
    /// Nagle's rule ([RFC 9293 3.7.4]) holds a small segment back while data is in flight, so
    /// that small writes merge into one segment. We take Minshall's version of it, as Linux
    /// does: a small segment waits only while an earlier *small* segment is unacknowledged.
    /// The difference shows in request/response traffic: a 4,500-byte answer is three full
    /// segments and a small one; by the RFC's rule the small one waits for the ACK of the full
    /// ones, which the peer may delay by 40 ms or more (delayed ACK); by Minshall's it goes at
    /// once, and small writes still merge. Off with `nodelay`; no wait once the application
    /// has closed, since no more data can come to fill the segment; and none in urgent mode
    /// (`urgent.rs`), so that the urgent data and its pointer reach the peer at once.
    ///
    /// [RFC 9293 3.7.4]: https://www.rfc-editor.org/rfc/rfc9293#section-3.7.4
    /// [RFC 9293 3.8.6.2.1]: https://www.rfc-editor.org/rfc/rfc9293#section-3.8.6.2.1
    fn may_send(&self, len: usize, avail: usize) -> bool {
        let small_in_flight = self.snd.una < self.snd.small_sent_end;
        len >= self.segment_size()
            || self.snd.nxt < self.snd.max
            || (len == avail
                && (self.snd.nodelay
                    || self.snd.fin.is_some()
                    || !small_in_flight
                    || self.urgent_mode()))
            || (self.snd.max_wnd > 0 && len >= self.snd.max_wnd / 2)
    }

    /// Whether the last bytes written, fewer than a full segment (or, with TSO, a full burst),
    /// wait for the write that follows, even with Nagle's rule off: a writer waits for room
    /// (the unsent limit, or a full buffer), so more bytes come as soon as these leave; and
    /// data in flight brings an ACK, and another chance to send, if none do. Sent at once,
    /// every round of writes up to the limit would end in a small packet: with TSO, a third
    /// of them (128 KiB is two bursts of 45 segments, and 752 bytes). Linux holds back a
    /// short TSO burst for the same reason (`tcp_tso_should_defer`).
    fn rest_can_wait(&self, len: usize, avail: usize, most: usize) -> bool {
        len == avail
            && len < most
            && self.snd.writer_waits
            && self.snd.fin.is_none()
            && !self.urgent_mode()
            && self.snd.max > self.snd.una
    }

    /// Starts the persist timer if it is not running.
    pub(crate) fn arm_persist(&mut self, now: Instant) {
        self.started_waiting(now);
        if self.timers.persist_at.is_none() && !self.timers.probe_now {
            let backoff = 1u32
                .checked_shl(self.timers.persist_backoff)
                .unwrap_or(u32::MAX);
            let wait = self
                .timers
                .rtt
                .rto()
                .checked_mul(backoff)
                .unwrap_or(MAX_PERSIST)
                .min(MAX_PERSIST);
            self.timers.arm_persist(now + wait);
        }
    }

    /// The header of a planned segment: in urgent mode with URG and the urgent pointer.
    fn header_for(&mut self, plan: &Plan, now: Instant) -> Repr {
        let syn = plan.flags.syn();
        // Our SYN offers each option; our SYN-ACK only answers the peer's offers (RFC 7323
        // 1.3, RFC 2018 section 2).
        let active = self.state == State::SynSent;
        let offer_scale = syn && (active || self.rcv.peer_scales);
        let sack_permitted = syn
            && if active {
                self.sack_wanted
            } else {
                self.sack_ok
            };
        let timestamps = (self.ts_ok || (syn && active && self.ts_wanted)).then(|| Timestamps {
            value: self.ts_clock(now),
            echo: if plan.flags.ack() { self.ts_recent } else { 0 },
        });
        let sack_blocks = if self.sack_ok && !syn {
            self.sack_blocks()
        } else {
            SackBlocks::default()
        };
        let window = self.window_to_announce(syn);
        let urgent = self.urgent_pointer(plan.seq);
        let flags = match urgent {
            Some(_) => plan.flags | Flags::URG,
            None => plan.flags,
        };
        Repr {
            src_port: self.quad.local.port(),
            dst_port: self.quad.remote.port(),
            seq: self.wire_seq(plan.seq),
            ack: if plan.flags.ack() {
                self.wire_ack()
            } else {
                SeqNumber(0)
            },
            flags,
            window,
            urgent: urgent.unwrap_or(0),
            mss: syn.then_some(self.our_mss.min(usize::from(u16::MAX)) as u16),
            window_scale: offer_scale.then_some(self.rcv.offered_shift),
            sack_permitted,
            sack_blocks,
            timestamps,
            payload_len: plan.len,
        }
    }

    /// How much data one segment carries: the MSS less the options every data segment carries
    /// now (RFC 9293 3.7.1: the MSS counts data only; the header's options come out of it, so
    /// that the packet still fits the path's MTU): 12 bytes of timestamps, and SACK blocks
    /// while we hold early data.
    pub(crate) fn segment_size(&self) -> usize {
        let timestamps = if self.ts_ok { 12 } else { 0 };
        let held = self.rcv.buf.early_ranges().len() + usize::from(self.rcv.dsack.is_some());
        let sack = if self.sack_ok && held > 0 {
            let room = MAX_OPTIONS_LEN - timestamps;
            let blocks = held.min((room - 4) / 8);
            4 + 8 * blocks
        } else {
            0
        };
        self.snd.mss.saturating_sub(timestamps + sack).max(1)
    }

    /// SACK blocks for what we hold beyond RCV.NXT (RFC 2018 section 4): the block with the most
    /// recently received segment first, then the others in order, as many as fit. A D-SACK
    /// block, if data arrived twice, goes before them all, in this one segment only (RFC 2883
    /// section 4); when the duplicate lies among the early data, the block holding it follows
    /// (it is the most recently received).
    fn sack_blocks(&mut self) -> SackBlocks {
        let mut blocks = SackBlocks::default();
        if let Some((left, right)) = self.rcv.take_dsack() {
            blocks.push(SackBlock {
                left: left.wrap(self.rcv.irs),
                right: right.wrap(self.rcv.irs),
            });
            self.stats.dsacks_sent += 1;
            debug!(quad = %self.quad, %left, %right, "tcp: D-SACK: this arrived twice");
            if self.why.is_none() {
                // Positions count the SYN; bytes count from the first byte of data.
                self.why = Some(Why::DSack {
                    from: (left - Pos::DATA) as u64,
                    to: (right - Pos::DATA) as u64,
                });
            }
        }
        let ranges = self.rcv.buf.early_ranges();
        let block = |r: &std::ops::Range<usize>| SackBlock {
            left: (self.rcv.nxt + r.start).wrap(self.rcv.irs),
            right: (self.rcv.nxt + r.end).wrap(self.rcv.irs),
        };
        let latest = self
            .rcv
            .last_early
            .map(|seq| seq - self.rcv.nxt)
            .and_then(|off| ranges.iter().position(|r| r.start <= off && off < r.end));
        if let Some(i) = latest {
            blocks.push(block(&ranges[i]));
        }
        for (i, r) in ranges.iter().enumerate() {
            if Some(i) != latest && !blocks.push(block(r)) {
                break;
            }
        }
        blocks
    }

    /// The window field to send (see [`super::receiver::Receiver::window_to_announce`]).
    pub(crate) fn window_to_announce(&mut self, syn: bool) -> u16 {
        self.rcv.window_to_announce(syn, self.our_mss)
    }
}
