//! Temporary files that remove themselves.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A path in the temporary directory, unique to this process and call, whose file (if any) is
/// removed when the `TempFile` is dropped, also when a test fails.
///
/// The name ends in `.tmp.pcapng`, which the repository ignores. To look at a test's capture
/// in Wireshark afterwards, run the test with `TUNSTACK_KEEP_CAPTURES=1`: the files then stay
/// (and the paths are printed).
#[derive(Debug)]
pub struct TempFile(PathBuf);

impl TempFile {
    /// A new path, `<tmp>/tunstack-<label>-<pid>-<n>.tmp.pcapng`. No file is created.
    pub fn new(label: &str) -> TempFile {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("tunstack-{label}-{}-{n}.tmp.pcapng", std::process::id());
        TempFile(std::env::temp_dir().join(name))
    }

    /// The path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if std::env::var_os("TUNSTACK_KEEP_CAPTURES").is_some_and(|v| !v.is_empty()) {
            if self.0.exists() {
                eprintln!("kept {}", self.0.display());
            }
            return;
        }
        let _ = std::fs::remove_file(&self.0);
    }
}
