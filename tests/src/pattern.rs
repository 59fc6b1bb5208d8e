//! [`Pattern`]: a byte stream whose every byte says where it belongs, for byte-exact transfers.
//!
//! A sender writes the stream's first `len` bytes; the receiver compares what it reads with the
//! same stream. A lost, repeated, reordered or corrupted byte shows as a mismatch at a known
//! offset. The stream repeats with a period that is a prime number of bytes (1,048,573), so no
//! segment size or buffer size lines up with it, and comparing costs a `memcmp`: cheap enough
//! for the gigabyte a benchmark moves.

use std::io;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The stream's period: the largest prime below 2^20.
const PERIOD: usize = 1_048_573;

/// A reproducible stream of bytes; see the module documentation.
///
/// ```
/// use tunstack_tests::Pattern;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let pattern = Pattern::new(1);
/// let (mut a, mut b) = tokio::io::duplex(4096);
/// let send = async {
///     pattern.write_to(&mut a, 100_000).await?;
///     drop(a); // end of stream
///     Ok::<_, std::io::Error>(())
/// };
/// let (sent, received) = tokio::try_join!(send, pattern.read_and_check(&mut b))?;
/// assert_eq!((sent, received), ((), 100_000));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Pattern {
    period: Bytes,
}

impl Pattern {
    /// The stream for `seed`: two seeds give two different streams (so the two directions of
    /// a connection can be told apart).
    pub fn new(seed: u64) -> Pattern {
        // xorshift64*, one byte per step: cheap and good enough to make every offset differ.
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let period = (0..PERIOD)
            .map(|_| {
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
            })
            .collect::<Vec<u8>>();
        Pattern {
            period: period.into(),
        }
    }

    /// The stream's bytes from `offset` on: at most `max`, and never past the end of a period
    /// (call again for the rest).
    pub fn chunk(&self, offset: u64, max: usize) -> &[u8] {
        &self.period[self.range(offset, max)]
    }

    /// Where [`Pattern::chunk`]'s bytes lie in the period.
    fn range(&self, offset: u64, max: usize) -> std::ops::Range<usize> {
        let start = (offset % PERIOD as u64) as usize;
        start..start + max.min(PERIOD - start)
    }

    /// The stream's first `len` bytes as shared bytes, in pieces of at most a period: slices of
    /// the pattern's own memory, not copies, for zero-copy writes (`TcpStream::write_chunk`).
    pub fn shared_chunks(&self, len: u64) -> impl Iterator<Item = Bytes> + '_ {
        let mut sent = 0;
        std::iter::from_fn(move || {
            let range = self.range(sent, usize::try_from(len - sent).unwrap_or(usize::MAX));
            sent += range.len() as u64;
            (!range.is_empty()).then(|| self.period.slice(range))
        })
    }

    /// Writes the stream's first `len` bytes to `writer`. Does not shut it down.
    pub async fn write_to<W: AsyncWrite + Unpin>(
        &self,
        writer: &mut W,
        len: u64,
    ) -> io::Result<()> {
        let mut sent = 0;
        while sent < len {
            let max = usize::try_from(len - sent).unwrap_or(usize::MAX);
            let chunk = self.chunk(sent, max);
            writer.write_all(chunk).await?;
            sent += chunk.len() as u64;
        }
        Ok(())
    }

    /// Reads `reader` to its end, checking every byte against the stream; returns how many
    /// bytes came.
    ///
    /// Errors: `InvalidData` naming the first offset whose byte differs, or the reader's error.
    pub async fn read_and_check<R: AsyncRead + Unpin>(&self, reader: &mut R) -> io::Result<u64> {
        let mut buf = vec![0; 64 * 1024];
        let mut received = 0u64;
        loop {
            let n = reader.read(&mut buf).await?;
            if n == 0 {
                return Ok(received);
            }
            self.check(received, &buf[..n])?;
            received += n as u64;
        }
    }

    /// [`Pattern::write_to`] for a blocking writer (a Linux socket, a pipe).
    pub fn write_blocking<W: std::io::Write>(&self, writer: &mut W, len: u64) -> io::Result<()> {
        let mut sent = 0;
        while sent < len {
            let max = usize::try_from(len - sent).unwrap_or(usize::MAX);
            let chunk = self.chunk(sent, max);
            writer.write_all(chunk)?;
            sent += chunk.len() as u64;
        }
        Ok(())
    }

    /// [`Pattern::read_and_check`] for a blocking reader (a Linux socket, a pipe).
    pub fn read_and_check_blocking<R: std::io::Read>(&self, reader: &mut R) -> io::Result<u64> {
        let mut buf = vec![0; 64 * 1024];
        let mut received = 0u64;
        loop {
            let n = crate::read(reader, &mut buf)?;
            if n == 0 {
                return Ok(received);
            }
            self.check(received, &buf[..n])?;
            received += n as u64;
        }
    }

    /// Checks that `data` is the stream's bytes at `offset`.
    ///
    /// Errors: `InvalidData` naming the first offset whose byte differs.
    pub fn check(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut at = 0;
        while at < data.len() {
            let expected = self.chunk(offset + at as u64, data.len() - at);
            let got = &data[at..at + expected.len()];
            if got != expected {
                let first = got.iter().zip(expected).position(|(a, b)| a != b);
                let bad = offset + (at + first.unwrap_or(0)) as u64;
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("byte {bad} of the stream is not the pattern's"),
                ));
            }
            at += expected.len();
        }
        Ok(())
    }
}

/// Moves `len` bytes each way at once between the two ends of a connection of our stack, each
/// direction checked byte for byte against its own [`Pattern`] (seeds 1 and 2); then both ends
/// shut down their sending side. Returns the bytes each end received: `(other's, one's)`.
pub async fn both_ways(
    one: tunstack::TcpStream,
    other: tunstack::TcpStream,
    len: u64,
) -> io::Result<(u64, u64)> {
    let (to_other, to_one) = (Pattern::new(1), Pattern::new(2));
    let (mut one_read, mut one_write) = one.into_split();
    let (mut other_read, mut other_write) = other.into_split();
    let one_sends = async {
        to_other.write_to(&mut one_write, len).await?;
        one_write.shutdown().await
    };
    let other_sends = async {
        to_one.write_to(&mut other_write, len).await?;
        other_write.shutdown().await
    };
    let (sent, sent_back, at_other, at_one) = tokio::join!(
        one_sends,
        other_sends,
        to_other.read_and_check(&mut other_read),
        to_one.read_and_check(&mut one_read),
    );
    sent?;
    sent_back?;
    Ok((at_other?, at_one?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_wrap_at_the_period() {
        let pattern = Pattern::new(3);
        let last = pattern.chunk(PERIOD as u64 - 2, 10);
        assert_eq!(last.len(), 2);
        assert_eq!(pattern.chunk(PERIOD as u64, 5), pattern.chunk(0, 5));
        assert_ne!(Pattern::new(4).chunk(0, 64), pattern.chunk(0, 64));
    }

    #[test]
    fn check_finds_the_first_wrong_byte() {
        let pattern = Pattern::new(5);
        let offset = PERIOD as u64 - 100;
        let mut data = pattern.chunk(offset, 100).to_vec();
        data.extend_from_slice(pattern.chunk(0, 100));
        pattern.check(offset, &data).unwrap();
        data[150] ^= 1;
        let err = pattern.check(offset, &data).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(
            err.to_string().contains(&format!("byte {}", offset + 150)),
            "{err}"
        );
        assert!(
            pattern.check(offset + 1, &data[..10]).is_err(),
            "shifted by one"
        );
    }
}
