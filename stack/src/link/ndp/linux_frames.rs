//! Neighbor Discovery frames as the Linux kernel sent them, and frames it accepted, for tests.
//!
//! Captured from a TAP device in a network namespace made for the purpose (and deleted after):
//! the kernel's side is `tap0` with MAC address 9a:3c:00:00:00:11, fd77::1/64 and the
//! link-local address fe80::983c:ff:fe00:11; the frames it received were written by a script
//! playing our host, fd77::2 at 02:00:0a:4d:00:02, and the kernel answered them (its replies
//! are here too), which shows it took them as valid.

/// The bytes of a frame written in hex.
pub(crate) fn bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The kernel's duplicate address detection for fd77::1: from ::, to ff02::1:ff00:1, with a
/// nonce option (type 14, RFC 7527) and no source MAC option.
pub(crate) const DAD_NS: &str = "3333ff0000019a3c0000001186dd6000000000203aff\
    00000000000000000000000000000000ff0200000000000000000001ff000001\
    8700f7f300000000fd770000000000000000000000000001\
    0e018b473152ba97";

/// The kernel resolving fd77::2 (a ping to it): from fd77::1 to ff02::1:ff00:2, with its
/// MAC address in the source option.
pub(crate) const NS: &str = "3333ff0000029a3c0000001186dd6000000000203aff\
    fd770000000000000000000000000001ff0200000000000000000001ff000002\
    8700e45c00000000fd770000000000000000000000000002\
    01019a3c00000011";

/// The kernel checking its STALE entry for fd77::2, five seconds after using it: a unicast
/// solicitation, from its link-local address, to our MAC address.
pub(crate) const PROBE: &str = "02000a4d00029a3c0000001186dd6000000000203aff\
    fe80000000000000983c00fffe000011fd770000000000000000000000000002\
    87004c9400000000fd770000000000000000000000000002\
    01019a3c00000011";

/// Our question "who has fd77::1?", which the kernel answered with [`NA`].
pub(crate) const OUR_NS: &str = "3333ff00000102000a4d000286dd6000000000203aff\
    fd770000000000000000000000000002ff0200000000000000000001ff000001\
    8700725c00000000fd770000000000000000000000000001\
    010102000a4d0002";

/// The kernel's answer to [`OUR_NS`]: solicited and override set, its MAC address.
pub(crate) const NA: &str = "02000a4d00029a3c0000001186dd6000000000203aff\
    fd770000000000000000000000000001fd770000000000000000000000000002\
    880082ea60000000fd770000000000000000000000000001\
    02019a3c00000011";

/// Our duplicate address detection for fd77::1 (the kernel's own address), which the kernel
/// answered with [`DAD_NA`].
pub(crate) const OUR_DAD_NS: &str = "3333ff00000102000a4d000286dd6000000000183aff\
    00000000000000000000000000000000ff0200000000000000000001ff000001\
    87007d2e00000000fd770000000000000000000000000001";

/// The kernel defending fd77::1: to all nodes, override set, solicited not.
pub(crate) const DAD_NA: &str = "3333000000019a3c0000001186dd6000000000203aff\
    fd770000000000000000000000000001ff020000000000000000000000000001\
    8800c16020000000fd770000000000000000000000000001\
    02019a3c00000011";
