//! TIME-WAIT as a small record ([RFC 9293 3.4.2]): what is left of a closed connection for
//! 2 MSL, so that a late segment of it is not taken for part of a new one, and a lost final ACK
//! can be sent again.
//!
//! Once both FINs are acknowledged and the application has let go, a connection needs none of
//! its buffers, timers or congestion state: only its 4-tuple, the two sequence numbers and the
//! timestamps, and when to forget it. A busy server closes thousands of connections a minute,
//! so these records are bounded; past the bound the oldest is forgotten early (as Linux does
//! past `tcp_max_tw_buckets`).
//!
//! A new SYN for the same 4-tuple may reuse it ([RFC 6191]): its timestamp is newer than the
//! last one seen, or, without timestamps, its sequence number is beyond the old connection's.
//!
//! [RFC 9293 3.4.2]: https://www.rfc-editor.org/rfc/rfc9293#section-3.4.2
//! [RFC 6191]: https://www.rfc-editor.org/rfc/rfc6191

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use super::congestion::Algorithm;
use super::connection::{ConnInfo, ConnStats, Quad};
use super::flags::Flags;
use super::header::Repr;
use super::options::{SackBlocks, Timestamps};
use super::seq::SeqNumber;
use super::state::State;
use crate::time::Instant;

/// What a connection in TIME-WAIT keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Record {
    /// Our next sequence number (past our FIN).
    pub(crate) snd_nxt: SeqNumber,
    /// The peer's next (past its FIN).
    pub(crate) rcv_nxt: SeqNumber,
    /// The window field our last ACK carried.
    pub(crate) window: u16,
    /// With timestamps: TS.Recent and our clock's offset.
    pub(crate) timestamps: Option<(u32, u32)>,
    /// When the record is forgotten.
    pub(crate) until: Instant,
}

/// What to do with a segment for a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Drop it silently.
    Drop,
    /// Send our ACK again.
    Ack,
    /// A new connection may start: forget the record and pass the SYN to the listener.
    Reopen,
}

/// The records, by 4-tuple, with the order they came in.
#[derive(Debug)]
pub(crate) struct TimeWaits {
    records: HashMap<Quad, Record>,
    /// (deadline, 4-tuple), oldest first; an entry whose record has moved on is skipped.
    order: VecDeque<(Instant, Quad)>,
    limit: usize,
}

impl TimeWaits {
    /// At most `limit` records.
    pub(crate) fn new(limit: usize) -> TimeWaits {
        TimeWaits {
            records: HashMap::new(),
            order: VecDeque::new(),
            limit: limit.max(1),
        }
    }

    /// Whether `quad` is in TIME-WAIT.
    pub(crate) fn contains(&self, quad: &Quad) -> bool {
        self.records.contains_key(quad)
    }

    /// How many records are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    /// Keeps `record` for `quad`; returns how many older records were evicted to make room.
    pub(crate) fn insert(&mut self, quad: Quad, record: Record) -> u64 {
        let mut evicted = 0;
        while self.records.len() >= self.limit && !self.records.contains_key(&quad) {
            match self.order.pop_front() {
                Some((until, old)) if self.records.get(&old).map(|r| r.until) == Some(until) => {
                    self.records.remove(&old);
                    evicted += 1;
                }
                Some(_) => {}
                None => break,
            }
        }
        self.records.insert(quad, record);
        self.order.push_back((record.until, quad));
        evicted
    }

    /// Snapshots of the records, as connections in TIME-WAIT: what a record keeps is all
    /// they say (no RTT, no window).
    pub(crate) fn infos(&self) -> impl Iterator<Item = ConnInfo> + '_ {
        self.records.keys().map(|&quad| ConnInfo {
            quad,
            state: State::TimeWait,
            srtt: None,
            rttvar: Duration::ZERO,
            rto: Duration::ZERO,
            congestion: Algorithm::default(),
            in_recovery: false,
            sack: false,
            timestamps: false,
            cwnd: 0,
            ssthresh: 0,
            bytes_in_flight: 0,
            peer_window: 0,
            mss: 0,
            stats: ConnStats::default(),
        })
    }

    /// Drops the places in `order` that restarts left behind, once they outnumber the
    /// records: a peer repeating its FIN must not grow the queue without bound.
    fn forget_stale_order(&mut self) {
        if self.order.len() > 2 * self.records.len() + 16 {
            let records = &self.records;
            self.order
                .retain(|(until, quad)| records.get(quad).is_some_and(|r| r.until == *until));
        }
    }

    /// The earliest deadline.
    pub(crate) fn poll_at(&self) -> Option<Instant> {
        self.order.front().map(|&(until, _)| until)
    }

    /// Forgets the records whose 2 MSL are over.
    pub(crate) fn expire(&mut self, now: Instant) {
        while let Some(&(until, quad)) = self.order.front() {
            if until > now {
                break;
            }
            self.order.pop_front();
            if self.records.get(&quad).map(|r| r.until) == Some(until) {
                self.records.remove(&quad);
            }
        }
    }

    /// A segment `h` for `quad`'s record, at `now` (TIME-WAIT lasts `two_msl`). `None`: no
    /// record.
    pub(crate) fn on_segment(
        &mut self,
        now: Instant,
        quad: &Quad,
        h: &Repr,
        two_msl: Duration,
    ) -> Option<Answer> {
        let record = self.records.get_mut(quad)?;
        let newer_ts = match (record.timestamps, h.timestamps) {
            (Some((recent, _)), Some(ts)) => Some((ts.value.wrapping_sub(recent) as i32) > 0),
            _ => None,
        };
        if h.flags.rst() {
            // RFC 9293: a RST ends TIME-WAIT (RFC 1337's hazard aside, as Linux by default).
            if h.seq == record.rcv_nxt {
                self.records.remove(quad);
            }
            return Some(Answer::Drop);
        }
        if h.flags.syn() && !h.flags.ack() {
            // RFC 6191: a newer timestamp, or without timestamps a higher sequence number.
            let reuse = newer_ts.unwrap_or(h.seq > record.rcv_nxt);
            if reuse {
                self.records.remove(quad);
                return Some(Answer::Reopen);
            }
            return Some(Answer::Ack);
        }
        if h.flags.fin() {
            // The peer did not get our last ACK and sent its FIN again: 2 MSL start over.
            record.until = now + two_msl;
            let until = record.until;
            self.order.push_back((until, *quad));
            self.forget_stale_order();
            return Some(Answer::Ack);
        }
        // Data now is a late duplicate or a confused peer: say where we are; a bare ACK
        // needs no answer (answering ACKs with ACKs could loop).
        Some(if h.payload_len > 0 {
            Answer::Ack
        } else {
            Answer::Drop
        })
    }

    /// Our ACK from `quad`'s record, at `now`.
    pub(crate) fn ack(&self, now: Instant, quad: &Quad) -> Option<Repr> {
        let record = self.records.get(quad)?;
        Some(Repr {
            src_port: quad.local.port(),
            dst_port: quad.remote.port(),
            seq: record.snd_nxt,
            ack: record.rcv_nxt,
            flags: Flags::ACK,
            window: record.window,
            urgent: 0,
            mss: None,
            window_scale: None,
            sack_permitted: false,
            sack_blocks: SackBlocks::default(),
            timestamps: record.timestamps.map(|(recent, offset)| Timestamps {
                value: (now.total_millis() as u32).wrapping_add(offset),
                echo: recent,
            }),
            payload_len: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quad(port: u16) -> Quad {
        Quad::for_test(port)
    }

    fn record(until: Instant, timestamps: Option<(u32, u32)>) -> Record {
        Record {
            snd_nxt: SeqNumber(100),
            rcv_nxt: SeqNumber(5000),
            window: 1000,
            timestamps,
            until,
        }
    }

    fn segment(flags: Flags, seq: u32, ts: Option<u32>) -> Repr {
        Repr {
            src_port: 1,
            dst_port: 80,
            seq: SeqNumber(seq),
            ack: SeqNumber(0),
            flags,
            window: 0,
            urgent: 0,
            mss: None,
            window_scale: None,
            sack_permitted: false,
            sack_blocks: SackBlocks::default(),
            timestamps: ts.map(|value| Timestamps { value, echo: 0 }),
            payload_len: 0,
        }
    }

    const MSL2: Duration = Duration::from_secs(60);

    #[test]
    fn the_oldest_record_goes_first_when_the_bound_is_reached() {
        let t0 = Instant::from_secs(1);
        let mut tw = TimeWaits::new(2);
        assert_eq!(tw.insert(quad(1), record(t0 + MSL2, None)), 0);
        assert_eq!(tw.insert(quad(2), record(t0 + MSL2, None)), 0);
        assert_eq!(tw.insert(quad(3), record(t0 + MSL2, None)), 1);
        assert!(!tw.contains(&quad(1)) && tw.contains(&quad(2)) && tw.contains(&quad(3)));
        tw.expire(t0 + MSL2);
        assert_eq!(tw.len(), 0);
        assert_eq!(tw.poll_at(), None);
    }

    #[test]
    fn a_repeated_fin_restarts_the_wait_and_is_acknowledged() {
        let t0 = Instant::from_secs(1);
        let mut tw = TimeWaits::new(8);
        tw.insert(quad(1), record(t0 + MSL2, None));
        let later = t0 + Duration::from_secs(50);
        let fin = segment(Flags::FIN | Flags::ACK, 4999, None);
        assert_eq!(
            tw.on_segment(later, &quad(1), &fin, MSL2),
            Some(Answer::Ack)
        );
        tw.expire(t0 + MSL2);
        assert!(tw.contains(&quad(1)), "restarted at the FIN");
        tw.expire(later + MSL2);
        assert!(!tw.contains(&quad(1)));
    }

    #[test]
    fn repeated_fins_do_not_grow_the_order_of_deadlines() {
        let t0 = Instant::from_secs(1);
        let mut tw = TimeWaits::new(8);
        tw.insert(quad(1), record(t0 + MSL2, None));
        let fin = segment(Flags::FIN | Flags::ACK, 4999, None);
        for ms in 0..10_000 {
            let at = t0 + Duration::from_millis(ms);
            assert_eq!(tw.on_segment(at, &quad(1), &fin, MSL2), Some(Answer::Ack));
        }
        assert!(tw.order.len() <= 2 + 16, "{} places kept", tw.order.len());
        // The stale places went, not the record: it lasts 2 MSL from the last FIN.
        tw.expire(t0 + Duration::from_millis(9_998) + MSL2);
        assert!(tw.contains(&quad(1)));
        tw.expire(t0 + Duration::from_millis(9_999) + MSL2);
        assert!(!tw.contains(&quad(1)));
    }

    #[test]
    fn a_syn_reopens_only_beyond_the_old_connection() {
        let t0 = Instant::from_secs(1);
        let mut tw = TimeWaits::new(8);
        // Without timestamps, by sequence number (RFC 6191 falls back to RFC 1122's rule).
        tw.insert(quad(1), record(t0 + MSL2, None));
        let old = segment(Flags::SYN, 4000, None);
        assert_eq!(tw.on_segment(t0, &quad(1), &old, MSL2), Some(Answer::Ack));
        let new = segment(Flags::SYN, 9000, None);
        assert_eq!(
            tw.on_segment(t0, &quad(1), &new, MSL2),
            Some(Answer::Reopen)
        );
        assert!(!tw.contains(&quad(1)));
        // With timestamps, by timestamp, whatever the sequence number.
        tw.insert(quad(2), record(t0 + MSL2, Some((700, 0))));
        let stale = segment(Flags::SYN, 9000, Some(600));
        assert_eq!(tw.on_segment(t0, &quad(2), &stale, MSL2), Some(Answer::Ack));
        let fresh = segment(Flags::SYN, 10, Some(701));
        assert_eq!(
            tw.on_segment(t0, &quad(2), &fresh, MSL2),
            Some(Answer::Reopen)
        );
    }

    #[test]
    fn an_exact_rst_ends_it_and_bare_acks_are_not_answered() {
        let t0 = Instant::from_secs(1);
        let mut tw = TimeWaits::new(8);
        tw.insert(quad(1), record(t0 + MSL2, None));
        let ack = segment(Flags::ACK, 5000, None);
        assert_eq!(tw.on_segment(t0, &quad(1), &ack, MSL2), Some(Answer::Drop));
        let rst = segment(Flags::RST, 5000, None);
        assert_eq!(tw.on_segment(t0, &quad(1), &rst, MSL2), Some(Answer::Drop));
        assert!(!tw.contains(&quad(1)));
        assert_eq!(tw.on_segment(t0, &quad(1), &ack, MSL2), None);
    }
}
