//! A small in-memory Kubernetes API behind a tower-test mock service: enough of the real
//! semantics (server-side apply creates or replaces, merge patches with resourceVersion
//! preconditions, the status subresource, label-selected lists, 404s and 409s) for a
//! reconcile to run against it, and a log of every request for the tests to assert on.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use http::{Method, Request, Response, StatusCode};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};

/// One request as the operator sent it.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: Method,
    /// Path and query, e.g. `/apis/apps/v1/namespaces/ns/deployments/p-api?&fieldManager=...`.
    pub uri: String,
    pub content_type: Option<String>,
    pub body: Option<Value>,
}

impl Call {
    /// `METHOD path` without the query: what the sequence tests compare.
    pub fn line(&self) -> String {
        let path = self.uri.split('?').next().unwrap_or_default();
        format!("{} {path}", self.method)
    }
}

#[derive(Default)]
struct State {
    /// Objects by collection path (`/apis/apps/v1/namespaces/ns/deployments`) and name.
    objects: BTreeMap<String, BTreeMap<String, Value>>,
    calls: Vec<Call>,
    version: u64,
    /// API group versions served beyond the built-in ones (`monitoring.coreos.com/v1`), with
    /// their resources: what discovery (`GET /apis/<group>/<version>`) answers.
    groups: BTreeMap<String, Vec<String>>,
}

#[derive(Clone, Default)]
pub struct FakeApi {
    state: Arc<Mutex<State>>,
}

impl FakeApi {
    /// A client whose every request this fake answers.
    pub fn client(&self) -> Client {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let fake = self.clone();
        tokio::spawn(async move {
            while let Some((request, send)) = handle.next_request().await {
                let response = fake.answer(request).await;
                send.send_response(response);
            }
        });
        Client::new(service, "default")
    }

    /// Serves `group_version` (as if its CRDs were installed) with these resources, for
    /// discovery; any other group version asked about is a 404.
    pub fn serve_group(&self, group_version: &str, resources: &[&str]) {
        self.state.lock().unwrap().groups.insert(
            group_version.to_owned(),
            resources.iter().map(|r| (*r).to_owned()).collect(),
        );
    }

    /// Stores an object as if it had been created.
    pub fn put(&self, collection: &str, mut object: Value) {
        let mut state = self.state.lock().unwrap();
        state.version += 1;
        let version = state.version.to_string();
        let name = object["metadata"]["name"].as_str().unwrap().to_owned();
        let meta = &mut object["metadata"];
        meta["resourceVersion"] = json!(version);
        if meta.get("uid").is_none() {
            meta["uid"] = json!(format!("uid-{name}"));
        }
        if meta.get("generation").is_none() {
            meta["generation"] = json!(1);
        }
        state
            .objects
            .entry(collection.to_owned())
            .or_default()
            .insert(name, object);
    }

    pub fn get(&self, collection: &str, name: &str) -> Option<Value> {
        self.state
            .lock()
            .unwrap()
            .objects
            .get(collection)
            .and_then(|c| c.get(name))
            .cloned()
    }

    /// Names of the objects in a collection.
    pub fn names(&self, collection: &str) -> Vec<String> {
        self.state
            .lock()
            .unwrap()
            .objects
            .get(collection)
            .map(|c| c.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Every request so far, and forgets them.
    pub fn take_calls(&self) -> Vec<Call> {
        std::mem::take(&mut self.state.lock().unwrap().calls)
    }

    async fn answer(&self, request: Request<Body>) -> Response<Body> {
        let (parts, body) = request.into_parts();
        let bytes = body.collect_bytes().await.unwrap_or_default();
        let body: Option<Value> = if bytes.is_empty() {
            None
        } else {
            // Apply patches are sent as JSON, which is YAML too.
            Some(serde_json::from_slice(&bytes).expect("the operator sends JSON"))
        };
        let uri = parts.uri.to_string();
        let content_type = parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut state = self.state.lock().unwrap();
        state.calls.push(Call {
            method: parts.method.clone(),
            uri: uri.clone(),
            content_type: content_type.clone(),
            body: body.clone(),
        });
        let (path, query) = uri.split_once('?').unwrap_or((&uri, ""));
        let (status, value) =
            state.route(&parts.method, path, query, content_type.as_deref(), body);
        Response::builder()
            .status(status)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Body::from(serde_json::to_vec(&value).unwrap()))
            .unwrap()
    }
}

/// The group version of a discovery request (`GET /apis/<group>/<version>`).
fn discovery<'a>(method: &Method, path: &'a str) -> Option<&'a str> {
    let group_version = path.strip_prefix("/apis/")?;
    (method == Method::GET && group_version.matches('/').count() == 1).then_some(group_version)
}

/// Splits `/apis/g/v/namespaces/ns/plural/name/status` into collection, name, subresource.
fn split(path: &str) -> (String, Option<String>, Option<String>) {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let base = if segments.first() == Some(&"api") {
        2
    } else {
        3
    };
    let collection_len = if segments.get(base) == Some(&"namespaces") {
        base + 3
    } else {
        base + 1
    };
    let collection = format!(
        "/{}",
        segments[..collection_len.min(segments.len())].join("/")
    );
    let name = segments.get(collection_len).map(|s| s.to_string());
    let sub = segments.get(collection_len + 1).map(|s| s.to_string());
    (collection, name, sub)
}

fn status_error(code: StatusCode, message: &str) -> (StatusCode, Value) {
    let reason = match code {
        StatusCode::NOT_FOUND => "NotFound",
        StatusCode::CONFLICT => "Conflict",
        _ => "BadRequest",
    };
    (
        code,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": message, "reason": reason, "code": code.as_u16()}),
    )
}

fn matches_selector(object: &Value, query: &str) -> bool {
    let Some(selector) = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("labelSelector="))
    else {
        return true;
    };
    let selector = selector
        .replace("%3D", "=")
        .replace("%2C", ",")
        .replace("%2F", "/");
    selector.split(',').filter(|s| !s.is_empty()).all(|term| {
        let (k, v) = term.split_once('=').unwrap_or((term, ""));
        object["metadata"]["labels"][k].as_str() == Some(v)
    })
}

/// RFC 7386.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let object = target.as_object_mut().unwrap();
    for (k, v) in patch {
        if v.is_null() {
            object.remove(k);
        } else {
            merge_patch(object.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

impl State {
    fn bump(&mut self, object: &mut Value) {
        self.version += 1;
        object["metadata"]["resourceVersion"] = json!(self.version.to_string());
    }

    fn route(
        &mut self,
        method: &Method,
        path: &str,
        query: &str,
        content_type: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        if let Some(group_version) = discovery(method, path) {
            return match self.groups.get(group_version) {
                Some(resources) => (
                    StatusCode::OK,
                    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
                           "resources": resources.iter().map(|r| json!({
                               "name": r, "singularName": "", "namespaced": true, "kind": "",
                               "verbs": ["get", "list", "create", "patch", "delete"]})).collect::<Vec<_>>()}),
                ),
                None => status_error(
                    StatusCode::NOT_FOUND,
                    "the server could not find the requested resource",
                ),
            };
        }
        let (collection, name, sub) = split(path);
        let existing = name.as_ref().and_then(|n| {
            self.objects
                .get(&collection)
                .and_then(|c| c.get(n))
                .cloned()
        });
        match (method.as_str(), name) {
            ("GET", None) => {
                let items: Vec<Value> = self
                    .objects
                    .get(&collection)
                    .map(|c| {
                        c.values()
                            .filter(|o| matches_selector(o, query))
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                (
                    StatusCode::OK,
                    json!({"apiVersion": "v1", "kind": "List",
                           "metadata": {"resourceVersion": self.version.to_string()}, "items": items}),
                )
            }
            ("GET", Some(n)) => match existing {
                Some(o) => (StatusCode::OK, o),
                None => status_error(StatusCode::NOT_FOUND, &format!("{n} not found")),
            },
            ("POST", None) => {
                let mut object = body.unwrap_or_default();
                let name = object["metadata"]["name"]
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("generated-{}", self.version));
                object["metadata"]["name"] = json!(name);
                self.bump(&mut object);
                self.objects
                    .entry(collection)
                    .or_default()
                    .insert(name, object.clone());
                (StatusCode::CREATED, object)
            }
            ("DELETE", Some(n)) => {
                match self.objects.get_mut(&collection).and_then(|c| c.remove(&n)) {
                    Some(_) => (
                        StatusCode::OK,
                        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}),
                    ),
                    None => status_error(StatusCode::NOT_FOUND, &format!("{n} not found")),
                }
            }
            ("PATCH", Some(n)) => {
                let body = body.unwrap_or_default();
                let apply = content_type == Some("application/apply-patch+yaml");
                let mut object = match (existing, apply, sub.as_deref()) {
                    (None, true, None) => {
                        let mut created = body.clone();
                        created["metadata"]["uid"] = json!(format!("uid-{n}"));
                        created["metadata"]["generation"] = json!(1);
                        created
                    }
                    (None, _, _) => {
                        return status_error(StatusCode::NOT_FOUND, &format!("{n} not found"));
                    }
                    (Some(mut object), true, Some("status")) => {
                        object["status"] = body["status"].clone();
                        object
                    }
                    (Some(object), true, _) => {
                        // The operator is the only manager of what it applies: its fields win.
                        let mut replaced = body.clone();
                        replaced["metadata"]["uid"] = object["metadata"]["uid"].clone();
                        replaced["metadata"]["generation"] =
                            object["metadata"]["generation"].clone();
                        if let Some(status) = object.get("status") {
                            replaced["status"] = status.clone();
                        }
                        replaced
                    }
                    (Some(mut object), false, _) => {
                        let wanted = &body["metadata"]["resourceVersion"];
                        if !wanted.is_null() && *wanted != object["metadata"]["resourceVersion"] {
                            return status_error(
                                StatusCode::CONFLICT,
                                "the object has been modified",
                            );
                        }
                        merge_patch(&mut object, &body);
                        object
                    }
                };
                self.bump(&mut object);
                self.objects
                    .entry(collection)
                    .or_default()
                    .insert(n, object.clone());
                (StatusCode::OK, object)
            }
            _ => status_error(
                StatusCode::BAD_REQUEST,
                &format!("unsupported: {method} {path}"),
            ),
        }
    }
}
