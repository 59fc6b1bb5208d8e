//! The unsent limit (`TcpConfig::unsent_limit`): a write waits while that many bytes it wrote
//! are unsent, and the end of what it wrote waits for its next write rather than go as a
//! small segment. A chunk written as shared bytes and not copied is not held to the limit.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};

use super::harness::*;
use crate::tcp::{ConnId, Flags};

/// An established passive connection on port 80; returns the connection, our next sequence
/// number and the peer's.
fn established(h: &mut Harness) -> (ConnId, u32, u32) {
    let (id, iss) = h.passive_open(80);
    (id, iss.0.wrapping_add(1), PEER_ISN.wrapping_add(1))
}

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

/// Counts the wakes of the task it stands for.
struct WakeCount(AtomicUsize);

impl Wake for WakeCount {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_write_waits_at_the_unsent_limit_and_goes_on_once_data_went_out() {
    let mut h = Harness::with_config(|c| {
        c.send_buffer = 64 * 1024;
        c.unsent_limit = Some(4000);
    });
    let (id, ours, theirs) = established(&mut h);
    // The peer's window lets two segments go, no more.
    h.send(&Seg::to(80, Flags::ACK, theirs, ours).with_window(2920));
    assert_eq!(
        h.write(id, &data(10_000)).unwrap(),
        4000,
        "the limit, not the buffer"
    );
    let count = Arc::new(WakeCount(Default::default()));
    let waker = Waker::from(count.clone());
    let mut cx = Context::from_waker(&waker);
    assert!(h.host.tcp_poll_write(&mut cx, id, &data(100)).is_pending());
    let woken = |count: &WakeCount| count.0.load(Ordering::SeqCst);
    assert_eq!(woken(&count), 0);
    let segs = h.recv_all();
    assert_eq!(segs.iter().map(|s| s.payload.len()).sum::<usize>(), 2920);
    assert_eq!(woken(&count), 1, "data went out: the writer is woken");
    // 1,080 bytes wait to be sent: 2,920 more fit under the limit.
    assert_eq!(h.write(id, &data(10_000)).unwrap(), 2920);
    let stats = h.host.tcp_info(id).unwrap();
    assert_eq!(stats.bytes_in_flight, 2920);
}

#[test]
fn without_an_unsent_limit_a_write_fills_the_send_buffer() {
    let mut h = Harness::with_config(|c| {
        c.send_buffer = 64 * 1024;
        c.unsent_limit = None;
    });
    let (id, _, _) = established(&mut h);
    assert_eq!(h.write(id, &data(100_000)).unwrap(), 64 * 1024);
}

#[test]
fn an_unsent_limit_below_two_segments_still_lets_two_full_ones_wait() {
    let mut h = Harness::with_config(|c| c.unsent_limit = Some(100));
    let (id, _, _) = established(&mut h);
    assert_eq!(h.write(id, &data(10_000)).unwrap(), 2 * 1460);
    let segs = h.recv_all();
    assert!(segs.iter().all(|s| s.payload.len() == 1460), "{segs:?}");
}

/// A writer that found no room: a task waiting in `poll_write`; returns its wake count.
fn wait_as_writer(h: &mut Harness, id: ConnId) -> Arc<WakeCount> {
    let count = Arc::new(WakeCount(Default::default()));
    let waker = Waker::from(count.clone());
    let mut cx = Context::from_waker(&waker);
    assert!(h.host.tcp_poll_write(&mut cx, id, &data(100)).is_pending());
    count
}

#[test]
fn the_end_of_a_write_waits_for_the_next_while_the_writer_waits() {
    let mut h = Harness::with_config(|c| c.unsent_limit = Some(4000));
    let (id, ours, theirs) = established(&mut h);
    h.host.tcp_set_nodelay(id, true).unwrap();
    assert_eq!(h.write(id, &data(10_000)).unwrap(), 4000);
    let writer = wait_as_writer(&mut h, id);
    let segs = h.recv_all();
    let lens: Vec<_> = segs.iter().map(|s| s.payload.len()).collect();
    assert_eq!(
        lens,
        [1460, 1460],
        "the last 1,080 bytes wait for the writer, Nagle off or not"
    );
    assert_eq!(writer.0.load(Ordering::SeqCst), 1, "woken: room again");
    // The writer writes on, and waits again: the rest goes with its bytes, in full segments.
    assert_eq!(h.write(id, &data(10_000)).unwrap(), 2920);
    let _writer = wait_as_writer(&mut h, id);
    let lens: Vec<_> = h.recv_all().iter().map(|s| s.payload.len()).collect();
    assert_eq!(lens, [1460, 1460], "4,000 unsent: two full, 1,080 wait");
    // Should the writer not write again, the end goes once nothing is in flight to bring an
    // ACK, and with it a later chance to send.
    h.send(&Seg::to(80, Flags::ACK, theirs, ours.wrapping_add(5840)));
    let segs = h.recv_all();
    assert_eq!(segs.len(), 1, "{segs:?}");
    assert_eq!(segs[0].payload.len(), 1080);
    assert_eq!(segs[0].seq.0, ours.wrapping_add(5840));
}

#[test]
fn the_end_of_a_write_goes_at_once_when_no_writer_waits() {
    let mut h = Harness::with_config(|c| c.unsent_limit = Some(4000));
    let (id, _, _) = established(&mut h);
    h.host.tcp_set_nodelay(id, true).unwrap();
    assert_eq!(h.write(id, &data(4000)).unwrap(), 4000);
    let lens: Vec<_> = h.recv_all().iter().map(|s| s.payload.len()).collect();
    assert_eq!(
        lens,
        [1460, 1460, 1080],
        "all the application had: nothing to wait for"
    );
}

#[test]
fn the_end_of_a_write_goes_with_the_fin() {
    let mut h = Harness::with_config(|c| c.unsent_limit = Some(4000));
    let (id, _, _) = established(&mut h);
    h.host.tcp_set_nodelay(id, true).unwrap();
    assert_eq!(h.write(id, &data(10_000)).unwrap(), 4000);
    let _writer = wait_as_writer(&mut h, id);
    h.host.tcp_shutdown(id).unwrap();
    let segs = h.recv_all();
    let lens: Vec<_> = segs.iter().map(|s| s.payload.len()).collect();
    assert_eq!(lens, [1460, 1460, 1080]);
    assert!(segs[2].flags.fin(), "{segs:?}");
}

/// Writes `data` as shared bytes; returns how many were taken (0 when none fit).
fn write_shared(h: &mut Harness, id: ConnId, data: &mut bytes::Bytes) -> usize {
    match h.host.tcp_poll_write_shared(&mut cx(), id, data) {
        std::task::Poll::Ready(result) => result.unwrap(),
        std::task::Poll::Pending => 0,
    }
}

#[test]
fn a_chunk_kept_as_it_is_fills_the_send_buffer_past_the_unsent_limit() {
    let mut h = Harness::with_config(|c| {
        c.send_buffer = 64 * 1024;
        c.unsent_limit = Some(8000);
    });
    let (id, _, _) = established(&mut h);
    let mut chunk = bytes::Bytes::from(data(100_000));
    assert_eq!(
        write_shared(&mut h, id, &mut chunk),
        64 * 1024,
        "not copied: only the send buffer bounds it"
    );
    assert_eq!(
        chunk.len(),
        100_000 - 64 * 1024,
        "the rest stays with the caller"
    );
}

#[test]
fn a_short_chunk_is_copied_and_held_to_the_unsent_limit() {
    let mut h = Harness::with_config(|c| {
        c.send_buffer = 64 * 1024;
        c.unsent_limit = Some(8000);
    });
    let (id, _, _) = established(&mut h);
    assert_eq!(h.write(id, &data(6000)).unwrap(), 6000);
    // 2,000 bytes fit under the limit; a 3,000-byte chunk would be copied, so it waits there.
    let mut short = bytes::Bytes::from(data(3000));
    assert_eq!(write_shared(&mut h, id, &mut short), 2000);
    assert_eq!(write_shared(&mut h, id, &mut short), 0, "at the limit");
    assert_eq!(short.len(), 1000);
}
