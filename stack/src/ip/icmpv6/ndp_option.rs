//! Neighbour discovery's options ([RFC 4861 section 4.6]): the link-layer address of the sender
//! or of the target, after a solicitation's or advertisement's target address.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |    Length     |    Link-Layer Address ...
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! [RFC 4861 section 4.6]: https://www.rfc-editor.org/rfc/rfc4861#section-4.6

use std::net::Ipv6Addr;

use crate::ip::addr6::solicited_node;
use crate::link::ethernet::MacAddr;
use crate::wire::WireError;

/// Source Link-Layer Address.
pub(super) const SOURCE_LL_ADDR: u8 = 1;
/// Target Link-Layer Address.
pub(super) const TARGET_LL_ADDR: u8 = 2;
/// A link-layer address option for Ethernet: type, length 1, six bytes of address.
pub(super) const LL_ADDR_LEN: usize = 8;

/// Reads the link-layer address option of type `wanted` from neighbour discovery options.
///
/// Options of other types are skipped; of several of type `wanted`, the first counts (Linux
/// keeps the first too). An option with length 0 is an error ([RFC 4861 section 4.6]:
/// "Nodes MUST silently discard an ND packet that contains an option with length zero"), as is
/// one that runs past the message, or a link-layer address option that is not Ethernet's 8
/// bytes.
///
/// [RFC 4861 section 4.6]: https://www.rfc-editor.org/rfc/rfc4861#section-4.6
pub(super) fn read_link_layer(
    mut options: &[u8],
    wanted: u8,
) -> Result<Option<MacAddr>, WireError> {
    let mut found = None;
    while !options.is_empty() {
        let [kind, units, ..] = *options else {
            return Err(WireError::Truncated);
        };
        let len = usize::from(units) * 8;
        if len == 0 {
            return Err(WireError::BadOption);
        }
        let Some(opt) = options.get(..len) else {
            return Err(WireError::Truncated);
        };
        if kind == wanted && found.is_none() {
            if len != LL_ADDR_LEN {
                return Err(WireError::BadOption);
            }
            let mut mac = [0u8; 6];
            mac.copy_from_slice(&opt[2..8]);
            found = Some(MacAddr::new(mac));
        }
        options = &options[len..];
    }
    Ok(found)
}

/// Writes a link-layer address option of type `kind` at the start of `buf`, if there is an
/// address.
pub(super) fn write_link_layer(buf: &mut [u8], kind: u8, mac: Option<MacAddr>) {
    if let Some(mac) = mac {
        let opt = &mut buf[..LL_ADDR_LEN];
        opt[0] = kind;
        opt[1] = 1;
        opt[2..].copy_from_slice(&mac.octets());
    }
}

/// Whether `addr` is a solicited-node multicast address, `ff02::1:ffXX:XXXX`
/// ([RFC 4291 section 2.7.1]): the group its own last 24 bits name.
///
/// [RFC 4291 section 2.7.1]: https://www.rfc-editor.org/rfc/rfc4291#section-2.7.1
pub(super) fn is_solicited_node(addr: Ipv6Addr) -> bool {
    solicited_node(addr) == addr
}
