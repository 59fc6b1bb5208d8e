//! The data of a packet that travels in parts: after its headers, one or two slices of the
//! TCP send buffer it was written to ([`Host::transmit_parts`](crate::Host::transmit_parts)).

use bytes::Bytes;

/// A packet's data apart from its headers: one or two shared slices, in order. Empty for a
/// packet in one piece, which is nearly every packet but long TCP segments, so an empty one
/// is a null pointer, costs nothing to move and nothing to drop.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tail(Option<Box<[Bytes; 2]>>);

impl Tail {
    /// The data `first` then `second` hold (empty if both are).
    pub fn new(first: Bytes, second: Bytes) -> Tail {
        match first.is_empty() && second.is_empty() {
            true => Tail(None),
            false => Tail(Some(Box::new([first, second]))),
        }
    }

    /// Whether there is no data apart: the packet is whole in its buffer.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// How many bytes of data.
    pub fn len(&self) -> usize {
        self.pieces().iter().map(|piece| piece.len()).sum()
    }

    /// The two pieces, in order (either may be empty).
    pub fn pieces(&self) -> [&[u8]; 2] {
        match &self.0 {
            Some(pieces) => [&pieces[0], &pieces[1]],
            None => [&[], &[]],
        }
    }

    /// The data, when it is one piece.
    pub fn single(&self) -> Option<&Bytes> {
        match self.0.as_deref() {
            Some([first, second]) if second.is_empty() => Some(first),
            Some([first, second]) if first.is_empty() => Some(second),
            _ => None,
        }
    }

    /// Appends the data to `out`.
    pub fn append_to(&self, out: &mut Vec<u8>) {
        for piece in self.pieces() {
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
        let one = Tail::new(Bytes::from_static(b"abc"), Bytes::new());
        assert_eq!(one.single().map(|b| &b[..]), Some(&b"abc"[..]));
        let two = Tail::new(Bytes::from_static(b"abc"), Bytes::from_static(b"de"));
        assert_eq!((two.len(), two.single()), (5, None));
        let mut out = b"hdr".to_vec();
        two.append_to(&mut out);
        assert_eq!(out, b"hdrabcde");
    }
}
