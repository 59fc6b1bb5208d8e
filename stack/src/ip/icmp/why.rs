//! Why ICMP sends a message: a value set where the decision is made, like TCP's
//! [`crate::tcp::Why`]. Its words, for a capture's frame comment, are in `link/reason.rs`.

use super::header::{DstUnreachable, TimeExceeded};
use crate::ip::header::IpProtocol;

/// Why an ICMP error was sent: what the datagram it answers found, or did not find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// Port unreachable ([RFC 1122 3.2.2.1], [RFC 792]): no socket is bound to the datagram's
    /// destination port.
    ///
    /// [RFC 1122 3.2.2.1]: https://www.rfc-editor.org/rfc/rfc1122#section-3.2.2.1
    /// [RFC 792]: https://www.rfc-editor.org/rfc/rfc792
    PortUnreachable {
        /// The transport of the datagram (UDP).
        protocol: IpProtocol,
        /// Its destination port, where nobody listens.
        port: u16,
    },
    /// Protocol unreachable ([RFC 1122 3.2.2.1]): this host has no transport for the
    /// packet's Protocol field.
    ///
    /// [RFC 1122 3.2.2.1]: https://www.rfc-editor.org/rfc/rfc1122#section-3.2.2.1
    ProtoUnreachable {
        /// The protocol nobody here speaks.
        protocol: IpProtocol,
    },
    /// Any other destination unreachable code, or one whose quoted datagram could not be read.
    Unreachable(DstUnreachable),
    /// Time exceeded ([RFC 792]): for this host, a datagram's fragments did not all arrive
    /// within the reassembly timeout ([RFC 1122 3.3.2]).
    ///
    /// [RFC 792]: https://www.rfc-editor.org/rfc/rfc792
    /// [RFC 1122 3.3.2]: https://www.rfc-editor.org/rfc/rfc1122#section-3.3.2
    TimeExceeded(TimeExceeded),
}
