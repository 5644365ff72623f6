//! stunnel in front of a plaintext listener: TLS for a broker whose own TLS cannot be used
//! (tansu 0.6.0's TLS flags conflict in its CLI). With `verify_clients`, only clients with a
//! certificate signed by the test CA get through, as a Kafka listener with
//! `ssl.client.auth=required` behaves.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::tansu::free_port;
use crate::tls::Certificates;

pub struct Stunnel {
    port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

/// Where stunnel is: `$STUNNEL_BIN`, or `stunnel4` (Debian's package `stunnel4`).
fn binary() -> PathBuf {
    std::env::var("STUNNEL_BIN")
        .unwrap_or_else(|_| "stunnel4".into())
        .into()
}

impl Stunnel {
    /// TLS on a free loopback port, forwarded to `127.0.0.1:target`.
    pub fn start(target: u16, certificates: &Certificates, verify_clients: bool) -> Stunnel {
        let port = free_port();
        let dir = tempfile::tempdir().expect("a temporary folder");
        let mut config = format!(
            "foreground = yes\npid = {pid}\noutput = {log}\ndebug = info\n\n[kafka]\naccept = 127.0.0.1:{port}\nconnect = 127.0.0.1:{target}\ncert = {cert}\nkey = {key}\n",
            pid = dir.path().join("stunnel.pid").display(),
            log = dir.path().join("stunnel.log").display(),
            cert = certificates.path("server.crt").display(),
            key = certificates.path("server.key").display(),
        );
        if verify_clients {
            config.push_str(&format!(
                "CAfile = {}\nverifyChain = yes\nrequireCert = yes\n",
                certificates.path("ca.crt").display()
            ));
        }
        let file = dir.path().join("stunnel.conf");
        std::fs::write(&file, config).expect("a stunnel config");
        let child = Command::new(binary())
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "stunnel ({}) does not start: {e}; run scripts/test-services.sh",
                    binary().display()
                )
            });
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "stunnel did not listen on {port} within 10 s: {}",
                std::fs::read_to_string(dir.path().join("stunnel.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Stunnel { port, child, dir }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stunnel.log")).unwrap_or_default()
    }
}

impl Drop for Stunnel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
