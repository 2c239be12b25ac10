//! Staff roles (DESIGN.md, "Staff, audit and support"): what each kind of staff key may do.

/// A staff key's one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StaffRole {
    /// Everything.
    Admin,
    /// Pick, pack, ship and receive returns, at its center when the key names one.
    Warehouse,
    /// Support cases, refunds, reships, gift cards.
    Support,
    /// A marketplace seller: its own shipments only.
    Seller,
}

impl StaffRole {
    pub const ALL: [StaffRole; 4] = [StaffRole::Admin, StaffRole::Warehouse, StaffRole::Support, StaffRole::Seller];

    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::Admin => "admin",
            StaffRole::Warehouse => "warehouse",
            StaffRole::Support => "support",
            StaffRole::Seller => "seller",
        }
    }

    pub fn parse(s: &str) -> Option<StaffRole> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for r in StaffRole::ALL {
            assert_eq!(StaffRole::parse(r.as_str()), Some(r));
        }
        assert_eq!(StaffRole::parse("Admin"), None);
    }
}
