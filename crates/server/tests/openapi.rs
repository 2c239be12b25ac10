//! The OpenAPI document is the contract that clients are generated from: it is snapshot-tested, so a change to
//! it shows in review, and it lists for every route what every route of its kind can answer, each error as
//! problem+json. (Every other test also fails when a route answers a status the document does not list: the
//! harness turns on `Config::check_contract`.)

mod common;

use common::spawn_app;
use reqwest::StatusCode;
use serde_json::Value;

async fn document() -> Value {
    let app = spawn_app().await;
    let (status, doc) = app.get("/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    doc
}

#[tokio::test]
async fn the_document_is_the_snapshot() {
    let doc = document().await;
    insta::assert_json_snapshot!("openapi", doc, { ".info.version" => "[version]" });
}

#[tokio::test]
async fn every_error_is_problem_json_and_every_route_lists_what_its_kind_can_answer() {
    let doc = document().await;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let name = format!("{} {path}", method.to_uppercase());
            let responses = op["responses"].as_object().unwrap();
            let listed = |status: &str| responses.contains_key(status);
            for status in ["400", "500", "503"] {
                assert!(listed(status), "{name} does not list {status}");
            }
            if op.get("security").is_some() {
                assert!(listed("401"), "{name} takes credentials but does not list 401");
            }
            if op["security"].to_string().contains("staff_key") {
                assert!(listed("403"), "{name} takes a staff key but does not list 403");
            }
            if op.get("requestBody").is_some() {
                for status in ["413", "415", "422"] {
                    assert!(listed(status), "{name} takes a body but does not list {status}");
                }
            }
            for (status, response) in responses {
                let code: u16 = status.parse().unwrap();
                let content = response["content"].as_object();
                if code >= 400 {
                    let content = content.unwrap_or_else(|| panic!("{name} {status} has no content"));
                    assert_eq!(content.keys().collect::<Vec<_>>(), ["application/problem+json"], "{name} {status}");
                    let problem = &content["application/problem+json"];
                    assert_eq!(problem["schema"]["$ref"], "#/components/schemas/Problem", "{name} {status}");
                    let example = problem["examples"]["problem"]["$ref"].as_str().unwrap();
                    let example = &doc["components"]["examples"][example.rsplit('/').next().unwrap()]["value"];
                    assert_eq!(example["status"], code, "{name} {status}: the example's status");
                }
                assert!(
                    response["description"].as_str().is_some_and(|d| !d.is_empty()),
                    "{name} {status} has no description"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 60, "only {checked} operations");
    // Query parameters are in the query, where the server reads them.
    let audit = &doc["paths"]["/v1/ops/audit"]["get"]["parameters"];
    assert!(audit.as_array().unwrap().iter().all(|p| p["in"] == "query"), "{audit}");
}

#[tokio::test]
async fn a_problem_carries_the_id_of_its_request() {
    let app = spawn_app().await;
    let response = app.client.get(format!("{}/v1/orders/ord_nope", app.url)).send().await.unwrap();
    let id = response.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["request_id"], id.as_str(), "{problem}");
    // A problem some layer below the handlers answered carries it too.
    let response = app
        .client
        .post(format!("{}/v1/customers", app.url))
        .header("content-type", "application/json")
        .body(vec![b'x'; 70 * 1024])
        .send()
        .await
        .unwrap();
    let id = response.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["request_id"], id.as_str(), "{problem}");
}
