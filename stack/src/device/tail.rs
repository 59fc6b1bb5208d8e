//! The data of a packet that travels in parts: after its headers, a few slices of the TCP
//! send buffer it was written to ([`Host::transmit_parts`](crate::Host::transmit_parts)).

use bytes::Bytes;

/// A packet's data apart from its headers: up to [`Tail::MAX_PIECES`] shared slices, in
/// order, none empty. Empty for a packet in one piece, which is nearly every packet but long
/// TCP segments, so an empty one allocates nothing and costs nothing to drop.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tail(Vec<Bytes>);

impl Tail {
    /// The most pieces a tail holds: a device writes them with the headers in one `writev`.
    /// A BIG TCP burst of 192 KiB ([`Offloads::big_tcp`](super::Offloads::big_tcp)) spans
    /// four of the send buffer's 64 KiB blocks at most.
    pub const MAX_PIECES: usize = 8;

    /// The data `first` then `second` hold (empty if both are).
    pub fn new(first: Bytes, second: Bytes) -> Tail {
        Tail::from_pieces([first, second])
    }

    /// The data the `pieces` hold, in order; empty ones are left out.
    ///
    /// # Panics
    ///
    /// With more than [`Tail::MAX_PIECES`] pieces that are not empty: the send buffer never
    /// cuts a segment into more.
    pub fn from_pieces(pieces: impl IntoIterator<Item = Bytes>) -> Tail {
        let pieces: Vec<Bytes> = pieces.into_iter().filter(|p| !p.is_empty()).collect();
        assert!(
            pieces.len() <= Tail::MAX_PIECES,
            "a tail in too many pieces"
        );
        Tail(pieces)
    }

    /// Whether there is no data apart: the packet is whole in its buffer.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many bytes of data.
    pub fn len(&self) -> usize {
        self.0.iter().map(Bytes::len).sum()
    }

    /// The pieces, in order, none empty.
    pub fn pieces(&self) -> &[Bytes] {
        &self.0
    }

    /// The data, when it is one piece.
    pub fn single(&self) -> Option<&Bytes> {
        match self.0.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    /// Appends the data to `out`.
    pub fn append_to(&self, out: &mut Vec<u8>) {
        for piece in &self.0 {
            out.extend_from_slice(piece);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_its_pieces_in_order_and_nothing_when_empty() {
        let empty = Tail::new(Bytes::new(), Bytes::new());
        assert!(empty.is_empty());
        assert_eq!(empty.len(), 0);
        assert_eq!(empty, Tail::default());
        let one = Tail::new(Bytes::new(), Bytes::from_static(b"abc"));
        assert_eq!(one.single().map(|b| &b[..]), Some(&b"abc"[..]));
        let two = Tail::new(Bytes::from_static(b"abc"), Bytes::from_static(b"de"));
        assert_eq!((two.len(), two.single()), (5, None));
        let mut out = b"hdr".to_vec();
        two.append_to(&mut out);
        assert_eq!(out, b"hdrabcde");
        let many = Tail::from_pieces((0..Tail::MAX_PIECES as u8).map(|i| Bytes::from(vec![i; 2])));
        assert_eq!(many.pieces().len(), Tail::MAX_PIECES);
        assert_eq!(many.len(), 2 * Tail::MAX_PIECES);
    }

    #[test]
    #[should_panic(expected = "too many pieces")]
    fn refuses_more_pieces_than_a_device_writes_at_once() {
        Tail::from_pieces((0..=Tail::MAX_PIECES).map(|_| Bytes::from_static(b"x")));
    }
}
