//! `optionsflow-worker local --once` on the built-in sample config, run as a newcomer runs
//! it, for the tests that look at what it serves.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use optionsflow_testkit::tansu::free_port;

use super::WORKER as BINARY;

pub struct Local {
    pub child: std::process::Child,
    pub log: PathBuf,
    /// The page's address, `http://127.0.0.1:PORT/`.
    pub url: String,
    pub dir: tempfile::TempDir,
}

impl Local {
    /// Starts `local --once` in an empty folder (so on the built-in sample config) and waits
    /// for its summary.
    pub fn start() -> Local {
        Local::start_with(None, None)
    }

    /// Starts `local --once` in an empty folder, on `config` (JSON) if given, with a Twelve
    /// Data key if given, and waits for its summary.
    pub fn start_with(config: Option<&serde_json::Value>, twelve_data_key: Option<&str>) -> Local {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let log = dir.path().join("local.log");
        let file = std::fs::File::create(&log).unwrap();
        let mut command = Command::new(BINARY);
        command.args(["local", "--once", "--listen", &listen]);
        if let Some(config) = config {
            let path = dir.path().join("local.json");
            std::fs::write(&path, config.to_string()).unwrap();
            command.arg("--config").arg(path);
        }
        match twelve_data_key {
            Some(key) => command.env("TWELVEDATA_API_KEYS", key),
            None => command.env_remove("TWELVEDATA_API_KEYS"),
        };
        let child = command
            .current_dir(dir.path())
            .env_remove("OPTIONSFLOW_CONFIG")
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file))
            .spawn()
            .unwrap();
        let local = Local {
            child,
            log,
            url: format!("http://{listen}/"),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(240);
        while !local.output().contains("until Ctrl-C") {
            assert!(
                Instant::now() < deadline,
                "no summary within 240 s:\n{}",
                local.output()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        local
    }

    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("optionsflow-data")
    }

    /// Ctrl-C, and the exit status.
    pub fn interrupt(&mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "still running 30 s after Ctrl-C");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
