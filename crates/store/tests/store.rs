//! The store's own guarantees, on a real SQLite file: what the services rely on.

use buynow_domain::card::{Brand, Funding};
use buynow_domain::{AddressId, PaymentMethodId};
use buynow_domain::{CustomerId, DeliverySpeed, EventKind, Money, OrderId, OrderStatus, PaymentId};
use buynow_store::catalog::{self, Center, Product};
use buynow_store::customers::{self, Purchase, SavedAddress, SavedCard};
use buynow_store::gift_cards::{self, GiftCard, Posted, Redeemed};
use buynow_store::idempotency::{self, Claim, Digest, KeyClaim};
use buynow_store::jobs::{self, Job, NewJob};
use buynow_store::notifications::{self, Channel, NewDelivery};
use buynow_store::order_jobs::{Decide, Decision, Effects, Finished, OrderJob, OrderMove, PaymentMove};
use buynow_store::orders::{self, Item, Order, Shipment, TimelineEntry};
use buynow_store::payments::{self, Payment, PaymentStatus};
use buynow_store::placement::{NewOrder, Placed, Plan, Request};
use buynow_store::testing::TestDb;
use buynow_store::{now_micros, Backend, Store, StoreError, WriteTx};

async fn fixture(store: &Store) {
    let mut tx = store.write().await.unwrap();
    let center = Center {
        code: "C1".into(),
        name: "C1".into(),
        time_zone: "UTC".into(),
        cutoff_minute: 840,
        operating_days: vec![1, 2, 3, 4, 5],
        holidays: vec![],
        rank: 1,
        is_default: true,
        address: String::new(),
        boxes: String::new(),
        seller_id: None,
    };
    catalog::upsert_center(&mut tx.conn(), &center).await.unwrap();
    catalog::insert_product(&mut tx.conn(), &product("S")).await.unwrap();
    catalog::set_on_hand(&mut tx.conn(), "S", "C1", 3).await.unwrap();
    tx.commit().await.unwrap();
}

/// A product at $1.00, sold by the store.
fn product(sku: &str) -> Product {
    Product::new(sku, sku, Money::usd(100), false, "store")
}

/// The conformance suite: every test below runs once on SQLite and once on PostgreSQL.
macro_rules! conformance {
    ($(async fn $name:ident($store:ident) $body:block)*) => {
        async fn with_store(backend: Backend, test: &str) -> Option<(Store, TestDb)> {
            let db = TestDb::new(backend, test).await?;
            let store = db.open().await;
            fixture(&store).await;
            Some((store, db))
        }
        mod sqlite {
            use super::*;
            $(#[tokio::test]
            async fn $name() {
                let Some(($store, _db)) = with_store(Backend::Sqlite, stringify!($name)).await else { return };
                $body
            })*
        }
        mod postgres {
            use super::*;
            $(#[tokio::test]
            async fn $name() {
                let Some(($store, _db)) = with_store(Backend::Postgres, stringify!($name)).await else { return };
                $body
            })*
        }
    };
}

/// Sweeps with every kind's cutoff at `cutoff`, `limit` rows of a kind per transaction, until nothing more is due.
async fn sweep_until_done(store: &Store, cutoff: i64, limit: u32) -> Vec<buynow_store::retention::Swept> {
    use buynow_store::retention::{self, Cutoffs};
    let cutoffs = Cutoffs { finished_before: cutoff, keys_last_used_before: cutoff, sessions_ended_before: cutoff };
    let mut swept = Vec::new();
    loop {
        let mut tx = store.write().await.unwrap();
        let s = retention::sweep(&mut tx.conn(), cutoffs, limit).await.unwrap();
        tx.commit().await.unwrap();
        swept.push(s);
        if !s.more {
            return swept;
        }
    }
}

/// A customer with one address and one card, both their defaults.
async fn customer_with_defaults(store: &Store, email: &str) -> (CustomerId, AddressId, PaymentMethodId) {
    let (id, address, card) = (CustomerId::new(), AddressId::new(), PaymentMethodId::new());
    let mut tx = store.write().await.unwrap();
    let mut c = tx.conn();
    // The store keeps what the vault sealed as opaque bytes; these tests need no vault.
    let new = customers::NewCustomer {
        id,
        email_hash: email,
        sealed: b"sealed e-mail and name".to_vec(),
        password_hash: "not a real hash",
    };
    customers::insert(&mut c, new).await.unwrap();
    let saved = SavedAddress {
        id: address,
        customer_id: id,
        region: "TX".into(),
        country: "US".into(),
        sealed: b"sealed address".to_vec(),
    };
    customers::insert_address(&mut c, &saved).await.unwrap();
    let saved = SavedCard {
        id: card,
        customer_id: id,
        brand: Brand::Visa,
        funding: Funding::Credit,
        last4: "4242".into(),
        exp_month: 12,
        exp_year: 2035,
        key_id: "k1".into(),
        wrapped_key: Some(vec![4, 5, 6]),
        sealed: vec![1, 2, 3],
    };
    customers::insert_card(&mut c, &saved).await.unwrap();
    customers::set_default_address(&mut c, id, address).await.unwrap();
    customers::set_default_payment_method(&mut c, id, card).await.unwrap();
    tx.commit().await.unwrap();
    (id, address, card)
}

async fn level(store: &Store) -> (i64, i64) {
    let l = catalog::stock_levels(&mut store.read().await.unwrap().conn(), "S").await.unwrap();
    (l[0].on_hand, l[0].reserved)
}

fn job(dedup: &str, run_at: i64) -> NewJob {
    NewJob {
        kind: "test",
        payload: "{}".into(),
        dedup_key: Some(dedup.into()),
        run_at,
        max_attempts: 3,
        request_id: None,
    }
}

/// A placement of one unit of `sku` under `key`: the plan takes it from the first center with any free, or
/// refuses (standing for the caller's "out of stock").
fn placement_of(
    sku: &'static str,
    customer: CustomerId,
    card: PaymentMethodId,
    address: AddressId,
    key: &str,
    hash: &str,
) -> Request<Refusal> {
    let order_id = OrderId::new();
    let at = now_micros();
    let plan: Plan<Refusal> = Box::new(move |levels| {
        let center = levels.iter().find(|l| l.available() >= 1).ok_or(Refusal::OutOfStock)?.center.clone();
        let order = Order {
            id: order_id,
            customer_id: customer,
            status: OrderStatus::Placed,
            delivery_speed: DeliverySpeed::Standard,
            subtotal: Money::usd(100),
            shipping: Money::usd(0),
            tax: Money::usd(0),
            total: Money::usd(100),
            address_id: address,
            ship_to: b"sealed address".to_vec(),
            payment_method_id: card,
            estimated_earliest: "2030-01-01".into(),
            estimated_latest: "2030-01-02".into(),
            hold_until: at,
            declines: 0,
            created_at: at,
            updated_at: at,
            on_hold: false,
            hold_reason: None,
        };
        let payment = Payment::pending(order_id, card, Money::usd(100));
        Ok(NewOrder {
            order,
            items: vec![Item { sku: sku.into(), title: sku.into(), quantity: 1, unit_price: Money::usd(100) }],
            shipments: vec![Shipment::pending(order_id, &center, sku, 1)],
            job: job(&format!("authorize:{}", payment.id), at),
            payment,
            entry: TimelineEntry::new(at, OrderStatus::Placed, EventKind::OrderPlaced, "placed"),
            event: (EventKind::OrderPlaced, "{}".into()),
            claim_until: Some(at + 1_000_000),
        })
    });
    let key = KeyClaim::new(customer, key, Digest::of(hash.as_bytes()), order_id, at);
    Request { key, sku: sku.into(), plan }
}

/// `placement_of` the fixture's "S".
fn placement(
    customer: CustomerId,
    card: PaymentMethodId,
    address: AddressId,
    key: &str,
    hash: &str,
) -> Request<Refusal> {
    placement_of("S", customer, card, address, key, hash)
}

#[derive(Debug, PartialEq)]
enum Refusal {
    OutOfStock,
    Store(String),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::Store(e.to_string())
    }
}

/// A placed order, its payment and its authorization job, claimed by this process.
async fn placed_with_its_job(store: &Store, email: &str) -> (OrderId, PaymentId, Job) {
    let (customer, address, card) = customer_with_defaults(store, email).await;
    let Placed::New { order: placed, job } = store.place(placement(customer, card, address, "k", "h")).await.unwrap()
    else {
        panic!("placed")
    };
    (placed.order.id, placed.payment.id, job.expect("claimed"))
}

/// An authorization's answer: the pending payment authorized, nothing else.
fn authorized() -> Effects {
    let moved = PaymentMove {
        from: PaymentStatus::Pending,
        to: PaymentStatus::Authorized,
        authorization: Some("auth".into()),
        decline_code: None,
    };
    Effects { at: now_micros(), payment: Some(moved), ..Effects::default() }
}

/// Finishes `job` while `other` holds a lock it needs, ends `other` 300 ms later (commits it, or rolls it back),
/// and returns how the job came out.
async fn finish_while_held(
    store: &Store,
    job: OrderJob<&'static str, Refusal>,
    other: WriteTx,
    commit: bool,
) -> Result<Finished<&'static str>, Refusal> {
    let finishing = {
        let store = store.clone();
        tokio::spawn(async move { store.finish_order_job(job).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    if commit {
        other.commit().await.unwrap();
    } else {
        other.rollback().await.unwrap();
    }
    finishing.await.unwrap()
}

async fn payment_status(store: &Store, payment: PaymentId) -> PaymentStatus {
    payments::get(&mut store.read().await.unwrap().conn(), payment).await.unwrap().expect("the payment").status
}

async fn count(store: &Store, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    store.read().await.unwrap().conn().one(&sql, vec![]).await.unwrap().int(0).unwrap()
}

conformance! {
async fn a_reservation_never_takes_more_than_is_free(store) {
    let mut tx = store.write().await.unwrap();
    assert!(catalog::reserve(&mut tx.conn(), "S", "C1", 2).await.unwrap());
    assert!(!catalog::reserve(&mut tx.conn(), "S", "C1", 2).await.unwrap(), "only one left");
    assert!(catalog::reserve(&mut tx.conn(), "S", "C1", 1).await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(level(&store).await, (3, 3));
}

async fn the_database_refuses_on_hand_below_reserved(store) {
    let mut tx = store.write().await.unwrap();
    assert!(catalog::reserve(&mut tx.conn(), "S", "C1", 2).await.unwrap());
    tx.commit().await.unwrap();
    // (A failed statement ends a PostgreSQL transaction, so each refusal gets its own.)
    let mut tx = store.write().await.unwrap();
    let err = catalog::set_on_hand(&mut tx.conn(), "S", "C1", 1).await.unwrap_err();
    assert!(err.is_check_violation(), "{err}");
    tx.rollback().await.unwrap();
    let mut tx = store.write().await.unwrap();
    assert!(catalog::release(&mut tx.conn(), "S", "C1", 5).await.is_err(), "cannot release more than reserved");
    tx.rollback().await.unwrap();
    assert_eq!(level(&store).await, (3, 2));
}

async fn group_commit_fails_a_write_alone_and_answers_only_after_commit(store) {
    // 40 writes at once, each reserving one of the 3 in stock: 37 fail alone, 3 commit together.
    let writes = (0..40).map(|_| {
        let store = store.clone();
        async move {
            let reserved = store
                .write_batched(|c| {
                    Box::pin(async move {
                        if catalog::reserve(c, "S", "C1", 1).await? {
                            Ok(())
                        } else {
                            Err(StoreError::NotFound)
                        }
                    })
                })
                .await;
            // Answered after the commit: a fresh reader already sees it.
            let (_, reserved_now) = level(&store).await;
            (reserved.is_ok(), reserved_now)
        }
    });
    let results = futures::future::join_all(writes).await;
    assert_eq!(results.iter().filter(|(ok, _)| *ok).count(), 3, "the fixture holds 3");
    assert!(results.iter().all(|(ok, seen)| !ok || *seen >= 1));
    assert_eq!(level(&store).await, (3, 3));
}

async fn a_write_that_fails_after_changing_rows_leaves_no_trace(store) {
    let mut tx = store.write().await.unwrap();
    catalog::set_on_hand(&mut tx.conn(), "S", "C1", 1000).await.unwrap();
    tx.commit().await.unwrap();
    // Half of 40 concurrent writes reserve one unit and then fail: none of their units may stay reserved, and
    // a write that succeeded is only reported so once its reservation is committed.
    let writes = (0..40).map(|i| {
        let store = store.clone();
        async move {
            store
                .write_batched(move |c| {
                    Box::pin(async move {
                        assert!(catalog::reserve(c, "S", "C1", 1).await?);
                        if i % 2 == 0 { Err(StoreError::NotFound) } else { Ok(()) }
                    })
                })
                .await
        }
    });
    let results = futures::future::join_all(writes).await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        // Its own failure, or that of a batch a failed write spoiled (the caller may retry that one).
        assert!(matches!(e, StoreError::NotFound) || e.is_unavailable(), "{e}");
    }
    assert_eq!(level(&store).await, (1000, ok as i64), "exactly the successful writes hold stock");
    let after = store.write_batched(|c| Box::pin(async move { catalog::reserve(c, "S", "C1", 1).await })).await;
    assert!(after.unwrap(), "the writer goes on after a spoiled batch");
}

async fn a_buyer_comes_with_the_named_or_default_address_and_card_and_never_anothers(store) {
    let (ada, ada_address, ada_card) = customer_with_defaults(&store, "ada@example.com").await;
    let (bob, bob_address, bob_card) = customer_with_defaults(&store, "bob@example.com").await;
    let now = now_micros();
    let mut tx = store.write().await.unwrap();
    let order = OrderId::new();
    idempotency::claim(&mut tx.conn(), ada, "used", b"h", order, now).await.unwrap();
    customers::insert_session(&mut tx.conn(), "ada-session", ada, now + 60_000_000, now + 60_000_000).await.unwrap();
    customers::insert_session(&mut tx.conn(), "bob-session", bob, now + 60_000_000, now + 60_000_000).await.unwrap();
    customers::insert_session(&mut tx.conn(), "ada-expired", ada, now - 1, now - 1).await.unwrap();
    customers::insert_session(&mut tx.conn(), "ada-idle", ada, now + 60_000_000, now - 1).await.unwrap();
    tx.commit().await.unwrap();
    let mut read = store.read().await.unwrap();
    let mut c = read.conn();
    let ada_buys =
        Purchase { token_hash: "ada-session", now, wall: now, address: None, card: None, sku: "S", key: Some("fresh") };
    let defaults = customers::buyer(&mut c, ada_buys).await.unwrap().unwrap();
    assert_eq!(defaults.customer.id, ada);
    assert_eq!(defaults.address.map(|a| a.id), Some(ada_address));
    let card = defaults.card.unwrap();
    assert_eq!((card.id, card.brand, card.last4.as_str(), card.sealed), (ada_card, Brand::Visa, "4242", vec![1, 2, 3]));
    assert_eq!(card.wrapped_key, Some(vec![4, 5, 6]), "the envelope comes back whole");
    let product = defaults.product.unwrap();
    assert_eq!((product.sku.as_str(), product.price), ("S", Money::usd(100)));
    assert!(defaults.key.is_none());
    let named = Purchase { address: Some(ada_address), card: Some(ada_card), sku: "nope", key: Some("used"), ..ada_buys };
    let named = customers::buyer(&mut c, named).await.unwrap().unwrap();
    assert_eq!((named.address.map(|a| a.id), named.card.map(|c| c.id)), (Some(ada_address), Some(ada_card)));
    assert!(named.product.is_none(), "no such SKU");
    let used = customers::UsedKey { request: Digest::of(b"h"), order, last_used_at: now };
    assert_eq!(named.key, Some(used), "the key's earlier use, and when");
    let others = Purchase { address: Some(bob_address), card: Some(bob_card), ..ada_buys };
    let others = customers::buyer(&mut c, others).await.unwrap().unwrap();
    assert!(others.address.is_none() && others.card.is_none(), "another customer's address and card are not found");
    let bob_buys = Purchase { token_hash: "bob-session", key: Some("used"), ..ada_buys };
    let bob_row = customers::buyer(&mut c, bob_buys).await.unwrap().unwrap();
    assert_eq!((bob_row.customer.id, bob_row.key), (bob, None), "a key is the customer's own");
    for unknown in ["ada-expired", "ada-idle", "nobody"] {
        let purchase = Purchase { token_hash: unknown, ..ada_buys };
        assert!(customers::buyer(&mut c, purchase).await.unwrap().is_none(), "{unknown}: no buyer");
    }
}

async fn placements_together_share_the_stock_and_a_refusal_fails_only_its_own(store) {
    let (customer, address, card) = customer_with_defaults(&store, "group@example.com").await;
    // Sent at once, so the writer finds them queued together (in one group or a few; the answers must not
    // depend on which).
    let placed = futures::future::join_all(
        (0..8).map(|i| store.place(placement(customer, card, address, &format!("k{i}"), "h"))),
    )
    .await;
    let new: Vec<_> = placed.iter().filter(|p| matches!(p, Ok(Placed::New { .. }))).collect();
    let refused = placed.iter().filter(|p| matches!(p, Err(Refusal::OutOfStock))).count();
    assert_eq!((new.len(), refused), (3, 5), "{placed:?}");
    for p in &new {
        let Ok(Placed::New { job, .. }) = p else { unreachable!() };
        assert_eq!(job.as_ref().map(|j| j.attempt), Some(1), "the job comes back claimed");
    }
    assert_eq!(level(&store).await, (3, 3));
    for (table, rows) in [("orders", 3), ("order_items", 3), ("shipments", 3), ("payments", 3), ("order_timeline", 3),
                          ("outbox", 3), ("jobs", 3), ("idempotency_keys", 3)] {
        assert_eq!(count(&store, table).await, rows, "{table}: a refused placement leaves nothing behind");
    }
}

async fn a_placement_under_a_taken_key_is_answered_with_its_order_and_writes_nothing(store) {
    let (customer, address, card) = customer_with_defaults(&store, "again@example.com").await;
    let first = store.place(placement(customer, card, address, "k", "h")).await.unwrap();
    let Placed::New { order, .. } = first else { panic!("{first:?}") };
    let again = store.place(placement(customer, card, address, "k", "h")).await.unwrap();
    assert!(matches!(again, Placed::Taken(Claim::Replay(id)) if id == order.order.id), "{again:?}");
    let other = store.place(placement(customer, card, address, "k", "another body")).await.unwrap();
    assert!(matches!(other, Placed::Taken(Claim::Conflict)), "{other:?}");
    // The same key sent twice at once: one order, and the other is its replay.
    let twice = futures::future::join_all((0..2).map(|_| store.place(placement(customer, card, address, "k2", "h")))).await;
    let new: Vec<OrderId> = twice
        .iter()
        .filter_map(|p| match p {
            Ok(Placed::New { order, .. }) => Some(order.order.id),
            _ => None,
        })
        .collect();
    assert_eq!(new.len(), 1, "{twice:?}");
    assert!(twice.iter().any(|p| matches!(p, Ok(Placed::Taken(Claim::Replay(id))) if *id == new[0])), "{twice:?}");
    assert_eq!(count(&store, "orders").await, 2);
    assert_eq!(level(&store).await, (3, 2));
}

async fn an_order_job_decides_on_the_payment_as_a_cancel_committed_while_it_waited(store) {
    let (order, payment, job) = placed_with_its_job(&store, "cancel-race@example.com").await;
    // A cancel holds the order (and drops the pending payment) while the job's group starts.
    let mut cancel = store.write().await.unwrap();
    let now = now_micros();
    assert!(orders::set_status(&mut cancel.conn(), order, OrderStatus::Placed, OrderStatus::Cancelled, now)
        .await
        .unwrap());
    let (from, to) = (PaymentStatus::Pending, PaymentStatus::Cancelled);
    assert!(payments::set_status(&mut cancel.conn(), payment, from, to, None, None, now).await.unwrap());
    let decide: Decide<&'static str, Refusal> = Box::new(move |order: Option<&Order>, current: Option<&Payment>| {
        let order = order.expect("the order");
        if current.map(|p| p.status) != Some(PaymentStatus::Pending) {
            assert_eq!(order.status, OrderStatus::Cancelled, "the order as the cancel left it");
            return Ok(Decision::Write(Effects { at: now_micros(), ..Effects::default() }, "nothing to record"));
        }
        Ok(Decision::Write(authorized(), "authorized"))
    });
    let finished = finish_while_held(&store, OrderJob { job, order, payment, decide }, cancel, true).await;
    assert!(matches!(finished, Ok(Finished::Done("nothing to record"))), "{finished:?}");
    assert_eq!(payment_status(&store, payment).await, PaymentStatus::Cancelled);
}

async fn an_order_job_waits_for_a_job_row_another_transaction_has_locked_and_still_holds_it(store) {
    let (order, payment, job) = placed_with_its_job(&store, "looked-at@example.com").await;
    // Another transaction locks the job's row without taking the job over, as a worker's claim that only
    // looked at the row does on PostgreSQL (it keeps the lock of a row it re-checked and passed over).
    let mut other = store.write().await.unwrap();
    let lock = match store.backend() {
        Backend::Postgres => format!("SELECT id FROM jobs WHERE id = '{}' FOR UPDATE", job.id),
        Backend::Sqlite => format!("UPDATE jobs SET attempts = attempts WHERE id = '{}'", job.id),
    };
    other.conn().all(&lock, vec![]).await.unwrap();
    let decide: Decide<&'static str, Refusal> = Box::new(move |_: Option<&Order>, _: Option<&Payment>| {
        Ok(Decision::Write(authorized(), "authorized"))
    });
    let finished = finish_while_held(&store, OrderJob { job, order, payment, decide }, other, false).await;
    // The job's holder waited for the row and found the job still its own: it is not told it lost the lease.
    assert!(matches!(finished, Ok(Finished::Done("authorized"))), "{finished:?}");
    assert_eq!(payment_status(&store, payment).await, PaymentStatus::Authorized);
}

async fn many_more_reads_at_once_than_readers_each_get_one_in_turn(store) {
    // Readers given back are kept for the next read (on PostgreSQL, outside sqlx's pool): a read that had to
    // wait must be woken by one given back, not left to time out after 10 s.
    let reads = (0..60).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut read = store.read().await?;
            let row = read.conn().one("SELECT COUNT(*) FROM products", vec![]).await?;
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            row.int(0)
        })
    });
    for read in futures::future::join_all(reads).await {
        assert_eq!(read.unwrap().unwrap(), 1);
    }
}

async fn order_jobs_finish_together_and_a_lost_lease_or_a_refusal_writes_nothing(store) {
    let (customer, address, card) = customer_with_defaults(&store, "jobs@example.com").await;
    let mut placed = Vec::new();
    for key in ["a", "b", "c"] {
        match store.place(placement(customer, card, address, key, "h")).await.unwrap() {
            Placed::New { order, job } => placed.push((*order, job.expect("claimed"))),
            other => panic!("{other:?}"),
        }
    }
    // Job "b" was taken over by another worker (its attempt number moved on): this attempt no longer holds it.
    let mut stale = placed[1].1.clone();
    stale.attempt = 0;
    let finish = |n: &NewOrder, held: Job, refuse: bool| {
        let (order, payment) = (n.order.id, n.payment.id);
        let decide: Decide<&'static str, Refusal> = Box::new(move |order: Option<&Order>, current: Option<&Payment>| {
            if refuse {
                return Err(Refusal::OutOfStock);
            }
            let (order, current) = (order.expect("the order"), current.expect("its payment"));
            assert_eq!((order.status, current.status), (OrderStatus::Placed, PaymentStatus::Pending));
            let at = now_micros();
            let effects = Effects {
                at,
                payment: Some(PaymentMove {
                    from: PaymentStatus::Pending,
                    to: PaymentStatus::Authorized,
                    authorization: Some("auth".into()),
                    decline_code: None,
                }),
                order: Some(OrderMove { from: OrderStatus::Placed, to: OrderStatus::PaymentAuthorized, declines: 0 }),
                timeline: vec![TimelineEntry::new(at, OrderStatus::PaymentAuthorized, EventKind::PaymentAuthorized, "ok")],
                events: vec![(EventKind::PaymentAuthorized, "{}".into())],
                jobs: vec![job(&format!("release:{}", order.id), at)],
            };
            Ok(Decision::Write(effects, "recorded"))
        });
        store.finish_order_job(OrderJob { job: held, order, payment, decide })
    };
    let answers = futures::future::join3(
        finish(&placed[0].0, placed[0].1.clone(), false),
        finish(&placed[1].0, stale, false),
        finish(&placed[2].0, placed[2].1.clone(), true),
    )
    .await;
    assert!(matches!(answers.0, Ok(Finished::Done("recorded"))), "{:?}", answers.0);
    assert!(matches!(answers.1, Ok(Finished::LostLease)), "{:?}", answers.1);
    assert_eq!(answers.2.unwrap_err(), Refusal::OutOfStock);

    let mut read = store.read().await.unwrap();
    let mut c = read.conn();
    let order_status = |id: OrderId| format!("SELECT status FROM orders WHERE id = '{id}'");
    let job_status = |id: buynow_domain::JobId| format!("SELECT status FROM jobs WHERE id = '{id}'");
    let text = |row: buynow_store::Row| row.text(0).unwrap();
    assert_eq!(text(c.one(&order_status(placed[0].0.order.id), vec![]).await.unwrap()), "payment_authorized");
    assert_eq!(text(c.one(&job_status(placed[0].1.id), vec![]).await.unwrap()), "done");
    for (n, job) in &placed[1..] {
        assert_eq!(text(c.one(&order_status(n.order.id), vec![]).await.unwrap()), "placed", "nothing written");
        assert_eq!(text(c.one(&job_status(job.id), vec![]).await.unwrap()), "running", "not marked done");
    }
    drop(read);
    assert_eq!(count(&store, "order_timeline").await, 4, "three placements and one answer");
    assert_eq!(count(&store, "outbox").await, 4);
    assert_eq!(count(&store, "jobs").await, 4, "one release job added");
}

async fn a_key_whose_first_use_is_refused_is_never_answered_as_a_replay(store) {
    let (customer, address, card) = customer_with_defaults(&store, "sold-out@example.com").await;
    let mut tx = store.write().await.unwrap();
    catalog::set_on_hand(&mut tx.conn(), "S", "C1", 0).await.unwrap();
    tx.commit().await.unwrap();
    for round in 0..10 {
        // The same key twice at once: in one group the second finds the first's claim, then sees it given back.
        let key = format!("dup-{round}");
        let twice =
            futures::future::join_all((0..2).map(|_| store.place(placement(customer, card, address, &key, "h")))).await;
        for placed in &twice {
            assert!(
                matches!(placed, Err(Refusal::OutOfStock)) || matches!(placed, Err(Refusal::Store(e)) if e.contains("did not commit")),
                "{twice:?}"
            );
        }
    }
    assert_eq!(count(&store, "idempotency_keys").await, 0, "no key is kept for a refused placement");
    assert_eq!(count(&store, "orders").await, 0);
}

async fn a_read_run_apart_answers_from_what_is_committed_and_passes_its_errors_on(store) {
    let products =
        store.read_apart(|c| Box::pin(async move { c.one("SELECT COUNT(*) FROM products", vec![]).await?.int(0) })).await;
    assert_eq!(products.unwrap(), 1);
    let refused = store.read_apart(|c| Box::pin(async move { c.one("SELECT nothing FROM nowhere", vec![]).await })).await;
    assert!(refused.is_err());
}

async fn a_dropped_transaction_is_rolled_back(store) {
    {
        let mut tx = store.write().await.unwrap();
        assert!(catalog::reserve(&mut tx.conn(), "S", "C1", 3).await.unwrap());
        // dropped: an error or a cancelled request
    }
    let mut tx = store.write().await.unwrap();
    assert!(catalog::reserve(&mut tx.conn(), "S", "C1", 1).await.unwrap(), "the abandoned reservation was undone");
    tx.commit().await.unwrap();
    assert_eq!(level(&store).await, (3, 1));
}

async fn an_idempotency_key_claims_once_then_replays_or_conflicts(store) {
    let customer = CustomerId::new();
    let (first, second) = (OrderId::new(), OrderId::new());
    let mut tx = store.write().await.unwrap();
    let now = now_micros();
    assert_eq!(idempotency::claim(&mut tx.conn(), customer, "k", b"h1", first, now).await.unwrap(), Claim::New);
    assert_eq!(
        idempotency::claim(&mut tx.conn(), customer, "k", b"h1", second, now).await.unwrap(),
        Claim::Replay(first)
    );
    assert_eq!(idempotency::claim(&mut tx.conn(), customer, "k", b"h2", second, now).await.unwrap(), Claim::Conflict);
    assert_eq!(
        idempotency::claim(&mut tx.conn(), CustomerId::new(), "k", b"h1", second, now).await.unwrap(),
        Claim::New
    );
    tx.commit().await.unwrap();
}

async fn the_retention_sweep_deletes_a_bounded_batch_of_what_is_past_it_and_nothing_else(store) {
    let now = now_micros();
    let (old, cutoff) = (now - 10_000_000, now - 5_000_000);
    let mut tx = store.write().await.unwrap();
    let customer = CustomerId::new();
    for (i, at) in [old, old, old, old, old, now].into_iter().enumerate() {
        idempotency::claim(&mut tx.conn(), customer, &format!("k{i}"), b"h", OrderId::new(), at).await.unwrap();
    }
    for i in 0..3 {
        let id = jobs::enqueue(&mut tx.conn(), &job(&format!("done{i}"), old), old).await.unwrap().unwrap();
        let claimed = jobs::claim_one(&mut tx.conn(), id, old + 1).await.unwrap().unwrap();
        assert!(jobs::complete(&mut tx.conn(), &claimed, old).await.unwrap());
    }
    let waiting = jobs::enqueue(&mut tx.conn(), &job("waiting", old), old).await.unwrap().unwrap();
    for (id, published) in [("evt_a", Some(old)), ("evt_b", None), ("evt_c", Some(now))] {
        tx.conn()
            .exec(
                "INSERT INTO outbox (id, order_id, customer_id, kind, payload, created_at, published_at) \
                 VALUES ($1, 'ord_x', 'cus_x', 'order.placed', '{}', $2, $3)",
                buynow_store::args![id, old, published],
            )
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();

    let swept = sweep_until_done(&store, cutoff, 2).await;
    let swept: Vec<_> = swept.iter().map(|s| (s.keys, s.jobs, s.events, s.more)).collect();
    assert_eq!(swept, [(2, 2, 1, true), (2, 1, 0, true), (1, 0, 0, false)], "two of each kind per transaction");
    assert_eq!(count(&store, "idempotency_keys").await, 1, "the key used since the cutoff stays");
    assert_eq!(count(&store, "outbox").await, 2, "the unpublished and the recent event stay");
    let mut read = store.read().await.unwrap();
    assert_eq!(jobs::status(&mut read.conn(), waiting).await.unwrap().as_deref(), Some("queued"), "unfinished stays");
    assert_eq!(read.conn().one("SELECT COUNT(*) FROM jobs", vec![]).await.unwrap().int(0).unwrap(), 1);
}

async fn the_retention_sweep_deletes_sessions_ended_past_it_whichever_limit_ended_them(store) {
    let (ada, _, _) = customer_with_defaults(&store, "sessions@example.com").await;
    let now = now_micros();
    let (old, cutoff, later) = (now - 10_000_000, now - 5_000_000, now + 60_000_000);
    let mut tx = store.write().await.unwrap();
    for (token, expires, idle) in [
        ("expired-1", old - 2, old),
        ("expired-2", old - 1, later),
        ("expired-3", old, later),
        ("idle", later, old),
        ("ended-since-the-cutoff", now - 1, now - 1),
        ("live", later, later),
    ] {
        customers::insert_session(&mut tx.conn(), token, ada, expires, idle).await.unwrap();
    }
    tx.commit().await.unwrap();

    let swept: Vec<_> = sweep_until_done(&store, cutoff, 2).await.iter().map(|s| (s.sessions, s.more)).collect();
    assert_eq!(swept, [(3, true), (1, false)], "two per limit per transaction");
    let mut read = store.read().await.unwrap();
    let left = read.conn().all("SELECT token_hash FROM sessions ORDER BY token_hash", vec![]).await.unwrap();
    let left: Vec<String> = left.iter().map(|r| r.text(0).unwrap()).collect();
    assert_eq!(left, ["ended-since-the-cutoff", "live"]);
}

async fn a_prefilled_order_is_moved_to_delivered_with_everything_its_lifecycle_leaves(store) {
    use buynow_store::prefill::{self, Prefilled};
    let (order, payment, job) = placed_with_its_job(&store, "prefill@example.com").await;
    assert_eq!(level(&store).await, (3, 1));
    let mut tx = store.write().await.unwrap();
    prefill::deliver(&mut tx.conn(), &[Prefilled { order, job: job.id, at: now_micros() }]).await.unwrap();
    tx.commit().await.unwrap();

    let mut read = store.read().await.unwrap();
    let stored = orders::get(&mut read.conn(), order).await.unwrap().unwrap();
    assert_eq!(stored.status, OrderStatus::Delivered);
    let paid = payments::get(&mut read.conn(), payment).await.unwrap().unwrap();
    assert_eq!((paid.status, paid.captured), (PaymentStatus::Captured, paid.amount));
    assert_eq!(jobs::status(&mut read.conn(), job.id).await.unwrap().as_deref(), Some("done"));
    drop(read);
    assert_eq!(level(&store).await, (2, 0), "the unit it reserved has shipped");
    assert_eq!(count(&store, "captures").await, 1);
    assert_eq!(count(&store, "shipments WHERE status = 'delivered' AND delivered_at IS NOT NULL").await, 1);
    assert_eq!(count(&store, "order_timeline").await, 6, "placed, then five steps");
    assert_eq!(count(&store, "outbox WHERE published_at IS NULL").await, 0);
}

async fn a_job_is_enqueued_once_and_only_its_current_holder_completes_it(store) {
    let now = now_micros();
    let mut tx = store.write().await.unwrap();
    let id = jobs::enqueue(&mut tx.conn(), &job("a", now), now).await.unwrap().expect("new");
    assert_eq!(jobs::enqueue(&mut tx.conn(), &job("a", now), now).await.unwrap(), None, "deduplicated");
    jobs::enqueue(&mut tx.conn(), &job("later", now + 60_000_000), now).await.unwrap();

    let claimed = jobs::claim_due(&mut tx.conn(), now, now + 1_000, 10).await.unwrap();
    assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), [id], "only the due job");
    assert!(jobs::claim_due(&mut tx.conn(), now, now + 1_000, 10).await.unwrap().is_empty(), "leased");
    // The lease runs out (the worker died): another worker takes it over, as attempt 2.
    let again = jobs::claim_due(&mut tx.conn(), now + 2_000, now + 3_000, 10).await.unwrap();
    assert_eq!(again[0].attempt, 2);
    assert!(!jobs::complete(&mut tx.conn(), &claimed[0], now).await.unwrap(), "the first holder lost it");
    assert!(jobs::complete(&mut tx.conn(), &again[0], now).await.unwrap());
    assert_eq!(jobs::status(&mut tx.conn(), id).await.unwrap().as_deref(), Some("done"));
    assert!(jobs::claim_one(&mut tx.conn(), id, now).await.unwrap().is_none(), "done is done");
    tx.commit().await.unwrap();
}

async fn a_claim_takes_the_oldest_due_jobs_of_both_kinds_and_none_that_wait_for_later(store) {
    let now = now_micros();
    let mut tx = store.write().await.unwrap();
    // Most queued jobs wait for later, as every order's release waits for its hold window to pass.
    for i in 0..50 {
        jobs::enqueue(&mut tx.conn(), &job(&format!("later-{i}"), now + 60_000_000 + i), now).await.unwrap();
    }
    let due: Vec<_> = [300, 200, 100].iter().map(|&ago| job(&format!("due-{ago}"), now - ago)).collect();
    let mut ids = Vec::new();
    for j in &due {
        ids.push(jobs::enqueue(&mut tx.conn(), j, now).await.unwrap().unwrap());
    }
    // The oldest (300 µs ago) was taken by a worker whose lease has run out: it is due again, first.
    assert!(jobs::claim_one(&mut tx.conn(), ids[0], now - 1).await.unwrap().is_some());

    // The claim's rows come back in no set order (PostgreSQL's `RETURNING`): which rows, is what counts.
    let mut first = jobs::claim_due(&mut tx.conn(), now, now + 1_000, 2).await.unwrap();
    first.sort_by_key(|j| j.id);
    assert_eq!(first.iter().map(|j| j.id).collect::<Vec<_>>(), [ids[0], ids[1]], "the oldest, up to the limit");
    assert_eq!(first[0].attempt, 2, "the lapsed one is taken over");
    let rest = jobs::claim_due(&mut tx.conn(), now, now + 1_000, 10).await.unwrap();
    assert_eq!(rest.iter().map(|j| j.id).collect::<Vec<_>>(), [ids[2]], "none of those waiting for later");
    tx.commit().await.unwrap();
}

async fn a_fanned_out_delivery_is_written_claimed_and_claimed_again_only_when_its_lease_runs_out(store) {
    placed_with_its_job(&store, "fan@example.com").await;
    let now = now_micros();
    let mut tx = store.write().await.unwrap();
    let events = notifications::claim_events(&mut tx.conn(), 10).await.unwrap();
    let event = events.iter().find(|e| e.kind == EventKind::OrderPlaced).expect("the placement's event");
    let new = [
        NewDelivery { event, channel: Channel::Email, target: "cus" },
        NewDelivery { event, channel: Channel::Webhook, target: "sub_1" },
    ];
    // The first is written claimed, for the fan-out to send; the other waits for a claim.
    let claimed = notifications::add_deliveries(&mut tx.conn(), &new, now, 1, now + 1_000).await.unwrap();
    assert_eq!(claimed.iter().map(|d| d.channel).collect::<Vec<_>>(), [Channel::Email]);
    let due = notifications::claim_due(&mut tx.conn(), now, now + 1_000, 10).await.unwrap();
    assert_eq!(due.iter().map(|d| d.channel).collect::<Vec<_>>(), [Channel::Webhook], "not claimed twice");
    // Fanned out again (as after a crash): nothing written twice, nothing handed out to send.
    assert!(notifications::add_deliveries(&mut tx.conn(), &new, now, 2, now + 1_000).await.unwrap().is_empty());
    let written = tx.conn().one("SELECT COUNT(*) FROM deliveries", vec![]).await.unwrap().int(0).unwrap();
    assert_eq!(written, 2);
    // Its sender died: once the lease runs out, it is claimed as any other.
    let again = notifications::claim_due(&mut tx.conn(), now + 2_000, now + 3_000, 10).await.unwrap();
    assert!(again.iter().any(|d| d.id == claimed[0].id));
    tx.commit().await.unwrap();
}

async fn a_failed_job_is_retried_later_then_given_up(store) {
    let now = now_micros();
    let mut tx = store.write().await.unwrap();
    let id = jobs::enqueue(&mut tx.conn(), &job("b", now), now).await.unwrap().unwrap();
    let j = jobs::claim_one(&mut tx.conn(), id, now + 1_000).await.unwrap().unwrap();
    jobs::retry_or_fail(&mut tx.conn(), &j, false, now + 5_000, "timeout", now).await.unwrap();
    assert!(jobs::claim_due(&mut tx.conn(), now + 4_000, now + 9_000, 10).await.unwrap().is_empty(), "backing off");
    let j = jobs::claim_due(&mut tx.conn(), now + 5_000, now + 9_000, 10).await.unwrap().remove(0);
    jobs::retry_or_fail(&mut tx.conn(), &j, true, now, "gave up", now).await.unwrap();
    assert_eq!(jobs::status(&mut tx.conn(), id).await.unwrap().as_deref(), Some("failed"));
    tx.commit().await.unwrap();
}

async fn a_key_rotation_finds_the_cards_under_other_keys_and_replaces_each_envelope_once(store) {
    let (_, _, card) = customer_with_defaults(&store, "rotate@example.com").await;
    let mut tx = store.write().await.unwrap();
    let mut c = tx.conn();
    assert_eq!(customers::cards_by_key(&mut c).await.unwrap(), vec![("k1".to_string(), true, 1)]);
    let due = customers::cards_to_rewrap(&mut c, "k2", "", 10).await.unwrap();
    assert_eq!(due.iter().map(|d| d.id).collect::<Vec<_>>(), vec![card]);
    assert!(customers::cards_to_rewrap(&mut c, "k2", &card.to_string(), 10).await.unwrap().is_empty(), "after it");
    assert!(customers::replace_envelope(&mut c, card, "k1", "k2", vec![7], vec![8]).await.unwrap());
    assert!(!customers::replace_envelope(&mut c, card, "k1", "k3", vec![9], vec![9]).await.unwrap(), "moved on");
    assert!(customers::cards_to_rewrap(&mut c, "k2", "", 10).await.unwrap().is_empty());
    assert_eq!(customers::cards_by_key(&mut c).await.unwrap(), vec![("k2".to_string(), true, 1)]);
    tx.commit().await.unwrap();
}

async fn two_spends_of_one_balance_at_once_never_overdraw_it_and_a_movement_happens_once(store) {
    use buynow_domain::ledger::{Account, LedgerError, Movement};
    let (ada, _, _) = customer_with_defaults(&store, "gift@example.com").await;
    let card = GiftCard {
        id: buynow_domain::GiftCardId::new(),
        code_last4: "WXYZ".into(),
        amount: Money::usd(1000),
        issued_by: "admin".into(),
        redeemed_by: None,
        redeemed_at: None,
        created_at: now_micros(),
    };
    let mut tx = store.write().await.unwrap();
    assert_eq!(gift_cards::issue(&mut tx.conn(), &card, "hash", now_micros()).await.unwrap(), Posted::Done);
    assert!(matches!(gift_cards::redeem(&mut tx.conn(), "hash", ada, now_micros()).await.unwrap(), Redeemed::Now(_)));
    tx.commit().await.unwrap();
    // Two transactions each spend 700 of the 1000 at once: one does, the other is refused.
    let spend = |key: &'static str| {
        let store = store.clone();
        async move {
            let order = OrderId::new();
            let mut tx = store.write().await.unwrap();
            let m = Movement::Spend { customer: ada, order, amount: Money::usd(700) };
            let posted = gift_cards::post(&mut tx.conn(), key, &m, Some(order), now_micros()).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            tx.commit().await.unwrap();
            posted
        }
    };
    let (a, b) = tokio::join!(spend("spend:a"), spend("spend:b"));
    let mut got = [a, b];
    got.sort_by_key(|p| format!("{p:?}"));
    assert_eq!(got[0], Posted::Done, "{got:?}");
    assert!(matches!(got[1], Posted::Refused(LedgerError::Insufficient { available: 300, wanted: 700, .. })), "{got:?}");
    let mut tx = store.write().await.unwrap();
    let again = Movement::Spend { customer: ada, order: OrderId::new(), amount: Money::usd(100) };
    assert_eq!(gift_cards::post(&mut tx.conn(), "spend:a", &again, None, now_micros()).await.unwrap(), Posted::AlreadyDone);
    assert_eq!(gift_cards::balance(&mut tx.conn(), &Account::Customer(ada)).await.unwrap(), 300);
    assert_eq!(gift_cards::ledger_sum(&mut tx.conn()).await.unwrap(), 0);
    tx.commit().await.unwrap();
}
}

#[tokio::test]
async fn a_database_url_other_than_sqlite_is_refused_clearly() {
    for url in ["mysql://x", "sqlite::memory:", "buynow.db"] {
        let err = Store::open(url).await.err().expect("refused");
        assert!(err.to_string().contains("sqlite://PATH or postgres://"), "{url}: {err}");
    }
    let err = Store::open("mysql://root:secret@db/shop").await.err().expect("refused");
    assert!(!err.to_string().contains("secret"), "the password is not repeated: {err}");
}

/// A kept PostgreSQL reader whose connection the server ended is not lent again: the one read that meets it
/// fails (as a 503 would tell its caller), and the reads after it get live connections.
#[tokio::test]
async fn a_reader_whose_connection_the_server_ended_is_not_lent_again() {
    let Some(db) = TestDb::postgres("ended_reader").await else { return };
    let store = db.open().await;
    fixture(&store).await;
    let pid = |row: buynow_store::Row| row.int(0).unwrap();
    let ended = pid(store.read().await.unwrap().conn().one("SELECT pg_backend_pid()::bigint", vec![]).await.unwrap());
    let mut tx = store.write().await.unwrap();
    let sql = format!("SELECT pg_terminate_backend({ended})::int::bigint");
    assert_eq!(tx.conn().one(&sql, vec![]).await.unwrap().int(0).unwrap(), 1);
    tx.commit().await.unwrap();
    let mut failed = 0;
    for _ in 0..5 {
        let mut read = store.read().await.unwrap();
        match read.conn().one("SELECT pg_backend_pid()::bigint", vec![]).await {
            Ok(row) => assert_ne!(pid(row), ended),
            Err(e) => {
                assert!(e.is_unavailable(), "a 503, to be tried again: {e}");
                failed += 1;
            }
        }
    }
    assert!(failed <= 1, "{failed} reads met the ended connection");
}

/// A PostgreSQL group writer keeps its connection from one group to the next (see `pg_group_conn`). When the
/// server ends it between groups, the next group begins on a new one, and no placement fails for it.
#[tokio::test]
async fn a_group_writer_whose_connection_the_server_ended_begins_on_a_new_one() {
    let Some(db) = TestDb::postgres("ended_group_writer").await else { return };
    let store = db.open().await;
    fixture(&store).await;
    let (customer, address, card) = customer_with_defaults(&store, "ended-writer@example.com").await;
    let placed = |key: &str| store.place(placement(customer, card, address, key, "h"));
    assert!(matches!(placed("k0").await, Ok(Placed::New { .. })));
    let writers =
        "FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'buynow group writer'";
    let mut tx = store.write().await.unwrap();
    let sql = format!("SELECT COUNT(pg_terminate_backend(pid))::bigint {writers}");
    assert!(tx.conn().one(&sql, vec![]).await.unwrap().int(0).unwrap() >= 1, "the placement writer's connection");
    tx.commit().await.unwrap();
    // Only once the ended sessions are gone is the next group sure to meet a dead connection.
    let sql = format!("SELECT COUNT(*) {writers}");
    for _ in 0..100 {
        if store.read().await.unwrap().conn().one(&sql, vec![]).await.unwrap().int(0).unwrap() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for key in ["k1", "k2"] {
        let result = placed(key).await;
        assert!(matches!(result, Ok(Placed::New { .. })), "{key}: {result:?}");
    }
}

/// A PostgreSQL store closes although its group writers keep their connections: a closing pool waits for every
/// connection, and a writer with nothing to do gives its own back.
#[tokio::test]
async fn a_store_closes_while_its_group_writers_keep_their_connections() {
    let Some(db) = TestDb::postgres("closing_groups").await else { return };
    let store = db.open().await;
    fixture(&store).await;
    let (order, payment, job) = placed_with_its_job(&store, "closing@example.com").await;
    let decide: Decide<&'static str, Refusal> = Box::new(|_, _| Ok(Decision::Write(authorized(), "authorized")));
    let finished = store.finish_order_job(OrderJob { job, order, payment, decide }).await;
    assert!(matches!(finished, Ok(Finished::Done("authorized"))), "{finished:?}");
    let closed = tokio::time::timeout(std::time::Duration::from_secs(10), store.close()).await;
    assert!(closed.is_ok(), "the store did not close in 10 s");
}

/// A PostgreSQL read given up half-way (its request cancelled) leaves its reader with an answer still to come; the
/// reader is kept and lent again, and the next read on it gets its own answer, never the one left behind.
#[tokio::test]
async fn a_read_given_up_half_way_leaves_its_reader_fit_for_the_next_read() {
    let Some(db) = TestDb::postgres("given_up_read").await else { return };
    let store = db.open().await;
    let text = |row: buynow_store::Row| row.text(0).unwrap();
    // A connection-level error in any test of this process retires every kept reader, so a round may get a new
    // one; most rounds get the reader back.
    let mut reused = 0;
    for round in 0..5 {
        let pid = {
            let mut read = store.read().await.unwrap();
            let mut c = read.conn();
            let pid = text(c.one("SELECT pg_backend_pid()::text", vec![]).await.unwrap());
            let slow = c.one("SELECT 'left behind' || pg_sleep(0.3)::text", vec![]);
            assert!(tokio::time::timeout(std::time::Duration::from_millis(50), slow).await.is_err(), "given up");
            pid
        };
        let mut read = store.read().await.unwrap();
        let mut c = read.conn();
        let sql = format!("SELECT 'round {round}', pg_backend_pid()::text");
        let row = c.one(&sql, vec![]).await.unwrap();
        reused += usize::from(row.text(1).unwrap() == pid);
        assert_eq!(text(row), format!("round {round}"));
    }
    assert!(reused > 0, "the reader left with an answer to come was never lent again");
}

/// Two processes' stores on one PostgreSQL database, placing at once under the same keys in opposite orders, on
/// different SKUs (so their groups do not queue behind each other for stock rows): each group claims its keys
/// in one order, so neither waits on the other in a cycle (a deadlock would fail a whole group with a 503),
/// and each key makes one order, which the other store replays. (Claiming in arrival order fails this.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_placing_under_the_same_keys_make_one_order_each_and_never_deadlock() {
    let Some(db) = TestDb::postgres("two_stores").await else { return };
    let (one, two) = (db.open().await, db.open().await);
    fixture(&one).await;
    let mut tx = one.write().await.unwrap();
    catalog::insert_product(&mut tx.conn(), &product("T")).await.unwrap();
    catalog::set_on_hand(&mut tx.conn(), "S", "C1", 1000).await.unwrap();
    catalog::set_on_hand(&mut tx.conn(), "T", "C1", 1000).await.unwrap();
    tx.commit().await.unwrap();
    let (customer, address, card) = customer_with_defaults(&one, "twice@example.com").await;

    for round in 0..5 {
        let keys: Vec<String> = (0..40).map(|i| format!("r{round}-k{i}")).collect();
        let (a, b) = futures::future::join(
            futures::future::join_all(
                keys.iter().map(|k| one.place(placement_of("S", customer, card, address, k, "h"))),
            ),
            futures::future::join_all(
                keys.iter().rev().map(|k| two.place(placement_of("T", customer, card, address, k, "h"))),
            ),
        )
        .await;
        let placed: Vec<_> = keys.iter().zip(&a).chain(keys.iter().rev().zip(&b)).collect();
        let mut orders = std::collections::HashMap::new();
        for (key, placed) in &placed {
            match placed {
                Ok(Placed::New { order, .. }) => {
                    assert!(orders.insert(*key, order.order.id).is_none(), "{key}: two orders")
                }
                Ok(Placed::Taken(Claim::Replay(_))) => {}
                other => panic!("{key}: {other:?}"),
            }
        }
        assert_eq!(orders.len(), keys.len(), "every key made its order");
        for (key, placed) in &placed {
            if let Ok(Placed::Taken(Claim::Replay(id))) = placed {
                assert_eq!(orders[*key], *id, "{key}: the replay names the key's order");
            }
        }
    }
    assert_eq!(count(&one, "orders").await, 200);
}

/// Keys an earlier version stored as text (the key itself, the request's SHA-256 in hex): after the upgrade each
/// still replays its order for the same request and conflicts for another, on both back ends (SQLite carries
/// them over in Rust, a thousand at a time; PostgreSQL in SQL).
async fn keys_stored_as_text_still_answer_after_the_upgrade(backend: Backend) {
    let Some(db) = TestDb::new(backend, "compact keys upgrade").await else { return };
    let before = match backend {
        Backend::Sqlite => 17,
        Backend::Postgres => 21,
    };
    let (customer, order) = (CustomerId::new(), OrderId::new());
    // SHA-256 of "the request", as the text era stored it.
    let request_hash = "e05da7415785d85884c1170fc1d7b1a0b87056a90a312c3c2957ed0eba9571be";
    {
        let old = Store::open_at_version(db.url(), before).await.unwrap();
        let mut tx = old.write().await.unwrap();
        let insert = "INSERT INTO idempotency_keys (customer_id, key, request_hash, order_id, last_used_at) \
                      VALUES ($1, $2, $3, $4, $5)";
        let args = buynow_store::args![customer.to_string(), "the key ✓", request_hash, order.to_string(), 7];
        tx.conn().exec(insert, args).await.unwrap();
        // More than one of SQLite's chunks, of another customer.
        let bulk = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500) \
                    INSERT INTO idempotency_keys (customer_id, key, request_hash, order_id, last_used_at) \
                    SELECT $1, 'bulk-' || i, $2, $3, i FROM n";
        let args = buynow_store::args![CustomerId::new().to_string(), request_hash, OrderId::new().to_string()];
        tx.conn().exec(bulk, args).await.unwrap();
        tx.commit().await.unwrap();
        old.close().await;
    }

    let store = db.open().await;
    assert_eq!(count(&store, "idempotency_keys").await, 2501, "every key carried over");
    let mut tx = store.write().await.unwrap();
    let (retry, other) = (OrderId::new(), OrderId::new());
    let replay = idempotency::claim(&mut tx.conn(), customer, "the key ✓", b"the request", retry, 8).await.unwrap();
    assert_eq!(replay, Claim::Replay(order));
    let conflict = idempotency::claim(&mut tx.conn(), customer, "the key ✓", b"another", other, 8).await.unwrap();
    assert_eq!(conflict, Claim::Conflict);
    tx.commit().await.unwrap();
    let mut read = store.read().await.unwrap();
    let sql = "SELECT last_used_at FROM idempotency_keys WHERE key_digest = $1";
    let row = read.conn().one(sql, buynow_store::args![Digest::of("the key ✓".as_bytes()).bytes().to_vec()]).await;
    assert_eq!(row.unwrap().int(0).unwrap(), 7, "its last use came along");
}

#[tokio::test]
async fn keys_stored_as_text_still_answer_after_the_upgrade_on_sqlite() {
    keys_stored_as_text_still_answer_after_the_upgrade(Backend::Sqlite).await;
}

#[tokio::test]
async fn keys_stored_as_text_still_answer_after_the_upgrade_on_postgres() {
    keys_stored_as_text_still_answer_after_the_upgrade(Backend::Postgres).await;
}

/// A long read run apart leaves the async runtime free: on SQLite its statements run on a thread of their own.
/// This runtime has one thread, so a read run on it would hold the ticks below until it ended (none would come);
/// apart, about thirty come, and a few are asked for so that a loaded machine does not fail it.
#[tokio::test]
async fn a_read_run_apart_on_sqlite_does_not_hold_the_async_workers() {
    let db = TestDb::sqlite();
    let store = db.open().await;
    fixture(&store).await;
    let ticks = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let ticker = {
        let ticks = ticks.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        })
    };
    let products = store
        .read_apart(|c| {
            Box::pin(async move {
                // Stands for a read of many rows: it keeps its thread busy for a while.
                std::thread::sleep(std::time::Duration::from_millis(300));
                c.one("SELECT COUNT(*) FROM products", vec![]).await?.int(0)
            })
        })
        .await
        .unwrap();
    ticker.abort();
    assert_eq!(products, 1);
    assert!(ticks.load(std::sync::atomic::Ordering::Relaxed) >= 3, "the runtime waited for the read");
}
