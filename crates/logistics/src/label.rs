//! The 4×6 in shipping label, as PDF: carrier and service, from and to, weight, and the tracking number as
//! a Code 128 barcode a scanner reads.

use barcoders::sym::code128::Code128;
use printpdf::{BuiltinFont, IndirectFontRef, Mm, PdfDocument, PdfLayerReference, Rect};

/// Everything printed on a label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// "Swift Parcel", or "Return to …" for a return label.
    pub carrier: String,
    pub service: String,
    pub tracking_number: String,
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub weight_grams: u32,
    /// The reference of the shipment or return, for the packer.
    pub reference: String,
    pub ship_date: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error("the tracking number cannot be barcoded: {0}")]
    Barcode(String),
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
}

/// 4 × 6 inches.
const WIDTH: f32 = 101.6;
const HEIGHT: f32 = 152.4;
const MARGIN: f32 = 5.0;

/// Renders the label as a one-page PDF.
pub fn render(label: &Label) -> Result<Vec<u8>, LabelError> {
    // Code set B carries digits and capital letters alike (the 'Ɓ' selects it, as barcoders asks).
    let bars = Code128::new(format!("\u{0181}{}", label.tracking_number))
        .map_err(|e| LabelError::Barcode(e.to_string()))?
        .encode();
    let title = format!("{} {}", label.carrier, label.tracking_number);
    let (doc, page, layer) = PdfDocument::new(&title, Mm(WIDTH), Mm(HEIGHT), "label");
    let pdf_err = |e: printpdf::Error| LabelError::Pdf(e.to_string());
    let regular = doc.add_builtin_font(BuiltinFont::Helvetica).map_err(pdf_err)?;
    let bold = doc.add_builtin_font(BuiltinFont::HelveticaBold).map_err(pdf_err)?;
    let layer = doc.get_page(page).get_layer(layer);

    let mut y = HEIGHT - MARGIN - 6.0;
    layer.use_text(label.carrier.as_str(), 16.0, Mm(MARGIN), Mm(y), &bold);
    y -= 6.0;
    layer.use_text(label.service.as_str(), 11.0, Mm(MARGIN), Mm(y), &regular);
    layer.use_text(format!("{} g", label.weight_grams), 11.0, Mm(WIDTH - MARGIN - 25.0), Mm(y), &regular);
    y -= 4.0;
    rule(&layer, y);

    y -= 5.0;
    y = block(&layer, &regular, &bold, "FROM", &label.from, y, 8.0);
    y -= 2.0;
    rule(&layer, y);
    y -= 6.0;
    y = block(&layer, &regular, &bold, "SHIP TO", &label.to, y, 12.0);
    y -= 2.0;
    rule(&layer, y);

    // The barcode: bars of one module each, as wide as the label allows, 25 mm tall.
    let module = ((WIDTH - 2.0 * MARGIN) / bars.len() as f32).min(0.5);
    let left = (WIDTH - module * bars.len() as f32) / 2.0;
    let (bottom, top) = (y - 32.0, y - 7.0);
    for (i, bar) in bars.iter().enumerate() {
        if *bar == 1 {
            let x = left + module * i as f32;
            layer.add_rect(Rect::new(Mm(x), Mm(bottom), Mm(x + module), Mm(top)));
        }
    }
    y = bottom - 6.0;
    layer.use_text(spaced(&label.tracking_number), 12.0, Mm(MARGIN), Mm(y), &bold);
    y -= 8.0;
    rule(&layer, y);
    y -= 5.0;
    layer.use_text(format!("Ref {}", label.reference), 8.0, Mm(MARGIN), Mm(y), &regular);
    layer.use_text(format!("Ship date {}", label.ship_date), 8.0, Mm(WIDTH - MARGIN - 35.0), Mm(y), &regular);
    doc.save_to_bytes().map_err(pdf_err)
}

fn rule(layer: &PdfLayerReference, y: f32) {
    layer.add_rect(Rect::new(Mm(MARGIN), Mm(y), Mm(WIDTH - MARGIN), Mm(y + 0.4)));
}

fn block(
    layer: &PdfLayerReference,
    regular: &IndirectFontRef,
    bold: &IndirectFontRef,
    heading: &str,
    lines: &[String],
    mut y: f32,
    size: f32,
) -> f32 {
    layer.use_text(heading, 7.0, Mm(MARGIN), Mm(y), bold);
    y -= size * 0.45 + 1.0;
    for line in lines {
        layer.use_text(line.as_str(), size, Mm(MARGIN + 2.0), Mm(y), regular);
        y -= size * 0.45;
    }
    y
}

/// A tracking number in groups of four, as carriers print it for people to read.
fn spaced(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_is_a_4x6_pdf_naming_its_tracking_number() {
        let label = Label {
            carrier: "Swift Parcel".into(),
            service: "Swift Ground".into(),
            tracking_number: "SW1234567897".into(),
            from: vec!["Seattle fulfillment center".into(), "Seattle, WA 98109, US".into()],
            to: vec!["Ada Lovelace".into(), "1 Main St".into(), "San Francisco, CA 94105, US".into()],
            weight_grams: 650,
            reference: "shp_0".into(),
            ship_date: "2026-12-03".into(),
        };
        let pdf = render(&label).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("SW1234567897"), "the title names the tracking number");
        // 4 x 6 in = 288 x 432 pt.
        assert!(text.contains("288") && text.contains("432"), "the page is 4x6 in");
    }

    #[test]
    fn numbers_are_grouped_for_people() {
        assert_eq!(spaced("SW1234567897"), "SW12 3456 7897");
    }
}
