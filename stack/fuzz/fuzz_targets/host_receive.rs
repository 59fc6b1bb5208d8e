//! The whole receive path: packets into [`Host::receive`] of a host at 10.77.0.2/24, every
//! answer out of [`Host::transmit`], and each answer checked with our own parsers.
//!
//! Random bytes almost never pass the IPv4 checks (version, lengths, checksum, destination), so
//! a fuzzer fed raw bytes would spend its time in the first layer. Instead each input is a list
//! of packets, and a control byte per packet says what to make right before it goes in:
//!
//! ```text
//! input   := record*
//! record  := control:u8 delay_ms:u8 len:u16be bytes[len]     (a short last record takes the rest)
//!
//! control bits 0-1  protocol: 0 keep the input's byte, 1 ICMP, 2 UDP, 3 TCP
//!         bit  2    raw: send the bytes exactly as they are, nothing below applies
//!         bit  3    keep the input's IHL (IPv4 options), when it fits
//!         bit  4    keep the input's source address (else one in 10.77.0.0/24)
//!         bit  5    keep the input's fragment fields (else not a fragment)
//!         bit  6    keep the transport's lengths and checksum as they are
//!         bit  7    UDP: send no checksum (0)
//! ```
//!
//! The destination, Total Length, a non-zero TTL and the header checksum are always made right
//! unless the record is raw.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tunstack::ip::fragment::{Reassembler, ReassemblyConfig};
use tunstack::time::Instant;
use tunstack::{Config, Host, Ipv4Cidr};

#[path = "common/ipv4.rs"]
mod ipv4;

use ipv4::US;

fuzz_target!(|data: &[u8]| {
    let mut config = Config::new(Ipv4Cidr::new(US, 24).expect("a /24"));
    config.seed = Some(0x7457_0a4d_0002);
    let mtu = config.mtu;
    let mut host = Host::new(config);
    let mut now = Instant::ZERO;
    let mut rest = data;
    let mut out = Vec::new();
    let mut joiner = Reassembler::new(ReassemblyConfig::default());
    while let [control, delay_ms, len_hi, len_lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*len_hi, *len_lo])).min(tail.len());
        let (bytes, after) = tail.split_at(len);
        rest = after;
        now += std::time::Duration::from_millis(u64::from(*delay_ms));

        let packet = ipv4::shape(*control, bytes);
        host.receive(now, &packet);
        while host.transmit(now, &mut out).is_some() {
            assert!(out.len() <= mtu, "sent {} bytes over MTU {mtu}", out.len());
            ipv4::check(&out, &mut joiner, now);
        }
        assert!(
            joiner.is_empty(),
            "every fragmented datagram went out whole"
        );
    }
});
