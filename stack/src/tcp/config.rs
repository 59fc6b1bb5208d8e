//! TCP's settings: buffer sizes, timers, limits.

use std::time::Duration;

use super::congestion::Algorithm;
use super::rto::RtoConfig;
use crate::ip::icmp::RateLimit;

/// How TCP behaves on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpConfig {
    /// Bytes a connection buffers for sending: what the application wrote and the peer has not
    /// acknowledged yet. A full buffer makes writes wait (backpressure).
    pub send_buffer: usize,
    /// The most bytes a connection holds written but not sent yet (Linux's
    /// `TCP_NOTSENT_LOWAT`): past it a write waits, even with room in the send buffer, until
    /// TCP has sent some. Data then goes out soon after the application wrote it, while it is
    /// still in the CPU's caches, and a writer learns of backpressure early instead of after
    /// filling the whole buffer. Never less than two full segments, whatever is set here.
    /// Chunks handed over with [`TcpStream::write_chunk`](crate::TcpStream::write_chunk) and
    /// kept as they are, not copied, are not held to it (a short one is copied, and is).
    /// `None`: only the send buffer limits writes. Default 128 KiB.
    ///
    /// (In-memory, 512 MiB ours→ours at MTU 65535: 40–46 Gbit/s with 128–256 KiB against
    /// 26–27 with no limit; over TUN with offloads, ours→Linux 41–43 against 32–34.)
    pub unsent_limit: Option<usize>,
    /// Bytes a connection buffers on receipt: the largest window it offers.
    pub recv_buffer: usize,
    /// The listen backlog when none is given: connections the handshake has started or finished
    /// that `accept` has not taken yet. SYNs beyond it are dropped (and counted).
    pub backlog: usize,
    /// How many handshakes a listener keeps under way (its SYN queue; Linux's
    /// `tcp_max_syn_backlog`); beyond it, SYN cookies or drops.
    pub syn_queue: usize,
    /// Answer SYNs with SYN cookies ([RFC 4987 3.6]) once the SYN queue is full (Linux's
    /// `tcp_syncookies` = 1); off: such SYNs are dropped.
    ///
    /// [RFC 4987 3.6]: https://www.rfc-editor.org/rfc/rfc4987#section-3.6
    pub syn_cookies: bool,
    /// How many times a listener sends its SYN-ACK again before it gives the handshake up
    /// (Linux's `tcp_synack_retries` = 5: after about a minute).
    pub synack_retries: u32,
    /// How many connections may wait in TIME-WAIT as compact records (Linux's
    /// `tcp_max_tw_buckets`); beyond it, the oldest are forgotten early.
    pub time_wait_max: usize,
    /// Retransmission timeout bounds.
    pub rto: RtoConfig,
    /// How many times a SYN (or SYN-ACK) is sent again before `connect` fails with `TimedOut`
    /// (Linux: `tcp_syn_retries` = 6, about two minutes with backoff).
    pub syn_retries: u32,
    /// How many times a data segment or FIN is sent again before the connection fails with
    /// `TimedOut` (Linux: `tcp_retries2` = 15).
    pub retries: u32,
    /// Maximum segment lifetime; TIME-WAIT lasts twice this ([RFC 9293 3.4.2]). Tests shorten
    /// it.
    ///
    /// [RFC 9293 3.4.2]: https://www.rfc-editor.org/rfc/rfc9293#section-3.4.2
    pub msl: Duration,
    /// Limit on challenge ACKs ([RFC 5961 7]): answers to suspicious RSTs and SYNs. The host's
    /// budget per second is drawn each second between half and 1.5 times `per_second`
    /// (`burst` is not used); each connection sends at most one every 500 ms.
    ///
    /// [RFC 5961 7]: https://www.rfc-editor.org/rfc/rfc5961#section-7
    pub challenge_ack_limit: RateLimit,
    /// The congestion control algorithm new connections start with (each socket can switch).
    pub congestion: Algorithm,
    /// Offer selective acknowledgments ([RFC 2018]).
    ///
    /// [RFC 2018]: https://www.rfc-editor.org/rfc/rfc2018
    pub sack: bool,
    /// Offer timestamps ([RFC 7323]): RTT samples from every ACK, even of retransmissions, and
    /// spurious timeouts undone.
    ///
    /// [RFC 7323]: https://www.rfc-editor.org/rfc/rfc7323
    pub timestamps: bool,
    /// How long the ACK of a lone segment may wait for a second segment or data to ride on
    /// (RFC 9293 3.8.6.3 allows up to 200 ms; Linux waits 40 ms); `None` acknowledges every
    /// segment at once. Each socket can switch.
    pub delayed_ack: Option<Duration>,
    /// Send a tail loss probe ([RFC 8985 section 7]) when no ACK comes for two round trips,
    /// rather than wait for the retransmission timeout. Needs SACK.
    ///
    /// [RFC 8985 section 7]: https://www.rfc-editor.org/rfc/rfc8985#section-7
    pub tail_loss_probes: bool,
    /// End the first slow start when the RTT grows, before the queue overflows: HyStart++
    /// ([RFC 9406]). It takes an RTT sample from every ACK, from the send times of the segments
    /// it covers (or from timestamps), so it works with any peer.
    ///
    /// [RFC 9406]: https://www.rfc-editor.org/rfc/rfc9406
    pub hystart: bool,
    /// The initial congestion window, in segments ([RFC 6928]: 10).
    ///
    /// [RFC 6928]: https://www.rfc-editor.org/rfc/rfc6928
    pub initial_window: u32,
    /// How long a connection the application has let go of waits in FIN-WAIT-2 for the peer's
    /// FIN, after the last segment from the peer, before it is forgotten (Linux's
    /// `tcp_fin_timeout`, 60 s). Without it, a peer that never closes its side would hold the
    /// connection, which nobody can read or close any more, for ever. A connection the
    /// application still holds (a half-close it asked for) waits as long as it likes.
    pub fin_wait2_timeout: Duration,
    /// Keep-alive probes for new connections ([RFC 9293 3.8.4]); `None`, the default, sends
    /// none (RFC 1122 4.2.3.6: keep-alives MUST default to off). Each socket can switch.
    ///
    /// [RFC 9293 3.8.4]: https://www.rfc-editor.org/rfc/rfc9293#section-3.8.4
    pub keepalive: Option<KeepAlive>,
    /// How long sent data may wait for an acknowledgment (or for a closed window to open)
    /// before the connection fails with `TimedOut` ([RFC 9293 3.8.3], "USER TIMEOUT"; Linux's
    /// `TCP_USER_TIMEOUT`). `None`, the default: only the retry limit ends it. Each socket can
    /// switch.
    ///
    /// [RFC 9293 3.8.3]: https://www.rfc-editor.org/rfc/rfc9293#section-3.8.3
    pub user_timeout: Option<Duration>,
}

/// When to ask a silent peer whether it is still there ([RFC 9293 3.8.4], [RFC 1122 4.2.3.6]).
///
/// After `idle` without a segment from the peer, and with nothing of ours waiting for an ACK,
/// a keep-alive probe goes out: an ACK with the sequence number one below SND.NXT, for a byte
/// the peer already has, so that any live TCP answers with an ACK. Unanswered, it goes again
/// every `interval`; after `probes` unanswered probes the connection fails with `TimedOut`.
///
/// [RFC 9293 3.8.4]: https://www.rfc-editor.org/rfc/rfc9293#section-3.8.4
/// [RFC 1122 4.2.3.6]: https://www.rfc-editor.org/rfc/rfc1122#section-4.2.3.6
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepAlive {
    /// Silence before the first probe (RFC 1122: no less than two hours by default).
    pub idle: Duration,
    /// Between unanswered probes.
    pub interval: Duration,
    /// Unanswered probes before the connection is given up.
    pub probes: u32,
}

impl Default for KeepAlive {
    /// Linux's defaults: two hours idle, then a probe every 75 s, nine of them.
    fn default() -> Self {
        KeepAlive {
            idle: Duration::from_secs(2 * 60 * 60),
            interval: Duration::from_secs(75),
            probes: 9,
        }
    }
}

impl Default for TcpConfig {
    /// 256 KiB buffers each way, backlog 128, a SYN queue of 256 then SYN cookies, 16,384
    /// TIME-WAIT records at most, Linux's retry counts, MSL 30 s (TIME-WAIT 60 s,
    /// as on Linux), 100 challenge ACKs per second, CUBIC with an initial window of 10, SACK
    /// and timestamps offered, ACKs delayed up to 40 ms (as Linux does), tail loss probes and
    /// HyStart++ on; no keep-alives and no user timeout; orphaned FIN-WAIT-2 ends after 60 s.
    fn default() -> Self {
        TcpConfig {
            send_buffer: 256 * 1024,
            unsent_limit: Some(128 * 1024),
            recv_buffer: 256 * 1024,
            backlog: 128,
            syn_queue: 256,
            syn_cookies: true,
            synack_retries: 5,
            time_wait_max: 16 * 1024,
            rto: RtoConfig::default(),
            syn_retries: 6,
            retries: 15,
            msl: Duration::from_secs(30),
            challenge_ack_limit: RateLimit {
                per_second: 100,
                burst: 10,
            },
            congestion: Algorithm::Cubic,
            sack: true,
            timestamps: true,
            delayed_ack: Some(Duration::from_millis(40)),
            tail_loss_probes: true,
            hystart: true,
            initial_window: 10,
            keepalive: None,
            user_timeout: None,
            fin_wait2_timeout: Duration::from_secs(60),
        }
    }
}

/// The smallest MSS we use, whatever the peer announces (Linux's `TCP_MIN_MSS`): a peer
/// announcing 0 or 1 would otherwise make us send one byte per segment.
pub(crate) const MIN_MSS: usize = 88;

/// The MSS a peer is assumed to take when its SYN carries no MSS option ([RFC 9293 3.7.1]).
///
/// [RFC 9293 3.7.1]: https://www.rfc-editor.org/rfc/rfc9293#section-3.7.1
pub(crate) const DEFAULT_MSS: usize = 536;

/// The largest window scale shift ([RFC 7323 2.3]).
///
/// [RFC 7323 2.3]: https://www.rfc-editor.org/rfc/rfc7323#section-2.3
pub(crate) const MAX_WINDOW_SHIFT: u8 = 14;

/// The window scale shift that lets a 16-bit window field announce `buffer` bytes.
pub(crate) fn window_shift_for(buffer: usize) -> u8 {
    let mut shift = 0;
    while shift < MAX_WINDOW_SHIFT && (buffer >> shift) > 0xffff {
        shift += 1;
    }
    shift
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_shift_covers_the_buffer() {
        assert_eq!(window_shift_for(65_535), 0);
        assert_eq!(window_shift_for(65_536), 1);
        assert_eq!(window_shift_for(256 * 1024), 3);
        assert_eq!(window_shift_for(usize::MAX), MAX_WINDOW_SHIFT);
    }
}
