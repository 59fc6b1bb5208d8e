//! Why TCP sends a segment: a value the protocol code sets when it decides to send.
//!
//! The protocol code never writes prose: it says *which* reason (a fast retransmission after
//! 3 duplicate ACKs, the 2nd keep-alive probe, ...). Turning a reason into the words of a
//! capture's frame comment is the capture layer's job (`link/reason.rs`), and happens only
//! when a capture is recording.

/// Why a segment was sent, when that is worth telling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// Our SYN: the first segment of an active open.
    Syn,
    /// Our SYN-ACK to a client's SYN.
    SynAck,
    /// Our SYN-ACK again: the client repeated its SYN.
    SynAckRepeated,
    /// Our SYN-ACK again, the `n`th time, because no ACK came.
    SynAckAgain {
        /// How many times it has gone again.
        n: u32,
    },
    /// A SYN-ACK whose sequence number is a SYN cookie: the SYN queue is full.
    SynAckCookie,
    /// The ACK of the server's SYN: the connection is open.
    HandshakeAck,
    /// Our FIN: no more data from this side.
    Fin,
    /// Our FIN after the peer's (a passive close).
    FinPassive,
    /// A retransmission after the retransmission timer expired.
    Timeout {
        /// Expirations in a row.
        n: u32,
        /// The timeout that expired, in milliseconds.
        rto_ms: u64,
    },
    /// Going on from the oldest unacknowledged byte after a timeout.
    GoBack,
    /// Sent again in smaller segments: a router on the path reported a smaller MTU ([RFC
    /// 1191], [RFC 8201]).
    ///
    /// [RFC 1191]: https://www.rfc-editor.org/rfc/rfc1191
    /// [RFC 8201]: https://www.rfc-editor.org/rfc/rfc8201
    PathMtu {
        /// The path MTU now.
        mtu: usize,
    },
    /// Fast recovery begins: a fast retransmission after duplicate ACKs.
    FastRetransmit {
        /// Duplicate ACKs counted.
        dupacks: u32,
        /// SACK was agreed.
        sack: bool,
    },
    /// A fast retransmission inside a recovery.
    FastRetransmitMore,
    /// The last fast retransmission was lost too.
    FastRetransmitAgain,
    /// NewReno: a fast retransmission after a partial ACK.
    PartialAck,
    /// A SACK retransmission of a hole below data the peer reported holding.
    SackHole,
    /// A tail loss probe arrived and this, sent before it, did not.
    LostBeforeProbe,
    /// A tail loss probe with new data.
    TailProbeNew,
    /// A tail loss probe sending the last segment again.
    TailProbeAgain,
    /// A zero-window probe, the `n`th.
    WindowProbe {
        /// Probes in a row.
        n: u32,
    },
    /// A keep-alive probe, the `n`th unanswered.
    KeepAlive {
        /// Probes sent since the peer was last heard.
        n: u32,
    },
    /// A D-SACK: these bytes of the peer's stream (counted from its first) arrived twice.
    DSack {
        /// The first byte.
        from: u64,
        /// One past the last.
        to: u64,
    },
    /// A challenge ACK (RFC 5961) to a RST or SYN that could be an attacker's guess.
    ChallengeAck,
    /// TIME-WAIT's last ACK again, for a segment of the closed connection.
    TimeWaitAck,
    /// A reset, and why.
    Reset(ResetWhy),
    /// The segment carries URG: the urgent data ends `ahead` bytes past its first byte;
    /// `also` is why it was sent otherwise.
    Urgent {
        /// The urgent pointer.
        ahead: u16,
        /// The segment's own reason, if any.
        also: Option<Box<Why>>,
    },
}

/// Why a reset was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetWhy {
    /// A segment for no connection, on this port.
    NoConnection {
        /// Our port.
        port: u16,
    },
    /// A SYN-ACK that acknowledges a SYN we never sent.
    NotOurSyn,
    /// An ACK in SYN-RECEIVED that does not acknowledge our SYN-ACK.
    NotOurSynAck,
    /// Data for a socket the application has closed (RFC 2525 2.17).
    DataAfterClose,
    /// The listener closed during the handshake.
    ListenerClosed,
    /// The application aborted the connection.
    Aborted,
}
