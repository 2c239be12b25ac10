//! What each customer-facing event says, as HTML and as plain text, from the order as it stands when the
//! message is made. The HTML is real text with headings and a table, readable without images or styles.

use crate::format::{local_time, money, window};
use buynow_domain::EventKind;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use maud::{html, Markup, DOCTYPE};
use std::fmt::Write as _;

/// The order as a message tells it.
#[derive(Debug, Clone)]
pub struct OrderNote {
    pub order_id: String,
    pub customer_name: String,
    pub currency: String,
    pub items: Vec<ItemLine>,
    pub shipping: i64,
    pub tax: i64,
    pub total: i64,
    /// What the gift card balance paid of the total (split tender); the card pays the rest.
    pub gift_card: i64,
    /// The delivery address, line by line.
    pub ship_to: Vec<String>,
    /// The delivery address's time zone: every time in the message is read there.
    pub zone: Tz,
    pub estimated_delivery: (NaiveDate, NaiveDate),
    pub parcels: Vec<ParcelLine>,
    /// What the customer must do about the payment, when anything.
    pub payment_message: Option<String>,
    pub cancellable_until: Option<DateTime<Utc>>,
    pub refunded: i64,
    /// The order's page in the shop.
    pub order_url: String,
}

#[derive(Debug, Clone)]
pub struct ItemLine {
    pub title: String,
    pub quantity: u32,
    pub unit_price: i64,
}

#[derive(Debug, Clone)]
pub struct ParcelLine {
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
}

/// One event's message to one customer.
#[derive(Debug, Clone)]
pub struct Letter<'a> {
    pub kind: EventKind,
    pub note: &'a OrderNote,
    /// The refund of an `order.refunded`, or the refund a return will bring.
    pub amount: Option<i64>,
    /// What support says, with a support case's opening or resolution.
    pub message: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// What a message says first, and what the customer can do next.
struct Wording {
    subject: String,
    lead: String,
    next: Option<(String, String)>,
}

fn wording(l: &Letter<'_>) -> Option<Wording> {
    let n = l.note;
    let c = |m: i64| money(m, &n.currency);
    let arriving = window(n.estimated_delivery.0, n.estimated_delivery.1);
    let order_link = ("View your order".to_string(), n.order_url.clone());
    let w = match l.kind {
        EventKind::OrderPlaced => Wording {
            subject: format!("Your BuyNow order of {}", first_item(n)),
            lead: format!("Thank you, {}. Your order is placed and arrives {arriving}.", n.customer_name),
            next: Some(order_link),
        },
        EventKind::PaymentAuthorized => Wording {
            subject: format!("Payment confirmed for your order of {}", first_item(n)),
            lead: match n.gift_card {
                0 => format!("Your card was authorized for {}. It is charged as your items ship.", c(n.total)),
                gift if gift >= n.total => format!("Your gift card balance paid the {} of your order.", c(n.total)),
                gift => format!(
                    "Your gift card balance paid {} and your card was authorized for {}. The card is charged as \
                     your items ship.",
                    c(gift),
                    c(n.total - gift)
                ),
            },
            next: Some(order_link),
        },
        EventKind::PaymentActionRequired => Wording {
            subject: "Action needed: your payment did not go through".into(),
            lead: n.payment_message.clone().unwrap_or_else(|| "Your card was declined.".into())
                + " Your items are kept for you while you choose how to pay.",
            next: Some(("Retry or change payment method".into(), n.order_url.clone())),
        },
        EventKind::OrderCancelled => Wording {
            subject: format!("Your order of {} is cancelled", first_item(n)),
            lead: "Your order is cancelled. Nothing was charged; the hold on your card is released.".into(),
            next: Some(order_link),
        },
        EventKind::ShipmentShipped => Wording {
            subject: format!("Shipped: {}", first_item(n)),
            lead: format!("Your order is on its way and arrives {arriving}."),
            next: Some(("Track your package".into(), n.order_url.clone())),
        },
        EventKind::ShipmentOutForDelivery => Wording {
            subject: format!("Out for delivery: {}", first_item(n)),
            lead: "Your package is out for delivery today.".into(),
            next: Some(("Track your package".into(), n.order_url.clone())),
        },
        EventKind::ShipmentDelayed => Wording {
            subject: format!("Delivery update: {}", first_item(n)),
            lead: format!("Your package is running late. It now arrives {arriving}. We are sorry for the wait."),
            next: Some(("Track your package".into(), n.order_url.clone())),
        },
        EventKind::ShipmentDelivered => Wording {
            subject: format!("Delivered: a package of your order of {}", first_item(n)),
            lead: "A package of your order was delivered.".into(),
            next: Some(order_link),
        },
        EventKind::OrderDelivered => Wording {
            subject: format!("Delivered: {}", first_item(n)),
            lead: "Your order was delivered. Not what you expected? You can return it within 30 days.".into(),
            next: Some(("Return or view your order".into(), n.order_url.clone())),
        },
        EventKind::ReturnRequested => Wording {
            subject: "Your return is ready to send".into(),
            lead: format!(
                "Print the return label from your order's page and drop the package off. You will get {} back once \
                 it reaches us.",
                c(l.amount.unwrap_or(0))
            ),
            next: Some(("Print your return label".into(), n.order_url.clone())),
        },
        EventKind::OrderRefunded => Wording {
            subject: format!("Your refund of {}", c(l.amount.unwrap_or(n.refunded))),
            lead: match n.gift_card {
                0 => format!(
                    "We refunded {} to your card. It can take 3 to 5 business days to show on your statement.",
                    c(l.amount.unwrap_or(n.refunded))
                ),
                _ => format!(
                    "We refunded {}: to your card first, up to what it paid, and the rest to your gift card \
                     balance. A card refund can take 3 to 5 business days to show on your statement.",
                    c(l.amount.unwrap_or(n.refunded))
                ),
            },
            next: Some(order_link),
        },
        EventKind::SupportCaseOpened => Wording {
            subject: format!("We are looking into your order of {}", first_item(n)),
            lead: l.message.unwrap_or("Our support team is looking into your order.").to_string(),
            next: Some(order_link),
        },
        EventKind::SupportCaseResolved => Wording {
            subject: format!("An update on your order of {}", first_item(n)),
            lead: l.message.unwrap_or("Our support team has sorted out the problem with your order.").to_string(),
            next: Some(order_link),
        },
        _ => return None,
    };
    Some(w)
}

fn first_item(n: &OrderNote) -> String {
    match n.items.as_slice() {
        [] => "your items".into(),
        [one] if one.quantity == 1 => one.title.clone(),
        [one] => format!("{} × {}", one.quantity, one.title),
        [one, rest @ ..] => format!("{} and {} more", one.title, rest.len()),
    }
}

/// The message of a customer-facing event; `None` for the events that are told on the timeline only.
pub fn render(letter: &Letter<'_>) -> Option<Rendered> {
    let w = wording(letter)?;
    Some(Rendered { html: html_body(letter, &w).into_string(), text: text_body(letter, &w), subject: w.subject })
}

fn cancel_line(n: &OrderNote, kind: EventKind) -> Option<String> {
    match (kind, n.cancellable_until) {
        (EventKind::OrderPlaced | EventKind::PaymentAuthorized, Some(until)) => {
            Some(format!("Changed your mind? You can cancel until {}.", local_time(until, n.zone)))
        }
        _ => None,
    }
}

fn shows_tracking(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::ShipmentShipped
            | EventKind::ShipmentOutForDelivery
            | EventKind::ShipmentDelayed
            | EventKind::ShipmentDelivered
    )
}

/// What the delivery address stands under: the promise while the order is on its way, and no promise once it
/// is delivered, cancelled or coming back.
fn delivery_heading(l: &Letter<'_>) -> String {
    match l.kind {
        EventKind::ShipmentDelivered | EventKind::OrderDelivered => "Delivered to".into(),
        EventKind::OrderCancelled | EventKind::ReturnRequested | EventKind::OrderRefunded => "Delivery address".into(),
        _ => format!("Arriving {}", window(l.note.estimated_delivery.0, l.note.estimated_delivery.1)),
    }
}

fn html_body(l: &Letter<'_>, w: &Wording) -> Markup {
    let n = l.note;
    let c = |m: i64| money(m, &n.currency);
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (w.subject) }
            }
            body style="font-family: Arial, Helvetica, sans-serif; color: #1b1f23; line-height: 1.5; max-width: 36rem; margin: 0 auto; padding: 1rem;" {
                p style="font-size: 1.25rem; font-weight: bold; margin: 0 0 1rem;" { "BuyNow" }
                h1 style="font-size: 1.3rem;" { (w.subject) }
                p { (w.lead) }
                @if let Some(line) = cancel_line(n, l.kind) { p { (line) } }
                @if let Some((label, url)) = &w.next {
                    p { a href=(url) style="display: inline-block; background: #f0a400; color: #1b1f23; padding: .6rem 1.2rem; border-radius: 20px; font-weight: bold; text-decoration: none;" { (label) } }
                }
                @if shows_tracking(l.kind) {
                    @for p in n.parcels.iter().filter(|p| p.tracking_number.is_some()) {
                        p {
                            (p.carrier.as_deref().unwrap_or("Carrier")) " tracking number "
                            @if let Some(url) = &p.tracking_url { a href=(url) { (p.tracking_number.as_deref().unwrap_or("")) } }
                            @else { (p.tracking_number.as_deref().unwrap_or("")) }
                        }
                    }
                }
                h2 style="font-size: 1.1rem;" { "Order " (n.order_id) }
                table style="border-collapse: collapse; width: 100%;" {
                    caption style="text-align: left; font-weight: bold;" { "Your items" }
                    @for i in &n.items {
                        tr {
                            th scope="row" style="text-align: left; font-weight: normal; padding: .25rem 0;" { (i.quantity) " × " (i.title) }
                            td style="text-align: right;" { (c(i.unit_price * i64::from(i.quantity))) }
                        }
                    }
                    tr { th scope="row" style="text-align: left; font-weight: normal;" { "Shipping" } td style="text-align: right;" { (c(n.shipping)) } }
                    tr { th scope="row" style="text-align: left; font-weight: normal;" { "Tax" } td style="text-align: right;" { (c(n.tax)) } }
                    tr { th scope="row" style="text-align: left;" { "Order total" } td style="text-align: right; font-weight: bold;" { (c(n.total)) } }
                }
                h2 style="font-size: 1.1rem;" { "Delivery" }
                p { (delivery_heading(l)) }
                address style="font-style: normal;" { @for line in &n.ship_to { (line) br; } }
                hr;
                p style="font-size: .85rem; color: #4f5a65;" {
                    "You get this e-mail because you ordered at BuyNow. Questions about your order? "
                    a href=(n.order_url) { "Your order's page" } " has its whole history."
                }
            }
        }
    }
}

fn text_body(l: &Letter<'_>, w: &Wording) -> String {
    let n = l.note;
    let c = |m: i64| money(m, &n.currency);
    let mut t = String::new();
    let _ = writeln!(t, "{}\n\n{}", w.subject, w.lead);
    if let Some(line) = cancel_line(n, l.kind) {
        let _ = writeln!(t, "\n{line}");
    }
    if let Some((label, url)) = &w.next {
        let _ = writeln!(t, "\n{label}: {url}");
    }
    if shows_tracking(l.kind) {
        for p in n.parcels.iter().filter(|p| p.tracking_number.is_some()) {
            let number = p.tracking_number.as_deref().unwrap_or("");
            let _ = write!(t, "\n{} tracking number {number}", p.carrier.as_deref().unwrap_or("Carrier"));
            if let Some(url) = &p.tracking_url {
                let _ = write!(t, ": {url}");
            }
            t.push('\n');
        }
    }
    let _ = writeln!(t, "\nOrder {}", n.order_id);
    for i in &n.items {
        let _ = writeln!(t, "  {} × {}  {}", i.quantity, i.title, c(i.unit_price * i64::from(i.quantity)));
    }
    let _ = writeln!(t, "  Shipping  {}\n  Tax  {}\n  Order total  {}", c(n.shipping), c(n.tax), c(n.total));
    let _ = writeln!(t, "\n{}", delivery_heading(l));
    for line in &n.ship_to {
        let _ = writeln!(t, "  {line}");
    }
    let _ = writeln!(t, "\nYou get this e-mail because you ordered at BuyNow. Your order's page: {}", n.order_url);
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    pub fn note() -> OrderNote {
        OrderNote {
            order_id: "ord_test".into(),
            customer_name: "Ada Lovelace".into(),
            currency: "USD".into(),
            items: vec![ItemLine { title: "Kindle Paperwhite, 16 GB".into(), quantity: 1, unit_price: 14999 }],
            shipping: 0,
            tax: 975,
            total: 15974,
            ship_to: vec!["Ada Lovelace".into(), "410 Terry Ave N".into(), "Seattle, WA 98109".into(), "US".into()],
            zone: crate::format::zone_of("US", "WA"),
            estimated_delivery: (
                NaiveDate::from_ymd_opt(2026, 12, 9).unwrap(),
                NaiveDate::from_ymd_opt(2026, 12, 9).unwrap(),
            ),
            parcels: vec![ParcelLine {
                carrier: Some("Swift".into()),
                tracking_number: Some("SW123456789".into()),
                tracking_url: Some("https://track.example/SW123456789".into()),
            }],
            payment_message: Some("Your card was declined.".into()),
            cancellable_until: Some(Utc.with_ymd_and_hms(2026, 12, 7, 18, 30, 0).unwrap()),
            refunded: 0,
            gift_card: 0,
            order_url: "http://127.0.0.1:8080/orders/ord_test".into(),
        }
    }

    fn support_message(kind: EventKind) -> &'static str {
        match kind {
            EventKind::SupportCaseOpened => {
                "The carrier reported your package lost. Our support team will send your items again or refund you."
            }
            _ => "We are sending 1 × Kindle Paperwhite, 16 GB again, at no charge.",
        }
    }

    #[test]
    fn every_customer_facing_event_has_a_message_and_the_others_none() {
        let n = note();
        for kind in EventKind::ALL {
            let m = render(&Letter { kind, note: &n, amount: Some(500), message: Some(support_message(kind)) });
            assert_eq!(m.is_some(), kind.is_customer_facing(), "{kind}");
            if let Some(m) = m {
                assert!(m.text.contains("ord_test") && m.html.contains("ord_test"), "{kind}");
                assert!(m.html.starts_with("<!DOCTYPE html>") && m.html.contains("lang=\"en\""));
                assert!(!m.html.contains("<img"), "{kind}: readable without images");
            }
        }
    }

    #[test]
    fn times_are_told_in_the_delivery_addresss_zone() {
        let n = note();
        let m = render(&Letter { kind: EventKind::OrderPlaced, note: &n, amount: None, message: None }).unwrap();
        assert!(m.text.contains("You can cancel until Monday, December 7, 10:30 AM PST."), "{}", m.text);
    }

    #[test]
    fn shipped_carries_the_tracking_link() {
        let n = note();
        let m = render(&Letter { kind: EventKind::ShipmentShipped, note: &n, amount: None, message: None }).unwrap();
        assert!(m.text.contains("Swift tracking number SW123456789: https://track.example/SW123456789"));
        assert!(m.html.contains("href=\"https://track.example/SW123456789\""));
    }

    /// Every message, text and HTML, as a reviewed document: a change to a template shows up here first.
    #[test]
    fn the_messages_as_documents() {
        let n = note();
        for kind in EventKind::ALL.into_iter().filter(|k| k.is_customer_facing()) {
            let m =
                render(&Letter { kind, note: &n, amount: Some(5975), message: Some(support_message(kind)) }).unwrap();
            let name = kind.as_str().replace('.', "_");
            insta::assert_snapshot!(format!("{name}_text"), format!("Subject: {}\n\n{}", m.subject, m.text));
            insta::assert_snapshot!(format!("{name}_html"), m.html.replace("><", ">\n<"));
        }
    }

    #[test]
    fn a_split_tender_says_what_the_gift_card_and_the_card_paid() {
        let mut n = note();
        n.gift_card = 5000;
        let m = render(&Letter { kind: EventKind::PaymentAuthorized, note: &n, amount: None, message: None }).unwrap();
        assert!(m.text.contains("Your gift card balance paid $50.00 and your card was authorized for $109.74."));
        let m =
            render(&Letter { kind: EventKind::OrderRefunded, note: &n, amount: Some(12000), message: None }).unwrap();
        assert!(m.text.contains("We refunded $120.00: to your card first"), "{}", m.text);
        n.gift_card = n.total;
        let m = render(&Letter { kind: EventKind::PaymentAuthorized, note: &n, amount: None, message: None }).unwrap();
        assert!(m.text.contains("Your gift card balance paid the $159.74 of your order."), "{}", m.text);
    }

    #[test]
    fn html_escapes_what_came_from_customers() {
        let mut n = note();
        n.customer_name = "<script>alert(1)</script>".into();
        let m = render(&Letter { kind: EventKind::OrderPlaced, note: &n, amount: None, message: None }).unwrap();
        assert!(!m.html.contains("<script>") && m.html.contains("&lt;script&gt;"));
    }
}
