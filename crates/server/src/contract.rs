//! Holds the server to its OpenAPI document: with `Config::check_contract` (the test suites turn it on), every
//! answer of a documented route is checked against the statuses the document lists for it, and one it does not
//! list is recorded and logged. The test harness fails a test that made the server answer such a status.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// The statuses the document lists, by method and path template.
#[derive(Debug, Default)]
pub struct Contract {
    statuses: HashMap<(String, String), HashSet<u16>>,
    undocumented: Mutex<Vec<String>>,
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
        Contract { statuses, undocumented: Mutex::default() }
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

/// The route layer that checks each answer.
pub async fn check(State(contract): State<Arc<Contract>>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_string();
    let path = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let response = next.run(request).await;
    if let Some(path) = path {
        let status = response.status().as_u16();
        if !contract.allows(&method, &path, status) {
            contract.record(format!("{method} {path} → {status}"));
        }
    }
    response
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
