//! The Linux clients of the scale bench, in processes of their own.
//!
//! A process may hold only as many file descriptors as its hard `RLIMIT_NOFILE` allows (20,000
//! on some machines, and raising it needs CAP_SYS_RESOURCE, which a container's root may lack),
//! and every client socket is one. So the clients are spread over child processes, each
//! holding at most [`PER_PROCESS`] of them: the bench starts itself again inside the namespace
//! with `--clients COUNT --first INDEX`, and the child talks to it over its standard input and
//! output, one line each way at a time:
//!
//! ```text
//!   child → bench   block SECONDS     after each 1,000 connections: how long they took
//!   child → bench   open              all COUNT connections are open
//!   bench → child   echo              send 16 bytes on each, read them back
//!   child → bench   echoed            done
//!   bench → child   (end of input)    close every connection and exit
//!   child → bench   error MESSAGE     something failed; the child exits
//! ```
//!
//! The process running our stack then holds no client socket, and its resident memory is the
//! stack's and its echo tasks'.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use tunstack::device::netns::NetNs;
use tunstack_tests::STACK;

use crate::{BLOCK, PORT};

/// The most client sockets one child process holds.
pub const PER_PROCESS: usize = 15_000;
/// How many client addresses the kernel's side has: 10.77.0.10 to 10.77.0.19.
pub const CLIENT_ADDRS: u8 = 10;
/// How long the bench waits for a child's next line.
const LINE_LIMIT: Duration = Duration::from_secs(300);
/// `IP_BIND_ADDRESS_NO_PORT` from `linux/in.h` (not in every libc crate version).
const IP_BIND_ADDRESS_NO_PORT: libc::c_int = 24;

/// The kernel's client addresses.
pub fn client_addrs() -> impl Iterator<Item = Ipv4Addr> {
    (0..CLIENT_ADDRS).map(|i| Ipv4Addr::new(10, 77, 0, 10 + i))
}

/// Our stack's echo server.
fn server() -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(STACK, PORT))
}

/// A child process holding some of the clients, seen from the bench.
pub struct Clients {
    child: Child,
    /// `None` once closed, which tells the child to exit.
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl Clients {
    /// Starts a child inside `ns` that opens `count` connections, the first of which is the
    /// `first`-th of the whole run (which picks the client addresses, round robin).
    pub fn start(ns: &NetNs, count: usize, first: usize) -> io::Result<Clients> {
        let exe = std::env::current_exe()?;
        let exe = exe.to_string_lossy();
        let (count, first) = (count.to_string(), first.to_string());
        let mut child = ns
            .exec(&exe, &["--clients", &count, "--first", &first])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout"))?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Clients {
            stdin: child.stdin.take(),
            child,
            lines,
        })
    }

    /// The child's next line, split into its word and the rest; its `error` line is an error.
    pub fn next(&mut self) -> io::Result<(String, String)> {
        let line = self.lines.recv_timeout(LINE_LIMIT).map_err(|err| {
            io::Error::new(io::ErrorKind::TimedOut, format!("a client process: {err}"))
        })?;
        let (word, rest) = line.split_once(' ').unwrap_or((&line, ""));
        if word == "error" {
            return Err(io::Error::other(format!("a client process: {rest}")));
        }
        Ok((word.to_string(), rest.to_string()))
    }

    /// Sends the child a command.
    pub fn tell(&mut self, command: &str) -> io::Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| io::Error::other("closed"))?;
        writeln!(stdin, "{command}")?;
        stdin.flush()
    }

    /// Tells the child to close its connections and exit, and waits until it has.
    pub fn close(mut self) -> io::Result<()> {
        self.stdin = None;
        let status = self.child.wait()?;
        if !status.success() {
            return Err(io::Error::other(format!("a client process: {status}")));
        }
        Ok(())
    }
}

impl Drop for Clients {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The child's side (`--clients COUNT --first INDEX`), inside the namespace: opens the
/// connections, reports, echoes when told, and exits at the end of its input.
pub fn run_clients(count: usize, first: usize) {
    if let Err(err) = serve_bench(count, first) {
        println!("error {err}");
        std::process::exit(1);
    }
}

fn serve_bench(count: usize, first: usize) -> io::Result<()> {
    raise_fd_limit()?;
    let addrs: Vec<Ipv4Addr> = client_addrs().collect();
    let mut clients = Vec::with_capacity(count);
    let mut out = io::stdout().lock();
    let mut block_start = Instant::now();
    for i in first..first + count {
        clients.push(connect_from(addrs[i % addrs.len()], server())?);
        if clients.len() % BLOCK == 0 {
            writeln!(out, "block {}", block_start.elapsed().as_secs_f64())?;
            out.flush()?;
            block_start = Instant::now();
        }
    }
    writeln!(out, "open")?;
    out.flush()?;
    for line in io::stdin().lock().lines() {
        match line?.as_str() {
            "echo" => {
                echo_each(&mut clients)?;
                writeln!(out, "echoed")?;
                out.flush()?;
            }
            other => return Err(io::Error::other(format!("unknown command {other:?}"))),
        }
    }
    Ok(())
}

/// Sets this process's soft `RLIMIT_NOFILE` to its hard one: each client socket is a file.
fn raise_fd_limit() -> io::Result<()> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: the pointer is to a live, initialized rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if limit.rlim_max < PER_PROCESS as u64 + 64 {
        return Err(io::Error::other(format!(
            "RLIMIT_NOFILE's hard limit is {}, below the {PER_PROCESS} sockets a client \
             process holds",
            limit.rlim_max
        )));
    }
    limit.rlim_cur = limit.rlim_max;
    // SAFETY: as above.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A kernel TCP connection from `from` (port chosen at `connect`) to `to`.
pub fn connect_from(from: Ipv4Addr, to: SocketAddr) -> io::Result<TcpStream> {
    // SAFETY: a plain socket(2) call; the descriptor is owned by the TcpStream made below, or
    // closed here on error.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a socket this function just opened and nothing else owns.
    let stream = unsafe { TcpStream::from_raw_fd(fd) };
    let one: libc::c_int = 1;
    let local = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from(from).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: the option value and the address point to live values of the sizes given.
    let failed = unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_IP,
            IP_BIND_ADDRESS_NO_PORT,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of_val(&one) as libc::socklen_t,
        ) != 0
            || libc::bind(
                fd,
                (&local as *const libc::sockaddr_in).cast(),
                std::mem::size_of_val(&local) as libc::socklen_t,
            ) != 0
    };
    if failed {
        return Err(io::Error::last_os_error());
    }
    connect(stream, to)
}

/// Connects a bound socket (std's `TcpStream::connect` cannot bind first).
fn connect(stream: TcpStream, to: SocketAddr) -> io::Result<TcpStream> {
    let SocketAddr::V4(to) = to else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "IPv4 only"));
    };
    let remote = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: to.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*to.ip()).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: the address points to a live sockaddr_in of the size given.
    let rc = unsafe {
        libc::connect(
            stream.as_raw_fd(),
            (&remote as *const libc::sockaddr_in).cast(),
            std::mem::size_of_val(&remote) as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Sends 16 bytes on every connection and reads them back, a block at a time so that the
/// device's queue is not flooded.
fn echo_each(clients: &mut [TcpStream]) -> io::Result<()> {
    let message = *b"sixteen bytes ..";
    for block in clients.chunks_mut(BLOCK) {
        for client in block.iter_mut() {
            client.write_all(&message)?;
        }
        for client in block.iter_mut() {
            let mut back = [0u8; 16];
            client.read_exact(&mut back)?;
            if back != message {
                return Err(io::Error::other("the echo differs from what was sent"));
            }
        }
    }
    Ok(())
}
