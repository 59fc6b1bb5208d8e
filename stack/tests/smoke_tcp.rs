use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tunstack::link::memory;
use tunstack::{Config, Stack, TcpListener, TcpStream};

#[tokio::test]
async fn echo_over_memory() {
    let (a, b) = memory::pair(Default::default());
    let mut ca = Config::new("10.0.0.1/24".parse().unwrap());
    ca.seed = Some(1);
    let mut cb = Config::new("10.0.0.2/24".parse().unwrap());
    cb.seed = Some(2);
    let client = Stack::new(a, ca);
    let server = Stack::new(b, cb);
    let listener = TcpListener::bind(&server, "0.0.0.0:7").await.unwrap();
    let srv = tokio::spawn(async move {
        let (mut s, peer) = listener.accept().await.unwrap();
        eprintln!("accepted {peer}");
        let mut buf = vec![0u8; 65536];
        let mut total = 0;
        loop {
            let n = s.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            total += n;
            s.write_all(&buf[..n]).await.unwrap();
        }
        s.shutdown().await.unwrap();
        total
    });
    let mut c = TcpStream::connect(&client, "10.0.0.2:7").await.unwrap();
    eprintln!("connected {:?}", c.local_addr());
    let data: Vec<u8> = (0..10_000_000u32).map(|i| (i % 251) as u8).collect();
    let (mut r, mut w) = c.split();
    let writer = async {
        w.write_all(&data).await.unwrap();
        w.shutdown().await.unwrap();
    };
    let reader = async {
        let mut got = Vec::new();
        r.read_to_end(&mut got).await.unwrap();
        got
    };
    let (_, got) = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(writer, reader)
    })
    .await
    .unwrap();
    assert_eq!(got.len(), data.len());
    assert!(got == data);
    assert_eq!(srv.await.unwrap(), data.len());
    eprintln!("{}", client.stats());
    eprintln!("{:?}", client.tcp_connections());
}
