//! Neighbor Discovery ([RFC 4861]): which MAC address goes with an IPv6 address on this link,
//! and whether an address we want is free ([RFC 4862 5.4], [`dad`](self#duplicate-address-detection)).
//!
//! NDP does for IPv6 what [ARP](super::arp) does for IPv4, with two messages, a Neighbor
//! Solicitation (NS, "who has fd77::1?") and a Neighbor Advertisement (NA, "fd77::1 is at
//! 9a:3c:..:11"). The question does not go to the whole link: it goes to the target's
//! *solicited-node* multicast group, ff02::1:ff and the address's last three bytes
//! ([`solicited_node`](crate::ip::addr6::solicited_node)), which only hosts whose addresses end
//! alike listen to; on Ethernet that group is the MAC address 33:33:ff:00:00:01
//! ([`MacAddr::ipv6_multicast`](super::ethernet::MacAddr::ipv6_multicast)). The asker puts its
//! own MAC address in the question (the Source Link-Layer Address option), so the target
//! learns it and answers to it alone:
//!
//! ```text
//!   fd77::2 (02:00:0a:4d:00:02)                           fd77::1 (9a:3c:00:00:00:11)
//!          │                                                          │
//!          │  to 33:33:ff:00:00:01, IPv6 fd77::2 > ff02::1:ff00:1     │
//!          │  hop limit 255, ICMPv6 neighbour solicitation            │
//!          │  "who has fd77::1?"  source MAC option 02:00:0a:4d:00:02 │
//!          │─────────────────────────────────────────────────────────>│ only hosts in the group
//!          │                                                          │ ff02::1:ff00:1 read it;
//!          │  to 02:00:0a:4d:00:02, IPv6 fd77::1 > fd77::2            │ fd77::1 learns the asker
//!          │  hop limit 255, ICMPv6 neighbour advertisement [S O]     │ (STALE) and answers
//!          │  "fd77::1 is at 9a:3c:00:00:00:11" (target MAC option)   │
//!          │<─────────────────────────────────────────────────────────│
//!          │                                                          │
//!   the entry for fd77::1 is REACHABLE (S: an answer to our question), and the packets
//!   that waited for it go
//! ```
//!
//! The byte layout of both messages, with RFC 4861's diagram, is in the ICMPv6 codec
//! ([`crate::ip::icmpv6::header`]). The answers go into the same neighbour cache as ARP's
//! ([`super::neighbour`]), with the same states and timers: a STALE entry in use is checked
//! with a unicast solicitation to the MAC address we have, as ARP checks with a unicast
//! request.
//!
//! # Why the link layer handles it
//!
//! An NS or NA is an ICMPv6 message inside an IPv6 packet, so by its encapsulation NDP belongs
//! to the IP layer. By its job it is ARP: it finds MAC addresses for the link layer, it feeds
//! the neighbour cache that only the link layer has, and it never leaves the link (its Hop
//! Limit of 255 proves that, [`message`](self#messages)). So the Ethernet interface takes
//! these two messages out of the IPv6 packets it receives, the way it takes ARP out of its
//! frames, and hands every other IPv6 packet up. The IP layer never sees NDP, and the link
//! layer needs nothing from it. On a TUN device, which carries bare IP packets with no MAC
//! addresses, there is no NDP at all (Linux runs none on a TUN device either).
//!
//! # Messages
//!
//! Every NS or NA read from the link passes [RFC 4861 7.1]'s checks or is dropped and counted
//! in `ndp` ([`Stats::ndp`](crate::Stats::ndp)): Hop Limit 255, a right ICMPv6 checksum, code
//! 0, at least 24 bytes, a target that is not multicast, options whose lengths are not zero
//! and fit, no source MAC option and a solicited-node destination for an NS from `::`, and no
//! Solicited flag on an NA to a multicast group.
//!
//! What we answer ([RFC 4861 7.2.3, 7.2.4]): an NS for one of our (checked) addresses gets an
//! NA with Solicited and Override set and our MAC address, to the asker; an NS from `::` is
//! another host checking whether our address is free, and gets an NA to all nodes (ff02::1)
//! without Solicited: that is how it learns that it is not. An NS for an address that is not
//! ours is ignored.
//!
//! # Duplicate address detection
//!
//! Before it uses an IPv6 address (its link-local one, made from its MAC address, and the one
//! it is given), a host asks the link whether anybody else has it: an NS from `::`, which
//! anyone who has the address answers. See [RFC 4862 5.4]; the exchange is drawn in the
//! source of `dad.rs`, which keeps our addresses and their states (tentative, preferred,
//! duplicate). The counters are [`DadStats`].
//!
//! A duplicate is logged as a warning, in Linux's words ("IPv6 duplicate address fd77::2 used
//! by 9a:3c:00:00:00:11 detected!"), counted, and never used; the other address stays. That is
//! Linux's default (`accept_dad` 1). RFC 4862 5.4.5 suggests more when the duplicate is a
//! link-local address made from the MAC address (the MAC address itself is then probably
//! another card's, so IPv6 should stop on the interface); Linux does that only with
//! `accept_dad` 2, and this stack does not.
//!
//! # What a host on a real link also does, and this one does not
//!
//! - **No multicast listener reports (MLD).** Linux reports that it joined its solicited-node
//!   groups, so that a switch that snoops MLD forwards their frames to it. A TAP device or an
//!   in-memory wire has no such switch, and we take every frame sent to a 33:33 address.
//! - **No random delay before duplicate address detection** (RFC 4862 5.4.2 asks for 0 to 1 s,
//!   against hosts that power up together): the check starts at once, so a test on virtual
//!   time sees the same frames at the same instants on every run.
//! - **No unsolicited advertisement once an address is ours.** Linux sends none either unless
//!   `ndisc_notify` is set: a neighbour with an old entry for our address checks it when it
//!   next uses it (DELAY, PROBE), and our MAC address comes from our IPv4 address, so it does
//!   not change between runs. (IPv4's gratuitous ARP at start is sent all the same, as Linux
//!   does.)
//! - **No router discovery, redirects or the nonce option.** Addresses and the gateway are
//!   configured ([`Config::addr6`](crate::Config::addr6),
//!   [`Config::gateway6`](crate::Config::gateway6)); Router Solicitations and Advertisements,
//!   Redirects and other ICMPv6 types go up to the IP layer like any IPv6 packet. Linux puts a
//!   nonce option in its duplicate address detection ([RFC 7527]) to recognise its own
//!   solicitation looped back; we read around it, and never take a frame from our own MAC
//!   address in the first place.
//!
//! [RFC 4861]: https://www.rfc-editor.org/rfc/rfc4861
//! [RFC 4861 7.1]: https://www.rfc-editor.org/rfc/rfc4861#section-7.1
//! [RFC 4861 7.2.3, 7.2.4]: https://www.rfc-editor.org/rfc/rfc4861#section-7.2.3
//! [RFC 4862 5.4]: https://www.rfc-editor.org/rfc/rfc4862#section-5.4
//! [RFC 7527]: https://www.rfc-editor.org/rfc/rfc7527

pub(crate) mod dad;
pub(crate) mod message;

#[cfg(test)]
pub(crate) mod linux_frames;

pub use dad::DadStats;
