//! Opening a TUN or TAP device: the two ioctls behind it, done by hand.
//!
//! ```text
//! fd = open("/dev/net/tun", O_RDWR)           the clone device: a fresh descriptor
//! ioctl(fd, TUNSETIFF, {name, flags})        attach it to interface `name` (made if missing):
//!                                              IFF_TUN or IFF_TAP, IFF_NO_PI (no 4-byte prefix),
//!                                              IFF_VNET_HDR (a virtio-net header per packet)
//! ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)
//!                                            with the header only: which jobs we take from the
//!                                              kernel (partial checksums, super-packets)
//! ```
//!
//! These are the calls `ip tuntap add` makes, from linux/if_tun.h ([kernel documentation]).
//! The tun-tap crate makes the first two but always with the same flags, and offloads need
//! `IFF_VNET_HDR` at `TUNSETIFF` time, so we make them ourselves: twenty lines of `libc`, each
//! flag in sight, where a crate that wraps them (tun-rs) would bring its own device types and
//! async layer for the same two calls.
//!
//! [kernel documentation]: https://docs.kernel.org/networking/tuntap.html

use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;

use super::Medium;
use crate::device::offload::{PacketInfo, VNET_HEADER_LEN};
use crate::device::Tail;

/// An open TUN or TAP descriptor and the name of its interface.
#[derive(Debug)]
pub(super) struct TunFd {
    file: File,
    name: String,
    /// Whether each packet carries a virtio-net header.
    vnet_header: bool,
}

impl TunFd {
    /// Opens `/dev/net/tun` non-blocking and attaches it to interface `name` of `medium`'s
    /// kind, with a virtio-net header in front of each packet when `vnet_header` (and then
    /// with checksum offload and TSO for IPv4 and IPv6).
    pub(super) fn open(name: &str, medium: Medium, vnet_header: bool) -> io::Result<TunFd> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open("/dev/net/tun")?;
        let kind = match medium {
            Medium::Ip => libc::IFF_TUN,
            Medium::Ethernet => libc::IFF_TAP,
        };
        let vnet = if vnet_header { libc::IFF_VNET_HDR } else { 0 };
        // SAFETY: ifreq is plain data (a name and a union of integers and addresses): all zeros
        // is a valid value.
        let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
        // Leave at least one zero byte at the end: the kernel reads a C string.
        for (slot, byte) in request.ifr_name[..libc::IFNAMSIZ - 1]
            .iter_mut()
            .zip(name.bytes())
        {
            *slot = byte as libc::c_char;
        }
        request.ifr_ifru.ifru_flags = (kind | libc::IFF_NO_PI | vnet) as libc::c_short;
        // SAFETY: TUNSETIFF reads the name and flags in `request` and writes the name back; the
        // request lives until the call returns.
        if unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETIFF, &mut request) } < 0 {
            return Err(io::Error::last_os_error());
        }
        if vnet_header {
            let jobs = libc::TUN_F_CSUM | libc::TUN_F_TSO4 | libc::TUN_F_TSO6;
            // SAFETY: TUNSETOFFLOAD takes its argument by value, as an unsigned long.
            if unsafe { libc::ioctl(file.as_raw_fd(), libc::TUNSETOFFLOAD, jobs as libc::c_ulong) }
                < 0
            {
                return Err(io::Error::last_os_error());
            }
        }
        let name = request
            .ifr_name
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8 as char)
            .collect();
        Ok(TunFd {
            file,
            name,
            vnet_header,
        })
    }

    /// The interface's name, as the kernel gave it.
    pub(super) fn name(&self) -> &str {
        &self.name
    }

    /// Reads one packet.
    pub(super) fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.file).read(buf)
    }

    /// Reads one packet behind its virtio-net header: the header into `header`, the packet
    /// into `buf`, in one `readv`.
    pub(super) fn recv_vectored(&self, header: &mut [u8], buf: &mut [u8]) -> io::Result<usize> {
        (&self.file).read_vectored(&mut [IoSliceMut::new(header), IoSliceMut::new(buf)])
    }

    /// Reads one packet into the spare capacity of `buf` (emptied first), behind its
    /// virtio-net header into `header` when the device has one, in one `readv`. The spare
    /// bytes need not be zero-filled first: the kernel writes them and we take only what it
    /// wrote. Returns how many bytes the read brought, header included.
    pub(super) fn recv_owned(&self, header: &mut [u8], buf: &mut Vec<u8>) -> io::Result<usize> {
        buf.clear();
        let spare = buf.spare_capacity_mut();
        let spare_len = spare.len();
        let header_len = if self.vnet_header { header.len() } else { 0 };
        let iov = [
            libc::iovec {
                iov_base: header.as_mut_ptr().cast(),
                iov_len: header_len,
            },
            libc::iovec {
                iov_base: spare.as_mut_ptr().cast(),
                iov_len: spare_len,
            },
        ];
        // SAFETY: both iovecs point at memory this call borrows mutably, for their lengths:
        // `header`, and `buf`'s spare capacity, which the kernel only writes.
        let read = unsafe { libc::readv(self.file.as_raw_fd(), iov.as_ptr(), 2) };
        let read = usize::try_from(read).map_err(|_| io::Error::last_os_error())?;
        let len = read.saturating_sub(header_len).min(spare_len);
        // SAFETY: the kernel wrote `len` bytes at the start of the spare capacity (the first
        // `header_len` bytes it read went to `header`).
        unsafe { buf.set_len(len) };
        Ok(read)
    }

    /// Reads one packet: with a virtio-net header in front, that header's word on it.
    pub(super) fn read_packet(&self, buf: &mut [u8]) -> io::Result<(usize, PacketInfo)> {
        let mut header = [0; VNET_HEADER_LEN];
        let read = match self.vnet_header {
            true => self.recv_vectored(&mut header, buf)?,
            false => self.recv(buf)?,
        };
        self.packet_in(&header, read)
    }

    /// Reads one packet into `buf`'s spare capacity, like [`TunFd::read_packet`].
    pub(super) fn read_packet_owned(&self, buf: &mut Vec<u8>) -> io::Result<(usize, PacketInfo)> {
        let mut header = [0; VNET_HEADER_LEN];
        let read = self.recv_owned(&mut header, buf)?;
        self.packet_in(&header, read)
    }

    /// What a read of `read` bytes brought: the packet's length, and what its virtio-net
    /// header (in `header`, when the device has one) says about it.
    fn packet_in(
        &self,
        header: &[u8; VNET_HEADER_LEN],
        read: usize,
    ) -> io::Result<(usize, PacketInfo)> {
        if !self.vnet_header {
            return Ok((read, PacketInfo::PLAIN));
        }
        let len = read.checked_sub(VNET_HEADER_LEN).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "a read shorter than the virtio-net header",
            )
        })?;
        Ok((len, PacketInfo::from_vnet_header(header, len)?))
    }

    /// Writes one packet given in pieces, in one `writev`: behind the virtio-net header when
    /// the device has one (else `vnet` is empty), the packet's headers `head`, then its data
    /// in the pieces of `tail` when that is apart (else empty). No piece is copied behind
    /// another.
    pub(super) fn send_vectored(&self, vnet: &[u8], head: &[u8], tail: &Tail) -> io::Result<usize> {
        let mut slices = [IoSlice::new(&[]); 2 + Tail::MAX_PIECES];
        slices[0] = IoSlice::new(vnet);
        slices[1] = IoSlice::new(head);
        for (slice, piece) in slices[2..].iter_mut().zip(tail.pieces()) {
            *slice = IoSlice::new(piece);
        }
        let used = 2 + tail.pieces().len().min(Tail::MAX_PIECES);
        (&self.file).write_vectored(&slices[..used])
    }
}

impl AsRawFd for TunFd {
    fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

/// The running kernel's version, major and minor (`uname`), if it reads as one.
pub(super) fn kernel_version() -> Option<(u32, u32)> {
    // SAFETY: `uname` fills the struct it is given, which is plain bytes and may start zeroed.
    let mut name: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `name` is a valid, writable utsname.
    if unsafe { libc::uname(&mut name) } != 0 {
        return None;
    }
    let release: Vec<u8> = name
        .release
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    parse_version(&String::from_utf8_lossy(&release))
}

/// `6.18.44-fc-v1300` → `(6, 18)`.
pub(super) fn parse_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}
