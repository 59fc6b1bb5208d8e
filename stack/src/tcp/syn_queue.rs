//! The SYN queue: handshakes under way on a listener, each a small record with no buffers.
//!
//! A SYN costs the listener only this record (the client's ISN and options, our ISS, a timer),
//! not a connection: the connection, with its send and receive buffers, is made when the
//! client's ACK completes the handshake. The queue is bounded; once it is full, SYNs are
//! answered with SYN cookies (`syncookie.rs`) and cost nothing at all. So a flood of SYNs
//! from addresses that never answer (RFC 4987) fills at most this queue, and legitimate
//! clients still get in.
//!
//! Our SYN-ACK is sent again after 1, 2, 4, 8 and 16 seconds if no ACK comes, then the entry
//! is dropped (Linux's `tcp_synack_retries` = 5).

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use super::config::{window_shift_for, TcpConfig};
use super::connection::Quad;
use super::flags::Flags;
use super::header::Repr;
use super::options::{SackBlocks, Timestamps};
use super::seq::SeqNumber;
use crate::time::Instant;

/// What a client's SYN told us: all that a half-open connection keeps of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PeerSyn {
    /// The client's initial sequence number.
    pub(crate) irs: SeqNumber,
    /// Its MSS option.
    pub(crate) mss: Option<u16>,
    /// Its window scale option.
    pub(crate) window_scale: Option<u8>,
    /// It offered SACK.
    pub(crate) sack_permitted: bool,
    /// Its timestamp, if it offered timestamps.
    pub(crate) ts_value: Option<u32>,
}

impl PeerSyn {
    /// What the SYN in `h` offers.
    pub(crate) fn of(h: &Repr) -> PeerSyn {
        PeerSyn {
            irs: h.seq,
            mss: h.mss,
            window_scale: h.window_scale,
            sack_permitted: h.sack_permitted,
            ts_value: h.timestamps.map(|ts| ts.value),
        }
    }
}

/// A handshake under way.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HalfOpen {
    pub(crate) peer: PeerSyn,
    /// Our initial sequence number.
    pub(crate) iss: SeqNumber,
    /// When the first SYN-ACK went: the RTT sample, if it is never sent again (Karn).
    pub(crate) first_sent: Instant,
    /// SYN-ACKs sent again so far.
    pub(crate) resent: u32,
    /// When the SYN-ACK goes again if no ACK has come.
    pub(crate) resend_at: Instant,
}

/// One listener's handshakes under way, by 4-tuple.
#[derive(Debug)]
pub(crate) struct SynQueue {
    entries: HashMap<Quad, HalfOpen>,
    /// Each entry's `resend_at`, in order: the next one due is the first, without a scan of
    /// the queue (which a flood keeps full) on every pass of the driver.
    deadlines: BTreeSet<(Instant, Quad)>,
    limit: usize,
}

/// What a SYN queue's timer did.
#[derive(Debug, Default)]
pub(crate) struct Expired {
    /// SYN-ACKs to send again.
    pub(crate) resend: Vec<Quad>,
    /// Handshakes given up after every retry.
    pub(crate) dropped: u64,
}

impl SynQueue {
    /// A queue of at most `limit` handshakes.
    pub(crate) fn new(limit: usize) -> SynQueue {
        SynQueue {
            entries: HashMap::new(),
            deadlines: BTreeSet::new(),
            limit: limit.max(1),
        }
    }

    /// Whether another handshake would exceed the bound.
    pub(crate) fn is_full(&self) -> bool {
        self.entries.len() >= self.limit
    }

    /// How many handshakes are under way.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The handshake on `quad`, if any.
    pub(crate) fn get(&self, quad: &Quad) -> Option<&HalfOpen> {
        self.entries.get(quad)
    }

    /// Starts (or restarts, for a new ISN) the handshake on `quad`.
    pub(crate) fn insert(&mut self, quad: Quad, entry: HalfOpen) {
        if let Some(old) = self.entries.insert(quad, entry) {
            self.deadlines.remove(&(old.resend_at, quad));
        }
        self.deadlines.insert((entry.resend_at, quad));
    }

    /// Ends the handshake on `quad` (completed, or reset).
    pub(crate) fn remove(&mut self, quad: &Quad) -> Option<HalfOpen> {
        let entry = self.entries.remove(quad)?;
        self.deadlines.remove(&(entry.resend_at, *quad));
        Some(entry)
    }

    /// Every handshake under way, removed (the listener closes).
    pub(crate) fn drain(&mut self) -> Vec<(Quad, HalfOpen)> {
        self.deadlines.clear();
        self.entries.drain().collect()
    }

    /// The earliest SYN-ACK retransmission due.
    pub(crate) fn poll_at(&self) -> Option<Instant> {
        self.deadlines.first().map(|&(at, _)| at)
    }

    /// At `now`: SYN-ACKs due again (backing off from `rto`, doubling), and handshakes
    /// given up after `retries` of them, earliest first.
    pub(crate) fn on_timer(&mut self, now: Instant, rto: Duration, retries: u32) -> Expired {
        let mut expired = Expired::default();
        while let Some(&(at, quad)) = self.deadlines.first() {
            if at > now {
                break;
            }
            self.deadlines.pop_first();
            let Some(entry) = self.entries.get_mut(&quad) else {
                continue;
            };
            if entry.resent >= retries {
                self.entries.remove(&quad);
                expired.dropped += 1;
                continue;
            }
            entry.resent += 1;
            let backoff = 1u32.checked_shl(entry.resent).unwrap_or(u32::MAX);
            entry.resend_at = now + rto.saturating_mul(backoff);
            self.deadlines.insert((entry.resend_at, quad));
            expired.resend.push(quad);
        }
        expired
    }
}

/// What our SYN-ACK offers: our side of the options, from the configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OurSyn {
    mss: u16,
    window: u16,
    shift: u8,
    sack: bool,
    timestamps: bool,
}

impl OurSyn {
    /// Our offers, for a link whose MSS is `our_mss`.
    pub(crate) fn new(config: &TcpConfig, our_mss: usize) -> OurSyn {
        OurSyn {
            mss: our_mss.min(usize::from(u16::MAX)) as u16,
            // The window in a SYN is never scaled (RFC 7323 2.2).
            window: config.recv_buffer.min(usize::from(u16::MAX)) as u16,
            shift: window_shift_for(config.recv_buffer),
            sack: config.sack,
            timestamps: config.timestamps,
        }
    }

    /// The SYN-ACK for `peer` on `quad`, with our ISS and, if timestamps are agreed, `tsval`.
    /// It only answers the client's offers (RFC 7323 1.3, RFC 2018 2).
    pub(crate) fn syn_ack(&self, quad: &Quad, iss: SeqNumber, peer: &PeerSyn, tsval: u32) -> Repr {
        let timestamps = peer
            .ts_value
            .filter(|_| self.timestamps)
            .map(|echo| Timestamps { value: tsval, echo });
        Repr {
            src_port: quad.local.port(),
            dst_port: quad.remote.port(),
            seq: iss,
            ack: peer.irs + 1,
            flags: Flags::SYN | Flags::ACK,
            window: self.window,
            urgent: 0,
            // 20 bytes fewer over IPv6, whose header is 20 bytes longer.
            mss: Some(if quad.remote.is_ipv6() {
                self.mss.saturating_sub(20)
            } else {
                self.mss
            }),
            window_scale: peer.window_scale.map(|_| self.shift),
            sack_permitted: self.sack && peer.sack_permitted,
            sack_blocks: SackBlocks::default(),
            timestamps,
            payload_len: 0,
        }
    }
}

/// Counters of the passive opens: handshakes, SYN cookies, TIME-WAIT records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HandshakeStats {
    /// SYNs that started a handshake in a SYN queue.
    pub syns_queued: u64,
    /// SYN-ACKs sent again because no ACK came.
    pub syn_ack_retransmissions: u64,
    /// Handshakes given up after every SYN-ACK retry.
    pub handshakes_expired: u64,
    /// SYN-ACKs sent with a SYN cookie (the SYN queue was full).
    pub syn_cookies_sent: u64,
    /// Connections opened by a valid cookie.
    pub syn_cookies_accepted: u64,
    /// ACKs to a listener whose cookie did not check out.
    pub syn_cookies_rejected: u64,
    /// Completed handshakes dropped because the accept queue was full.
    pub accept_queue_overflows: u64,
    /// Connections kept as a compact TIME-WAIT record.
    pub time_wait_records: u64,
    /// TIME-WAIT records evicted, oldest first, to stay within the bound.
    pub time_wait_evicted: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quad(port: u16) -> Quad {
        Quad::for_test(port)
    }

    fn entry(at: Instant) -> HalfOpen {
        HalfOpen {
            peer: PeerSyn {
                irs: SeqNumber(5),
                mss: Some(1460),
                window_scale: None,
                sack_permitted: false,
                ts_value: None,
            },
            iss: SeqNumber(9),
            first_sent: at,
            resent: 0,
            resend_at: at + Duration::from_secs(1),
        }
    }

    #[test]
    fn syn_acks_back_off_then_the_handshake_is_dropped() {
        let t0 = Instant::from_secs(10);
        let mut q = SynQueue::new(2);
        q.insert(quad(1), entry(t0));
        q.insert(quad(2), entry(t0));
        assert!(q.is_full());
        let mut at = t0;
        let mut gaps = Vec::new();
        while let Some(next) = q.poll_at() {
            gaps.push((next - at).as_secs());
            at = next;
            let expired = q.on_timer(at, Duration::from_secs(1), 5);
            if expired.dropped > 0 {
                assert_eq!(expired.dropped, 2);
                break;
            }
            assert_eq!(expired.resend.len(), 2);
        }
        assert_eq!(gaps, [1, 2, 4, 8, 16, 32], "5 retries, then the last wait");
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn the_next_deadline_follows_inserts_restarts_and_removals() {
        let t0 = Instant::from_secs(10);
        let mut q = SynQueue::new(1000);
        for port in 1..=500 {
            q.insert(
                quad(port),
                entry(t0 + Duration::from_millis(u64::from(port))),
            );
        }
        assert_eq!(q.poll_at(), Some(t0 + Duration::from_millis(1001)));
        // A restart (a new SYN, a new ISN) moves the entry's deadline: the old one is gone.
        q.insert(quad(1), entry(t0 + Duration::from_secs(5)));
        assert_eq!(q.poll_at(), Some(t0 + Duration::from_millis(1002)));
        q.remove(&quad(2));
        assert_eq!(q.poll_at(), Some(t0 + Duration::from_millis(1003)));
        // Only the entries due are resent, earliest first.
        let expired = q.on_timer(t0 + Duration::from_millis(1005), Duration::from_secs(1), 5);
        assert_eq!(expired.resend, [quad(3), quad(4), quad(5)]);
        assert_eq!(q.poll_at(), Some(t0 + Duration::from_millis(1006)));
        assert_eq!(q.len(), 499);
        q.drain();
        assert_eq!(q.poll_at(), None);
    }
}
