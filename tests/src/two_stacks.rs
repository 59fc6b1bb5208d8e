//! Two of our stacks on the two ends of an in-memory wire, for suites that run on tokio's paused
//! clock: a client at 10.0.0.1 and a server at 10.0.0.2.

use std::future::Future;
use std::time::Duration;

use tokio::time::timeout;
use tunstack::device::memory;
use tunstack::{Config, Stack};

/// The client's address and network.
pub const CLIENT: &str = "10.0.0.1/24";
/// The server's address and network.
pub const SERVER: &str = "10.0.0.2/24";

/// Two stacks joined by a wire: (client, server), with fixed seeds and an MSL of 1 s, so that
/// TIME-WAIT ends soon in virtual time.
pub fn pair() -> (Stack, Stack) {
    let (a, b) = memory::pair(Default::default());
    let config = |addr: &str, seed| {
        let mut config = Config::new(addr.parse().expect("a valid CIDR"));
        config.seed = Some(seed);
        config.tcp.msl = Duration::from_secs(1);
        config
    };
    (
        Stack::new(a, config(CLIENT, 1)),
        Stack::new(b, config(SERVER, 2)),
    )
}

/// Bounds a step in virtual time: a hang fails the test instead of stalling it.
pub async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match timeout(Duration::from_secs(120), fut).await {
        Ok(value) => value,
        Err(_) => panic!("{what}: did not finish within 120 s of virtual time"),
    }
}
