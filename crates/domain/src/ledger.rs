//! The gift card ledger's rules. Every movement of gift card money is one balanced double-entry transaction:
//! it takes an amount from one account and puts it in another, so the entries of all movements sum to zero,
//! and a balance is nothing but the sum of its account's entries.
//!
//! Accounts: the shop's `issuance` (what it owes on every gift card it issued; it goes negative as cards are
//! issued, the only account that may), a gift card not yet redeemed, a customer's balance, and an order's gift
//! card tender (what the order took from the balance and has not given back).

use crate::{Currency, CustomerId, GiftCardId, Money, OrderId};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Account {
    Issuance,
    Card(GiftCardId),
    Customer(CustomerId),
    Order(OrderId),
}

impl Account {
    /// The account as the ledger's rows name it: `issuance`, `gift_card:gc_…`, `customer:cus_…`, `order:ord_…`.
    pub fn key(&self) -> String {
        match self {
            Account::Issuance => "issuance".into(),
            Account::Card(id) => format!("gift_card:{id}"),
            Account::Customer(id) => format!("customer:{id}"),
            Account::Order(id) => format!("order:{id}"),
        }
    }
}

/// What a movement does, as the ledger's rows and the customer's history name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MovementKind {
    /// Staff issue a gift card: the shop owes its amount.
    Issue,
    /// A customer redeems a card's code: its whole amount goes to their balance.
    Redeem,
    /// An order takes some of the balance as tender.
    Spend,
    /// An order that did not go through (its card part failed for good, or it was cancelled before it was
    /// charged) gives its gift card tender back.
    Reverse,
    /// A refund after the order was charged gives back the gift card's share of it.
    Refund,
}

impl MovementKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::Issue => "issue",
            MovementKind::Redeem => "redeem",
            MovementKind::Spend => "spend",
            MovementKind::Reverse => "reverse",
            MovementKind::Refund => "refund",
        }
    }

    pub fn parse(s: &str) -> Option<MovementKind> {
        Some(match s {
            "issue" => MovementKind::Issue,
            "redeem" => MovementKind::Redeem,
            "spend" => MovementKind::Spend,
            "reverse" => MovementKind::Reverse,
            "refund" => MovementKind::Refund,
            _ => return None,
        })
    }
}

/// One movement of gift card money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Movement {
    Issue { card: GiftCardId, amount: Money },
    Redeem { card: GiftCardId, customer: CustomerId, amount: Money },
    Spend { customer: CustomerId, order: OrderId, amount: Money },
    Reverse { order: OrderId, customer: CustomerId, amount: Money },
    Refund { order: OrderId, customer: CustomerId, amount: Money },
}

impl Movement {
    pub fn kind(&self) -> MovementKind {
        match self {
            Movement::Issue { .. } => MovementKind::Issue,
            Movement::Redeem { .. } => MovementKind::Redeem,
            Movement::Spend { .. } => MovementKind::Spend,
            Movement::Reverse { .. } => MovementKind::Reverse,
            Movement::Refund { .. } => MovementKind::Refund,
        }
    }

    pub fn amount(&self) -> Money {
        match *self {
            Movement::Issue { amount, .. }
            | Movement::Redeem { amount, .. }
            | Movement::Spend { amount, .. }
            | Movement::Reverse { amount, .. }
            | Movement::Refund { amount, .. } => amount,
        }
    }

    /// The account the amount leaves, and the one it goes to.
    pub fn accounts(&self) -> (Account, Account) {
        match *self {
            Movement::Issue { card, .. } => (Account::Issuance, Account::Card(card)),
            Movement::Redeem { card, customer, .. } => (Account::Card(card), Account::Customer(customer)),
            Movement::Spend { customer, order, .. } => (Account::Customer(customer), Account::Order(order)),
            Movement::Reverse { order, customer, .. } | Movement::Refund { order, customer, .. } => {
                (Account::Order(order), Account::Customer(customer))
            }
        }
    }
}

/// One entry of a movement: an account and a signed amount in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posting {
    pub account: Account,
    pub amount: i64,
    pub currency: Currency,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("a gift card movement must be of more than nothing")]
    NotPositive,
    #[error("{account} holds {available}, less than the {wanted} asked")]
    Insufficient { account: String, available: i64, wanted: i64 },
    #[error("the gift card ledger keeps {0} only")]
    Currency(&'static str),
}

/// The two postings of `movement`, given the balance of the account it draws from; refused when it would
/// take more than that account holds (the issuance account excepted) or is not a positive amount.
pub fn postings(movement: &Movement, drawn_balance: i64) -> Result<[Posting; 2], LedgerError> {
    let amount = movement.amount();
    if amount.currency() != Currency::Usd {
        return Err(LedgerError::Currency(Currency::Usd.code()));
    }
    let wanted = amount.minor();
    if wanted <= 0 {
        return Err(LedgerError::NotPositive);
    }
    let (from, to) = movement.accounts();
    if from != Account::Issuance && drawn_balance < wanted {
        return Err(LedgerError::Insufficient { account: from.key(), available: drawn_balance, wanted });
    }
    let currency = amount.currency();
    Ok([Posting { account: from, amount: -wanted, currency }, Posting { account: to, amount: wanted, currency }])
}

/// A ledger held in memory: the rules above applied in turn. The database keeps the real one; this one is for
/// reasoning about sequences of movements (the property tests) and for previews.
#[derive(Debug, Default, Clone)]
pub struct Ledger {
    balances: HashMap<Account, i64>,
    entries: Vec<Posting>,
}

impl Ledger {
    pub fn balance(&self, account: &Account) -> i64 {
        self.balances.get(account).copied().unwrap_or(0)
    }

    pub fn apply(&mut self, movement: &Movement) -> Result<(), LedgerError> {
        let (from, _) = movement.accounts();
        for p in postings(movement, self.balance(&from))? {
            *self.balances.entry(p.account).or_insert(0) += p.amount;
            self.entries.push(p);
        }
        Ok(())
    }

    pub fn entries(&self) -> &[Posting] {
        &self.entries
    }

    pub fn balances(&self) -> impl Iterator<Item = (&Account, &i64)> {
        self.balances.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usd(m: i64) -> Money {
        Money::usd(m)
    }

    #[test]
    fn a_card_is_issued_redeemed_spent_and_given_back() {
        let (card, ada, order) = (GiftCardId::new(), CustomerId::new(), OrderId::new());
        let mut l = Ledger::default();
        l.apply(&Movement::Issue { card, amount: usd(5000) }).unwrap();
        l.apply(&Movement::Redeem { card, customer: ada, amount: usd(5000) }).unwrap();
        l.apply(&Movement::Spend { customer: ada, order, amount: usd(3000) }).unwrap();
        assert_eq!(l.balance(&Account::Customer(ada)), 2000);
        let err = l.apply(&Movement::Spend { customer: ada, order, amount: usd(2001) }).unwrap_err();
        assert_eq!(
            err,
            LedgerError::Insufficient { account: Account::Customer(ada).key(), available: 2000, wanted: 2001 }
        );
        l.apply(&Movement::Refund { order, customer: ada, amount: usd(1000) }).unwrap();
        l.apply(&Movement::Reverse { order, customer: ada, amount: usd(2000) }).unwrap();
        assert_eq!(l.balance(&Account::Order(order)), 0);
        assert_eq!(l.balance(&Account::Customer(ada)), 5000);
        assert_eq!(l.balance(&Account::Issuance), -5000);
        assert!(
            l.apply(&Movement::Reverse { order, customer: ada, amount: usd(1) }).is_err(),
            "nothing left to give back"
        );
        assert_eq!(l.apply(&Movement::Issue { card, amount: usd(0) }), Err(LedgerError::NotPositive));
    }

    #[derive(Debug, Clone)]
    enum Step {
        Issue(usize, i64),
        Redeem(usize, usize, i64),
        Spend(usize, usize, i64),
        Reverse(usize, usize, i64),
        Refund(usize, usize, i64),
    }

    fn step() -> impl Strategy<Value = Step> {
        let amount = -100i64..20_000;
        prop_oneof![
            (0..4usize, amount.clone()).prop_map(|(c, a)| Step::Issue(c, a)),
            (0..4usize, 0..3usize, amount.clone()).prop_map(|(c, u, a)| Step::Redeem(c, u, a)),
            (0..3usize, 0..5usize, amount.clone()).prop_map(|(u, o, a)| Step::Spend(u, o, a)),
            (0..5usize, 0..3usize, amount.clone()).prop_map(|(o, u, a)| Step::Reverse(o, u, a)),
            (0..5usize, 0..3usize, amount).prop_map(|(o, u, a)| Step::Refund(o, u, a)),
        ]
    }

    proptest! {
        /// Any sequence of issue, redeem, spend, reverse and refund, allowed or refused, keeps every account
        /// but the shop's issuance at or above zero, and the sum of all entries at zero.
        #[test]
        fn every_balance_stays_at_or_above_zero_and_the_entries_sum_to_zero(steps in prop::collection::vec(step(), 1..80)) {
            let cards: Vec<GiftCardId> = (0..4).map(|_| GiftCardId::new()).collect();
            let customers: Vec<CustomerId> = (0..3).map(|_| CustomerId::new()).collect();
            let orders: Vec<OrderId> = (0..5).map(|_| OrderId::new()).collect();
            let mut ledger = Ledger::default();
            for s in steps {
                let m = match s {
                    Step::Issue(c, a) => Movement::Issue { card: cards[c], amount: usd(a) },
                    Step::Redeem(c, u, a) => Movement::Redeem { card: cards[c], customer: customers[u], amount: usd(a) },
                    Step::Spend(u, o, a) => Movement::Spend { customer: customers[u], order: orders[o], amount: usd(a) },
                    Step::Reverse(o, u, a) => Movement::Reverse { order: orders[o], customer: customers[u], amount: usd(a) },
                    Step::Refund(o, u, a) => Movement::Refund { order: orders[o], customer: customers[u], amount: usd(a) },
                };
                let before = ledger.entries().len();
                match ledger.apply(&m) {
                    Ok(()) => prop_assert_eq!(ledger.entries().len(), before + 2),
                    Err(_) => prop_assert_eq!(ledger.entries().len(), before, "a refused movement writes nothing"),
                }
                for (account, balance) in ledger.balances() {
                    if *account != Account::Issuance {
                        prop_assert!(*balance >= 0, "{} went to {}", account.key(), balance);
                    }
                }
                prop_assert_eq!(ledger.entries().iter().map(|p| p.amount).sum::<i64>(), 0);
                prop_assert_eq!(ledger.balances().map(|(_, b)| *b).sum::<i64>(), 0);
            }
        }
    }
}
