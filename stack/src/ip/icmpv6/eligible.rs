//! Which packets an ICMPv6 error may answer: not another error ([RFC 4443 2.4 (e.1)]).
//!
//! [RFC 4443 2.4 (e.1)]: https://www.rfc-editor.org/rfc/rfc4443#section-2.4

use crate::ip::IpProtocol;

/// Whether `packet` carries an ICMPv6 error message (types 0 to 127), which no error may
/// answer ([RFC 4443 2.4 (e.1)]), lest two hosts answer each other's errors forever.
///
/// The first fragment of an error counts too: its Fragment header is followed by the start of
/// the Fragmentable Part, whose own chain leads to the message's type. A reassembly timeout
/// quotes such a fragment, and so does a Parameter Problem about one. Linux looks past the
/// Fragment header of a first fragment the same way (`is_ineligible`). Later fragments hold no
/// header to read.
///
/// [RFC 4443 2.4 (e.1)]: https://www.rfc-editor.org/rfc/rfc4443#section-2.4
pub(crate) fn is_icmpv6_error(packet: &[u8]) -> bool {
    use crate::ip::ipv6::{walk, Chain};
    let Ok(view) = crate::ip::ipv6::Packet::new_checked(packet) else {
        return false;
    };
    let header = crate::ip::ipv6::Repr::parse(&view);
    let payload = view.payload();
    let upper = match walk(header.next_header, payload, false) {
        Ok(Chain::Upper { protocol, offset }) => Some((protocol, offset)),
        Ok(Chain::Fragment {
            header: fragment,
            offset,
        }) if fragment.offset == 0 => match walk(fragment.next_header, &payload[offset..], false) {
            Ok(Chain::Upper {
                protocol,
                offset: inner,
            }) => Some((protocol, offset + inner)),
            _ => None,
        },
        _ => None,
    };
    upper.is_some_and(|(protocol, offset)| {
        protocol == IpProtocol::Icmpv6 && payload.get(offset).is_some_and(|t| *t < 128)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ip::ipv6::fragment::write_fragment_header;
    use crate::ip::ipv6::{FragmentHeader, NextHeader};
    use std::net::Ipv6Addr;

    /// An IPv6 packet whose payload is `payload`, with `next_header` in the fixed header.
    fn packet(next_header: NextHeader, payload: &[u8]) -> Vec<u8> {
        let header = crate::ip::ipv6::Repr {
            src_addr: Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 1),
            dst_addr: Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 2),
            next_header,
            hop_limit: 64,
            traffic_class: 0,
            flow_label: 0,
            payload_len: payload.len(),
        };
        let mut bytes = vec![0; 40];
        header.emit(&mut bytes);
        bytes.extend_from_slice(payload);
        bytes
    }

    /// A fragment at `offset` (M set) whose data is `data`, the Fragmentable Part starting
    /// with `next_header`.
    fn fragment(next_header: NextHeader, offset: u16, data: &[u8]) -> Vec<u8> {
        let mut payload = vec![0; 8];
        let header = FragmentHeader {
            next_header,
            offset,
            more_fragments: true,
            ident: 7,
        };
        write_fragment_header(&mut payload, &header);
        payload.extend_from_slice(data);
        packet(NextHeader::Fragment, &payload)
    }

    /// Found by the `host_receive_v6` fuzz target: the first fragment of a destination
    /// unreachable that never completed was answered, 60 seconds on, with a time exceeded.
    #[test]
    fn the_first_fragment_of_an_error_is_an_error_too() {
        let icmpv6 = NextHeader::Protocol(IpProtocol::Icmpv6);
        let unreachable = [1, 4, 0, 0, 0, 0, 0, 0, 0x60, 0, 0, 0, 0, 0, 0, 0];
        let echo = [128, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        assert!(is_icmpv6_error(&packet(icmpv6, &unreachable)));
        assert!(!is_icmpv6_error(&packet(icmpv6, &echo)));
        assert!(is_icmpv6_error(&fragment(icmpv6, 0, &unreachable)));
        assert!(!is_icmpv6_error(&fragment(icmpv6, 0, &echo)));
        // Behind a Destination Options header in the Fragmentable Part.
        let mut behind = vec![58, 0, 1, 4, 0, 0, 0, 0];
        behind.extend_from_slice(&unreachable);
        assert!(is_icmpv6_error(&fragment(
            NextHeader::DestinationOptions,
            0,
            &behind
        )));
        // A later fragment's data is no header: nothing to tell.
        assert!(!is_icmpv6_error(&fragment(icmpv6, 16, &unreachable)));
    }
}
