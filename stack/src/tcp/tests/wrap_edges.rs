//! Comparisons that went wrong as sequence numbers wrap, tested on the connection itself.

use super::harness::{Harness, Seg, PEER_ISN};
use crate::tcp::input::{Reply, Segment};
use crate::tcp::Flags;

/// Our window is exactly filled by data that ends with a FIN: the FIN lies at the window's
/// right edge, and RCV.NXT moves one past it. The window must then be 0, not 2^32 − 1 (nor
/// 2^64 − 1): a RST far beyond the edge is still outside it.
#[test]
fn a_fin_at_the_right_edge_of_the_window_leaves_it_closed() {
    let mut h = Harness::with_config(|c| c.recv_buffer = 4096);
    let (id, ours) = h.passive_open(80);
    let theirs = PEER_ISN.wrapping_add(1);
    let wnd = {
        let conn = h.host.tcp.conn_mut(id).unwrap_or_else(|| unreachable!());
        conn.rcv.adv - conn.rcv.nxt
    };
    let data = vec![7u8; wnd];
    let fin = Seg::to(
        80,
        Flags::ACK | Flags::FIN | Flags::PSH,
        theirs,
        ours.0.wrapping_add(1),
    )
    .with_payload(&data);
    let conn = h.host.tcp.conn_mut(id).unwrap_or_else(|| unreachable!());
    let reply = conn.on_segment(h.now, &segment(&fin));
    assert_eq!(reply, Reply::None);
    assert!(conn.rcv.fin_received, "the FIN at the edge is taken");
    assert!(
        conn.rcv.nxt <= conn.rcv.adv,
        "RCV.NXT past the announced edge"
    );
    // A blind RST 10,000 past RCV.NXT: not in any window we gave, so ignored, not
    // challenged.
    let far = theirs.wrapping_add(wnd as u32 + 1 + 10_000);
    let rst = Seg::to(80, Flags::RST, far, 0);
    assert_eq!(conn.on_segment(h.now, &segment(&rst)), Reply::None);
}

/// A segment from the harness's description, as the connection receives it.
fn segment(seg: &Seg) -> Segment<'_> {
    Segment {
        header: seg.repr(),
        payload: &seg.payload,
        packet: None,
    }
}
