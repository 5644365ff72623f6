//! Worker processes for tests: spawned with their output in a log file, killed (SIGKILL) on
//! drop, their logs readable when an assertion fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub struct Worker {
    pub name: String,
    child: Option<Child>,
    log: PathBuf,
}

impl Worker {
    pub fn spawn(
        name: &str,
        binary: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        log_dir: &Path,
    ) -> Worker {
        let mut command = Command::new(binary);
        command.args(args);
        for (k, v) in env {
            command.env(k, v);
        }
        Worker::spawn_command(name, command, log_dir)
    }

    /// Spawns a command made elsewhere (a pod's, say), its output in `<log_dir>/<name>.log`.
    pub fn spawn_command(name: &str, mut command: Command, log_dir: &Path) -> Worker {
        let log = log_dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("a log file");
        command
            .stdout(Stdio::from(file.try_clone().expect("log file")))
            .stderr(Stdio::from(file));
        let child = command.spawn().expect("the worker starts");
        Worker {
            name: name.to_owned(),
            child: Some(child),
            log,
        }
    }

    /// SIGKILL, as `kill -9`.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits for the exit status.
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        child.wait().ok()
    }

    /// Its process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Its peak resident memory so far (`VmHWM`), in KiB, while it runs.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    }

    /// Its exit status, if it has exited (without waiting).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}
