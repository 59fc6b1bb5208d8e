//! The bytes of `/bytes/N`: text lines that say where they belong, made as they are sent.
//!
//! Every line is 64 bytes: the offset of its first byte in the body (ten decimal digits), a
//! space, the 52 letters `A`-`Z` `a`-`z`, and a newline. `curl http://10.77.0.2/bytes/200`
//! shows three whole lines and the start of a fourth; in a long download, a byte that arrived
//! in the wrong place has the wrong neighbours, so checking the body checks TCP's ordering.
//!
//! ```text
//! 0000000000 ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz
//! 0000000064 ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz
//! 0000000128 ABCDEF...
//! ```
//!
//! [`PatternBody`] is a hyper body that makes the next chunk only when hyper asks for it, which
//! it does only when the connection has room: a gigabyte is never in memory, and a slow client
//! holds the server back (TCP's flow control, felt by the application as backpressure).

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::body::{Body, Bytes, Frame, SizeHint};

/// The length of one line.
pub const LINE: u64 = 64;

/// The largest body `/bytes/N` serves: 1 GiB. Its offsets still fit in ten digits.
pub const MAX_LEN: u64 = 1 << 30;

/// How much one chunk (one hyper frame) holds.
const CHUNK: u64 = 64 * 1024;

const LETTERS: &[u8; 52] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The line that starts at `start` (a multiple of [`LINE`]).
fn line(start: u64) -> [u8; LINE as usize] {
    let mut line = [0u8; LINE as usize];
    let mut digits = start;
    for place in (0..10).rev() {
        line[place] = b'0' + (digits % 10) as u8;
        digits /= 10;
    }
    line[10] = b' ';
    line[11..63].copy_from_slice(LETTERS);
    line[63] = b'\n';
    line
}

/// Appends the body's bytes `offset..offset + len` to `out`.
pub fn fill(offset: u64, len: u64, out: &mut Vec<u8>) {
    let end = offset + len;
    let mut at = offset;
    while at < end {
        let start = at - at % LINE;
        let line = line(start);
        let from = (at - start) as usize;
        let to = (end - start).min(LINE) as usize;
        out.extend_from_slice(&line[from..to]);
        at = start + to as u64;
    }
}

/// The body of `/bytes/N`, `len` bytes of the pattern, made one chunk at a time.
#[derive(Debug)]
pub struct PatternBody {
    sent: u64,
    len: u64,
}

impl PatternBody {
    /// A body of `len` bytes (the caller keeps it at most [`MAX_LEN`]).
    pub fn new(len: u64) -> PatternBody {
        PatternBody { sent: 0, len }
    }
}

impl Body for PatternBody {
    type Data = Bytes;
    type Error = Infallible;

    /// The next chunk, made now.
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let left = self.len - self.sent;
        if left == 0 {
            return Poll::Ready(None);
        }
        let n = left.min(CHUNK);
        let mut chunk = Vec::with_capacity(n as usize);
        fill(self.sent, n, &mut chunk);
        self.sent += n;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(chunk)))))
    }

    fn is_end_stream(&self) -> bool {
        self.sent == self.len
    }

    /// Exact: hyper sends it as the Content-Length.
    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len - self.sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(offset: u64, len: u64) -> Vec<u8> {
        let mut out = Vec::new();
        fill(offset, len, &mut out);
        out
    }

    #[test]
    fn lines_say_where_they_start() {
        let text = pattern(0, 130);
        assert_eq!(
            &text[..],
            &b"0000000000 ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\n\
               0000000064 ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\n\
               00"[..]
        );
        let last = pattern(MAX_LEN - LINE, LINE);
        assert_eq!(&last[..11], b"1073741760 ");
    }

    #[test]
    fn any_piece_matches_the_whole() {
        let whole = pattern(0, 1000);
        for (offset, len) in [(0, 0), (3, 10), (60, 10), (64, 64), (100, 900), (999, 1)] {
            let piece = pattern(offset, len);
            assert_eq!(piece, whole[offset as usize..(offset + len) as usize]);
        }
    }

    #[tokio::test]
    async fn the_body_is_the_pattern_in_chunks_with_an_exact_size() {
        use http_body_util::BodyExt;
        let len = 3 * CHUNK + 5;
        let body = PatternBody::new(len);
        assert_eq!(body.size_hint().exact(), Some(len));
        let bytes = body.collect().await.unwrap().to_bytes();
        assert!(bytes[..] == pattern(0, len)[..]);
    }
}
