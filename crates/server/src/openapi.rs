//! The OpenAPI document, generated from the handlers' annotations.

use std::sync::Arc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi, OpenApiBuilder};

pub fn base() -> OpenApi {
    let mut doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("BuyNow")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "One-click Buy Now orders: placed, authorized and tracked exactly once. Errors are RFC 9457 \
                     problem+json documents with a stable `type`.",
                ))
                .build(),
        )
        .build();
    let components = doc.components.get_or_insert_with(Default::default);
    components
        .add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    components.add_security_scheme(
        "admin_key",
        SecurityScheme::Http(
            HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("BUYNOW_ADMIN_KEY")).build(),
        ),
    );
    doc
}

pub async fn serve(doc: Arc<OpenApi>) -> axum::Json<Arc<OpenApi>> {
    axum::Json(doc)
}
