//! The defaults that the operator and the runtime config share, named by what they mean:
//! the operator fills them in for fields a pipeline leaves out (here, not in the CRD's
//! schema, so the apiserver never writes them into objects kept in Git), and the runtime
//! config's `Default`s use the same ones. A default only one side has lives with its
//! struct's `Default`.

/// Partitions of every topic.
pub const PARTITIONS: i32 = 5;
/// Replication factor of every topic.
pub const REPLICATION_FACTOR: i32 = 3;
/// Replicas of every worker role.
pub const REPLICAS: i32 = 2;
/// The zone schedules are read in.
pub const TIME_ZONE: &str = "America/New_York";
/// 16:30 New York on weekdays: after the close.
pub const DAILY_SCHEDULE: &str = "30 16 * * 1-5";
/// Every 15 minutes from 09:00 to 16:45 on weekdays (the trigger skips outside the session).
pub const INTRADAY_SCHEDULE: &str = "*/15 9-16 * * 1-5";
/// 16:20 New York on weekdays: end-of-day chains (Cboe's quotes lag 15 minutes).
pub const OPTIONS_SCHEDULE: &str = "20 16 * * 1-5";
/// Expirations this many days out.
pub const HORIZON_DAYS: u32 = 90;
/// The IngressClass of the api's Ingress.
pub const INGRESS_CLASS: &str = "nginx";
/// How long a topic keeps messages: a week of raw answers to replay from.
pub const RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;
/// How long `dead-letter` keeps messages: a month to look into what was refused.
pub const DEAD_LETTER_RETENTION_MS: i64 = 30 * 24 * 3600 * 1000;
/// How long a consumer group waits for a silent member before giving its partitions away.
pub const SESSION_TIMEOUT_MS: u32 = 10_000;
/// The S3 region when the sink names none.
pub const S3_REGION: &str = "us-east-1";
/// The environment variable the workers read the Twelve Data API keys from (comma-separated).
pub const TWELVEDATA_KEYS_ENV: &str = "TWELVEDATA_API_KEYS";
/// The environment variable the workers read the PostgreSQL URL from.
pub const DATABASE_URL_ENV: &str = "DATABASE_URL";
