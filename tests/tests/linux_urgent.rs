//! Urgent data ([RFC 9293 3.8.5], [RFC 6093]) against the Linux kernel over TUN, both ways.
//!
//! Linux sends urgent data with `send(MSG_OOB)`: the pointer in its segments points to the byte
//! after the last urgent one, as ours does. Receiving, Linux takes that last urgent byte out of
//! the stream for `recv(MSG_OOB)`, unless `SO_OOBINLINE` leaves it inline; then
//! `ioctl(SIOCATMARK)` says when the next byte is that one. Our stack always leaves it inline
//! and tells the application how far the mark is.
//!
//! Each test sends "hello", then "!" as urgent data, then "world", and checks what each side's
//! application sees and what the capture shows: URG on the segments before the mark, with a
//! pointer to just after the '!' (relative sequence number 7), and on ours the frame comment
//! saying so. The capture must also pass [`tshark_tcp_check`].
//!
//! Needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN) and `/dev/net/tun`; without them each test
//! prints `skipped: <why>` and passes, except under CI, which must run them.
//!
//! [RFC 9293 3.8.5]: https://www.rfc-editor.org/rfc/rfc9293#section-3.8.5
//! [RFC 6093]: https://www.rfc-editor.org/rfc/rfc6093

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;
use tunstack::{TcpListener, TcpStream};
use tunstack_tests::{
    accept_within, tshark_filter_fields, tshark_tcp_check, tun_tests_can_run, Direction, Frame,
    TunNet, KERNEL, STACK,
};

/// How long a single wait (a handshake, urgent data, a read) may take.
const WAIT: Duration = Duration::from_secs(3);

/// How long the stack may take to finish its closing handshakes at the end of a test.
const CLOSES: Duration = Duration::from_secs(3);

/// Our server's port.
const PORT: u16 = 7000;

/// Where the urgent data ends in the test's stream, in Wireshark's relative sequence numbers:
/// "hello" is 1..=5, the '!' 6, so the mark is 7.
const MARK: u64 = 7;

/// `ioctl(SIOCATMARK)` (`<linux/sockios.h>`; the libc crate does not name it).
const SIOCATMARK: libc::c_ulong = 0x8905;

/// A TunNet for this test, or `None` (after printing why) when TUN tests cannot run here.
fn start(label: &str) -> Option<TunNet> {
    if !tun_tests_can_run() {
        return None;
    }
    Some(TunNet::start(label).unwrap())
}

/// The result of a libc call that returns -1 on error.
fn check(status: isize) -> io::Result<usize> {
    usize::try_from(status).map_err(|_| io::Error::last_os_error())
}

/// Linux's `send(2)` with `flags`.
fn linux_send(socket: &impl AsRawFd, data: &[u8], flags: libc::c_int) -> io::Result<usize> {
    // SAFETY: the descriptor is open, and the pointer and length describe `data`.
    check(unsafe { libc::send(socket.as_raw_fd(), data.as_ptr().cast(), data.len(), flags) })
}

/// Linux's `recv(2)` with `flags`.
fn linux_recv(socket: &impl AsRawFd, buf: &mut [u8], flags: libc::c_int) -> io::Result<usize> {
    // SAFETY: the descriptor is open, and the pointer and length describe `buf`.
    check(unsafe {
        libc::recv(
            socket.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            flags,
        )
    })
}

/// Whether the next byte to read is the last urgent one (`SIOCATMARK`, `sockatmark(3)`).
fn linux_at_mark(socket: &impl AsRawFd) -> io::Result<bool> {
    let mut at: libc::c_int = 0;
    // SAFETY: the descriptor is open, and SIOCATMARK writes one c_int.
    let status = unsafe { libc::ioctl(socket.as_raw_fd(), SIOCATMARK, &mut at) };
    check(status as isize).map(|_| at != 0)
}

/// Waits until Linux has urgent data for `socket` (`POLLPRI`: the urgent byte has arrived).
fn linux_wait_urgent(socket: &impl AsRawFd) -> io::Result<()> {
    let mut poll = libc::pollfd {
        fd: socket.as_raw_fd(),
        events: libc::POLLPRI,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let ready =
        check(unsafe { libc::poll(&mut poll, 1, WAIT.as_millis() as libc::c_int) } as isize)?;
    match ready {
        1 if poll.revents & libc::POLLPRI != 0 => Ok(()),
        _ => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "no urgent data within {WAIT:?} (revents {:#x})",
                poll.revents
            ),
        )),
    }
}

/// Reads `stream` to its end, one read at a time: what each read returned.
async fn read_chunks(stream: &mut TcpStream) -> io::Result<Vec<Vec<u8>>> {
    let mut chunks = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = timeout(WAIT, stream.read(&mut buf)).await??;
        if n == 0 {
            return Ok(chunks);
        }
        chunks.push(buf[..n].to_vec());
    }
}

/// Where each read ended, counted from the start of the stream.
fn read_ends(chunks: &[Vec<u8>]) -> Vec<usize> {
    let mut at = 0;
    chunks
        .iter()
        .map(|chunk| {
            at += chunk.len();
            at
        })
        .collect()
}

/// Waits until what `stream` has sent since it had sent `before` segments is acknowledged.
async fn acknowledged(stream: &TcpStream, before: u64) -> io::Result<()> {
    let waited = timeout(WAIT, async {
        loop {
            let info = stream.info()?;
            if info.stats.segments_out > before && info.bytes_in_flight == 0 {
                return io::Result::Ok(());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    waited.await?
}

/// Our client: connects to `server`, sends "hello" and waits for its ACK (so that the urgent
/// data begins a segment of its own), sends "!" as urgent data, "world", and shuts down
/// writing.
fn our_client_sends_urgent(net: &TunNet, server: SocketAddrV4) -> TcpStream {
    let stack = net.stack();
    let sent = net.block_on(async {
        let mut stream = timeout(WAIT, TcpStream::connect(stack, server)).await??;
        let before = stream.info()?.stats.segments_out;
        stream.write_all(b"hello").await?;
        acknowledged(&stream, before).await?;
        stream.send_urgent(b"!").await?;
        stream.write_all(b"world").await?;
        stream.shutdown().await?;
        io::Result::Ok(stream)
    });
    sent.unwrap().unwrap()
}

/// Our client reads the Linux server's FIN, and the connection closes.
fn our_client_finishes(net: &TunNet, mut stream: TcpStream) -> tunstack::tcp::ConnStats {
    let done = net.block_on(async {
        let rest = read_chunks(&mut stream).await?;
        assert!(rest.is_empty(), "{rest:?}");
        stream.info().map(|info| info.stats)
    });
    done.unwrap().unwrap()
}

/// Waits for our closing handshakes, stops the stack, checks the capture (clean, every
/// connection complete), and returns its segments that carry URG.
fn finish(mut net: TunNet) -> Vec<Frame> {
    if let Err(busy) = net.wait_for_tcp_closes(CLOSES) {
        panic!("connections still not closed after {CLOSES:?}: {busy:#?}");
    }
    net.stop();
    for conversation in tshark_tcp_check(net.capture_path()) {
        if let Err(why) = conversation.check_complete() {
            panic!("{why}");
        }
    }
    let fields = [
        "frame.number",
        "frame.packet_flags_direction",
        "tcp.seq",
        "tcp.len",
        "tcp.urgent_pointer",
        "frame.comment",
    ];
    tshark_filter_fields(net.capture_path(), "tcp.flags.urg == 1", &fields).unwrap()
}

/// Every URG segment went `direction` and marks the end of the '!'; there is at least one.
/// Prints them, for the notes (`--nocapture`).
fn check_urgent_segments(urgent: &[Frame], direction: Direction) {
    assert!(!urgent.is_empty(), "no segment with URG in the capture");
    for frame in urgent {
        let (seq, pointer) = (frame.num("tcp.seq"), frame.num("tcp.urgent_pointer"));
        eprintln!(
            "frame {} {:?}: URG seq={} len={} up={} {}",
            frame.number(),
            frame.direction(),
            seq.unwrap_or(0),
            frame.num("tcp.len").unwrap_or(0),
            pointer.unwrap_or(0),
            frame.get("frame.comment").unwrap_or("")
        );
        assert_eq!(frame.direction(), Some(direction), "{frame:?}");
        assert!(seq.unwrap_or(0) < MARK, "URG after the mark: {frame:?}");
        assert_eq!(
            seq.zip(pointer).map(|(s, p)| s + p),
            Some(MARK),
            "{frame:?}"
        );
    }
}

/// (a) A Linux client's `send(MSG_OOB)`: our server is told of the urgent data before reading
/// any, how far its end is, reads everything inline, and one read ends exactly at the mark.
#[test]
fn a_linux_clients_msg_oob_arrives_inline_with_its_mark() {
    let Some(net) = start("urgent-in") else {
        return;
    };
    let stack = net.stack();
    let listener = net
        .block_on(TcpListener::bind(stack, ([0, 0, 0, 0], PORT)))
        .unwrap()
        .unwrap();
    let mut linux = net.linux_tcp_connect((STACK, PORT)).unwrap();
    linux.write_all(b"hello").unwrap();
    assert_eq!(linux_send(&linux, b"!", libc::MSG_OOB).unwrap(), 1);
    linux.write_all(b"world").unwrap();
    linux.shutdown(Shutdown::Write).unwrap();
    let served = net.block_on(async {
        let (mut ours, _) = timeout(WAIT, listener.accept()).await??;
        let ahead = timeout(WAIT, ours.wait_urgent()).await??;
        let chunks = read_chunks(&mut ours).await?;
        let mark_after = ours.urgent_mark()?;
        ours.shutdown().await?;
        io::Result::Ok((ahead, chunks, mark_after, ours.info()?.stats))
    });
    let (ahead, chunks, mark_after, stats) = served.unwrap().unwrap();
    let mut rest = Vec::new();
    linux.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    let reads: Vec<_> = chunks.iter().map(|c| String::from_utf8_lossy(c)).collect();
    eprintln!("Linux sent hello, MSG_OOB \"!\", world: the mark was {ahead:?} bytes ahead; we read {reads:?}");
    assert_eq!(ahead, Some(6), "\"hello!\" to read to the mark");
    assert_eq!(chunks.concat(), b"hello!world", "every byte inline");
    assert!(
        read_ends(&chunks).contains(&6),
        "a read ends at the mark: {chunks:?}"
    );
    assert_eq!(mark_after, None);
    assert!(stats.urgent_segments_in >= 1, "{stats:?}");
    check_urgent_segments(&finish(net), Direction::Inbound);
}

/// (b) Our `send_urgent(b"!")` to a Linux server without `SO_OOBINLINE`: its `recv(MSG_OOB)`
/// gets the '!', and the stream it reads is "helloworld".
#[test]
fn our_urgent_byte_reaches_linuxs_recv_msg_oob() {
    let Some(net) = start("urgent-oob") else {
        return;
    };
    let listener = net.linux_tcp_listener((KERNEL, 0)).unwrap();
    let server = SocketAddrV4::new(KERNEL, listener.local_addr().unwrap().port());
    let ours = our_client_sends_urgent(&net, server);
    let (mut linux, _) = accept_within(&listener, WAIT).unwrap();
    // The urgent byte must be taken before reading past it: Linux forgets it then.
    linux_wait_urgent(&linux).unwrap();
    let mut oob = [0u8; 1];
    let n = linux_recv(&linux, &mut oob, libc::MSG_OOB).unwrap();
    let mut inline = Vec::new();
    linux.read_to_end(&mut inline).unwrap();
    eprintln!(
        "Linux recv(MSG_OOB) got {:?}, and read inline {:?}",
        String::from_utf8_lossy(&oob[..n]),
        String::from_utf8_lossy(&inline)
    );
    assert_eq!(&oob[..n], b"!");
    assert_eq!(inline, b"helloworld");
    linux.shutdown(Shutdown::Write).unwrap();
    let stats = our_client_finishes(&net, ours);
    assert!(stats.urgent_segments_out >= 1, "{stats:?}");
    let urgent = finish(net);
    check_urgent_segments(&urgent, Direction::Outbound);
    for frame in &urgent {
        let pointer = frame.num("tcp.urgent_pointer").unwrap_or(0);
        let bytes = if pointer == 1 { "byte" } else { "bytes" };
        let want = format!(
            "urgent data: the pointer marks the end of urgent data, {pointer} {bytes} ahead"
        );
        let comment = frame.get("frame.comment").unwrap_or("");
        assert!(comment.contains(&want), "{comment:?}");
    }
}

/// (b) with `SO_OOBINLINE`: the '!' stays in the Linux server's stream, and `SIOCATMARK`
/// says so just before it.
#[test]
fn our_urgent_mark_is_linuxs_siocatmark_with_so_oobinline() {
    let Some(net) = start("urgent-inline") else {
        return;
    };
    let listener = net.linux_tcp_listener((KERNEL, 0)).unwrap();
    // Set on the listener, so that the accepted socket has it before any data comes.
    tunstack_tests::set_socket_option(&listener, libc::SOL_SOCKET, libc::SO_OOBINLINE, 1).unwrap();
    let server = SocketAddrV4::new(KERNEL, listener.local_addr().unwrap().port());
    let ours = our_client_sends_urgent(&net, server);
    let (mut linux, _) = accept_within(&listener, WAIT).unwrap();
    linux_wait_urgent(&linux).unwrap();
    // Reads stop at the mark: read until Linux says the next byte is the urgent one.
    let mut before = Vec::new();
    let mut buf = [0u8; 64];
    while !linux_at_mark(&linux).unwrap() {
        let n = tunstack_tests::read(&mut linux, &mut buf).unwrap();
        assert!(
            n > 0 && before.len() + n <= 5,
            "read past the mark: {before:?}"
        );
        before.extend_from_slice(&buf[..n]);
    }
    let mut after = Vec::new();
    linux.read_to_end(&mut after).unwrap();
    eprintln!(
        "Linux with SO_OOBINLINE read {:?}, SIOCATMARK said at the mark, then {:?}",
        String::from_utf8_lossy(&before),
        String::from_utf8_lossy(&after)
    );
    assert_eq!(
        (before.as_slice(), after.as_slice()),
        (&b"hello"[..], &b"!world"[..])
    );
    linux.shutdown(Shutdown::Write).unwrap();
    our_client_finishes(&net, ours);
    check_urgent_segments(&finish(net), Direction::Outbound);
}
