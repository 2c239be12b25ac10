//! The limits the server enforces on what it is sent, written into the document's request schemas: lengths,
//! ranges, patterns and choices. They come from the rules themselves (`buynow_domain::patterns`, the enums'
//! `ALL`), so the document changes when a rule does. A rule that depends on something else (a card's check
//! digit, an id that must exist, another field) is not here; `schemathesis.toml` names where that leaves a
//! schema-valid request refused.

use buynow_domain::patterns::{self, trimmed_choice, SPACE};
use buynow_domain::{CaseAction, CaseReason, EventKind, StaffRole};
use serde_json::{json, Value};

const U32_MAX: u64 = u32::MAX as u64;

/// Adds the limits to the document's schemas and to the parameters of the operations that take them.
pub fn apply(doc: &mut Value) {
    let text = |max: u32| json!({ "pattern": patterns::TEXT, "maxLength": max });
    let address = |s: &mut Schemas, name: &str| {
        s.field(name, "name", text(100));
        s.field(name, "line1", text(200));
        s.field(name, "line2", json!({ "pattern": patterns::OPTIONAL_TEXT, "maxLength": 200 }));
        s.field(name, "city", text(100));
        s.field(name, "region", json!({ "pattern": patterns::REGION, "maxLength": 3 }));
        s.field(name, "country", json!({ "pattern": patterns::COUNTRY, "maxLength": 2 }));
        s.field(name, "postal_code", json!({ "maxLength": 10 }));
        // The postal code's shape depends on the country.
        s.whole(
            name,
            json!({ "anyOf": [
                { "properties": { "country": { "pattern": "^[Uu][Ss]$" },
                                  "postal_code": { "pattern": patterns::US_POSTAL_CODE } } },
                { "properties": { "country": { "pattern": "^[Cc][Aa]$" },
                                  "postal_code": { "pattern": patterns::CA_POSTAL_CODE } } },
            ] }),
        );
    };
    let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else { return };
    let s = &mut Schemas(schemas);

    s.field("SignUp", "email", json!({ "pattern": patterns::EMAIL, "maxLength": 254 }));
    s.field("SignUp", "name", text(100));
    s.field("SignUp", "password", json!({ "minLength": 8, "maxLength": 256 }));
    s.field("PasswordChange", "new_password", json!({ "minLength": 8, "maxLength": 256 }));
    address(s, "NewAddress");
    address(s, "AddressBody");
    s.field("NewPaymentMethod", "number", json!({ "pattern": patterns::CARD_NUMBER }));
    s.field("NewPaymentMethod", "exp_month", json!({ "minimum": 1, "maximum": 12 }));
    s.field(
        "NewPaymentMethod",
        "exp_year",
        json!({ "anyOf": [{ "minimum": 0, "maximum": 99 }, { "minimum": 2000, "maximum": 2100 }] }),
    );
    s.field("NewPaymentMethod", "cvc", json!({ "pattern": patterns::CVC }));
    s.field("Redeem", "code", json!({ "pattern": patterns::GIFT_CARD_CODE, "maxLength": 64 }));

    s.field("BuyNowRequest", "sku", json!({ "pattern": patterns::SKU }));
    s.field("BuyNowRequest", "quantity", json!({ "minimum": 1, "maximum": buynow_domain::Quantity::MAX }));
    s.field("BuyNowRequest", "payment_method_id", json!({ "pattern": patterns::id("pm_") }));
    s.field("BuyNowRequest", "address_id", json!({ "pattern": patterns::id("addr_") }));
    s.field(
        "BuyNowRequest",
        "delivery_speed",
        json!({ "enum": buynow_domain::DeliverySpeed::ALL.iter().map(|d| json!(d.as_str())).chain([Value::Null]).collect::<Vec<_>>() }),
    );
    s.field("RevisePayment", "payment_method_id", json!({ "pattern": patterns::id("pm_") }));
    s.field("HelpRequest", "message", json!({ "pattern": patterns::MESSAGE, "maxLength": 2000 }));
    s.field("ReturnRequest", "items", json!({ "maxItems": 50 }));
    s.field("ReturnItem", "sku", json!({ "pattern": patterns::SKU }));
    s.field("ReturnItem", "quantity", json!({ "minimum": 1, "maximum": U32_MAX }));

    s.field("MoneyInput", "currency", json!({ "enum": ["USD"] }));
    s.field("MoneyInput", "amount", json!({ "minimum": 0 }));
    s.field("NewProduct", "sku", json!({ "pattern": patterns::SKU }));
    s.field("NewProduct", "title", text(200));
    s.field("NewProduct", "price", money_up_to(100_000_000));
    s.field(
        "NewProduct",
        "fulfilled_by",
        json!({ "pattern": format!("^[{}]*(store|slr_[0-9a-f]{{32}})?[{}]*$", SPACE, SPACE) }),
    );
    s.field("NewProduct", "weight_grams", json!({ "minimum": 1, "maximum": 1_000_000 }));
    s.field(
        "NewProduct",
        "dimensions_mm",
        json!({ "minItems": 3, "maxItems": 3, "items": { "type": "integer", "minimum": 1, "maximum": 10_000 } }),
    );
    s.field(
        "NewProduct",
        "not_shippable_to",
        json!({ "items": { "type": "string",
                           "pattern": format!("^[{}]*[A-Za-z]{{2}}(-[A-Za-z]{{2,3}})?[{}]*$", SPACE, SPACE) } }),
    );
    s.field("NewGiftCard", "amount", money_between(1, crate::services::gift_cards::MAX_AMOUNT));
    s.field("SetStock", "on_hand", json!({ "minimum": 0, "maximum": 1_000_000_000 }));
    s.field("LineInput", "quantity", json!({ "minimum": 0, "maximum": U32_MAX }));

    s.field("CaseActionBody", "action", json!({ "enum": CaseAction::ALL.map(|a| a.as_str()) }));
    s.field("CaseActionBody", "note", json!({ "maxLength": 2000 }));
    s.field("CaseActionBody", "message", json!({ "maxLength": 1000 }));
    s.field("CaseActionBody", "assignee", json!({ "maxLength": 100, "pattern": patterns::NO_CONTROLS }));
    // Every action but `assign` needs a note with something in it, and only a refund takes an amount.
    let others: Vec<&str> = CaseAction::ALL
        .iter()
        .filter(|a| !matches!(a, CaseAction::Assign | CaseAction::Refund))
        .map(|a| a.as_str())
        .collect();
    let noted = json!({ "type": "string", "maxLength": 2000, "pattern": format!("[^{SPACE}]") });
    s.whole(
        "CaseActionBody",
        json!({ "anyOf": [
            { "properties": { "action": { "const": CaseAction::Assign.as_str() }, "amount": { "type": "null" } } },
            { "properties": { "action": { "enum": others }, "note": noted, "amount": { "type": "null" } },
              "required": ["note"] },
            { "properties": { "action": { "const": CaseAction::Refund.as_str() }, "note": noted },
              "required": ["note"] },
        ] }),
    );

    s.field("CenterBody", "code", json!({ "pattern": format!("^[{}]*[A-Za-z0-9-]{{2,8}}[{}]*$", SPACE, SPACE) }));
    s.field("CenterBody", "name", text(200));
    s.field(
        "CenterBody",
        "time_zone",
        json!({ "enum": chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect::<Vec<_>>() }),
    );
    s.field("CenterBody", "cut_off", json!({ "pattern": r"^\+?0*([0-9]|1[0-9]|2[0-3]):\+?0*([0-9]|[1-5][0-9])$" }));
    s.field(
        "CenterBody",
        "operating_days",
        json!({ "items": { "type": "string", "pattern": trimmed_choice(&["mon", "tue", "wed", "thu", "fri", "sat", "sun"]) } }),
    );
    s.field("CenterBody", "holidays", json!({ "maxItems": 400, "items": { "type": "string", "format": "date" } }));
    s.field("CenterBody", "rank", json!({ "maximum": U32_MAX }));
    let grams_or_mm = json!({ "type": "integer", "minimum": 0, "maximum": U32_MAX });
    s.field(
        "CenterBody",
        "boxes",
        json!({ "minItems": 1, "maxItems": 50, "items": {
            "type": "object",
            "required": ["code", "inner", "max_weight_grams", "tare_grams"],
            "properties": {
                "code": { "type": "string" },
                "inner": {
                    "type": "object",
                    "required": ["length_mm", "width_mm", "height_mm"],
                    "properties": { "length_mm": grams_or_mm, "width_mm": grams_or_mm, "height_mm": grams_or_mm },
                },
                "max_weight_grams": grams_or_mm,
                "tare_grams": grams_or_mm,
            },
        } }),
    );
    s.field("NewSeller", "name", text(100));
    s.field("NewKey", "role", json!({ "enum": StaffRole::ALL.map(|r| r.as_str()) }));
    s.field("NewKey", "name", text(100));
    s.field(
        "PaymentSettingsBody",
        "brands",
        json!({ "minItems": 1, "items": { "type": "string", "pattern": trimmed_choice(&["visa", "mastercard", "amex", "discover"]) } }),
    );
    s.field(
        "PaymentSettingsBody",
        "funding",
        json!({ "minItems": 1, "items": { "type": "string", "pattern": trimmed_choice(&["credit", "debit", "prepaid"]) } }),
    );
    let facing: Vec<&str> = EventKind::ALL.into_iter().filter(|k| k.is_customer_facing()).map(|k| k.as_str()).collect();
    s.field(
        "NewSubscription",
        "events",
        json!({ "maxItems": EventKind::ALL.len(), "items": { "type": "string", "pattern": trimmed_choice(&facing) } }),
    );
    s.field("NewSubscription", "url", json!({ "maxLength": crate::notifications::webhooks::MAX_URL }));
    s.field("CarrierEvent", "id", json!({ "minLength": 1, "maxLength": 100 }));
    s.field("CarrierEvent", "tracking_number", json!({ "maxLength": 40 }));

    // Visible ASCII (see `extract::IdempotencyKey`).
    let key = json!({ "pattern": "^[\\x21-\\x7e]{1,255}$", "minLength": 1, "maxLength": 255 });
    parameter(doc, "post", "/v1/buy-now", "Idempotency-Key", key);
    query(doc, "/v1/ops/audit", "limit", json!({ "minimum": 1, "maximum": 500 }));
    query(doc, "/v1/ops/cases", "limit", json!({ "minimum": 1, "maximum": 200 }));
    query(doc, "/v1/ops/cases", "status", json!({ "enum": ["open", "resolved"] }));
    query(doc, "/v1/ops/cases", "reason", json!({ "enum": CaseReason::ALL.map(|r| r.as_str()) }));
    query(doc, "/v1/ops/cases", "order_id", json!({ "pattern": patterns::id("ord_") }));
    query(doc, "/v1/ops/cases", "before", json!({ "pattern": patterns::id("case_") }));
    // A center is named on POST; PUT takes it from the path.
    if let Some(body) = doc.pointer_mut("/paths/~1v1~1ops~1centers/post/requestBody/content/application~1json/schema") {
        *body = json!({ "allOf": [body.clone(), { "required": ["code"] }] });
    }
}

fn money_up_to(max: i64) -> Value {
    money_between(0, max)
}

fn money_between(min: i64, max: i64) -> Value {
    json!({ "allOf": [
        { "$ref": "#/components/schemas/MoneyInput" },
        { "properties": { "amount": { "minimum": min, "maximum": max } } },
    ] })
}

struct Schemas<'a>(&'a mut serde_json::Map<String, Value>);

impl Schemas<'_> {
    /// Merges `limits` into the schema of `schema`'s `property` (a missing one is a bug in this table).
    fn field(&mut self, schema: &str, property: &str, limits: Value) {
        let target = self
            .0
            .get_mut(schema)
            .and_then(|s| s.pointer_mut(&format!("/properties/{property}")))
            .unwrap_or_else(|| panic!("the API document has no {schema}.{property}"));
        merge(target, limits);
    }

    /// Merges `limits` into `schema` as a whole.
    fn whole(&mut self, schema: &str, limits: Value) {
        let target = self.0.get_mut(schema).unwrap_or_else(|| panic!("the API document has no {schema}"));
        merge(target, limits);
    }
}

/// A `$ref`, or a `oneOf` of null and a `$ref`, is replaced; anything else takes the keys of `limits`.
fn merge(target: &mut Value, limits: Value) {
    if target.get("$ref").is_some() || limits.get("allOf").is_some() {
        *target = limits;
        return;
    }
    if let (Some(target), Some(limits)) = (target.as_object_mut(), limits.as_object()) {
        for (k, v) in limits {
            target.insert(k.clone(), v.clone());
        }
    }
}

fn query(doc: &mut Value, path: &str, name: &str, limits: Value) {
    parameter(doc, "get", path, name, limits)
}

fn parameter(doc: &mut Value, method: &str, path: &str, name: &str, limits: Value) {
    let pointer = format!("/paths/{}/{method}/parameters", path.replace('/', "~1"));
    let parameter = doc
        .pointer_mut(&pointer)
        .and_then(Value::as_array_mut)
        .and_then(|ps| ps.iter_mut().find(|p| p.get("name").and_then(Value::as_str) == Some(name)))
        .unwrap_or_else(|| panic!("the API document has no parameter {name} on {method} {path}"));
    if let Some(schema) = parameter.get_mut("schema") {
        merge(schema, limits);
    }
}
