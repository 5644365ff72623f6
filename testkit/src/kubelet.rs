//! What a kubelet does before it starts a container, for tests that run the operator's own
//! output as processes: resolve the container's environment (`value`, `secretKeyRef`,
//! `configMapKeyRef`, `fieldRef`) from the Secrets and ConfigMaps it would see, and write its
//! ConfigMap volumes as files.
//!
//! The liberties taken, both where a real pod differs from a process on one machine:
//! - a volume mounted at `/etc/x` is written under a folder of the test's (`<root>/etc/x`),
//!   and every environment value that names a path under a mount path is rewritten to match;
//! - with [`Prepared::remap_ports`], pods that would each have their own network namespace
//!   share the test's: each container port gets a free port of its own on 127.0.0.1, and
//!   environment values `0.0.0.0:<containerPort>` follow it.
//!
//! Everything else is exactly the container's: its command, its args, its variables, and a
//! pod that would not start (a Secret or key missing and not optional) is an error, as
//! `CreateContainerConfigError` is.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use k8s_openapi::api::core::v1::{ConfigMap, Container, PodSpec, Secret};

/// The Secrets and ConfigMaps of one namespace, by name.
#[derive(Clone, Debug, Default)]
pub struct Namespace {
    pub name: String,
    pub secrets: BTreeMap<String, Secret>,
    pub config_maps: BTreeMap<String, ConfigMap>,
}

/// A container ready to run: its program, args and resolved environment.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// `command[0]`, as the image would resolve it.
    pub program: String,
    /// The rest of `command`, then `args`.
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
}

impl Prepared {
    /// Gives each of the container's ports a free loopback port (see the module's note);
    /// returns container port → host port.
    pub fn remap_ports(&mut self, container: &Container) -> BTreeMap<i32, u16> {
        let map: BTreeMap<i32, u16> = container
            .ports
            .iter()
            .flatten()
            .map(|p| (p.container_port, crate::tansu::free_port()))
            .collect();
        for value in self.env.values_mut() {
            for (inside, outside) in &map {
                if *value == format!("0.0.0.0:{inside}") {
                    *value = format!("127.0.0.1:{outside}");
                }
            }
        }
        map
    }

    /// A command running `binary` in place of the container's program, with exactly its
    /// args and environment (nothing inherited but `PATH`).
    pub fn command(&self, binary: &Path) -> Command {
        let mut command = Command::new(binary);
        command.args(&self.args).env_clear().envs(&self.env);
        if let Ok(path) = std::env::var("PATH") {
            command.env("PATH", path);
        }
        command
    }
}

impl Namespace {
    /// Decoded value of a Secret's key.
    pub fn secret(&self, name: &str, key: &str) -> Option<String> {
        let secret = self.secrets.get(name)?;
        if let Some(bytes) = secret.data.as_ref().and_then(|d| d.get(key)) {
            return String::from_utf8(bytes.0.clone()).ok();
        }
        secret.string_data.as_ref()?.get(key).cloned()
    }

    fn config_map(&self, name: &str, key: &str) -> Option<String> {
        self.config_maps.get(name)?.data.as_ref()?.get(key).cloned()
    }

    /// Resolves `container` of `pod` (named `pod_name`) and writes its ConfigMap volumes
    /// under `root`. Errors say what would keep the kubelet from starting it.
    pub fn prepare(
        &self,
        pod: &PodSpec,
        container: &Container,
        pod_name: &str,
        root: &Path,
    ) -> Result<Prepared, String> {
        let mut mounts: Vec<(String, PathBuf)> = Vec::new();
        for mount in container.volume_mounts.iter().flatten() {
            let volume = pod
                .volumes
                .iter()
                .flatten()
                .find(|v| v.name == mount.name)
                .ok_or_else(|| format!("volume {} is mounted but not defined", mount.name))?;
            let dir = root.join(mount.mount_path.trim_start_matches('/'));
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            if let Some(source) = &volume.config_map {
                let map = self
                    .config_maps
                    .get(&source.name)
                    .ok_or_else(|| format!("ConfigMap {} not found", source.name))?;
                for (key, value) in map.data.iter().flatten() {
                    std::fs::write(dir.join(key), value)
                        .map_err(|e| format!("{}: {e}", dir.display()))?;
                }
            }
            mounts.push((mount.mount_path.clone(), dir));
        }
        let mut env = BTreeMap::new();
        for var in container.env.iter().flatten() {
            let value = if let Some(value) = &var.value {
                Some(value.clone())
            } else if let Some(from) = &var.value_from {
                if let Some(r) = &from.secret_key_ref {
                    let value = self.secret(&r.name, &r.key);
                    let what = format!("Secret {}/{} key {}", self.name, r.name, r.key);
                    required(&var.name, &what, value, r.optional)?
                } else if let Some(r) = &from.config_map_key_ref {
                    let value = self.config_map(&r.name, &r.key);
                    let what = format!("ConfigMap {}/{} key {}", self.name, r.name, r.key);
                    required(&var.name, &what, value, r.optional)?
                } else if let Some(r) = &from.field_ref {
                    Some(match r.field_path.as_str() {
                        "metadata.name" => pod_name.to_owned(),
                        "metadata.namespace" => self.name.clone(),
                        other => return Err(format!("{}: fieldRef {other} unsupported", var.name)),
                    })
                } else {
                    return Err(format!(
                        "{}: a valueFrom this harness cannot resolve",
                        var.name
                    ));
                }
            } else {
                Some(String::new())
            };
            if let Some(value) = value {
                env.insert(var.name.clone(), relocate(&value, &mounts));
            }
        }
        // As in any pod: the hostname is the pod's name.
        env.entry("HOSTNAME".into())
            .or_insert_with(|| pod_name.to_owned());
        let mut command = container.command.clone().unwrap_or_default();
        if command.is_empty() {
            return Err("no command: the pod would depend on the image's entrypoint".into());
        }
        let program = command.remove(0);
        command.extend(container.args.iter().flatten().cloned());
        Ok(Prepared {
            program,
            args: command,
            env,
        })
    }
}

/// A referenced value: a missing one that is not optional keeps the pod from starting.
fn required(
    variable: &str,
    what: &str,
    value: Option<String>,
    optional: Option<bool>,
) -> Result<Option<String>, String> {
    if value.is_none() && !optional.unwrap_or(false) {
        return Err(format!(
            "{variable}: {what} not found (CreateContainerConfigError)"
        ));
    }
    Ok(value)
}

/// A value naming a path under a mount path, moved to where the mount was written.
fn relocate(value: &str, mounts: &[(String, PathBuf)]) -> String {
    for (mount_path, dir) in mounts {
        let prefix = format!("{}/", mount_path.trim_end_matches('/'));
        if let Some(rest) = value.strip_prefix(&prefix) {
            return dir.join(rest).display().to_string();
        }
    }
    value.to_owned()
}
