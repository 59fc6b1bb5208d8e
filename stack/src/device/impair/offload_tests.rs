//! The impairments on a device with offloads: super-packets whole, corruption still caught.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::io;
use std::net::Ipv4Addr;
use std::task::{Context, Poll};
use std::time::Duration;

use super::*;
use crate::device::offload::tests::{data, tcp_packet};
use crate::device::offload::{Checksum, Gso, Offloads, PacketInfo};
use crate::ip::header::Packet as Ipv4Packet;
use crate::tcp::flags::Flags;
use crate::tcp::header::Packet as TcpPacket;

/// A device with offloads that keeps what is sent to it and hands up what it is given.
#[derive(Default)]
struct OffloadDevice {
    sent: Vec<(Vec<u8>, PacketInfo)>,
    to_receive: VecDeque<(Vec<u8>, PacketInfo)>,
}

impl Device for OffloadDevice {
    fn mtu(&self) -> usize {
        1500
    }

    fn offloads(&self) -> Offloads {
        Offloads::ALL
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.poll_recv_info(cx, buf).map_ok(|(len, _)| len)
    }

    fn poll_recv_info(
        &mut self,
        _cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, PacketInfo)>> {
        match self.to_receive.pop_front() {
            Some((packet, info)) => {
                buf[..packet.len()].copy_from_slice(&packet);
                Poll::Ready(Ok((packet.len(), info)))
            }
            None => Poll::Pending,
        }
    }

    fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        packet: &[u8],
        comment: Option<&str>,
    ) -> Poll<io::Result<()>> {
        self.poll_send_info(cx, packet, &PacketInfo::PLAIN, comment)
    }

    fn poll_send_info(
        &mut self,
        _cx: &mut Context<'_>,
        packet: &[u8],
        info: &PacketInfo,
        _comment: Option<&str>,
    ) -> Poll<io::Result<()>> {
        self.sent.push((packet.to_vec(), *info));
        Poll::Ready(Ok(()))
    }
}

/// A super-packet of 10,000 bytes (7 segments of 1,448), its checksum partial.
fn super_packet() -> (Vec<u8>, PacketInfo) {
    let packet = tcp_packet(false, 0, &data(10_000), Flags::ACK | Flags::PSH, true);
    let info = PacketInfo {
        checksum: Checksum::Partial {
            start: 20,
            offset: 16,
        },
        gso: Some(Gso {
            size: 1448,
            header_len: 52,
            v6: false,
            ecn: false,
        }),
    };
    (packet, info)
}

/// Whether a checksum catches what was done to `packet`: its IPv4 header or its TCP segment
/// fails to verify.
fn caught(packet: &[u8]) -> bool {
    let Ok(ip) = Ipv4Packet::new_checked(packet) else {
        return true;
    };
    if crate::ip::header::Repr::parse(&ip).is_err() {
        return true;
    }
    let Ok(tcp) = TcpPacket::new_checked(&packet[ip.header_len()..]) else {
        return true;
    };
    let (src, dst) = (Ipv4Addr::new(10, 77, 0, 2), Ipv4Addr::new(10, 77, 0, 1));
    !tcp.verify_checksum(src, dst)
}

async fn send_info<L: Device>(link: &mut L, packet: &[u8], info: &PacketInfo) {
    poll_fn(|cx| link.poll_send_info(cx, packet, info, None))
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_super_packet_goes_whole_through_a_link_that_does_not_corrupt() {
    let config = ImpairConfig::both_ways(Impairments {
        delay: Duration::from_millis(5),
        duplicate: 1.0,
        ..Impairments::default()
    });
    let mut link = Impair::new(OffloadDevice::default(), config).unwrap();
    assert_eq!(link.offloads(), Offloads::ALL);
    let (packet, info) = super_packet();
    send_info(&mut link, &packet, &info).await;
    tokio::time::sleep(Duration::from_millis(6)).await;
    poll_fn(|cx| link.poll_flush(cx)).await.unwrap();
    let sent = &link.get_ref().sent;
    assert_eq!(sent.len(), 2, "the super-packet and its duplicate");
    for (bytes, said) in sent {
        assert_eq!(
            (bytes, said),
            (&packet, &info),
            "whole, and what to do with it"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_super_packet_is_cut_before_a_link_corrupts_it_and_every_flip_is_caught() {
    let config = ImpairConfig::outbound_only(Impairments {
        corrupt: 1.0,
        ..Impairments::default()
    })
    .with_seed(3);
    let mut link = Impair::new(OffloadDevice::default(), config).unwrap();
    let (packet, info) = super_packet();
    send_info(&mut link, &packet, &info).await;
    poll_fn(|cx| link.poll_flush(cx)).await.unwrap();
    let sent = &link.get_ref().sent;
    assert_eq!(sent.len(), 7, "cut into its segments");
    for (bytes, said) in sent {
        assert_eq!(
            *said,
            PacketInfo::PLAIN,
            "whole checksums, nothing left to the device"
        );
        assert!(bytes.len() <= 20 + 32 + 1448);
        assert!(caught(bytes), "a flipped bit under a whole checksum");
    }
    assert_eq!(link.stats().outbound.corrupted, 7);
}

#[tokio::test(start_paused = true)]
async fn a_partial_checksum_is_completed_before_its_bit_is_flipped() {
    let config = ImpairConfig::outbound_only(Impairments {
        corrupt: 1.0,
        ..Impairments::default()
    })
    .with_seed(4);
    let mut link = Impair::new(OffloadDevice::default(), config).unwrap();
    let packet = tcp_packet(false, 0, &data(500), Flags::ACK, true);
    let info = PacketInfo {
        checksum: Checksum::Partial {
            start: 20,
            offset: 16,
        },
        gso: None,
    };
    send_info(&mut link, &packet, &info).await;
    poll_fn(|cx| link.poll_flush(cx)).await.unwrap();
    let [(bytes, said)] = &link.get_ref().sent[..] else {
        panic!("one packet");
    };
    assert_eq!(said.checksum, Checksum::Complete);
    assert!(caught(bytes));
}

#[tokio::test(start_paused = true)]
async fn the_devices_word_on_a_checksum_is_dropped_with_a_flipped_bit() {
    let config = ImpairConfig::inbound_only(Impairments {
        corrupt: 0.5,
        ..Impairments::default()
    })
    .with_seed(5);
    let mut device = OffloadDevice::default();
    let (packet, info) = super_packet();
    for _ in 0..40 {
        device.to_receive.push_back((packet.clone(), info));
    }
    let mut link = Impair::new(device, config).unwrap();
    let mut buf = vec![0; crate::device::offload::MAX_SUPER_PACKET];
    let (mut intact, mut flipped) = (0, 0);
    for _ in 0..40 {
        let (len, said) = poll_fn(|cx| link.poll_recv_info(cx, &mut buf))
            .await
            .unwrap();
        assert_eq!(said.gso, info.gso, "still a super-packet");
        if buf[..len] == packet[..] {
            assert_eq!(said, info, "untouched: the device's word stands");
            intact += 1;
        } else {
            assert_eq!(said.checksum, Checksum::Complete, "to be verified");
            flipped += 1;
        }
    }
    assert!(
        intact > 0 && flipped > 0,
        "{intact} intact, {flipped} flipped"
    );
}
