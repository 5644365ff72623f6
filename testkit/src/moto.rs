//! An S3-compatible server for tests: moto's server on a free loopback port, killed on drop.
//! Installed by scripts/test-services.sh into its venv (`MOTO_SERVER_BIN`).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::tansu::free_port;

pub struct Moto {
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

fn binary() -> String {
    std::env::var("MOTO_SERVER_BIN").unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_default();
        let venv = format!("{home}/.cache/optionsflow/venv/bin/moto_server");
        assert!(
            std::path::Path::new(&venv).is_file(),
            "moto_server is not installed: run scripts/test-services.sh"
        );
        venv
    })
}

impl Moto {
    pub fn start() -> Moto {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let log = std::fs::File::create(dir.path().join("moto.log")).expect("a log file");
        let port = free_port();
        let child = Command::new(binary())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::from(log.try_clone().expect("log file")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("moto_server starts");
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto {
            port,
            child,
            _dir: dir,
        }
    }

    /// Freezes the server (SIGSTOP): connections are accepted by the kernel and nothing is
    /// answered, as with a hung S3 endpoint, until [`Moto::thaw`].
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// Lets a frozen server go on (SIGCONT); what it was sent meanwhile is answered then.
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} moto");
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
