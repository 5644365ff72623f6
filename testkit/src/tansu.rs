//! A tansu broker for one test: started on a free loopback port, killed on drop. Also a
//! secured one ([`SecuredKafka`]): SASL/SCRAM logins required by tansu, TLS (and, if asked,
//! client certificates) required by stunnel in front of it.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::stunnel::Stunnel;
use crate::tls::Certificates;

pub struct Tansu {
    port: u16,
    /// The port clients are told to use (stunnel's, when it is in front).
    advertised: u16,
    /// Whether clients must log in (`--authentication`).
    authentication: bool,
    storage: String,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

/// Where tansu is: `$TANSU_BIN`, `tansu` on the PATH, or `~/.cargo/bin/tansu`.
pub fn binary() -> PathBuf {
    if let Ok(path) = std::env::var("TANSU_BIN") {
        return path.into();
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("tansu"))
            .find(|p| p.is_file())
    });
    let home = std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo/bin/tansu"));
    on_path
        .or(home.filter(|p| p.is_file()))
        .expect("tansu is not installed: run scripts/test-services.sh (cargo install tansu --version 0.6.0 --features dynostore,libsql)")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Tansu {
    /// A broker that keeps everything in memory.
    pub fn start() -> Tansu {
        Tansu::launch("memory://tansu/".to_owned())
    }

    /// A broker whose data survives [`Tansu::restart`] (SQLite in a temporary folder).
    pub fn start_persistent() -> Tansu {
        Tansu::launch("sqlite://tansu.db".to_owned())
    }

    fn launch(storage: String) -> Tansu {
        let port = free_port();
        let mut broker = Tansu {
            port,
            advertised: port,
            authentication: false,
            storage,
            child: None,
            dir: tempfile::tempdir().expect("a temporary folder"),
        };
        broker.spawn();
        broker
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    fn spawn(&mut self) {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let advertised = format!("tcp://127.0.0.1:{}", self.advertised);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("tansu.log"))
            .expect("a log file");
        let child = Command::new(binary())
            .current_dir(self.dir.path())
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &advertised,
            ])
            .args(["--storage-engine", &self.storage])
            .args(self.authentication.then_some("--authentication"))
            .env(
                "RUST_LOG",
                std::env::var("TANSU_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::from(log.try_clone().expect("log file")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("tansu starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "tansu did not listen on {} within 30 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Creates a SCRAM-SHA-256 and a SCRAM-SHA-512 login for `user` (on a broker that does
    /// not require logins yet: tansu's way, as its docs describe).
    pub fn create_user(&self, user: &str, password: &str) {
        for mechanism in ["scram256", "scram512"] {
            let out = Command::new(binary())
                .args(["user", "create", "--broker"])
                .arg(format!("tcp://127.0.0.1:{}", self.port))
                .args(["--mechanism", mechanism, user, password])
                .output()
                .expect("tansu user create runs");
            assert!(
                out.status.success(),
                "tansu user create {user} ({mechanism}): {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    /// Restarts the broker requiring logins, telling clients to come through `advertised`.
    pub fn require_login(&mut self, advertised: u16) {
        self.advertised = advertised;
        self.authentication = true;
        self.restart();
    }

    /// Kills the broker (SIGKILL).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills and starts the broker again on the same port and storage.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("tansu.log")).unwrap_or_default()
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        self.kill();
    }
}

/// tansu requiring SASL/SCRAM logins, behind stunnel for TLS, with the certificates of both.
pub struct SecuredKafka {
    pub certificates: Certificates,
    pub tansu: Tansu,
    pub stunnel: Stunnel,
}

impl SecuredKafka {
    /// A broker where each of `users` (name, password) may log in with SCRAM-SHA-256 or -512,
    /// over TLS only; with `verify_clients`, only with a client certificate signed by the CA.
    pub fn start(users: &[(&str, &str)], verify_clients: bool) -> SecuredKafka {
        let certificates = Certificates::generate();
        let mut tansu = Tansu::start_persistent();
        for (user, password) in users {
            tansu.create_user(user, password);
        }
        let stunnel = Stunnel::start(tansu.port(), &certificates, verify_clients);
        tansu.require_login(stunnel.port());
        SecuredKafka {
            certificates,
            tansu,
            stunnel,
        }
    }

    /// Where clients connect: stunnel's TLS port.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.stunnel.port())
    }
}
