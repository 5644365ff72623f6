//! Schema fragments the derive cannot express on its own: list merge types, formats, and the
//! condition list that server-side apply merges by `type`.

use schemars::generate::SchemaGenerator;
use schemars::{Schema, json_schema};

use crate::symbol::{MAX_SYMBOL_LEN, SYMBOL_PATTERN};

/// Tickers, each at most once.
pub fn symbols(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "x-kubernetes-list-type": "set",
        "maxItems": 10000,
        "items": {"type": "string", "pattern": SYMBOL_PATTERN, "maxLength": MAX_SYMBOL_LEN}
    })
}

/// Names of objects in the same namespace, each at most once.
pub fn names(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "x-kubernetes-list-type": "set",
        "maxItems": 100,
        "items": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 253}
    })
}

/// A calendar date, `YYYY-MM-DD`.
pub fn date(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"})
}

/// An instant, RFC 3339.
pub fn date_time(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "string", "format": "date-time"})
}

/// Standard `metav1.Condition`s, merged by `type` under server-side apply.
pub fn conditions(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["type"],
        "items": {
            "type": "object",
            "required": ["lastTransitionTime", "message", "reason", "status", "type"],
            "properties": {
                "type": {"type": "string", "description": "Ready, Progressing, Degraded or Suspended."},
                "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
                "reason": {"type": "string", "description": "A PascalCase reason for the status."},
                "message": {"type": "string", "description": "What happened, for people."},
                "lastTransitionTime": {"type": "string", "format": "date-time", "description": "When the status last changed."},
                "observedGeneration": {"type": "integer", "format": "int64", "description": "The generation the condition was computed for."}
            }
        }
    })
}

/// A list of objects merged by `key` under server-side apply.
pub fn list_map(key: &str, item: Schema) -> Schema {
    json_schema!({
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": [key],
        "items": item
    })
}

/// A Kubernetes pod field (affinity, topology spread constraints) kept without its schema:
/// the full one would be most of the CRD, repeated per role, past the size `kubectl apply`
/// accepts. The operator still reads it as the typed Kubernetes object (a wrong shape is
/// refused), and the API server checks it in full when the Deployment is applied.
pub fn pod_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
}

/// A list of Kubernetes pod objects, kept as [`pod_object`] keeps one.
pub fn pod_objects(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
    })
}
