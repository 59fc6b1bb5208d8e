//! Running other programs (ping, the demos) from a test without letting them hang it.

use std::io::{self, BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Runs `command` to completion and collects its output, like [`Command::output`], but kills it
/// (SIGKILL) if it has not exited after `limit`; that is a `TimedOut` error carrying what it had
/// printed.
pub fn output_within(command: &mut Command, limit: Duration) -> io::Result<Output> {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| io::Error::new(err.kind(), format!("cannot run {command:?}: {err}")))?;
    let pid = child.id();
    let (done, result) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match result.recv_timeout(limit) {
        Ok(output) => output,
        Err(_) => {
            kill(pid, libc::SIGKILL);
            let output = result
                .recv()
                .map_err(|_| io::Error::other("lost the waiting thread"))??;
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "{command:?} still ran after {limit:?}; killed it.\nstdout: {}\nstderr: {}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ),
            ))
        }
    }
}

/// Sends `signal` to process `pid` (a child of ours).
fn kill(pid: u32, signal: libc::c_int) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill(2) takes two integers and touches no memory of ours.
    unsafe { libc::kill(pid, signal) == 0 }
}

/// A program running in the background, e.g. a demo server, whose standard output a test reads
/// line by line as it comes.
///
/// Dropped while the program still runs (a test failed), it kills it (SIGKILL) and reaps it.
#[derive(Debug)]
pub struct Running {
    child: Child,
    lines: Receiver<String>,
    stdout: Vec<String>,
    stderr: Receiver<String>,
}

/// How a [`Running`] program ended, and everything it printed.
#[derive(Debug)]
pub struct Exited {
    /// Its exit status.
    pub status: ExitStatus,
    /// Its standard output, line by line.
    pub stdout: Vec<String>,
    /// Its standard error.
    pub stderr: String,
}

impl Running {
    /// Starts `command` with standard input closed and standard output and error captured.
    pub fn spawn(command: &mut Command) -> io::Result<Running> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|err| io::Error::new(err.kind(), format!("cannot run {command:?}: {err}")))?;
        let (tx, lines) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let (tx, stderr) = mpsc::channel();
        if let Some(mut pipe) = child.stderr.take() {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = pipe.read_to_string(&mut text);
                let _ = tx.send(text);
            });
        }
        Ok(Running {
            child,
            lines,
            stdout: Vec::new(),
            stderr,
        })
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `limit` for a line of standard output that contains `text`, and returns it.
    /// A `TimedOut` error, or `UnexpectedEof` if the program closed its output first, names the
    /// lines seen so far.
    pub fn wait_for_line(&mut self, text: &str, limit: Duration) -> io::Result<String> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.stdout.push(line.clone());
                    if line.contains(text) {
                        return Ok(line);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "no line with {text:?} within {limit:?}; got {:?}",
                            self.stdout
                        ),
                    ))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "output closed without a line with {text:?}; got {:?}",
                            self.stdout
                        ),
                    ))
                }
            }
        }
    }

    /// Sends SIGINT, as Ctrl-C in a terminal would.
    pub fn interrupt(&self) -> io::Result<()> {
        if kill(self.child.id(), libc::SIGINT) {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Waits up to `limit` for the program to exit (killing it after that, which is a `TimedOut`
    /// error), then returns its status and all it printed.
    pub fn wait_within(mut self, limit: Duration) -> io::Result<Exited> {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait()? {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "still running after {limit:?}; killed it. stdout so far: {:?}",
                        self.stdout
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        // The pipes close when the program exits, unless it left a child of its own holding
        // them: read what is left, but only for a moment.
        let deadline = Instant::now() + Duration::from_secs(1);
        while let Ok(line) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.stdout.push(line);
        }
        let stderr = self
            .stderr
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_default();
        Ok(Exited {
            status,
            stdout: std::mem::take(&mut self.stdout),
            stderr,
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    #[test]
    fn output_within_returns_the_output_or_kills_the_program() {
        let output = output_within(&mut sh("echo out; echo err >&2"), Duration::from_secs(5));
        let output = output.unwrap();
        assert_eq!(output.stdout, b"out\n");
        assert_eq!(output.stderr, b"err\n");

        let started = Instant::now();
        let err = output_within(
            &mut sh("echo before; exec sleep 30"),
            Duration::from_millis(200),
        )
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(err.to_string().contains("before"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn running_reads_lines_as_they_come_and_stops_on_sigint() {
        // The shell loops until SIGINT runs its trap, as a server waits for Ctrl-C.
        let script = "trap 'echo bye; exit 0' INT; echo starting; echo ready now; \
                      while :; do sleep 0.05; done";
        let mut running = Running::spawn(&mut sh(script)).unwrap();
        let line = running
            .wait_for_line("ready", Duration::from_secs(5))
            .unwrap();
        assert_eq!(line, "ready now");
        running.interrupt().unwrap();
        let exited = running.wait_within(Duration::from_secs(5)).unwrap();
        assert!(exited.status.success(), "{exited:?}");
        assert_eq!(exited.stdout, ["starting", "ready now", "bye"]);
    }

    #[test]
    fn running_reports_what_it_saw_when_the_line_never_comes() {
        let mut running = Running::spawn(&mut sh("echo one; exit 3")).unwrap();
        let err = running
            .wait_for_line("ready", Duration::from_secs(5))
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(err.to_string().contains("one"), "{err}");
        let exited = running.wait_within(Duration::from_secs(5)).unwrap();
        assert_eq!(exited.status.code(), Some(3));

        let mut silent = Running::spawn(&mut sh("exec sleep 30")).unwrap();
        let err = silent
            .wait_for_line("ready", Duration::from_millis(100))
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        let err = silent.wait_within(Duration::from_millis(100)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }
}
