//! Report: the status subresource and Events, the two things people read. Status is written
//! by server-side apply, and only when it changed, so a steady pipeline costs no writes and
//! does not wake its own watch. Events are best effort: a failed Event never fails a reconcile.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::api::{Patch, PatchParams};
use kube::core::DeserializeGuard;
use kube::runtime::events::{Event, EventType};
use kube::{Api, Resource};
use optionsflow_api::crd::OptionsPipeline;
use optionsflow_api::crd::pipeline::OptionsPipelineStatus;

use super::Context;
use crate::error::Error;
use crate::names::FIELD_MANAGER;
use crate::topics::AdminFactory;

/// An Event to publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub warning: bool,
    pub reason: String,
    pub action: String,
    pub message: String,
}

impl Note {
    pub fn normal(reason: &str, action: &str, message: impl Into<String>) -> Note {
        Note {
            warning: false,
            reason: reason.into(),
            action: action.into(),
            message: message.into(),
        }
    }

    pub fn warning(reason: &str, action: &str, message: impl Into<String>) -> Note {
        Note {
            warning: true,
            ..Note::normal(reason, action, message)
        }
    }
}

/// Writes `status` unless it equals `previous`.
pub async fn status<F: AdminFactory>(
    ctx: &Context<F>,
    reference: &ObjectReference,
    previous: Option<&OptionsPipelineStatus>,
    status: &OptionsPipelineStatus,
) -> Result<(), Error> {
    if previous == Some(status) {
        return Ok(());
    }
    let name = reference.name.clone().unwrap_or_default();
    let body = serde_json::json!({
        "apiVersion": OptionsPipeline::api_version(&()),
        "kind": OptionsPipeline::kind(&()),
        "status": status,
    });
    Api::<DeserializeGuard<OptionsPipeline>>::namespaced(
        ctx.client.clone(),
        reference.namespace.as_deref().unwrap_or_default(),
    )
    .patch_status(
        &name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await
    .map_err(|source| Error::Status { name, source })?;
    Ok(())
}

/// The Events a reconcile owes: the phase it moved to, topics that became ready, children it
/// pruned, and the failure it hit. Pure.
pub fn notes(
    previous: Option<&OptionsPipelineStatus>,
    status: &OptionsPipelineStatus,
    pruned: &[String],
    failure: Option<&Error>,
) -> Vec<Note> {
    let mut notes = Vec::new();
    let was_ready = |name: &str| {
        previous
            .and_then(|p| p.topics.as_ref())
            .is_some_and(|ts| ts.iter().any(|t| t.name == name && t.ready))
    };
    let new_topics: Vec<&str> = status
        .topics
        .iter()
        .flatten()
        .filter(|t| t.ready && !was_ready(&t.name))
        .map(|t| t.name.as_str())
        .collect();
    if !new_topics.is_empty() {
        notes.push(Note::normal(
            "TopicsReady",
            "ProvisionTopics",
            format!(
                "{} topics ready: {}",
                new_topics.len(),
                new_topics.join(", ")
            ),
        ));
    }
    if !pruned.is_empty() {
        notes.push(Note::normal(
            "Pruned",
            "Prune",
            format!(
                "deleted what the pipeline no longer wants: {}",
                pruned.join(", ")
            ),
        ));
    }
    if let Some(e) = failure {
        notes.push(Note::warning(e.reason(), "Reconcile", e.to_string()));
    }
    let phase = status.phase.as_deref().unwrap_or("Pending");
    if previous.and_then(|p| p.phase.as_deref()) != Some(phase) && failure.is_none() {
        let message = status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == crate::status::conditions::READY)
            .map(|c| c.message.clone())
            .unwrap_or_default();
        notes.push(if phase == "Degraded" {
            Note::warning(phase, "Reconcile", message)
        } else {
            Note::normal(phase, "Reconcile", message)
        });
    }
    notes
}

/// Publishes one Event about the pipeline.
pub async fn event<F: AdminFactory>(ctx: &Context<F>, p: &OptionsPipeline, note: Note) {
    publish(ctx, &p.object_ref(&()), note).await
}

pub async fn publish<F: AdminFactory>(ctx: &Context<F>, reference: &ObjectReference, note: Note) {
    let event = Event {
        type_: if note.warning {
            EventType::Warning
        } else {
            EventType::Normal
        },
        reason: note.reason.clone(),
        note: Some(truncate(&note.message, 1000)),
        action: note.action.clone(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&event, reference).await {
        tracing::warn!(error = %e, reason = %note.reason, "could not publish an Event");
    }
}

/// At most `max` bytes, cut at a character boundary.
fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max - 3;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}
