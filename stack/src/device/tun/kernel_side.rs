//! The kernel's side of a TUN or TAP link: its addresses, its IPv6 switches, its queue.
//!
//! Everything here is what a user would type by hand (`ip addr add`, `echo 0 > /proc/sys/...`),
//! and each step is logged at `info` level as it would be typed.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;

use super::TunDevice;
use crate::device::iproute::ip;
use crate::ip::{Ipv4Cidr, Ipv6Cidr};

/// How many packets the kernel keeps for us while we are not reading (the device's
/// `txqueuelen`; a new TUN device has 500). When the queue is full, the kernel drops what comes.
///
/// Under a SYN flood (hping3 --flood: about 200,000 SYNs a second from one core), 500 packets
/// last 2.5 ms: less than the time slice another process may take from us on our CPU. While we
/// wait for the CPU, the queue overflows and a real client's SYN is lost with the flood's; the
/// client only sends it again a second later. 10,000 packets last 50 ms. The cost is kernel
/// memory, and delay before we read a packet, only while we fall behind.
const TX_QUEUE_LEN: u32 = 10_000;

impl TunDevice {
    /// Sets up the kernel's side of the link, logging each step at `info` level: gives the
    /// kernel the address `peer` (e.g. `10.77.0.1/24`, which also routes the whole /24 to the
    /// device) and, with `peer6`, the IPv6 address `peer6` (e.g. `fd77::1/64`, which routes
    /// fd77::/64 to the device); lengthens the device's queue to 10,000 packets (so that a
    /// flood does not crowd out other packets while we wait for the CPU), and brings the
    /// device up. The stack then takes other addresses on those networks, e.g. 10.77.0.2 and
    /// fd77::2.
    ///
    /// IPv6 is configured before the device comes up, so that the kernel starts it the quiet
    /// way:
    /// - `accept_ra = 0`: the kernel does not look for routers: it sends no router
    ///   solicitations (RFC 4861 section 6.3.7: three, four seconds apart, each time the link
    ///   comes up) and takes no advertisements; `autoconf = 0`: it makes up no addresses from
    ///   an advertised prefix (RFC 4862). There is no router on this link: the stack is a host.
    /// - the address is added with `nodad`: usable at once, without the second of duplicate
    ///   address detection (RFC 4862 section 5.4) during which it is "tentative" and a socket
    ///   cannot use it. (On TUN, a link without neighbours, Linux skips detection anyway.)
    ///
    /// Without `peer6`, IPv6 is turned off on the device (`disable_ipv6 = 1`), so that the
    /// kernel sends no IPv6 packets at all into an IPv4-only link.
    ///
    /// Errors: a command that fails (its error names it), or `peer6` on a kernel built without
    /// IPv6 (`Unsupported`).
    pub fn configure(&self, peer: Ipv4Cidr, peer6: Option<Ipv6Cidr>) -> io::Result<()> {
        let dev = self.name();
        match peer6 {
            Some(_) => enable_ipv6(dev)?,
            None => disable_ipv6(dev)?,
        }
        ip(&["addr", "add", &peer.to_string(), "dev", dev])?;
        if let Some(peer6) = peer6 {
            ip(&["-6", "addr", "add", &peer6.to_string(), "dev", dev, "nodad"])?;
        }
        let queue = TX_QUEUE_LEN.to_string();
        ip(&["link", "set", "dev", dev, "txqueuelen", &queue])?;
        ip(&["link", "set", "dev", dev, "up"])?;
        Ok(())
    }
}

/// The folder of `dev`'s IPv6 settings; `None` when the kernel has no IPv6.
fn ipv6_conf(dev: &str) -> Option<String> {
    let path = format!("/proc/sys/net/ipv6/conf/{dev}");
    Path::new(&path).exists().then_some(path)
}

/// Turns IPv6 on for `dev`, without router discovery or address autoconfiguration.
fn enable_ipv6(dev: &str) -> io::Result<()> {
    let Some(conf) = ipv6_conf(dev) else {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "/proc/sys/net/ipv6/conf/{dev} does not exist: this kernel has no IPv6 (boot \
                 without ipv6.disable=1, or load the ipv6 module), or leave IPv6 off"
            ),
        ));
    };
    // The switches first, IPv6 last: nothing starts before it is told to keep quiet.
    write_setting(&conf, "accept_ra", "0")?;
    write_setting(&conf, "autoconf", "0")?;
    write_setting(&conf, "disable_ipv6", "0")
}

/// Turns IPv6 off on `dev` by writing "1" to its `disable_ipv6` setting, if the kernel has
/// IPv6.
fn disable_ipv6(dev: &str) -> io::Result<()> {
    match ipv6_conf(dev) {
        Some(conf) => write_setting(&conf, "disable_ipv6", "1"),
        None => {
            tracing::debug!("/proc/sys/net/ipv6/conf/{dev} does not exist: no IPv6 to disable");
            Ok(())
        }
    }
}

/// Writes `value` to the setting `name` in the folder `conf`, as `echo value > conf/name`.
fn write_setting(conf: &str, name: &str, value: &str) -> io::Result<()> {
    let path = format!("{conf}/{name}");
    tracing::info!("running `echo {value} > {path}`");
    OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|mut file| file.write_all(format!("{value}\n").as_bytes()))
        .map_err(|err| io::Error::new(err.kind(), format!("cannot write {value} to {path}: {err}")))
}
