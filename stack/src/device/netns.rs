//! For tests and demos: create, enter and remove a Linux network namespace.
//!
//! A network namespace is a separate copy of the kernel's network: its own interfaces, addresses,
//! routes and sockets. Everything this project does to the kernel over TUN (creating a device,
//! adding an address, sending to it) happens inside a namespace made for that run, so a test on a
//! shared machine never touches the host's own network. By hand, the same is:
//!
//! ```text
//! ip netns add tunstack-demo        # a fresh namespace, with only a (down) loopback
//! ip netns exec tunstack-demo CMD   # run CMD inside it
//! ip netns del tunstack-demo        # remove it, and every interface in it
//! ```
//!
//! [`NetNs::run`] enters the namespace from a new thread with `setns(2)`: a thread's namespace
//! is its own, so the rest of the process stays where it was, while every file descriptor the
//! thread creates (a TUN device, a socket) and every process it starts belongs to the namespace.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use super::iproute::ip;

/// A network namespace created by this process, removed when dropped.
///
/// ```no_run
/// use tunstack::device::netns::NetNs;
///
/// # fn main() -> std::io::Result<()> {
/// let ns = NetNs::create("tunstack-demo")?;
/// ns.exec("ip", &["link", "set", "dev", "lo", "up"]).status()?;
/// // A socket made inside stays in the namespace, whichever thread uses it afterwards.
/// let socket = ns.run(|| std::net::UdpSocket::bind("127.0.0.1:0"))??;
/// println!("bound to {} inside {}", socket.local_addr()?, ns.name());
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct NetNs {
    name: String,
}

impl NetNs {
    /// Creates a namespace named `<prefix>-<pid>-<n>`, unique to this process and call.
    ///
    /// Needs CAP_SYS_ADMIN (root); see [`can_use_tun`].
    pub fn create(prefix: &str) -> io::Result<NetNs> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("{prefix}-{}-{n}", std::process::id());
        ip(&["netns", "add", &name])?;
        Ok(NetNs { name })
    }

    /// The namespace's name, as `ip netns` shows it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `f` on a new thread that has entered the namespace, and returns what it returns.
    ///
    /// `f` never runs outside the namespace: if entering fails, the error is returned instead.
    /// A panic in `f` is passed on to the caller, so test assertions inside work as usual.
    pub fn run<F, R>(&self, f: F) -> io::Result<R>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        let path = Path::new("/var/run/netns").join(&self.name);
        std::thread::scope(|scope| {
            let thread = scope.spawn(|| {
                enter(&path)?;
                Ok(f())
            });
            thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// A command that runs `program args...` inside the namespace (`ip netns exec`).
    pub fn exec(&self, program: &str, args: &[&str]) -> Command {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.name, program])
            .args(args);
        command
    }
}

impl Drop for NetNs {
    /// Removes the namespace (`ip netns del`); its interfaces go with it.
    fn drop(&mut self) {
        if let Err(err) = ip(&["netns", "del", &self.name]) {
            tracing::warn!(%err, "could not remove network namespace {}", self.name);
        }
    }
}

/// Moves the calling thread into the namespace whose handle is at `path`.
fn enter(path: &Path) -> io::Result<()> {
    let handle = File::open(path).map_err(|err| {
        io::Error::new(
            err.kind(),
            format!("cannot open namespace {}: {err}", path.display()),
        )
    })?;
    // SAFETY: setns only reads its two integer arguments; `handle` is an open descriptor.
    let result = unsafe { libc::setns(handle.as_raw_fd(), libc::CLONE_NEWNET) };
    if result != 0 {
        let err = io::Error::last_os_error();
        return Err(io::Error::new(
            err.kind(),
            format!("cannot enter namespace {}: {err}", path.display()),
        ));
    }
    Ok(())
}

/// Whether this process can create TUN devices inside network namespaces; if not, why not.
///
/// Tests that need a TUN device give the reason to [`skip_or_fail`] when this returns an error.
pub fn can_use_tun() -> Result<(), String> {
    // The effective capability set, a hex mask in /proc/self/status ("CapEff:\t000001ffffffffff").
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|err| format!("cannot read /proc/self/status: {err}"))?;
    let caps = status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .ok_or("no CapEff line in /proc/self/status")?;
    const CAP_NET_ADMIN: u32 = 12;
    const CAP_SYS_ADMIN: u32 = 21;
    for (bit, name, why) in [
        (CAP_NET_ADMIN, "CAP_NET_ADMIN", "to create TUN devices"),
        (
            CAP_SYS_ADMIN,
            "CAP_SYS_ADMIN",
            "to create network namespaces",
        ),
    ] {
        if caps & (1 << bit) == 0 {
            return Err(format!("{name} is needed {why}: run as root (sudo)"));
        }
    }
    if !Path::new("/dev/net/tun").exists() {
        return Err("/dev/net/tun is missing (load the tun module: modprobe tun)".into());
    }
    match Command::new("ip").arg("-V").output() {
        Ok(output) if output.status.success() => Ok(()),
        _ => Err("the `ip` command (iproute2) is not available".into()),
    }
}

/// Whether this run is continuous integration, where every test must run: the `CI` environment
/// variable is set to anything but the empty string (CI services set `CI=true`, some `CI=1`;
/// any value counts, even `false`).
pub fn in_ci() -> bool {
    means_ci(std::env::var_os("CI").as_deref())
}

/// The rule of [`in_ci`], on the value of `CI` (`None` when it is not set).
fn means_ci(value: Option<&std::ffi::OsStr>) -> bool {
    value.is_some_and(|ci| !ci.is_empty())
}

/// For a test that cannot run on this machine (no root, no `/dev/net/tun`, a tool missing):
/// prints `skipped: <why>` to standard error, and the test then returns early and passes.
///
/// Under CI ([`in_ci`]) it panics with the reason instead: there the test must run, so a CI
/// machine that lost a tool or a privilege fails rather than passing without testing anything.
/// Every test of this project that can skip goes through here, so the rule is written once.
///
/// ```no_run
/// use tunstack::device::netns::{can_use_tun, skip_or_fail};
///
/// if let Err(why) = can_use_tun() {
///     skip_or_fail(&why);
///     return;
/// }
/// // ... NetNs::create("tunstack-my-test") ...
/// ```
pub fn skip_or_fail(why: &str) {
    if in_ci() {
        panic!("CI must run this test, but: {why}");
    }
    // For the test's output, which the test harness shows: this is no logging of the stack's.
    eprintln!("skipped: {why}");
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    /// The inode of the calling thread's network namespace: equal inodes, same namespace.
    fn current_namespace() -> u64 {
        std::fs::metadata("/proc/thread-self/ns/net").unwrap().ino()
    }

    #[test]
    fn any_value_of_ci_but_the_empty_string_means_ci() {
        for value in ["true", "1", "yes", "false", "0"] {
            assert!(means_ci(Some(value.as_ref())), "CI={value}");
        }
        assert!(!means_ci(Some("".as_ref())), "CI= (empty)");
        assert!(!means_ci(None), "CI not set");
    }

    #[test]
    fn run_enters_the_namespace_and_drop_removes_it() {
        if let Err(why) = can_use_tun() {
            skip_or_fail(&why);
            return;
        }
        let host = current_namespace();
        let ns = NetNs::create("tunstack-netns").unwrap();
        let name = ns.name().to_owned();
        let inside = ns.run(current_namespace).unwrap();
        assert_ne!(inside, host, "the closure ran in another namespace");
        assert_eq!(current_namespace(), host, "this thread did not move");

        let output = ns.exec("ip", &["-o", "link", "show"]).output().unwrap();
        let links = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            links.lines().count(),
            1,
            "a fresh namespace has only lo: {links}"
        );

        drop(ns);
        let list = ip(&["netns", "list"]).unwrap();
        let listed = list
            .lines()
            .any(|l| l.split_whitespace().next() == Some(&name));
        assert!(!listed, "{name} still listed: {list}");
    }

    #[test]
    fn a_panic_inside_reaches_the_caller() {
        if let Err(why) = can_use_tun() {
            skip_or_fail(&why);
            return;
        }
        let ns = NetNs::create("tunstack-netns").unwrap();
        let result = std::panic::catch_unwind(|| ns.run(|| panic!("inside")));
        assert!(result.is_err());
    }
}
