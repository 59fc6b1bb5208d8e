//! Reading an HTTP/1.1 response by hand: its head, then a body that ends one of three ways.
//!
//! ```text
//!   HTTP/1.0 200 OK\r\n                      status line: version, status code, reason
//!   Content-Type: text/plain\r\n             headers, one per line
//!   Content-Length: 6\r\n
//!   \r\n                                     an empty line ends the head
//!   hello\n                                  the body
//! ```
//!
//! TCP keeps no message boundaries, so HTTP says where the body ends ([RFC 9112 6.3]):
//! `Content-Length` gives its size; `Transfer-Encoding: chunked` sends it in pieces, each
//! preceded by its size in hex, until a piece of size 0; with neither, the body ends when the
//! server closes the connection. Some responses have no body at all (to HEAD; 1xx, 204, 304).
//!
//! [RFC 9112 6.3]: https://www.rfc-editor.org/rfc/rfc9112#section-6.3

/// The most a response's head may take, and a chunk-size line: more is an error, not memory
/// use without end.
pub const MAX_HEAD: usize = 64 * 1024;

/// Where the head ends in `buf`: the index just past the empty line, once it has arrived.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// A response's status line and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// The server's HTTP version, e.g. `HTTP/1.0`.
    pub version: String,
    /// The status code, e.g. 200.
    pub status: u16,
    /// The reason phrase, e.g. `OK` (may be empty).
    pub reason: String,
    /// The headers, in order, as the server wrote them.
    pub headers: Vec<(String, String)>,
}

/// How the body after a head ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// There is no body.
    NoBody,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding: see [`ChunkedDecoder`].
    Chunked,
    /// Everything until the server closes the connection.
    UntilClose,
}

impl ResponseHead {
    /// Parses a head (everything up to and including the empty line).
    pub fn parse(head: &[u8]) -> Result<ResponseHead, String> {
        let text = String::from_utf8_lossy(head);
        let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let status_line = lines.next().unwrap_or("");
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        let status = parts.next().and_then(|s| s.parse::<u16>().ok());
        let (Some(status), true) = (status, version.starts_with("HTTP/")) else {
            return Err(format!("not an HTTP status line: {status_line:?}"));
        };
        let reason = parts.next().unwrap_or("").to_string();
        let mut headers = Vec::new();
        for line in lines.take_while(|l| !l.is_empty()) {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| format!("not a header line: {line:?}"))?;
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
        Ok(ResponseHead {
            version: version.to_string(),
            status,
            reason,
            headers,
        })
    }

    /// The first header named `name` (any case), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The status line, e.g. `HTTP/1.0 200 OK`.
    pub fn status_line(&self) -> String {
        format!("{} {} {}", self.version, self.status, self.reason)
            .trim_end()
            .to_string()
    }

    /// How the body ends, for a response to a GET ([RFC 9112 6.3]).
    ///
    /// [RFC 9112 6.3]: https://www.rfc-editor.org/rfc/rfc9112#section-6.3
    pub fn framing(&self) -> Result<Framing, String> {
        if self.status < 200 || self.status == 204 || self.status == 304 {
            return Ok(Framing::NoBody);
        }
        if let Some(codings) = self.header("transfer-encoding") {
            let last = codings.rsplit(',').next().unwrap_or("").trim();
            return Ok(if last.eq_ignore_ascii_case("chunked") {
                Framing::Chunked
            } else {
                Framing::UntilClose
            });
        }
        match self.header("content-length") {
            Some(len) => len
                .parse::<u64>()
                .map(Framing::Length)
                .map_err(|_| format!("bad Content-Length: {len:?}")),
            None => Ok(Framing::UntilClose),
        }
    }
}

/// Where a [`ChunkedDecoder`] is in the body.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Chunked {
    /// Reading a chunk-size line (hex size, maybe `;extensions`), so far.
    Size(Vec<u8>),
    /// This many bytes of chunk data to go.
    Data(u64),
    /// The CRLF after a chunk's data.
    DataEnd,
    /// The trailer lines after the last (size 0) chunk, up to an empty line; the current one.
    Trailer(Vec<u8>),
    /// The body is complete.
    Done,
}

/// Decodes a chunked body as its bytes arrive, in any pieces:
///
/// ```text
///   5\r\nhello\r\n  6\r\n world\r\n  0\r\n\r\n   ->   "hello world"
/// ```
///
/// ```
/// use tunstack_demos::http::response::ChunkedDecoder;
///
/// let mut decoder = ChunkedDecoder::new();
/// let mut body = Vec::new();
/// for piece in [&b"5\r\nhel"[..], b"lo\r\n6\r\n world\r\n0\r", b"\n\r\n"] {
///     decoder.feed(piece, |data| body.extend_from_slice(data)).unwrap();
/// }
/// assert!(decoder.is_done());
/// assert_eq!(body, b"hello world");
/// ```
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: Chunked,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        ChunkedDecoder::new()
    }
}

impl ChunkedDecoder {
    /// A decoder at the start of a body.
    pub fn new() -> ChunkedDecoder {
        ChunkedDecoder {
            state: Chunked::Size(Vec::new()),
        }
    }

    /// Whether the last chunk and the trailer have arrived.
    pub fn is_done(&self) -> bool {
        self.state == Chunked::Done
    }

    /// Decodes `input`, passing each piece of body data to `data`. Bytes after the end of the
    /// body are ignored.
    pub fn feed(&mut self, mut input: &[u8], mut data: impl FnMut(&[u8])) -> Result<(), String> {
        while !input.is_empty() {
            match &mut self.state {
                Chunked::Size(line) | Chunked::Trailer(line) => {
                    let Some(newline) = input.iter().position(|&b| b == b'\n') else {
                        line.extend_from_slice(input);
                        input = &[];
                        if line.len() > MAX_HEAD {
                            return Err("a chunk-size or trailer line without end".into());
                        }
                        continue;
                    };
                    line.extend_from_slice(&input[..newline]);
                    input = &input[newline + 1..];
                    let line = std::mem::take(line);
                    self.state = self.after_line(&line)?;
                }
                Chunked::Data(left) => {
                    let n = input
                        .len()
                        .min(usize::try_from(*left).unwrap_or(usize::MAX));
                    data(&input[..n]);
                    input = &input[n..];
                    *left -= n as u64;
                    if *left == 0 {
                        self.state = Chunked::DataEnd;
                    }
                }
                Chunked::DataEnd => {
                    match input[0] {
                        b'\r' => {}
                        b'\n' => self.state = Chunked::Size(Vec::new()),
                        _ => return Err("no CRLF after a chunk's data".into()),
                    }
                    input = &input[1..];
                }
                Chunked::Done => break,
            }
        }
        Ok(())
    }

    /// The state after a whole line (without its `\n`) in the Size or Trailer state.
    fn after_line(&self, line: &[u8]) -> Result<Chunked, String> {
        let line = String::from_utf8_lossy(line);
        let line = line.trim_end_matches('\r');
        if let Chunked::Trailer(_) = self.state {
            return Ok(if line.is_empty() {
                Chunked::Done
            } else {
                Chunked::Trailer(Vec::new())
            });
        }
        let size = line.split(';').next().unwrap_or("").trim();
        match u64::from_str_radix(size, 16) {
            Ok(0) => Ok(Chunked::Trailer(Vec::new())),
            Ok(n) => Ok(Chunked::Data(n)),
            Err(_) => Err(format!("not a chunk size: {line:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &[u8] = b"HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.11.2\r\n\
        Content-type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n";

    #[test]
    fn a_head_is_its_status_line_and_headers() {
        let end = head_end(HEAD).unwrap();
        assert_eq!(&HEAD[end..], b"hello\n");
        let head = ResponseHead::parse(&HEAD[..end]).unwrap();
        assert_eq!(head.status_line(), "HTTP/1.0 200 OK");
        assert_eq!(head.headers.len(), 3);
        assert_eq!(head.header("content-TYPE"), Some("text/plain"));
        assert_eq!(head.framing(), Ok(Framing::Length(6)));
        assert_eq!(head_end(b"HTTP/1.1 200 OK\r\nA: b\r\n"), None);
    }

    #[test]
    fn the_three_ways_a_body_ends_and_none() {
        let framing = |head: &str| ResponseHead::parse(head.as_bytes()).unwrap().framing();
        assert_eq!(
            framing("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
            Ok(Framing::Chunked)
        );
        assert_eq!(
            framing("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n"),
            Ok(Framing::Length(12))
        );
        assert_eq!(framing("HTTP/1.0 200 OK\r\n\r\n"), Ok(Framing::UntilClose));
        assert_eq!(
            framing("HTTP/1.1 304 Not Modified\r\nContent-Length: 12\r\n\r\n"),
            Ok(Framing::NoBody)
        );
        assert!(framing("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n").is_err());
        assert_eq!(
            ResponseHead::parse(b"HTTP/1.1 204\r\n\r\n")
                .unwrap()
                .status_line(),
            "HTTP/1.1 204"
        );
    }

    #[test]
    fn what_is_not_a_head() {
        for bad in [
            &b"SSH-2.0-OpenSSH\r\n\r\n"[..],
            b"HTTP/1.1 abc OK\r\n\r\n",
            b"",
        ] {
            assert!(ResponseHead::parse(bad).is_err(), "{bad:?}");
        }
        assert!(ResponseHead::parse(b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n").is_err());
    }

    #[test]
    fn chunked_bodies_in_any_pieces() {
        let body =
            b"4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-T: 1\r\n\r\nextra";
        for piece in [1, 2, 3, 7, body.len()] {
            let mut decoder = ChunkedDecoder::new();
            let mut out = Vec::new();
            for part in body.chunks(piece) {
                decoder.feed(part, |d| out.extend_from_slice(d)).unwrap();
            }
            assert!(decoder.is_done(), "pieces of {piece}");
            assert_eq!(out, b"Wikipedia in\r\n\r\nchunks.");
        }
    }

    #[test]
    fn chunked_errors() {
        let mut decoder = ChunkedDecoder::new();
        assert!(decoder.feed(b"zz\r\n", |_| {}).is_err());
        let mut decoder = ChunkedDecoder::new();
        assert!(decoder.feed(b"1\r\nab\r\n", |_| {}).is_err());
        let mut decoder = ChunkedDecoder::new();
        assert!(decoder.feed(&vec![b'1'; MAX_HEAD + 1], |_| {}).is_err());
    }
}
