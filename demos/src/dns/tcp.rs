//! DNS over TCP: each message preceded by its length in two bytes (RFC 1035 4.2.2, RFC 7766
//! 8), so that several messages can follow each other on one connection.
//!
//! ```text
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//! |              LENGTH (of the message)          |
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//! /                 the message                   /
//! +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
//! ```

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Reads one length-prefixed message. `None` when the peer closed cleanly before a length;
/// an `UnexpectedEof` error when it closed in the middle of a message.
///
/// Not cancel safe: cancelled part-way, the bytes read so far are lost (a server cancels it
/// only to close the connection).
pub async fn read_framed<R: AsyncRead + Unpin>(reader: &mut R) -> io::Result<Option<Vec<u8>>> {
    let mut length = [0u8; 2];
    let first = reader.read(&mut length[..1]).await?;
    if first == 0 {
        return Ok(None);
    }
    reader.read_exact(&mut length[1..]).await?;
    let mut message = vec![0u8; usize::from(u16::from_be_bytes(length))];
    reader.read_exact(&mut message).await?;
    Ok(Some(message))
}

/// Writes one message with its length in front, in one write (so that both go in one
/// segment when they fit, as RFC 7766 8 recommends). A message over 65535 bytes cannot be
/// framed: `InvalidInput`.
///
/// Not cancel safe: cancelled part-way, part of the message may have been sent.
pub async fn write_framed<W: AsyncWrite + Unpin>(writer: &mut W, message: &[u8]) -> io::Result<()> {
    let length = u16::try_from(message.len()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "a DNS message over 65535 bytes cannot go over TCP",
        )
    })?;
    let mut framed = Vec::with_capacity(2 + message.len());
    framed.extend_from_slice(&length.to_be_bytes());
    framed.extend_from_slice(message);
    writer.write_all(&framed).await?;
    writer.flush().await
}
