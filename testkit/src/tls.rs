//! Certificates for tests that speak TLS, made with the `openssl` command: a CA, a server
//! certificate for `127.0.0.1` and `localhost`, and a client certificate for mutual TLS, all
//! signed by the CA, in the PEM files Strimzi hands out (`ca.crt`, `user.crt`, `user.key`).

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Certificates {
    dir: tempfile::TempDir,
}

impl Certificates {
    /// A fresh CA and the certificates it signs (elliptic-curve keys: quick to make).
    pub fn generate() -> Certificates {
        let certificates = Certificates {
            dir: tempfile::tempdir().expect("a temporary folder"),
        };
        let key = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        certificates.openssl(
            &[
                "req",
                "-x509",
                "-days",
                "2",
                "-subj",
                "/CN=optionsflow test CA",
            ],
            &key,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
        certificates.sign(
            "server",
            "/CN=127.0.0.1",
            &key,
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        );
        certificates.sign(
            "user",
            "/CN=optionsflow",
            &key,
            "extendedKeyUsage=clientAuth\n",
        );
        certificates
    }

    fn openssl(&self, a: &[&str], b: &[&str], c: &[&str]) {
        let out = Command::new("openssl")
            .current_dir(self.dir.path())
            .args(a)
            .args(b)
            .args(c)
            .output()
            .expect("the openssl command (Debian's openssl package) runs");
        assert!(
            out.status.success(),
            "openssl {a:?} {c:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `<name>.key` and `<name>.crt`, signed by the CA with the extensions `ext`.
    fn sign(&self, name: &str, subject: &str, key: &[&str], ext: &str) {
        let (keyout, csr, crt, extfile) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.crt"),
            format!("{name}.ext"),
        );
        std::fs::write(self.dir.path().join(&extfile), ext).expect("an extensions file");
        self.openssl(
            &["req", "-subj", subject],
            key,
            &["-keyout", &keyout, "-out", &csr],
        );
        self.openssl(
            &["x509", "-req", "-days", "2", "-in", &csr],
            &["-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial"],
            &["-out", &crt, "-extfile", &extfile],
        );
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    /// A file's PEM text: `ca.crt`, `server.crt`, `server.key`, `user.crt` or `user.key`.
    pub fn pem(&self, file: &str) -> String {
        std::fs::read_to_string(self.path(file)).expect("a certificate file")
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}
