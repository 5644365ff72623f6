//! Files in a local folder, laid out like the keys in S3. Each file is written to a
//! temporary name and renamed into place, so a reader never sees half a file and a crash
//! never leaves one; the file and then its folder are synced to disk before `put` returns,
//! because the writer commits the batch's offsets as soon as it does.

use std::path::{Path, PathBuf};

use crate::sinks::WriteError;

const STORE: &str = "the output folder";

#[derive(Clone, Debug)]
pub struct Folder {
    root: PathBuf,
}

impl Folder {
    pub fn new(root: impl Into<PathBuf>) -> Folder {
        Folder { root: root.into() }
    }

    pub async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), WriteError> {
        let path = self.root.join(key);
        let temporary = path.with_extension("partial");
        let unavailable = |e: std::io::Error| WriteError::Unavailable {
            store: STORE,
            detail: format!("{}: {e}", path.display()),
        };
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(unavailable)?;
        }
        let (from, to) = (temporary.clone(), path.clone());
        tokio::task::spawn_blocking(move || write_durably(&from, &to, &body))
            .await
            .expect("writing a file does not panic")
            .map_err(unavailable)
    }

    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, WriteError> {
        let (folder, start) = match prefix.rsplit_once('/') {
            Some((folder, start)) => (self.root.join(folder), start),
            None => (self.root.clone(), prefix),
        };
        let mut keys = Vec::new();
        let mut entries = match tokio::fs::read_dir(&folder).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(keys),
            Err(e) => {
                return Err(WriteError::Unavailable {
                    store: STORE,
                    detail: format!("{}: {e}", folder.display()),
                });
            }
        };
        while let Ok(Some(entry)) = entries.next_entry().await {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(start) && !name.ends_with(".partial") {
                keys.push(key_of(&self.root, &folder.join(name)));
            }
        }
        keys.sort();
        Ok(keys)
    }

    pub fn location(&self) -> String {
        self.root.display().to_string()
    }
}

/// Writes `body` to `temporary`, syncs it, renames it to `path` and syncs the folder, so
/// that both the contents and the name survive a crash or a power cut.
fn write_durably(temporary: &Path, path: &Path, body: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(temporary)?;
    file.write_all(body)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(temporary, path)?;
    std::fs::File::open(path.parent().unwrap_or(Path::new(".")))?.sync_all()
}

fn key_of(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_put_replaces_the_file_and_list_finds_it_by_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let folder = Folder::new(dir.path());
        folder
            .put("a/date=2024-11-25/t-0-1-5.csv", b"one".to_vec())
            .await
            .unwrap();
        folder
            .put("a/date=2024-11-25/t-0-1-5.csv", b"two".to_vec())
            .await
            .unwrap();
        folder
            .put("a/date=2024-11-25/t-0-6-9.csv", b"x".to_vec())
            .await
            .unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("a/date=2024-11-25/t-0-1-5.csv")).unwrap(),
            b"two"
        );
        assert_eq!(
            folder.list("a/date=2024-11-25/t-0-1-").await.unwrap(),
            vec!["a/date=2024-11-25/t-0-1-5.csv"]
        );
        assert!(
            folder
                .list("b/date=2024-11-25/t-")
                .await
                .unwrap()
                .is_empty()
        );
    }
}
