//! Buffer memory that exists only while it holds bytes.
//!
//! Every connection has a send and a receive buffer of a fixed capacity (256 KiB each by
//! default), and the capacity matters: it is the window we offer, and what a writer may queue
//! before it waits. But most connections of a busy server are idle most of the time (a
//! keep-alive HTTP connection between requests, a chat client waiting), and a SYN that never
//! completes its handshake needs no buffer at all. Allocating the capacity up front costs every
//! such connection its full buffers: at 100,000 connections, tens of gigabytes of address
//! space, and the resident pages of whatever was ever touched.
//!
//! [`LazyStorage`] keeps the capacity as a number and allocates the bytes when the first one is
//! written; its owner gives them back with [`LazyStorage::release`] once the buffer is empty
//! again. The capacity, and so the window, is the same whether the bytes exist or not.
//!
//! When to give them back is a trade: released the moment they are drained, a connection that
//! exchanges small messages allocates (and zeroes) the full capacity for each one, which added
//! about 15 µs to a 64-byte round trip in the scale benchmark (`tests/benches/scale.rs`). So a
//! connection gives its buffers back only after a quiet second (`BUFFER_IDLE` in
//! `tcp/timers.rs`), a timer like its others.

/// `capacity` bytes of storage, allocated on first write and released on request.
#[derive(Debug)]
pub(crate) struct LazyStorage {
    /// Empty (no allocation) until first written, then `capacity` bytes.
    bytes: Box<[u8]>,
    capacity: usize,
}

impl LazyStorage {
    /// Storage for `capacity` bytes, none of them allocated yet.
    pub(crate) fn new(capacity: usize) -> LazyStorage {
        LazyStorage {
            bytes: Box::default(),
            capacity,
        }
    }

    /// How many bytes it holds when allocated.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Whether the bytes exist now.
    pub(crate) fn is_allocated(&self) -> bool {
        self.bytes.len() == self.capacity && self.capacity > 0
    }

    /// The bytes, for reading: empty while not allocated (nothing was written, so there is
    /// nothing to read).
    pub(crate) fn get(&self) -> &[u8] {
        &self.bytes
    }

    /// The bytes, for writing: allocated (zeroed) now if they were not.
    pub(crate) fn get_mut(&mut self) -> &mut [u8] {
        if self.bytes.len() != self.capacity {
            self.bytes = vec![0; self.capacity].into_boxed_slice();
        }
        &mut self.bytes
    }

    /// Gives the bytes back; the next write allocates them again. Whatever they held is lost:
    /// the owner calls this only when nothing in them is needed.
    pub(crate) fn release(&mut self) {
        self.bytes = Box::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_allocated_until_written() {
        let mut storage = LazyStorage::new(64);
        assert!(!storage.is_allocated());
        assert_eq!(storage.capacity(), 64);
        assert!(storage.get().is_empty());
        storage.get_mut()[3] = 7;
        assert!(storage.is_allocated());
        assert_eq!(storage.get().len(), 64);
        assert_eq!(storage.get()[3], 7);
    }

    #[test]
    fn released_storage_is_gone_and_comes_back_zeroed() {
        let mut storage = LazyStorage::new(16);
        storage.get_mut().fill(0xff);
        storage.release();
        assert!(!storage.is_allocated());
        assert_eq!(storage.capacity(), 16, "the capacity stays");
        assert_eq!(storage.get_mut(), &[0; 16]);
    }

    #[test]
    fn zero_capacity_never_allocates() {
        let mut storage = LazyStorage::new(0);
        assert!(storage.get_mut().is_empty());
        assert!(!storage.is_allocated());
    }
}
