//! ICMP errors about our segments (RFC 1122 4.2.3.9, RFC 5927).

use std::io;
use std::time::Duration;

use super::harness::*;
use crate::ip::icmp::DstUnreachable;
use crate::tcp::{Flags, State};

/// Our SYN is answered by an ICMP error with `reason`: the connect fails at once with `kind`,
/// and no SYN is sent again.
fn connect_answered_by(reason: DstUnreachable, kind: io::ErrorKind) {
    let mut h = Harness::new();
    let id = h.connect(5000);
    let syn = h.expect();
    h.send_unreachable(reason, &syn);
    assert_eq!(h.state(id), Some(State::Closed), "{reason}");
    assert_eq!(h.read(id).unwrap_err().kind(), kind, "{reason}");
    h.advance(Duration::from_secs(10));
    h.expect_silence();
}

#[test]
fn a_connect_answered_by_port_unreachable_is_refused_at_once() {
    connect_answered_by(
        DstUnreachable::PortUnreachable,
        io::ErrorKind::ConnectionRefused,
    );
    connect_answered_by(
        DstUnreachable::ProtoUnreachable,
        io::ErrorKind::ConnectionRefused,
    );
}

#[test]
fn a_connect_answered_by_host_or_net_unreachable_fails_with_that() {
    connect_answered_by(
        DstUnreachable::HostUnreachable,
        io::ErrorKind::HostUnreachable,
    );
    connect_answered_by(
        DstUnreachable::NetUnreachable,
        io::ErrorKind::NetworkUnreachable,
    );
    // Code 13, administratively prohibited (a firewall's REJECT): no route for us either.
    connect_answered_by(DstUnreachable::Other(13), io::ErrorKind::HostUnreachable);
}

#[test]
fn an_icmp_error_about_no_segment_in_flight_is_ignored() {
    let mut h = Harness::new();
    let id = h.connect(5000);
    let mut syn = h.expect();
    // A forged error: the sequence number it quotes was never sent (RFC 5927 4.1).
    syn.seq += 1000;
    h.send_unreachable(DstUnreachable::PortUnreachable, &syn);
    assert_eq!(h.state(id), Some(State::SynSent));
    // Fragmentation needed is not acted on (no path MTU discovery), and time exceeded neither.
    syn.seq = syn.seq - 1000;
    h.send_unreachable(DstUnreachable::FragRequired { next_hop_mtu: 576 }, &syn);
    assert_eq!(h.state(id), Some(State::SynSent));
    let (again, _) = h.wait_for_segment(Duration::from_millis(10), Duration::from_secs(2));
    assert_eq!(
        again.flags,
        Flags::SYN,
        "the SYN is sent again, as if no error came"
    );
}

#[test]
fn once_connected_an_icmp_error_is_soft_and_named_if_the_connection_times_out() {
    let mut h = Harness::with_config(|c| c.retries = 2);
    let (id, _) = h.active_open(5000);
    h.write(id, b"hello").unwrap();
    let data = h.expect();
    h.send_unreachable(DstUnreachable::HostUnreachable, &data);
    // Routes come back: the connection goes on (RFC 1122 4.2.3.9, RFC 5461).
    assert_eq!(h.state(id), Some(State::Established));
    let mut waited = Duration::ZERO;
    while h.state(id) == Some(State::Established) {
        assert!(waited < Duration::from_secs(60), "still open");
        h.recv_all();
        h.advance(Duration::from_millis(100));
        waited += Duration::from_millis(100);
    }
    // It timed out in the end; the application hears why, as on Linux.
    assert_eq!(
        h.read(id).unwrap_err().kind(),
        io::ErrorKind::HostUnreachable
    );
}

#[test]
fn a_half_open_connection_answered_by_an_icmp_error_is_forgotten() {
    let mut h = Harness::new();
    h.listen(80);
    h.send(&Seg::to(80, Flags::SYN, PEER_ISN, 0));
    let syn_ack = h.expect();
    h.send_unreachable(DstUnreachable::HostUnreachable, &syn_ack);
    assert!(h.host.tcp_connections().is_empty());
    assert!(h.accept(80).is_none());
}
