//! The IPv6 layer's state: our addresses, the Hop Limit we send with, the next Fragment
//! Identification, counters.
//!
//! A host has more than one IPv6 address on a link, each with a *scope* ([RFC 4291 2.5.6]):
//! the link-local one (fe80::/64, made from the MAC address) that Neighbor Discovery speaks
//! from, and the global one the user configured (`fd77::2/64`). Which one a packet goes out
//! from depends on where it goes ([RFC 6724]'s rule 2, "prefer appropriate scope"): a
//! link-local destination gets the link-local source, anything else the global one.
//!
//! [RFC 4291 2.5.6]: https://www.rfc-editor.org/rfc/rfc4291#section-2.5.6
//! [RFC 6724]: https://www.rfc-editor.org/rfc/rfc6724

use std::net::Ipv6Addr;

use crate::ip::addr6::{is_link_local, solicited_node, Ipv6Cidr};
use crate::stats::LayerStats;

/// One of our IPv6 addresses, and whether it may be used yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OurAddr {
    /// The address and its prefix.
    pub(crate) cidr: Ipv6Cidr,
    /// False while duplicate address detection runs ([RFC 4862 5.4]: a *tentative* address
    /// neither sends nor receives), and for good when it found a duplicate.
    ///
    /// [RFC 4862 5.4]: https://www.rfc-editor.org/rfc/rfc4862#section-5.4
    pub(crate) usable: bool,
}

/// The IPv6 layer's state.
#[derive(Debug)]
pub(crate) struct Ipv6Layer {
    /// Our addresses: the link-local one first, then the global one.
    pub(crate) addrs: Vec<OurAddr>,
    /// Hop Limit of the packets we send (like IPv4's TTL, and the same default).
    pub(crate) hop_limit: u8,
    /// The link's MTU.
    pub(crate) mtu: usize,
    /// Identification of the next fragmented datagram ([RFC 8200 4.5]), 32 bits.
    ///
    /// [RFC 8200 4.5]: https://www.rfc-editor.org/rfc/rfc8200#section-4.5
    pub(crate) next_ident: u32,
    /// Packets whose fragments are arriving.
    pub(crate) reassembler: super::fragment::Ipv6Reassembler,
    /// Counters.
    pub(crate) stats: LayerStats,
}

impl Ipv6Layer {
    /// The layer of a host with link-local address `link_local` and global address `global`.
    pub(crate) fn new(
        link_local: Ipv6Addr,
        global: Ipv6Cidr,
        hop_limit: u8,
        first_ident: u32,
    ) -> Ipv6Layer {
        let link_local = OurAddr {
            cidr: Ipv6Cidr::new(link_local, 64).unwrap_or(global),
            usable: true,
        };
        let global = OurAddr {
            cidr: global,
            usable: true,
        };
        Ipv6Layer {
            addrs: vec![link_local, global],
            hop_limit,
            mtu: 1500,
            next_ident: first_ident,
            reassembler: super::fragment::reassembler(),
            stats: LayerStats::default(),
        }
    }

    /// Our global address.
    pub(crate) fn global(&self) -> Ipv6Addr {
        self.addrs[self.addrs.len() - 1].cidr.address()
    }

    /// Our link-local address.
    pub(crate) fn link_local(&self) -> Ipv6Addr {
        self.addrs[0].cidr.address()
    }

    /// Whether `addr` is one of our addresses and usable.
    pub(crate) fn is_ours(&self, addr: Ipv6Addr) -> bool {
        self.addrs
            .iter()
            .any(|a| a.usable && a.cidr.address() == addr)
    }

    /// Whether `addr` is one of our addresses, usable or not (a packet from it is a loop or a
    /// forgery).
    pub(crate) fn is_any_of_ours(&self, addr: Ipv6Addr) -> bool {
        self.addrs.iter().any(|a| a.cidr.address() == addr)
    }

    /// Whether we listen to multicast group `group`: all nodes (ff01::1, ff02::1), and the
    /// solicited-node group of each of our addresses ([RFC 4291 2.8]).
    ///
    /// [RFC 4291 2.8]: https://www.rfc-editor.org/rfc/rfc4291#section-2.8
    pub(crate) fn is_member(&self, group: Ipv6Addr) -> bool {
        let all_nodes = [
            Ipv6Addr::new(0xff01, 0, 0, 0, 0, 0, 0, 1),
            Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1),
        ];
        all_nodes.contains(&group)
            || self
                .addrs
                .iter()
                .any(|a| solicited_node(a.cidr.address()) == group)
    }

    /// The source address for a packet to `dst` ([RFC 6724] rule 2): the link-local address
    /// for a link-local or link-scope multicast destination, else the global one; `None`
    /// while neither is usable.
    ///
    /// [RFC 6724]: https://www.rfc-editor.org/rfc/rfc6724
    pub(crate) fn src_for(&self, dst: Ipv6Addr) -> Option<Ipv6Addr> {
        let link_scope =
            is_link_local(dst) || (dst.is_multicast() && dst.segments()[0] & 0x000f <= 2);
        let (first, second) = if link_scope { (0, 1) } else { (1, 0) };
        [first, second]
            .into_iter()
            .filter_map(|i| self.addrs.get(i))
            .find(|a| a.usable)
            .map(|a| a.cidr.address())
    }

    /// Whether `dst` is on our link: link-local, or on our global address's network.
    pub(crate) fn is_on_link(&self, dst: Ipv6Addr) -> bool {
        is_link_local(dst) || self.addrs.iter().any(|a| a.cidr.contains(dst))
    }
}
