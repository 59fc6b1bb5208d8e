//! Running iproute2's `ip`: the kernel side of a link is set up as a user would set it up by hand.
//!
//! Every command is logged at `info` level exactly as it would be typed, so a learner can read in
//! the log what the program did to the kernel, and do it again in a shell.

use std::io;
use std::process::Command;

/// Runs `ip <args>` and returns its standard output.
///
/// The error of a command that cannot start or that fails names the command and carries its
/// standard error, e.g. ``` `ip link set dev tun9 up` failed (exit status: 1): Cannot find
/// device "tun9" ```.
pub(crate) fn ip(args: &[&str]) -> io::Result<String> {
    let line = format!("ip {}", args.join(" "));
    tracing::info!("running `{line}`");
    let output = Command::new("ip").args(args).output().map_err(|err| {
        io::Error::new(
            err.kind(),
            format!("cannot run `{line}`: {err} (is iproute2 installed?)"),
        )
    })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(io::Error::other(format!(
            "`{line}` failed ({}): {}",
            output.status,
            stderr.trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_command_names_itself_and_says_why() {
        // `ip` refuses an unknown object before touching anything.
        let Err(err) = ip(&["no-such-object"]) else {
            panic!("`ip no-such-object` succeeded");
        };
        let text = err.to_string();
        if text.contains("cannot run") {
            crate::device::netns::skip_or_fail(&text);
            return;
        }
        assert!(text.starts_with("`ip no-such-object` failed"), "{text}");
        assert!(text.contains("unknown"), "stderr is included: {text}");
    }
}
