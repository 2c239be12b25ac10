//! Holds the server to its OpenAPI document: with `Config::check_contract` (the test suites turn it on), every
//! answer of a documented route is checked against the statuses the document lists for it, and one it does not
//! list is recorded and logged. The test harness fails a test that made the server answer such a status.
//!
//! With `Config::record_examples` as well, it keeps the first JSON body each operation was sent and answered
//! per success status: the examples test walks the whole API with it, and the document's examples
//! (`openapi/examples.json`) are what it saw.

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// The statuses the document lists, by method and path template.
#[derive(Debug, Default)]
pub struct Contract {
    statuses: HashMap<(String, String), HashSet<u16>>,
    undocumented: Mutex<Vec<String>>,
    examples: Option<Mutex<Examples>>,
}

/// Example bodies by operation (`METHOD /path/{template}`).
pub type Examples = BTreeMap<String, Exchange>;

/// One operation's example: a request body the server took, and a body it answered per success status.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub responses: BTreeMap<String, Value>,
}

impl Contract {
    pub fn new(doc: &Value) -> Contract {
        let mut statuses = HashMap::new();
        for (path, item) in doc.get("paths").and_then(Value::as_object).into_iter().flatten() {
            for (method, operation) in item.as_object().into_iter().flatten() {
                let listed = operation
                    .get("responses")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .filter_map(|(status, _)| status.parse().ok())
                    .collect();
                statuses.insert((method.to_ascii_uppercase(), path.clone()), listed);
            }
        }
        Contract { statuses, undocumented: Mutex::default(), examples: None }
    }

    /// Also keep example bodies (see the module's note).
    pub fn recording_examples(mut self) -> Contract {
        self.examples = Some(Mutex::default());
        self
    }

    /// The example bodies kept so far.
    pub fn examples(&self) -> Examples {
        self.examples.as_ref().and_then(|e| e.lock().ok().map(|e| e.clone())).unwrap_or_default()
    }

    fn keep_example(&self, operation: String, status: u16, request: Option<Value>, response: Option<Value>) {
        let Some(Ok(mut examples)) = self.examples.as_ref().map(Mutex::lock) else { return };
        let exchange = examples.entry(operation).or_default();
        if exchange.request.is_none() {
            exchange.request = request;
        }
        if let Some(response) = response {
            exchange.responses.entry(status.to_string()).or_insert(response);
        }
    }

    /// Whether the document lists `status` for `method` on `path` (a route it does not describe: yes).
    pub fn allows(&self, method: &str, path: &str, status: u16) -> bool {
        self.statuses.get(&(method.to_string(), path.to_string())).is_none_or(|listed| listed.contains(&status))
    }

    /// Every answer so far that the document does not list, as `METHOD /path → status`.
    pub fn undocumented(&self) -> Vec<String> {
        self.undocumented.lock().map(|found| found.clone()).unwrap_or_default()
    }

    fn record(&self, found: String) {
        tracing::error!(answer = %found, "answered a status the API document does not list");
        if let Ok(mut all) = self.undocumented.lock() {
            all.push(found);
        }
    }
}

/// The route layer that checks each answer (and keeps examples, when asked to).
pub async fn check(State(contract): State<Arc<Contract>>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_string();
    let path = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let recording = contract.examples.is_some();
    let (request, sent) = if recording {
        let (parts, body) = request.into_parts();
        let (body, sent) = read_json(&parts.headers, body).await;
        (Request::from_parts(parts, body), sent)
    } else {
        (request, None)
    };
    let mut response = next.run(request).await;
    if let Some(path) = path {
        let status = response.status().as_u16();
        if !contract.allows(&method, &path, status) {
            contract.record(format!("{method} {path} → {status}"));
        }
        if recording && response.status().is_success() {
            let (parts, body) = response.into_parts();
            let (body, answered) = read_json(&parts.headers, body).await;
            response = Response::from_parts(parts, body);
            contract.keep_example(format!("{method} {path}"), status, sent, answered);
        }
    }
    response
}

/// A body as JSON when its headers say it is JSON, and the body again, with the same bytes.
async fn read_json(headers: &HeaderMap, body: Body) -> (Body, Option<Value>) {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    if !is_json {
        return (body, None);
    }
    match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => {
            let value = serde_json::from_slice(&bytes).ok();
            (Body::from(bytes), value)
        }
        Err(_) => (Body::empty(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_answer_the_document_does_not_list_is_recorded_and_one_it_lists_is_not() {
        let doc = json!({ "paths": { "/v1/orders/{id}": { "get": { "responses": { "200": {}, "404": {} } } } } });
        let contract = Contract::new(&doc);
        assert!(contract.allows("GET", "/v1/orders/{id}", 404));
        assert!(!contract.allows("GET", "/v1/orders/{id}", 409));
        assert!(contract.allows("GET", "/v1/not-described", 418), "a route the document does not describe");
        contract.record("GET /v1/orders/{id} → 409".into());
        assert_eq!(contract.undocumented(), ["GET /v1/orders/{id} → 409"]);
    }
}
