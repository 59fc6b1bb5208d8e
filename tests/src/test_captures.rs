//! For the helpers' own tests: captures made of hand-built packets.

use std::path::Path;
use std::task::{Context, Poll, Waker};

use tunstack::device::{memory, Capture, Device, MemoryConfig};

use crate::Direction;

/// Writes `packets` to a capture at `path`, each in the direction given: outbound ones as our
/// stack's sends, inbound ones as if the other end of the wire had sent them.
pub(crate) fn write_capture_directed(path: &Path, packets: &[(Direction, Vec<u8>)]) {
    let (a, mut b) = memory::pair(MemoryConfig::default());
    let mut capture = Capture::create(a, path, "mem0").unwrap();
    let mut cx = Context::from_waker(Waker::noop());
    let mut buf = vec![0; 2048];
    for (direction, packet) in packets {
        match direction {
            Direction::Outbound => {
                let sent = capture.poll_send(&mut cx, packet, None);
                assert!(matches!(sent, Poll::Ready(Ok(()))), "{sent:?}");
            }
            Direction::Inbound => {
                let sent = b.poll_send(&mut cx, packet, None);
                assert!(matches!(sent, Poll::Ready(Ok(()))), "{sent:?}");
                let got = capture.poll_recv(&mut cx, &mut buf);
                assert!(matches!(got, Poll::Ready(Ok(n)) if n == packet.len()));
            }
        }
    }
}
