//! The worker roles a pipeline runs: what each is called, which `optionsflow-worker`
//! subcommand it runs, and what it needs from the pipeline.

use std::fmt;

/// A worker Deployment's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Collector,
    Processor,
    DbWriter,
    FileWriter,
    Api,
    Predictor,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Collector,
        Role::Processor,
        Role::DbWriter,
        Role::FileWriter,
        Role::Api,
        Role::Predictor,
    ];

    /// The name used in object names, labels and status.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Collector => "collector",
            Role::Processor => "processor",
            Role::DbWriter => "db-writer",
            Role::FileWriter => "file-writer",
            Role::Api => "api",
            Role::Predictor => "predictor",
        }
    }

    /// The `optionsflow-worker` subcommand.
    pub fn subcommand(self) -> &'static str {
        match self {
            Role::Collector => "collect",
            Role::Processor => "process",
            Role::DbWriter => "write-db",
            Role::FileWriter => "write-files",
            Role::Api => "serve",
            Role::Predictor => "predict",
        }
    }

    /// Roles that read or write PostgreSQL.
    pub fn uses_postgres(self) -> bool {
        matches!(self, Role::DbWriter | Role::Api | Role::Predictor)
    }

    /// Serves HTTP on the `http` port besides the admin port.
    pub fn serves_http(self) -> bool {
        self == Role::Api
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
