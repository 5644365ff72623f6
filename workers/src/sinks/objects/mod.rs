//! Where the file writer puts its CSV files: an S3 bucket ([`s3`]), or a folder on one
//! machine ([`folder`]), with the same keys. A put of an existing key replaces the object
//! whole, which is what makes a retried upload harmless.

pub mod folder;
pub mod s3;

use crate::sinks::WriteError;

#[derive(Clone, Debug)]
pub enum ObjectStore {
    S3(s3::S3Store),
    Folder(folder::Folder),
}

impl ObjectStore {
    /// Stores `body` under `key`, replacing what was there.
    pub async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), WriteError> {
        match self {
            ObjectStore::S3(s) => s.put(key, body).await,
            ObjectStore::Folder(f) => f.put(key, body).await,
        }
    }

    /// The keys that start with `prefix`.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, WriteError> {
        match self {
            ObjectStore::S3(s) => s.list(prefix).await,
            ObjectStore::Folder(f) => f.list(prefix).await,
        }
    }

    /// Where objects go, for logs and summaries.
    pub fn location(&self) -> String {
        match self {
            ObjectStore::S3(s) => s.location(),
            ObjectStore::Folder(f) => f.location(),
        }
    }
}
