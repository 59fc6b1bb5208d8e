//! Waiting for something to happen, instead of sleeping and hoping it has: [`wait_for`], and
//! [`wait_for_closes_in_capture`] for the end of a program's TCP connections.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::{tcp_conversations, TcpConversation};

/// How long [`wait_for`] sleeps between two checks.
const POLL: Duration = Duration::from_millis(20);

/// Checks `condition` until it holds, a few milliseconds apart, and returns what it returned;
/// an error, with the last reason `condition` gave, if it still does not hold after `limit`.
///
/// A test waits for an event this way (a packet in a capture, a counter going up, a connection
/// closing) rather than sleeping for as long as the event usually takes: on a slow or busy
/// machine it waits longer, on a fast one it goes on at once. `limit` is only there so that a
/// test whose event never comes fails instead of hanging: make it generous.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let start = Instant::now();
/// let waited = tunstack_tests::wait_for(Duration::from_secs(5), || {
///     let elapsed = start.elapsed();
///     match elapsed >= Duration::from_millis(50) {
///         true => Ok(elapsed),
///         false => Err(format!("only {elapsed:?}")),
///     }
/// });
/// assert!(waited.unwrap() >= Duration::from_millis(50));
/// ```
pub fn wait_for<T>(
    limit: Duration,
    mut condition: impl FnMut() -> Result<T, String>,
) -> Result<T, String> {
    let deadline = Instant::now() + limit;
    loop {
        match condition() {
            Ok(value) => return Ok(value),
            Err(why) if Instant::now() >= deadline => {
                return Err(format!("still not after {limit:?}: {why}"))
            }
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

/// For a [`wait_for`] condition that reads a capture with tshark while a program writes it: a
/// failed read means "not yet" (tshark may find the last packet half written), and becomes the
/// reason to give.
///
/// # Panics
///
/// When tshark is not installed: waiting cannot help then, and the test fails at once.
pub fn unfinished_read(err: io::Error) -> String {
    assert!(err.kind() != io::ErrorKind::NotFound, "{err}");
    err.to_string()
}

/// Waits until the capture at `path`, which a running program (a demo) writes as it goes, shows
/// at least `count` TCP connections and every one of them closed, its last ACK included
/// ([`TcpConversation::is_closed`]); returns them. The error says which are still open.
///
/// A capture records a packet the kernel sent once our stack has read it from the device, so
/// after this the program can be stopped without cutting a close short. Reading the file while
/// it grows may catch a packet half written; that read counts as "not yet".
///
/// # Panics
///
/// When tshark is not installed ([`unfinished_read`]).
pub fn wait_for_closes_in_capture(
    path: &Path,
    count: usize,
    limit: Duration,
) -> Result<Vec<TcpConversation>, String> {
    wait_for(limit, || {
        let capture = tcp_conversations(path).map_err(unfinished_read)?;
        let all = capture.conversations;
        let open: Vec<String> = all
            .iter()
            .filter(|c| !c.is_closed())
            .map(ToString::to_string)
            .collect();
        match all.len() >= count && open.is_empty() {
            true => Ok(all),
            false => Err(format!(
                "{} of {count} connections in {}, not closed: {open:?}",
                all.len(),
                path.display()
            )),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_for_gives_up_with_the_last_reason() {
        let mut checks = 0;
        let err = wait_for(Duration::from_millis(100), || {
            checks += 1;
            Err::<(), _>(format!("check {checks}"))
        })
        .unwrap_err();
        assert!(checks >= 2, "checked again before giving up: {checks}");
        assert!(err.starts_with("still not after 100ms: check "), "{err}");
        assert!(err.ends_with(&format!("check {checks}")), "{err}");
    }
}
