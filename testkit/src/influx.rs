//! InfluxDB 1.x for tests: Debian's influxd with its data in a temporary folder and its
//! HTTP API on a free loopback port, killed on drop; it can be stopped and started again on
//! the same data and port, as an outage.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::tansu::free_port;

pub struct Influxd {
    pub port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl Influxd {
    pub fn start() -> Influxd {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let port = free_port();
        let bind_port = free_port();
        let base = dir.path().display().to_string();
        // The parts of `influxd config` that matter here: everything in the temporary folder,
        // everything on loopback, nothing reported home.
        let config = format!(
            "reporting-disabled = true\n\
             bind-address = \"127.0.0.1:{bind_port}\"\n\
             [meta]\n  dir = \"{base}/meta\"\n\
             [data]\n  dir = \"{base}/data\"\n  wal-dir = \"{base}/wal\"\n  query-log-enabled = false\n\
             [http]\n  bind-address = \"127.0.0.1:{port}\"\n  log-enabled = false\n\
             [monitor]\n  store-enabled = false\n"
        );
        std::fs::write(dir.path().join("influxdb.conf"), config).expect("config written");
        let mut influx = Influxd {
            port,
            child: None,
            dir,
        };
        influx.start_again();
        influx
    }

    /// Kills it (SIGKILL): its data stays for [`Influxd::start_again`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it on its data and port, and waits until it answers.
    pub fn start_again(&mut self) {
        let binary = std::env::var("INFLUXD_BIN").unwrap_or_else(|_| "influxd".into());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("influxd.log"))
            .expect("a log file");
        let child = Command::new(&binary)
            .arg("-config")
            .arg(self.dir.path().join("influxdb.conf"))
            .stdout(Stdio::from(log.try_clone().expect("log file")))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{binary} starts (install it with scripts/test-services.sh): {e}")
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.get("/ping").is_none() {
            assert!(
                Instant::now() < deadline,
                "influxd did not answer /ping within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Runs an InfluxQL statement through `/query` and returns the JSON answer.
    pub fn query(&self, db: &str, q: &str) -> serde_json::Value {
        let body = http_post_form(self.port, "/query", &[("db", db), ("q", q)]);
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("/query answered {body:?}: {e}"))
    }

    fn get(&self, path: &str) -> Option<String> {
        http(
            self.port,
            &format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"),
        )
    }
}

impl Drop for Influxd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn http_post_form(port: u16, path: &str, form: &[(&str, &str)]) -> String {
    let body: String = form
        .iter()
        .map(|(k, v)| format!("{k}={}", percent(v)))
        .collect::<Vec<_>>()
        .join("&");
    let request = format!(
        "POST {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    http(port, &request).expect("influxd answers")
}

/// One HTTP/1.0 exchange; returns the body.
fn http(port: u16, request: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.").then(|| body.to_owned())
}

fn percent(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
