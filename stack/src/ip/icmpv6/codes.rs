//! The codes of ICMPv6's error messages ([RFC 4443 section 3]): why a destination was
//! unreachable, why time ran out, what was wrong with a header.
//!
//! [RFC 4443 section 3]: https://www.rfc-editor.org/rfc/rfc4443#section-3

use std::fmt;

use crate::ip::ipv6::ParamProblemCode;

/// Why a destination was unreachable: the code of a type 1 message ([RFC 4443 section 3.1]).
///
/// [RFC 4443 section 3.1]: https://www.rfc-editor.org/rfc/rfc4443#section-3.1
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DstUnreachable {
    /// Code 0: no route to the destination.
    NoRoute,
    /// Code 1: communication with the destination administratively prohibited (a firewall).
    AdminProhibited,
    /// Code 2: beyond the scope of the source address (e.g. a link-local source sent off-link).
    BeyondScope,
    /// Code 3: address unreachable (e.g. neighbour discovery got no answer).
    AddrUnreachable,
    /// Code 4: nothing listens on the destination port.
    PortUnreachable,
    /// Code 5: the source address failed an ingress or egress policy.
    FailedPolicy,
    /// Code 6: a reject route to the destination.
    RejectRoute,
    /// Any other code (7, source routing header error, [RFC 6550], and later ones). Codes 0 to
    /// 6 parse as the variants above, never as `Other`.
    ///
    /// [RFC 6550]: https://www.rfc-editor.org/rfc/rfc6550
    Other(u8),
}

impl DstUnreachable {
    /// The reason for a code.
    pub const fn from_code(code: u8) -> DstUnreachable {
        match code {
            0 => DstUnreachable::NoRoute,
            1 => DstUnreachable::AdminProhibited,
            2 => DstUnreachable::BeyondScope,
            3 => DstUnreachable::AddrUnreachable,
            4 => DstUnreachable::PortUnreachable,
            5 => DstUnreachable::FailedPolicy,
            6 => DstUnreachable::RejectRoute,
            other => DstUnreachable::Other(other),
        }
    }

    /// The code field for this reason.
    pub const fn code(self) -> u8 {
        match self {
            DstUnreachable::NoRoute => 0,
            DstUnreachable::AdminProhibited => 1,
            DstUnreachable::BeyondScope => 2,
            DstUnreachable::AddrUnreachable => 3,
            DstUnreachable::PortUnreachable => 4,
            DstUnreachable::FailedPolicy => 5,
            DstUnreachable::RejectRoute => 6,
            DstUnreachable::Other(code) => code,
        }
    }
}

impl fmt::Display for DstUnreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DstUnreachable::NoRoute => f.write_str("no route"),
            DstUnreachable::AdminProhibited => f.write_str("administratively prohibited"),
            DstUnreachable::BeyondScope => f.write_str("beyond scope of source address"),
            DstUnreachable::AddrUnreachable => f.write_str("address unreachable"),
            DstUnreachable::PortUnreachable => f.write_str("port unreachable"),
            DstUnreachable::FailedPolicy => f.write_str("source address failed policy"),
            DstUnreachable::RejectRoute => f.write_str("reject route"),
            DstUnreachable::Other(code) => write!(f, "code {code}"),
        }
    }
}

/// Why a packet was discarded in transit: the code of a type 3 message ([RFC 4443 section 3.3]).
///
/// [RFC 4443 section 3.3]: https://www.rfc-editor.org/rfc/rfc4443#section-3.3
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeExceeded {
    /// Code 0: the Hop Limit reached zero in transit.
    HopLimitExceeded,
    /// Code 1: the fragments of a packet did not all arrive in time.
    FragReassembly,
    /// Any other code; 0 and 1 never parse as `Other`.
    Other(u8),
}

impl TimeExceeded {
    /// The reason for a code.
    pub const fn from_code(code: u8) -> TimeExceeded {
        match code {
            0 => TimeExceeded::HopLimitExceeded,
            1 => TimeExceeded::FragReassembly,
            other => TimeExceeded::Other(other),
        }
    }

    /// The code field for this reason.
    pub const fn code(self) -> u8 {
        match self {
            TimeExceeded::HopLimitExceeded => 0,
            TimeExceeded::FragReassembly => 1,
            TimeExceeded::Other(code) => code,
        }
    }
}

impl fmt::Display for TimeExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeExceeded::HopLimitExceeded => f.write_str("hop limit exceeded in transit"),
            TimeExceeded::FragReassembly => f.write_str("fragment reassembly time exceeded"),
            TimeExceeded::Other(code) => write!(f, "code {code}"),
        }
    }
}

/// What was wrong with a packet: the code of a type 4 message ([RFC 4443 section 3.4]).
///
/// [RFC 4443 section 3.4]: https://www.rfc-editor.org/rfc/rfc4443#section-3.4
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamProblem {
    /// Code 0: an erroneous header field.
    ErroneousHeaderField,
    /// Code 1: an unrecognized Next Header type.
    UnrecognizedNextHeader,
    /// Code 2: an unrecognized IPv6 option.
    UnrecognizedOption,
    /// Any other code (3 and up, from later RFCs such as [RFC 7112]); 0 to 2 never parse as
    /// `Other`.
    ///
    /// [RFC 7112]: https://www.rfc-editor.org/rfc/rfc7112
    Other(u8),
}

impl ParamProblem {
    /// The problem for a code.
    pub const fn from_code(code: u8) -> ParamProblem {
        match code {
            0 => ParamProblem::ErroneousHeaderField,
            1 => ParamProblem::UnrecognizedNextHeader,
            2 => ParamProblem::UnrecognizedOption,
            other => ParamProblem::Other(other),
        }
    }

    /// The code field for this problem.
    pub const fn code(self) -> u8 {
        match self {
            ParamProblem::ErroneousHeaderField => 0,
            ParamProblem::UnrecognizedNextHeader => 1,
            ParamProblem::UnrecognizedOption => 2,
            ParamProblem::Other(code) => code,
        }
    }
}

/// The code the extension header walk ([`crate::ip::ipv6::ext::walk`]) asks to report.
impl From<ParamProblemCode> for ParamProblem {
    fn from(value: ParamProblemCode) -> ParamProblem {
        ParamProblem::from_code(u8::from(value))
    }
}

impl fmt::Display for ParamProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamProblem::ErroneousHeaderField => f.write_str("erroneous header field"),
            ParamProblem::UnrecognizedNextHeader => f.write_str("unrecognized next header"),
            ParamProblem::UnrecognizedOption => f.write_str("unrecognized option"),
            ParamProblem::Other(code) => write!(f, "code {code}"),
        }
    }
}
