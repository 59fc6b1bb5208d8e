//! Receive buffers that come back.
//!
//! A long packet goes up to the core shared, and TCP may keep its data where it is until the
//! application reads it (see [`Inbox::deliver`](super::batch::Inbox::deliver)). When the last
//! piece of it is dropped, wherever that happens (the driver, TCP's receive buffer, an
//! application holding a `read_chunk`), the buffer comes back here for another packet instead
//! of going back to the allocator.
//!
//! Why not leave it to the allocator: glibc's gives the memory of freed 64 KiB blocks back to
//! the kernel (`madvise`) once enough of it is free, and a new block's first touch then costs
//! a page fault and a zero-filled page per 4 KiB. For bulk Linux→ours over TUN that was 9% of
//! the stack's thread (`perf`: `exc_page_fault` under the TUN `readv`, `clear_page`,
//! `madvise`).

use std::mem;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use bytes::Bytes;

/// The most buffers the pool keeps: as many as a batch of packets needs. More than that come
/// back only after a burst the application has not read yet, and go to the allocator.
const KEEP: usize = super::task::BATCH;

/// Spent receive buffers, for the next packets.
#[derive(Debug, Default)]
pub(super) struct Pool {
    free: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Pool {
    /// A buffer that came back (empty, with its capacity), or a new empty one.
    pub(super) fn take(&self) -> Vec<u8> {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        free.pop().unwrap_or_default()
    }

    /// `buf` as shared bytes, which give it back to this pool once the last of them is
    /// dropped (if the pool is still there then, and not full).
    pub(super) fn share(&self, buf: Vec<u8>) -> Bytes {
        Bytes::from_owner(Lent {
            buf,
            pool: Arc::downgrade(&self.free),
        })
    }

    /// How many buffers wait in the pool.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// A buffer lent out as [`Bytes`]: it owns the memory while any of them lives.
struct Lent {
    buf: Vec<u8>,
    /// Weak: a stack that is gone does not live on in bytes an application still holds.
    pool: Weak<Mutex<Vec<Vec<u8>>>>,
}

impl AsRef<[u8]> for Lent {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        let Some(pool) = self.pool.upgrade() else {
            return;
        };
        let mut free = pool.lock().unwrap_or_else(PoisonError::into_inner);
        if free.len() < KEEP {
            let mut buf = mem::take(&mut self.buf);
            buf.clear();
            free.push(buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_comes_back_when_its_last_slice_is_dropped() {
        let pool = Pool::default();
        let mut buf = Vec::with_capacity(65536);
        buf.extend_from_slice(&[7; 1000]);
        let at = buf.as_ptr();
        let bytes = pool.share(buf);
        assert_eq!(&bytes[..], &[7; 1000][..]);
        let kept = bytes.slice(10..20);
        drop(bytes);
        assert_eq!(pool.len(), 0, "a slice still holds it");
        drop(kept);
        assert_eq!(pool.len(), 1);
        let again = pool.take();
        assert_eq!(again.as_ptr(), at, "the same memory");
        assert!(again.is_empty());
        assert!(again.capacity() >= 65536);
        assert_eq!(pool.len(), 0);
        assert_eq!(
            pool.take().capacity(),
            0,
            "an empty pool gives a new buffer"
        );
    }

    #[test]
    fn the_pool_keeps_at_most_a_batch_and_outlives_nothing() {
        let pool = Pool::default();
        let lent: Vec<Bytes> = (0..KEEP + 5).map(|_| pool.share(vec![1; 100])).collect();
        drop(lent);
        assert_eq!(pool.len(), KEEP);

        // Bytes held past the pool's end are freed as any others.
        let held = pool.share(vec![2; 100]);
        drop(pool);
        assert_eq!(&held[..], &[2; 100][..]);
        drop(held);
    }
}
