//! The OpenAPI document: generated from the handlers' annotations, then completed with what every route of a
//! kind can answer, so that it lists every status the server may send and gives each error its real content
//! type. The `contract` module holds the server to it.

mod limits;

use crate::contract::{Examples, Exchange};
use crate::error::ApiError;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi, OpenApiBuilder};

/// The security scheme of a customer's session token.
pub const CUSTOMER: &str = "bearer";
/// The security scheme of a staff key (the admin key, or one made with `POST /v1/ops/keys`).
pub const STAFF: &str = "staff_key";

pub fn base() -> OpenApi {
    let mut doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("BuyNow")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "One-click Buy Now orders: placed, authorized and tracked exactly once. Errors are RFC 9457 \
                     problem+json documents with a stable `type` and the request's id. Any request may also be \
                     answered 414 (address too long) or 431 (headers too large) before it reaches a route.",
                ))
                .build(),
        )
        .build();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        CUSTOMER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("A session token from POST /v1/sessions"))
                .build(),
        ),
    );
    components.add_security_scheme(
        STAFF,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "A staff key: BUYNOW_ADMIN_KEY, or one made with POST /v1/ops/keys. Each operation names \
                     the roles it takes; another role is answered 403.",
                ))
                .build(),
        ),
    );
    doc
}

/// Example bodies for every operation, as the server took and answered them in a walk through the whole API
/// (`tests/api_examples.rs` records them, and fails when they no longer match what the server does).
pub const EXAMPLES: &str = include_str!("examples.json");

/// The finished document: `doc` with the statuses every route of its kind may answer, problem+json as the
/// content of every error, and examples.
pub fn complete(doc: &OpenApi) -> Value {
    let mut doc = serde_json::to_value(doc).expect("the OpenAPI document serializes");
    limits::apply(&mut doc);
    let examples: Examples = serde_json::from_str(EXAMPLES).expect("openapi/examples.json is valid");
    let mut statuses = std::collections::BTreeSet::new();
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else { continue };
            for (method, operation) in item.iter_mut() {
                if is_method(method) {
                    complete_operation(operation, &mut statuses);
                    if let Some(example) = examples.get(&format!("{} {path}", method.to_ascii_uppercase())) {
                        add_examples(operation, example);
                    }
                }
            }
        }
    }
    let examples: Map<String, Value> = statuses
        .into_iter()
        .map(|status| (format!("problem_{status}"), json!({ "value": problem_example(status) })))
        .collect();
    doc["components"]["examples"] = Value::Object(examples);
    doc
}

fn is_method(key: &str) -> bool {
    matches!(key, "get" | "put" | "post" | "delete" | "patch" | "head" | "options" | "trace")
}

/// What an operation may answer besides what its handler names.
fn complete_operation(operation: &mut Value, error_statuses: &mut std::collections::BTreeSet<u16>) {
    let schemes: Vec<String> = operation
        .get("security")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|s| s.keys().cloned())
        .collect();
    let has_body = operation.get("requestBody").is_some();
    let places: Vec<String> = operation
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| Some(p.get("in")?.as_str()?.to_string()))
        .collect();
    let has = |place: &str| places.iter().any(|at| at == place);

    let mut implied: Vec<(u16, &str)> = vec![
        (400, "The request could not be read: malformed JSON, a path or query parameter of the wrong shape, or a malformed header."),
        (500, "Something failed on our side; the problem's `request_id` finds it in the logs."),
        (503, "The database is unreachable or the request took too long: retry (a Buy Now with the same Idempotency-Key is never placed twice)."),
    ];
    if !schemes.is_empty() {
        implied.push((401, "No valid credentials: sign in, or send a live key."));
    }
    if schemes.iter().any(|s| s == STAFF) {
        implied.push((403, "The key's role may not do this, or the thing belongs to another center or seller."));
    }
    if has_body {
        implied.push((413, "The body is larger than 64 KiB."));
        implied.push((415, "The body is not JSON: send `Content-Type: application/json`."));
        implied.push((422, "A field is missing, of the wrong type, or out of its bounds; `field` names it."));
    }
    if has("query") {
        implied.push((422, "A query parameter is out of its bounds; `field` names it."));
    }
    if has("path") {
        implied.push((404, "Nothing with that id (or not yours)."));
    }
    let responses =
        operation.as_object_mut().expect("an operation is an object").entry("responses").or_insert(json!({}));
    let responses = responses.as_object_mut().expect("responses are an object");
    for (status, description) in implied {
        responses.entry(status.to_string()).or_insert_with(|| json!({ "description": description }));
    }
    for (status, response) in responses.iter_mut() {
        let Ok(code) = status.parse::<u16>() else { continue };
        if response.get("description").and_then(Value::as_str).is_none_or(str::is_empty) {
            response["description"] = json!(reason(code));
        }
        if code >= 400 {
            as_problem(code, response);
            error_statuses.insert(code);
        } else if let Some(pdf) = response.pointer_mut("/content/application~1pdf") {
            // A document's bytes, not a list of numbers (what `Vec<u8>` says by itself).
            pdf["schema"] = json!({ "type": "string", "contentMediaType": "application/pdf" });
        }
    }
}

/// An operation's example request and success bodies, beside their schemas.
fn add_examples(operation: &mut Value, example: &Exchange) {
    if let (Some(request), Some(content)) =
        (&example.request, operation.pointer_mut("/requestBody/content/application~1json"))
    {
        content["example"] = request.clone();
    }
    for (status, body) in &example.responses {
        let pointer = format!("/responses/{status}/content/application~1json");
        if let Some(content) = operation.pointer_mut(&pointer) {
            content["example"] = body.clone();
        }
    }
}

/// An error response's content: the problem document, with an example kept once among the components.
fn as_problem(status: u16, response: &mut Value) {
    let Some(response) = response.as_object_mut() else { return };
    let example = json!({ "$ref": format!("#/components/examples/problem_{status}") });
    let content = json!({ "application/problem+json": {
        "schema": { "$ref": "#/components/schemas/Problem" },
        "examples": { "problem": example },
    } });
    response.insert("content".into(), content);
}

fn reason(status: u16) -> &'static str {
    axum::http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error")
}

fn problem_example(status: u16) -> Value {
    use buynow_domain::InvalidValue;
    let error = match status {
        400 => ApiError::MalformedJson("expected `,` or `}`".into()),
        401 => ApiError::Unauthorized,
        403 => ApiError::Forbidden("admin"),
        404 => ApiError::NotFound("order"),
        409 => ApiError::out_of_stock("USB-C-CABLE", 2),
        413 => ApiError::PayloadTooLarge,
        415 => ApiError::UnsupportedMediaType,
        422 => ApiError::Validation(InvalidValue::new("quantity", "must be at least 1")),
        429 => ApiError::TooManyRequests(1),
        _ => {
            let status = axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::BAD_REQUEST);
            let body = crate::hardening::problem_body(status, Some(EXAMPLE_REQUEST_ID));
            return serde_json::from_str(&body).unwrap_or_default();
        }
    };
    let (_, mut problem) = error.problem();
    problem.request_id = Some(EXAMPLE_REQUEST_ID.into());
    serde_json::to_value(problem).unwrap_or_default()
}

const EXAMPLE_REQUEST_ID: &str = "0193b0d4-6c1e-7f3a-9d2b-4e5f6a7b8c9d";

pub async fn serve(doc: Arc<Value>) -> axum::Json<Arc<Value>> {
    axum::Json(doc)
}
