//! A Linux TUN or TAP device: the kernel is the peer.
//!
//! A TUN device is a network interface whose "wire" is a file descriptor. The kernel routes
//! packets for the device's networks to it, like to any interface; a program reading the
//! descriptor gets each one as a raw IP packet (IPv4 or IPv6: the first four bits say which),
//! and every packet the program writes arrives in the kernel as if it had come in from a wire
//! ([kernel documentation]).
//!
//! ```text
//!   Linux kernel: ping, curl, nc, a browser            this process
//!   sockets ──► route 10.77.0.0/24 dev tun0 ──► tun0 ──► fd ──► TunDevice::poll_recv ──► stack
//!               route fd77::/64 dev tun0
//!   sockets ◄── input: "from 10.77.0.2"     ◄── tun0 ◄── fd ◄── TunDevice::poll_send ◄── stack
//!   addresses 10.77.0.1/24, fd77::1/64                  addresses 10.77.0.2, fd77::2
//! ```
//!
//! A TAP device ([`TunDevice::open_tap`]) is the same, one layer lower: each read or write is an
//! Ethernet frame (without the FCS, which only real hardware adds and checks), and the kernel
//! treats the device as an Ethernet card with a MAC address of its own. It asks for ours with
//! ARP before it sends us anything (`ip neigh` shows what it learned):
//!
//! ```text
//!   kernel (tap0, 9a:..:11, 10.77.0.1)                  stack (02:00:0a:4d:00:02, 10.77.0.2)
//!     ── ARP "who has 10.77.0.2? tell 10.77.0.1" ──►
//!     ◄── ARP "10.77.0.2 is at 02:00:0a:4d:00:02" ──
//!     ── Ethernet [dst 02:..:02, src 9a:..:11, IPv4] [IP packet] ──►
//! ```
//!
//! The device is opened with `IFF_TUN | IFF_NO_PI` (`IFF_TAP | IFF_NO_PI` for TAP): packets
//! start with the IP header, without the 4-byte packet-information prefix, which is the framing
//! a pcapng `LINKTYPE_RAW` capture expects too. The descriptor is non-blocking and registered with tokio's reactor
//! ([`AsyncFd`]), so waiting for a packet is waiting for the descriptor to become readable.
//!
//! Setting up the kernel side is what a user would type, and [`TunDevice::configure`] types it
//! (the `ip -6` line and the first three only with IPv6 on; without it, `disable_ipv6` gets 1):
//!
//! ```text
//! echo 0 > /proc/sys/net/ipv6/conf/tun0/accept_ra      # no router discovery: we are no router
//! echo 0 > /proc/sys/net/ipv6/conf/tun0/autoconf       # no addresses made up from adverts
//! echo 0 > /proc/sys/net/ipv6/conf/tun0/disable_ipv6   # IPv6 on
//! ip addr add 10.77.0.1/24 dev tun0                    # the kernel's address, and the route
//! ip -6 addr add fd77::1/64 dev tun0 nodad             # usable at once, and the route
//! ip link set dev tun0 txqueuelen 10000                # room for a flood while we are away
//! ip link set dev tun0 up
//! ```
//!
//! Creating the device needs CAP_NET_ADMIN. Tests do all of it inside a fresh network namespace
//! ([`super::netns`]), never in the host's.
//!
//! [kernel documentation]: https://docs.kernel.org/networking/tuntap.html

use std::fmt;
use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use super::offload::{self, Offloads, PacketInfo, MAX_SUPER_PACKET};
use super::Tail;
use super::{Device, Medium};
use sys::TunFd;

mod kernel_side;
mod sys;

/// The MTU assumed when the device's cannot be read: Ethernet's, and a new TUN device's default.
const DEFAULT_MTU: usize = 1500;

/// A Linux TUN device carrying raw IP packets (or a TAP device, carrying Ethernet frames).
///
/// ```no_run
/// use tunstack::device::{Device, TunDevice};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let tun = TunDevice::open("tun0")?; // needs CAP_NET_ADMIN
/// tun.configure("10.77.0.1/24".parse()?, Some("fd77::1/64".parse()?))?;
/// // Now `ping 10.77.0.2` and `ping -6 fd77::2` send echo requests into `tun`, for the stack
/// // to answer.
/// println!("{} is up, MTU {}", tun.name(), tun.mtu());
/// # Ok(())
/// # }
/// ```
pub struct TunDevice {
    device: Arc<AsyncFd<TunFd>>,
    mtu: usize,
    /// Bare IP for a TUN device, Ethernet for a TAP device.
    medium: Medium,
    /// With offloads, each packet carries a virtio-net header ([`super::offload`]).
    offloads: Offloads,
    /// Completes when the descriptor reports an error; `None` once it has (see
    /// [`TunDevice::poll_gone`]).
    error: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl fmt::Debug for TunDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TunDevice")
            .field("device", &self.device)
            .field("mtu", &self.mtu)
            .field("medium", &self.medium)
            .field("offloads", &self.offloads)
            .field("error_seen", &self.error.is_none())
            .finish()
    }
}

impl TunDevice {
    /// Creates the TUN device `name` (e.g. `"tun0"`), or attaches to it if it exists as a
    /// persistent TUN device, and reads its MTU. It carries bare IP packets ([`Medium::Ip`]).
    ///
    /// The device starts down and without an address: see [`TunDevice::configure`].
    ///
    /// Errors: a name longer than 15 bytes (Linux's limit) is `InvalidInput`; without
    /// CAP_NET_ADMIN the error says to run as root; a name another program's TUN device has
    /// (`ResourceBusy`), or another kind of interface (`InvalidInput`), says so and to choose
    /// another name.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O enabled, like tokio's own sockets.
    pub fn open(name: &str) -> io::Result<TunDevice> {
        Self::open_as(name, Medium::Ip, Offloads::NONE)
    }

    /// Creates the TAP device `name` (e.g. `"tap0"`): like [`TunDevice::open`], but the device
    /// carries Ethernet frames ([`Medium::Ethernet`]). The kernel then treats it as an Ethernet
    /// card: it sends ARP requests to find our MAC address, and answers ours.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O enabled, like tokio's own sockets.
    pub fn open_tap(name: &str) -> io::Result<TunDevice> {
        Self::open_as(name, Medium::Ethernet, Offloads::NONE)
    }

    /// Creates the TUN ([`Medium::Ip`]) or TAP ([`Medium::Ethernet`]) device `name` with
    /// offloads ([`super::offload`]): the kernel hands us its TCP writes as super-packets of up
    /// to 64 KiB and leaves their checksums partial, and takes ours the same way, cutting them
    /// into MSS-sized segments for its own TCP as a network card with TSO would. A stack on it
    /// sends fewer, larger packets and sums fewer bytes; its captures show the super-packets.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O enabled, like tokio's own sockets.
    pub fn open_offload(name: &str, medium: Medium) -> io::Result<TunDevice> {
        Self::open_as(name, medium, Offloads::ALL)
    }

    /// Lets TCP hand this device IPv4 super-packets longer than 64 KiB, up to
    /// [`BIG_TCP_MAX`](super::offload::BIG_TCP_MAX) bytes (Linux's BIG TCP; see
    /// [`Offloads::big_tcp`]): fewer writes, and fewer packets and ACKs for the kernel, per
    /// byte sent. Such a packet's Total Length is 0, in captures too. Only on a device opened
    /// with offloads ([`TunDevice::open_offload`]), and on Linux 6.3 or later, which reads a
    /// Total Length of 0 (an older kernel would drop every such packet); elsewhere it changes
    /// nothing, and says so in a warning.
    ///
    /// Should the kernel find no memory for a long packet in one piece, the device writes it
    /// again as packets of at most 64 KiB (a `debug` trace says so).
    pub fn with_big_tcp(mut self) -> TunDevice {
        let kernel = sys::kernel_version();
        let reads_it = kernel.is_some_and(|version| version >= (6, 3));
        if self.offloads.tso && reads_it {
            self.offloads.big_tcp = true;
        } else {
            tracing::warn!(
                dev = self.name(),
                ?kernel,
                offloads = self.offloads.tso,
                "BIG TCP needs a device opened with offloads and Linux 6.3 or later: not used"
            );
        }
        self
    }

    /// Opens a TUN device for [`Medium::Ip`], a TAP device for [`Medium::Ethernet`].
    fn open_as(name: &str, medium: Medium, offloads: Offloads) -> io::Result<TunDevice> {
        if name.len() >= libc::IFNAMSIZ {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "interface name `{name}` is longer than {} bytes; choose a shorter name",
                    libc::IFNAMSIZ - 1
                ),
            ));
        }
        let vnet_header = offloads != Offloads::NONE;
        let iface = TunFd::open(name, medium, vnet_header).map_err(|err| open_error(name, err))?;
        let mtu = device_mtu(iface.name()).unwrap_or_else(|err| {
            tracing::warn!(%err, dev = iface.name(), "cannot read the MTU; assuming {DEFAULT_MTU}");
            DEFAULT_MTU
        });
        let kind = match medium {
            Medium::Ip => "TUN",
            Medium::Ethernet => "TAP",
        };
        tracing::info!(dev = iface.name(), mtu, ?offloads, "opened {kind} device");
        // SAFETY: `register` needs the descriptor to stay open and the same for the `AsyncFd`'s
        // whole life. `TunFd` owns it (a `File` it never replaces) and only closes it when
        // dropped, which happens inside the `AsyncFd`'s own drop, after deregistration.
        let device = Arc::new(unsafe { AsyncFd::register(iface) }?);
        let watched = device.clone();
        let error = Box::pin(async move {
            // An error from the reactor itself means no error can be seen: wait for ever.
            if watched.ready(Interest::ERROR).await.is_err() {
                std::future::pending::<()>().await;
            }
        });
        Ok(TunDevice {
            device,
            mtu,
            medium,
            offloads,
            error: Some(error),
        })
    }

    /// The device's name, as the kernel gave it.
    pub fn name(&self) -> &str {
        self.device.get_ref().name()
    }

    /// Reads one packet with `read` once the device has one (or says it is gone).
    fn poll_read_with(
        &mut self,
        cx: &mut Context<'_>,
        mut read: impl FnMut(&TunFd) -> io::Result<(usize, PacketInfo)>,
    ) -> Poll<io::Result<(usize, PacketInfo)>> {
        loop {
            let Poll::Ready(ready) = self.device.poll_read_ready(cx) else {
                return self.poll_gone(cx, &mut read);
            };
            let mut ready = ready?;
            // `try_io` clears the readiness on WouldBlock (another reader was faster, or the
            // wake-up was spurious), and the next `poll_read_ready` waits again.
            if let Ok(result) = ready.try_io(|device| read(device.get_ref())) {
                if let Ok((len, info)) = &result {
                    tracing::trace!(dev = self.name(), len, ?info, "tun: packet in");
                }
                return Poll::Ready(result.map_err(|err| self.explain(err)));
            }
        }
    }

    /// While no packet is waiting: whether the device is gone. A deleted device wakes no
    /// reader: its descriptor only reports an error (EPOLLERR), which tokio does not count as
    /// readable. So the error is watched for on its own, and then a read fetches it.
    /// `read` is the read the caller would make.
    fn poll_gone(
        &mut self,
        cx: &mut Context<'_>,
        read: impl FnOnce(&TunFd) -> io::Result<(usize, PacketInfo)>,
    ) -> Poll<io::Result<(usize, PacketInfo)>> {
        if let Some(error) = &mut self.error {
            ready!(error.as_mut().poll(cx));
            self.error = None;
        }
        match read(self.device.get_ref()) {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => Poll::Pending,
            result => Poll::Ready(result.map_err(|err| self.explain(err))),
        }
    }

    /// Says what a read or write error means. Once the device is deleted (`ip link del tun0`),
    /// its descriptor answers every read and write with EBADFD ("file descriptor in bad
    /// state"): that is a [`io::ErrorKind::NetworkDown`], which stops the stack (see
    /// [`Device`]'s errors). Other errors pass as they are; a device that is only down answers
    /// writes with EIO, and works again once it is up.
    fn explain(&self, err: io::Error) -> io::Error {
        match err.raw_os_error() {
            Some(libc::EBADFD) => io::Error::new(
                io::ErrorKind::NetworkDown,
                format!("{} was deleted ({err})", self.name()),
            ),
            _ => err,
        }
    }
}

impl Device for TunDevice {
    /// The device's MTU when it was opened.
    fn mtu(&self) -> usize {
        self.mtu
    }

    fn medium(&self) -> Medium {
        self.medium
    }

    fn offloads(&self) -> Offloads {
        self.offloads
    }

    /// Reads one packet (a frame, on a TAP device). A packet longer than `buf` is cut short by
    /// the kernel, which is why `buf` must hold the MTU (and the Ethernet header, on TAP).
    /// With offloads, the packet's virtio-net header is read and dropped: use
    /// [`Device::poll_recv_info`] to keep what it says.
    fn poll_recv(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.poll_recv_info(cx, buf).map_ok(|(len, _)| len)
    }

    /// Reads one packet and, with offloads, what its virtio-net header says: a super-packet
    /// needs a `buf` of [`MAX_SUPER_PACKET`] bytes.
    fn poll_recv_info(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, PacketInfo)>> {
        self.poll_read_with(cx, |fd| fd.read_packet(buf))
    }

    /// Reads one packet into `buf`, given room for the largest packet first but not
    /// zero-filled: the driver hands away the buffers of packets TCP keeps (see
    /// [`Host::receive_shared`](crate::Host::receive_shared)), so a fresh 64 KiB buffer per
    /// super-packet is common, and zero-filling it would cost as much as the read.
    fn poll_recv_owned(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut Vec<u8>,
    ) -> Poll<io::Result<(usize, PacketInfo)>> {
        let largest = self
            .offloads
            .largest_packet(self.mtu, self.medium.header_len());
        buf.reserve(largest.saturating_sub(buf.len()));
        self.poll_read_with(cx, |fd| fd.read_packet_owned(buf))
    }

    /// Writes one packet (a frame, on a TAP device). A packet longer than the MTU (plus the
    /// Ethernet header, on TAP) is an `InvalidInput` error.
    fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        packet: &[u8],
        comment: Option<&str>,
    ) -> Poll<io::Result<()>> {
        self.poll_send_info(cx, packet, &PacketInfo::PLAIN, comment)
    }

    /// Writes one packet; with offloads, behind a virtio-net header that says what `info`
    /// says (one `writev`, the packet is not copied). Only a super-packet may be longer than
    /// the MTU.
    fn poll_send_info(
        &mut self,
        cx: &mut Context<'_>,
        packet: &[u8],
        info: &PacketInfo,
        _comment: Option<&str>,
    ) -> Poll<io::Result<()>> {
        self.poll_write_pieces(cx, packet, &Tail::default(), info)
    }

    /// Yes: the headers and the data go in one `writev`.
    fn sends_parts(&self) -> bool {
        true
    }

    /// Writes `head` and the pieces of `tail` as one packet, in one `writev` (see
    /// [`TunDevice::poll_send_info`]): the data is not copied behind the headers first.
    fn poll_send_parts(
        &mut self,
        cx: &mut Context<'_>,
        head: &mut Vec<u8>,
        tail: &Tail,
        info: &PacketInfo,
        _comment: Option<&str>,
    ) -> Poll<io::Result<()>> {
        self.poll_write_pieces(cx, head, tail, info)
    }
}

impl TunDevice {
    /// Writes the packet `head` and `tail` hold one after the other, behind a virtio-net
    /// header with offloads.
    fn poll_write_pieces(
        &mut self,
        cx: &mut Context<'_>,
        head: &[u8],
        tail: &Tail,
        info: &PacketInfo,
    ) -> Poll<io::Result<()>> {
        let len = head.len() + tail.len();
        let largest = self
            .offloads
            .largest_for(info, self.mtu, self.medium.header_len());
        if len > largest {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a {len}-byte packet does not fit {}'s MTU of {} bytes",
                    self.name(),
                    self.mtu
                ),
            )));
        }
        let header = info.to_vnet_header();
        let vnet: &[u8] = match self.offloads != Offloads::NONE {
            true => &header,
            false => &[],
        };
        loop {
            let mut ready = ready!(self.device.poll_write_ready(cx))?;
            let sent = ready.try_io(|device| device.get_ref().send_vectored(vnet, head, tail));
            if let Ok(result) = sent {
                tracing::trace!(dev = self.name(), len, "tun: packet out");
                let result = match result {
                    Err(err) if len > MAX_SUPER_PACKET => self.send_split(head, tail, info, err),
                    result => result.and_then(|written| whole_packet(written, vnet.len() + len)),
                };
                return Poll::Ready(result.map_err(|err| self.explain(err)));
            }
        }
    }
}

impl TunDevice {
    /// Writes a BIG TCP super-packet the kernel refused (`err`: it found no memory for one
    /// that long) again as super-packets of at most 64 KiB, the same segments in the end;
    /// `err` if it cannot be cut.
    fn send_split(
        &self,
        head: &[u8],
        tail: &Tail,
        info: &PacketInfo,
        err: io::Error,
    ) -> io::Result<()> {
        let mut packet = Vec::with_capacity(head.len() + tail.len());
        packet.extend_from_slice(head);
        tail.append_to(&mut packet);
        let link_len = self.medium.header_len();
        let mut pieces = Vec::new();
        if offload::split(
            &packet,
            info,
            link_len,
            usize::from(u16::MAX) + link_len,
            &mut pieces,
        )
        .is_err()
        {
            return Err(err);
        }
        tracing::debug!(
            dev = self.name(),
            %err,
            len = packet.len(),
            pieces = pieces.len(),
            "tun: a BIG TCP packet refused, written again in pieces"
        );
        for (piece, info) in &pieces {
            let header = info.to_vnet_header();
            let written = self
                .device
                .get_ref()
                .send_vectored(&header, piece, &Tail::default())?;
            whole_packet(written, header.len() + piece.len())?;
        }
        Ok(())
    }
}

/// A TUN write takes a packet whole or not at all; anything else is reported, not ignored.
fn whole_packet(written: usize, len: usize) -> io::Result<()> {
    if written == len {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("the TUN device took {written} of {len} bytes"),
        ))
    }
}

/// Adds what to do about the common reasons the TUN device `name` cannot be opened.
///
/// The kernel's TUNSETIFF (`tun_set_iff` in drivers/net/tun.c) answers a name that is taken
/// with EBUSY when it is a TUN device that another descriptor holds (another program's: `tun0`
/// is OpenVPN's default too), and with EINVAL when it is an interface of another kind (a TAP
/// device, a bridge, a network card) or not a valid interface name. Each ends in "choose
/// another name", for a program to say how (the demos: `--tun NAME`).
fn open_error(name: &str, err: io::Error) -> io::Error {
    let text = match err.raw_os_error() {
        Some(libc::EPERM | libc::EACCES) => {
            format!("creating a TUN or TAP device needs CAP_NET_ADMIN: run as root (sudo) ({err})")
        }
        Some(libc::ENOENT) => {
            format!("/dev/net/tun is missing: load the tun module (modprobe tun) ({err})")
        }
        Some(libc::EBUSY) => {
            let who = match name {
                "tun0" => "another program, perhaps OpenVPN, whose default device is tun0 too",
                _ => "another program",
            };
            format!("{name} is in use by {who} ({err}); choose another name")
        }
        Some(libc::EINVAL) if interface_exists(name) => format!(
            "{name} exists and is another kind of device (TUN and TAP are two kinds; or a \
             bridge, a network card...) ({err}); choose another name"
        ),
        Some(libc::EINVAL) => format!(
            "`{name}` is not a name Linux gives an interface: no '/', ':' or spaces ({err}); \
             choose another name"
        ),
        _ => format!("cannot create the device {name} ({err})"),
    };
    io::Error::new(err.kind(), text)
}

/// Whether an interface named `name` exists in this thread's network namespace. Asked with
/// if_nametoindex(3), whose socket is made in the caller's namespace (where `/sys/class/net`
/// shows the namespace that mounted `/sys`).
fn interface_exists(name: &str) -> bool {
    let Ok(name) = std::ffi::CString::new(name) else {
        return false;
    };
    // SAFETY: `name` is a NUL-terminated string that lives until the call returns.
    unsafe { libc::if_nametoindex(name.as_ptr()) != 0 }
}

/// Reads the MTU of interface `name` with the SIOCGIFMTU ioctl, asked of an IPv4 socket
/// (netdevice(7): any socket will do; the request names the interface).
fn device_mtu(name: &str) -> io::Result<usize> {
    // SAFETY: socket() takes plain integers; a non-negative result is a new descriptor we own.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor nobody else owns; OwnedFd closes it.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: ifreq is plain data (a name and a union of integers and addresses): all zeros is
    // a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    // Leave at least one zero byte at the end: the kernel reads a C string.
    for (slot, byte) in request.ifr_name[..libc::IFNAMSIZ - 1]
        .iter_mut()
        .zip(name.bytes())
    {
        *slot = byte as libc::c_char;
    }
    // SAFETY: SIOCGIFMTU reads the name and writes `ifru_mtu` inside `request`, which lives
    // until the call returns.
    if unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFMTU as _, &mut request) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: after SIOCGIFMTU succeeds, the union holds the MTU.
    let mtu = unsafe { request.ifr_ifru.ifru_mtu };
    usize::try_from(mtu).map_err(|_| io::Error::other(format!("negative MTU {mtu}")))
}

#[cfg(test)]
mod tests;
