//! Which fulfillment center(s) send an order.

use serde::Serialize;

/// What one center can offer for a SKU right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CenterStock {
    pub center: String,
    /// Preference: lower is chosen first (closer to the customer, cheaper to ship from).
    pub rank: u32,
    pub available: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Allocation {
    pub center: String,
    pub quantity: u32,
}

/// One shipment from the most preferred center that has it all; otherwise split across centers, largest
/// stock first, so the customer gets as few parcels as possible. `None` when all centers together lack it.
pub fn source(stock: &[CenterStock], quantity: u32) -> Option<Vec<Allocation>> {
    let mut by_rank: Vec<&CenterStock> = stock.iter().collect();
    by_rank.sort_by(|a, b| a.rank.cmp(&b.rank).then_with(|| a.center.cmp(&b.center)));
    if let Some(whole) = by_rank.iter().find(|c| c.available >= quantity) {
        return Some(vec![Allocation { center: whole.center.clone(), quantity }]);
    }
    let mut by_size = by_rank;
    by_size.sort_by(|a, b| b.available.cmp(&a.available).then_with(|| a.rank.cmp(&b.rank)));
    let mut left = quantity;
    let mut plan = Vec::new();
    for c in by_size {
        if left == 0 {
            break;
        }
        let take = c.available.min(left);
        if take > 0 {
            plan.push(Allocation { center: c.center.clone(), quantity: take });
            left -= take;
        }
    }
    (left == 0).then_some(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cs(center: &str, rank: u32, available: u32) -> CenterStock {
        CenterStock { center: center.into(), rank, available }
    }

    #[test]
    fn prefers_one_parcel_from_the_best_center() {
        let plan = source(&[cs("SEA1", 2, 10), cs("PHL1", 1, 3)], 5).unwrap();
        assert_eq!(plan, vec![Allocation { center: "SEA1".into(), quantity: 5 }]);
        let plan = source(&[cs("SEA1", 2, 10), cs("PHL1", 1, 5)], 5).unwrap();
        assert_eq!(plan[0].center, "PHL1");
    }

    #[test]
    fn splits_when_no_center_has_it_all() {
        let plan = source(&[cs("SEA1", 1, 3), cs("PHL1", 2, 4)], 6).unwrap();
        assert_eq!(plan.len(), 2);
        assert_eq!(plan.iter().map(|a| a.quantity).sum::<u32>(), 6);
        assert_eq!(source(&[cs("SEA1", 1, 3), cs("PHL1", 2, 2)], 6), None);
    }

    proptest! {
        #[test]
        fn never_takes_more_than_a_center_has(avail in proptest::collection::vec(0u32..20, 0..5), qty in 1u32..40) {
            let stock: Vec<_> = avail.iter().enumerate().map(|(i, a)| cs(&format!("C{i}"), i as u32, *a)).collect();
            match source(&stock, qty) {
                Some(plan) => {
                    prop_assert_eq!(plan.iter().map(|a| a.quantity).sum::<u32>(), qty);
                    for a in &plan {
                        let c = stock.iter().find(|c| c.center == a.center).unwrap();
                        prop_assert!(a.quantity <= c.available && a.quantity > 0);
                    }
                }
                None => prop_assert!(avail.iter().sum::<u32>() < qty),
            }
        }
    }
}
