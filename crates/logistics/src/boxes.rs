//! Choosing a box: the smallest of a center's box table that holds the items, by their dimensions and weight.

use serde::{Deserialize, Serialize};

/// Outer size of an item, or inner size of a box, in millimetres.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dimensions {
    pub length_mm: u32,
    pub width_mm: u32,
    pub height_mm: u32,
}

impl Dimensions {
    fn sorted(self) -> [u32; 3] {
        let mut d = [self.length_mm, self.width_mm, self.height_mm];
        d.sort_unstable();
        d
    }

    /// Cubic millimetres.
    pub fn volume(self) -> u64 {
        u64::from(self.length_mm) * u64::from(self.width_mm) * u64::from(self.height_mm)
    }

    /// Whether a thing of these dimensions fits inside `inner`, turned any way.
    pub fn fits_in(self, inner: Dimensions) -> bool {
        self.sorted().iter().zip(inner.sorted()).all(|(a, b)| *a <= b)
    }
}

/// One line of what goes in the box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    pub size: Dimensions,
    pub weight_grams: u32,
    pub quantity: u32,
}

/// A box of the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoxSize {
    pub code: String,
    pub inner: Dimensions,
    pub max_weight_grams: u32,
    /// The empty box with its packing material.
    pub tare_grams: u32,
}

/// Items never fill a box completely: packing material and awkward shapes take the rest.
const FILL_PERCENT: u64 = 85;

/// The smallest box (by volume) that holds all of `items`: each item fits inside it, their volume fits in its
/// fillable part, and their weight in its limit. `None` when no box of the table does.
pub fn choose<'a>(table: &'a [BoxSize], items: &[Item]) -> Option<&'a BoxSize> {
    let volume: u64 = items.iter().map(|i| i.size.volume() * u64::from(i.quantity)).sum();
    let weight: u64 = items.iter().map(|i| u64::from(i.weight_grams) * u64::from(i.quantity)).sum();
    let mut fitting: Vec<&BoxSize> = table.iter().filter(|b| holds(b, items, volume, weight)).collect();
    fitting.sort_by_key(|b| (b.inner.volume(), b.code.clone()));
    fitting.first().copied()
}

/// Whether `b` holds `items` (see `choose`).
pub fn fits(b: &BoxSize, items: &[Item]) -> bool {
    let volume: u64 = items.iter().map(|i| i.size.volume() * u64::from(i.quantity)).sum();
    let weight: u64 = items.iter().map(|i| u64::from(i.weight_grams) * u64::from(i.quantity)).sum();
    holds(b, items, volume, weight)
}

fn holds(b: &BoxSize, items: &[Item], volume: u64, weight: u64) -> bool {
    items.iter().all(|i| i.size.fits_in(b.inner))
        && volume * 100 <= b.inner.volume() * FILL_PERCENT
        && weight <= u64::from(b.max_weight_grams)
}

/// The packed parcel's weight: items and box.
pub fn packed_weight(b: &BoxSize, items: &[Item]) -> u32 {
    let items: u64 = items.iter().map(|i| u64::from(i.weight_grams) * u64::from(i.quantity)).sum();
    u32::try_from(items + u64::from(b.tare_grams)).unwrap_or(u32::MAX)
}

/// The box table a center gets unless it is given its own.
pub fn standard_table() -> Vec<BoxSize> {
    let b = |code: &str, l, w, h, max, tare| BoxSize {
        code: code.into(),
        inner: Dimensions { length_mm: l, width_mm: w, height_mm: h },
        max_weight_grams: max,
        tare_grams: tare,
    };
    vec![
        b("S", 220, 160, 100, 2_000, 100),
        b("M", 350, 250, 150, 10_000, 250),
        b("L", 500, 400, 300, 20_000, 500),
        b("XL", 700, 500, 500, 30_000, 900),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn item(l: u32, w: u32, h: u32, g: u32, q: u32) -> Item {
        Item { size: Dimensions { length_mm: l, width_mm: w, height_mm: h }, weight_grams: g, quantity: q }
    }

    #[test]
    fn the_smallest_box_that_fits() {
        let table = standard_table();
        assert_eq!(choose(&table, &[item(100, 100, 90, 300, 1)]).unwrap().code, "S");
        // Too long for S turned any way.
        assert_eq!(choose(&table, &[item(300, 50, 50, 300, 1)]).unwrap().code, "M");
        // Light but many.
        assert_eq!(choose(&table, &[item(100, 100, 90, 100, 4)]).unwrap().code, "M");
        // Small but heavy.
        assert_eq!(choose(&table, &[item(100, 100, 50, 2_500, 1)]).unwrap().code, "M");
        // A TV fits no box.
        assert_eq!(choose(&table, &[item(1300, 800, 150, 15_000, 1)]), None);
    }

    proptest! {
        #[test]
        fn a_chosen_box_holds_the_items_and_no_smaller_one_does(
            l in 10u32..800, w in 10u32..600, h in 10u32..600, g in 1u32..40_000, q in 1u32..6
        ) {
            let table = standard_table();
            let items = [item(l, w, h, g, q)];
            if let Some(b) = choose(&table, &items) {
                prop_assert!(fits(b, &items));
                for smaller in table.iter().filter(|s| s.inner.volume() < b.inner.volume()) {
                    prop_assert!(!fits(smaller, &items));
                }
            } else {
                prop_assert!(table.iter().all(|b| !fits(b, &items)));
            }
        }
    }
}
