//! What the operator observed of a pipeline. Field names are an API: dashboards and ArgoCD
//! health checks read them.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::KubeSchema;
use schemars::generate::SchemaGenerator;
use schemars::{JsonSchema, Schema};
use serde::{Deserialize, Serialize};

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OptionsPipelineStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Pending, Progressing, Ready, Degraded or Suspended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// `Ready`, `Progressing`, `Degraded` and `Suspended`, each with its observedGeneration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::crd::schema::conditions")]
    pub conditions: Option<Vec<Condition>>,
    /// Distinct symbols across the pipeline's SymbolSets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbols: Option<u32>,
    /// Ready and desired worker pods, as `ready/desired`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<String>,
    /// One entry per worker role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "roles_schema")]
    pub roles: Option<Vec<RoleStatus>>,
    /// Roles the pipeline does not run, and what they would need.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "omitted_schema")]
    pub omitted_roles: Option<Vec<OmittedRoleStatus>>,
    /// One entry per topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "topics_schema")]
    pub topics: Option<Vec<TopicStatus>>,
    /// One entry per scheduled dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schedules_schema")]
    pub schedules: Option<Vec<ScheduleStatus>>,
    /// When the options schedule last succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::crd::schema::date_time")]
    pub last_options_fetch: Option<Time>,
    /// The current historical backfill, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backfill: Option<BackfillStatus>,
}

/// One worker role's Deployment.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RoleStatus {
    /// collector, processor, db-writer, file-writer or api.
    pub role: String,
    /// The Deployment.
    pub deployment: String,
    /// Pods ready.
    pub ready: i32,
    /// Pods wanted (0 when suspended).
    pub desired: i32,
}

/// A role the pipeline does not run: informational, since a pipeline without a file store
/// simply has no file writer.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OmittedRoleStatus {
    /// db-writer, file-writer or api.
    pub role: String,
    /// What it needs and the pipeline lacks: NoDatabase, NoFileStore or NoApiTokens.
    pub reason: String,
    /// Which field would provide it.
    pub message: String,
}

/// One Kafka topic.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TopicStatus {
    /// The topic's full name.
    pub name: String,
    /// Partitions the topic has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<i32>,
    /// Partitions the pipeline asks for.
    pub desired_partitions: i32,
    /// The topic exists with at least the partitions asked for, and the broker took its
    /// settings.
    pub ready: bool,
    /// Why not, when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One dataset's CronJob.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleStatus {
    /// daily, intraday, historical or options.
    pub dataset: String,
    /// The CronJob.
    pub cron_job: String,
    /// The schedule, as applied.
    pub schedule: String,
    /// The zone it is read in.
    pub time_zone: String,
    /// When a run was last started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::crd::schema::date_time")]
    pub last_schedule_time: Option<Time>,
    /// When a run last succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::crd::schema::date_time")]
    pub last_successful_time: Option<Time>,
}

/// The historical backfill Job.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BackfillStatus {
    /// The Job.
    pub job: String,
    /// First day backfilled.
    pub start_date: String,
    /// Last day backfilled, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
    /// Running, Succeeded or Failed.
    pub state: String,
}

fn roles_schema(g: &mut SchemaGenerator) -> Schema {
    crate::crd::schema::list_map("role", RoleStatus::json_schema(g))
}

fn omitted_schema(g: &mut SchemaGenerator) -> Schema {
    crate::crd::schema::list_map("role", OmittedRoleStatus::json_schema(g))
}

fn topics_schema(g: &mut SchemaGenerator) -> Schema {
    crate::crd::schema::list_map("name", TopicStatus::json_schema(g))
}

fn schedules_schema(g: &mut SchemaGenerator) -> Schema {
    crate::crd::schema::list_map("dataset", ScheduleStatus::json_schema(g))
}
