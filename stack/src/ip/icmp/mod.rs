//! ICMP ([RFC 792]): the internet layer's control messages.
//!
//! The stack answers echo requests (so `ping` works), sends echo requests of its own
//! ([`crate::Stack::ping`]), tells senders when a datagram has nowhere to go (destination
//! unreachable: port or protocol), and passes the errors it receives to the transport that sent
//! the offending datagram (a connected UDP socket then fails with `ConnectionRefused`, as on
//! Linux).
//!
//! [RFC 792]: https://www.rfc-editor.org/rfc/rfc792

use crate::stats::LayerStats;
use echo::EchoWaits;

pub(crate) mod echo;
pub mod header;
pub(crate) mod input;
pub(crate) mod output;
mod ratelimit;
pub mod why;

pub use header::{DstUnreachable, TimeExceeded};
pub use ratelimit::RateLimit;
pub(crate) use ratelimit::TokenBucket;
pub use why::Why;

/// How much of an offending datagram an ICMP error quotes: the whole error packet stays within
/// 576 bytes ([RFC 1812 4.3.2.3], which Linux follows), i.e. up to 548 bytes after the IP and ICMP
/// headers.
///
/// [RFC 1812 4.3.2.3]: https://www.rfc-editor.org/rfc/rfc1812#section-4.3.2.3
pub const ERROR_QUOTE_MAX: usize = 576 - 20 - 8;

/// The ICMP layer's state.
#[derive(Debug)]
pub(crate) struct IcmpLayer {
    /// Counters.
    pub(crate) stats: LayerStats,
    /// Limits the errors we send.
    pub(crate) limiter: TokenBucket,
    /// The Identifier of our echo requests (one per stack, like one `ping` process).
    pub(crate) echo_ident: u16,
    /// Echo requests in flight.
    pub(crate) echoes: EchoWaits,
    /// The largest ICMP message that fits in one packet on the link (the MTU less the IPv4
    /// header): errors are cut to it (echo replies go in fragments instead).
    pub(crate) max_message: usize,
}

impl IcmpLayer {
    /// The ICMP layer of a host on a link with this `mtu`.
    pub(crate) fn new(limit: RateLimit, echo_ident: u16, mtu: usize) -> IcmpLayer {
        IcmpLayer {
            stats: LayerStats::default(),
            limiter: TokenBucket::new(limit),
            echo_ident,
            echoes: EchoWaits::default(),
            max_message: mtu.saturating_sub(crate::ip::header::HEADER_LEN),
        }
    }

    /// How many data bytes fit after the ICMP header in one packet on the link.
    fn max_data(&self) -> usize {
        self.max_message.saturating_sub(header::HEADER_LEN)
    }
}
