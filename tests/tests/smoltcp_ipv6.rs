//! IPv6 between our stack and smoltcp (its `proto-ipv6`), over the in-memory wire that
//! carries bare IP packets, on virtual time: TCP in both roles, 2 MiB each way byte-exact,
//! and ICMPv6 echo. Our stack is fd77::1 (and 10.0.0.1), smoltcp fd77::2 (and 10.0.0.2).

use std::net::{Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;
use tunstack::device::{memory, MemoryConfig};
use tunstack::{Config, Stack, TcpListener, TcpStream};
use tunstack_tests::smol::{SmolConfig, SmolStack, SmolStream};
use tunstack_tests::Pattern;

const OURS6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 1);
const SMOL6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 2);
const PORT: u16 = 7777;
const BULK: usize = 2 * 1024 * 1024;
const LIMIT: Duration = Duration::from_secs(60);

fn stacks() -> (Stack, SmolStack) {
    let (a, b) = memory::pair(MemoryConfig::default());
    let mut config =
        Config::new("10.0.0.1/24".parse().unwrap()).with_ipv6("fd77::1/64".parse().unwrap());
    config.seed = Some(7);
    let smol =
        SmolConfig::new("10.0.0.2/24".parse().unwrap()).with_ipv6("fd77::2/64".parse().unwrap());
    (Stack::new(a, config), SmolStack::new(b, smol))
}

/// Sends `BULK` bytes of a pattern from `tx` while reading them back on `rx`, checking each.
async fn carry(
    mut tx: impl AsyncWriteExt + Unpin + Send + 'static,
    mut rx: impl AsyncReadExt + Unpin,
    seed: u64,
) {
    let pattern = Pattern::new(seed);
    let writer = tokio::spawn(async move {
        let pattern = Pattern::new(seed);
        let mut sent = 0;
        while sent < BULK {
            let chunk = pattern.chunk(sent as u64, (BULK - sent).min(16 * 1024));
            tx.write_all(chunk).await.expect("write");
            sent += chunk.len();
        }
        tx.shutdown().await.expect("shutdown");
        tx
    });
    let mut got = 0u64;
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let n = rx.read(&mut buf).await.expect("read");
        if n == 0 {
            break;
        }
        pattern.check(got, &buf[..n]).expect("the bytes sent");
        got += n as u64;
    }
    assert_eq!(got, BULK as u64);
    drop(writer.await.expect("the writer"));
}

#[tokio::test(start_paused = true)]
async fn ours_connects_to_smoltcp_over_ipv6() {
    let (ours, smol) = stacks();
    timeout(LIMIT, async {
        let listener = smol.listen(PORT).unwrap();
        let accepted = tokio::spawn(listener.accept());
        let client = TcpStream::connect(&ours, SocketAddr::new(SMOL6.into(), PORT))
            .await
            .unwrap();
        let server = accepted.await.unwrap().unwrap();
        assert_eq!(
            client.peer_addr().unwrap(),
            SocketAddr::new(SMOL6.into(), PORT)
        );
        assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
        let (client_rx, client_tx) = tokio::io::split(client);
        let (server_rx, server_tx) = tokio::io::split(server);
        carry(client_tx, server_rx, 1).await;
        carry(server_tx, client_rx, 2).await;
    })
    .await
    .expect("within the limit");
    assert!(ours.stats().ipv6.delivered > 100, "{}", ours.stats());
    assert_eq!(ours.stats().ip.delivered, 0, "nothing went over IPv4");
}

#[tokio::test(start_paused = true)]
async fn smoltcp_connects_to_our_dual_stack_listener_over_ipv6() {
    let (ours, smol) = stacks();
    timeout(LIMIT, async {
        let listener = TcpListener::bind(&ours, "[::]:7777").await.unwrap();
        let client = SmolStream::connect(&smol, SocketAddr::new(OURS6.into(), PORT))
            .await
            .unwrap();
        let (server, from) = listener.accept().await.unwrap();
        assert_eq!(from, client.local_addr().unwrap());
        assert_eq!(
            server.local_addr().unwrap(),
            SocketAddr::new(OURS6.into(), PORT)
        );
        let (client_rx, client_tx) = tokio::io::split(client);
        let (server_rx, server_tx) = tokio::io::split(server);
        carry(client_tx, server_rx, 3).await;
        carry(server_tx, client_rx, 4).await;
        // The same listener takes smoltcp over IPv4 as well, shown IPv4-mapped.
        let v4 = SmolStream::connect(&smol, "10.0.0.1:7777".parse::<SocketAddr>().unwrap())
            .await
            .unwrap();
        let (_, from) = listener.accept().await.unwrap();
        let mapped = match v4.local_addr().unwrap() {
            SocketAddr::V4(a) => SocketAddr::new(a.ip().to_ipv6_mapped().into(), a.port()),
            other => other,
        };
        assert_eq!(from, mapped);
    })
    .await
    .expect("within the limit");
}

#[tokio::test(start_paused = true)]
async fn smoltcp_answers_our_ping6() {
    let (ours, _smol) = stacks();
    let rtt = timeout(LIMIT, ours.ping(SMOL6, 1, b"echo over IPv6"))
        .await
        .expect("a reply")
        .expect("no error");
    assert!(rtt < Duration::from_millis(100), "{rtt:?}");
    assert_eq!(ours.stats().icmpv6.delivered, 1);
}
