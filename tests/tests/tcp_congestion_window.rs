//! The congestion window as an application sees it (`TcpStream::info`), ours on both ends of an
//! in-memory wire, on tokio's paused clock.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;
use tunstack::device::memory;
use tunstack::{Config, Stack, TcpListener, TcpStream};

/// Two stacks joined by a wire: (client, server).
fn pair() -> (Stack, Stack) {
    let (a, b) = memory::pair(Default::default());
    let config = |addr: &str, seed| {
        let mut config = Config::new(addr.parse().unwrap());
        config.seed = Some(seed);
        config
    };
    (
        Stack::new(a, config("10.0.0.1/24", 1)),
        Stack::new(b, config("10.0.0.2/24", 2)),
    )
}

/// Bounds a step in virtual time: a hang fails the test instead of stalling it.
async fn within<T>(fut: impl std::future::Future<Output = T>) -> T {
    timeout(Duration::from_secs(120), fut)
        .await
        .expect("done within 120 s of virtual time")
}

// An ACK that covers our SYN or our FIN, and no data, must not grow the congestion window:
// RFC 5681 3.1 grows cwnd for ACKs "that cumulatively acknowledge new data", and SYN and FIN
// are not data (`ack_advance` in stack/src/tcp/input.rs hands congestion control the data
// bytes only). Once it showed on http-server's page: a fresh connection reported cwnd 14601.
#[tokio::test(start_paused = true)]
async fn syn_and_fin_are_not_data_to_the_congestion_window() {
    let (client, server) = pair();
    let listener = TcpListener::bind(&server, "0.0.0.0:80").await.unwrap();
    let mut ours = within(TcpStream::connect(&client, "10.0.0.2:80"))
        .await
        .unwrap();
    let (mut theirs, _) = within(listener.accept()).await.unwrap();
    let initial = |stream: &TcpStream| {
        let info = stream.info().unwrap();
        (info.cwnd, 10 * info.mss)
    };
    let (cwnd, iw) = initial(&ours);
    assert_eq!(
        cwnd, iw,
        "client: 10 segments (RFC 6928) after the handshake"
    );

    // Our FIN, acknowledged: still no data sent.
    ours.shutdown().await.unwrap();
    within(theirs.read_to_end(&mut Vec::new())).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (cwnd, iw) = initial(&ours);
    assert_eq!(cwnd, iw, "client: the ACK of its FIN");

    let (cwnd, iw) = initial(&theirs);
    assert_eq!(cwnd, iw, "server: the ACK of its SYN-ACK");
}
