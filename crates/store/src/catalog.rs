//! Products, fulfillment centers and stock per center.

use crate::db::Cols;
use crate::{args, Conn, Row, StoreError};
use buynow_domain::{Currency, Money, SellerId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Center {
    pub code: String,
    pub name: String,
    pub time_zone: String,
    pub cutoff_minute: u32,
    /// ISO weekday numbers (1 = Monday … 7 = Sunday).
    pub operating_days: Vec<u32>,
    pub holidays: Vec<String>,
    pub rank: u32,
    pub is_default: bool,
    /// The center's postal address, JSON (empty for a center made before addresses were kept).
    pub address: String,
    /// Its box table, JSON; empty for the standard one.
    pub boxes: String,
    /// Set when this is a marketplace seller's own place, from which only that seller ships.
    pub seller_id: Option<SellerId>,
}

/// Creates the center or replaces what is known of it. Every process notices within seconds (see
/// `centers_version`).
pub async fn upsert_center(c: &mut Conn<'_>, center: &Center) -> Result<(), StoreError> {
    let days: String = center.operating_days.iter().map(|d| d.to_string()).collect();
    c.exec(
        "INSERT INTO centers (code, name, time_zone, cutoff_minute, operating_days, holidays, rank, is_default, \
         address, boxes, seller_id, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, time_zone = excluded.time_zone, \
         cutoff_minute = excluded.cutoff_minute, operating_days = excluded.operating_days, \
         holidays = excluded.holidays, rank = excluded.rank, is_default = excluded.is_default, \
         address = excluded.address, boxes = excluded.boxes, seller_id = excluded.seller_id, \
         updated_at = excluded.updated_at",
        args![
            &center.code,
            &center.name,
            &center.time_zone,
            center.cutoff_minute,
            days,
            center.holidays.join(","),
            center.rank,
            center.is_default,
            &center.address,
            &center.boxes,
            center.seller_id.map(|s| s.to_string()),
            crate::now_micros()
        ],
    )
    .await
    .map(drop)
}

/// Makes `code` the one default center (where stock goes when no center is named).
pub async fn set_default_center(c: &mut Conn<'_>, code: &str) -> Result<(), StoreError> {
    c.exec(
        "UPDATE centers SET is_default = CASE WHEN code = $1 THEN 1 ELSE 0 END, updated_at = $2",
        args![code, crate::now_micros()],
    )
    .await
    .map(drop)
}

pub async fn centers(c: &mut Conn<'_>) -> Result<Vec<Center>, StoreError> {
    let rows = c
        .all(
            "SELECT code, name, time_zone, cutoff_minute, operating_days, holidays, rank, is_default, address, boxes, \
             seller_id FROM centers ORDER BY rank, code",
            args![],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Center {
                code: r.text("code")?,
                name: r.text("name")?,
                time_zone: r.text("time_zone")?,
                cutoff_minute: u32::try_from(r.int("cutoff_minute")?)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                operating_days: r.text("operating_days")?.chars().filter_map(|ch| ch.to_digit(10)).collect(),
                holidays: r.text("holidays")?.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect(),
                rank: u32::try_from(r.int("rank")?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                is_default: r.flag("is_default")?,
                address: r.text("address")?,
                boxes: r.text("boxes")?,
                seller_id: r
                    .opt_text("seller_id")?
                    .map(|s| SellerId::parse(&s))
                    .transpose()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            })
        })
        .collect()
}

/// A cheap fingerprint of the centers table: it changes whenever a center is added or changed, so a process
/// knows to reload its cached calendars.
pub async fn centers_version(c: &mut Conn<'_>) -> Result<(i64, i64), StoreError> {
    let r = c.one("SELECT COUNT(*), CAST(COALESCE(MAX(updated_at), 0) AS BIGINT) FROM centers", args![]).await?;
    Ok((r.int(0)?, r.int(1)?))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub sku: String,
    pub title: String,
    pub price: Money,
    pub prime_eligible: bool,
    /// `store`, or the id of the marketplace seller who ships it.
    pub fulfilled_by: String,
    pub weight_grams: u32,
    /// Outer size in millimetres: length, width, height.
    pub size_mm: [u32; 3],
    /// Where it may not be sent: countries (`CA`) or country-regions (`US-HI`).
    pub not_shippable_to: Vec<String>,
}

impl Product {
    pub fn fulfilled_by_store(&self) -> bool {
        self.fulfilled_by == "store"
    }

    /// The seller who ships it, when it is not the store.
    pub fn seller(&self) -> Option<SellerId> {
        SellerId::parse(&self.fulfilled_by).ok()
    }

    /// A product of the given basics, with the default size and weight and no shipping limits.
    pub fn new(sku: &str, title: &str, price: Money, prime_eligible: bool, fulfilled_by: &str) -> Product {
        Product {
            sku: sku.into(),
            title: title.into(),
            price,
            prime_eligible,
            fulfilled_by: fulfilled_by.into(),
            weight_grams: 500,
            size_mm: [200, 150, 100],
            not_shippable_to: Vec::new(),
        }
    }

    /// Whether it may be sent to `country` / `region`.
    pub fn ships_to(&self, country: &str, region: &str) -> bool {
        let place = format!("{country}-{region}");
        !self.not_shippable_to.iter().any(|n| n == country || *n == place)
    }
}

pub(crate) const PRODUCT_COLS: &str = "sku, title, price, currency, prime_eligible, fulfilled_by, weight_grams, \
    length_mm, width_mm, height_mm, not_shippable_to";

fn product(r: &Row) -> Result<Product, StoreError> {
    product_at(r, 0)
}

/// The product in the columns from `at` on (`PRODUCT_COLS`' order).
pub(crate) fn product_at(r: &Row, at: usize) -> Result<Product, StoreError> {
    let c = Cols::new(PRODUCT_COLS, at);
    let currency = r.parsed(c.get("currency"), Currency::parse)?;
    Ok(Product {
        sku: r.text(c.get("sku"))?,
        title: r.text(c.get("title"))?,
        price: Money::new(r.int(c.get("price"))?, currency),
        prime_eligible: r.flag(c.get("prime_eligible"))?,
        fulfilled_by: r.text(c.get("fulfilled_by"))?,
        weight_grams: dimension(r, c.get("weight_grams"))?,
        size_mm: [
            dimension(r, c.get("length_mm"))?,
            dimension(r, c.get("width_mm"))?,
            dimension(r, c.get("height_mm"))?,
        ],
        not_shippable_to: r
            .text(c.get("not_shippable_to"))?
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

fn dimension(r: &Row, i: usize) -> Result<u32, StoreError> {
    u32::try_from(r.int(i)?).map_err(|e| StoreError::Corrupt(format!("column {i}: {e}")))
}

/// Creates a product; an existing SKU is `Err` with `is_unique_violation()`.
pub async fn insert_product(c: &mut Conn<'_>, p: &Product) -> Result<(), StoreError> {
    c.exec(
        "INSERT INTO products (sku, title, price, currency, prime_eligible, fulfilled_by, weight_grams, length_mm, \
         width_mm, height_mm, not_shippable_to, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        args![
            &p.sku,
            &p.title,
            p.price.minor(),
            p.price.currency().code(),
            p.prime_eligible,
            &p.fulfilled_by,
            p.weight_grams,
            p.size_mm[0],
            p.size_mm[1],
            p.size_mm[2],
            p.not_shippable_to.join(","),
            crate::now_micros()
        ],
    )
    .await
    .map(drop)
}

pub async fn product_by_sku(c: &mut Conn<'_>, sku: &str) -> Result<Option<Product>, StoreError> {
    let sql = format!("SELECT {PRODUCT_COLS} FROM products WHERE sku = $1");
    c.opt(&sql, args![sku]).await?.as_ref().map(product).transpose()
}

/// A product with what can still be sold of it, across all centers.
#[derive(Debug, Clone)]
pub struct Listing {
    pub product: Product,
    pub available: i64,
}

pub async fn listings(c: &mut Conn<'_>, sku: Option<&str>) -> Result<Vec<Listing>, StoreError> {
    let cols = crate::db::qualified("p", PRODUCT_COLS).join(", ");
    let sql = format!(
        "SELECT {cols}, \
         CAST(COALESCE((SELECT SUM(s.on_hand - s.reserved) FROM stock s WHERE s.sku = p.sku), 0) AS BIGINT) AS available \
         FROM products p WHERE ($1 IS NULL OR p.sku = $1) ORDER BY p.sku"
    );
    let rows = c.all(&sql, args![sku]).await?;
    rows.iter().map(|r| Ok(Listing { product: product(r)?, available: r.int("available")? })).collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockLevel {
    pub center: String,
    pub on_hand: i64,
    pub reserved: i64,
}

impl StockLevel {
    pub fn available(&self) -> i64 {
        self.on_hand - self.reserved
    }
}

pub async fn stock_levels(c: &mut Conn<'_>, sku: &str) -> Result<Vec<StockLevel>, StoreError> {
    let rows = c.all("SELECT center, on_hand, reserved FROM stock WHERE sku = $1 ORDER BY center", args![sku]).await?;
    rows.iter()
        .map(|r| Ok(StockLevel { center: r.text("center")?, on_hand: r.int("on_hand")?, reserved: r.int("reserved")? }))
        .collect()
}

/// Sets what is on hand; refused by the database (check violation) if that would be below what is reserved.
pub async fn set_on_hand(c: &mut Conn<'_>, sku: &str, center: &str, on_hand: i64) -> Result<(), StoreError> {
    c.exec(
        "INSERT INTO stock (sku, center, on_hand, reserved) VALUES ($1, $2, $3, 0) \
         ON CONFLICT (sku, center) DO UPDATE SET on_hand = excluded.on_hand",
        args![sku, center, on_hand],
    )
    .await
    .map(drop)
}

/// Reserves `quantity` if that much is free; `false` when it is not (nothing changes).
pub async fn reserve(c: &mut Conn<'_>, sku: &str, center: &str, quantity: u32) -> Result<bool, StoreError> {
    Ok(c.exec(RESERVE, args![sku, center, quantity]).await? == 1)
}

const RESERVE: &str =
    "UPDATE stock SET reserved = reserved + $3 WHERE sku = $1 AND center = $2 AND on_hand - reserved >= $3";

/// Takes shipped units off the shelf: what was reserved for them leaves with them.
pub async fn ship(c: &mut Conn<'_>, sku: &str, center: &str, quantity: u32) -> Result<(), StoreError> {
    let n = c
        .exec(
            "UPDATE stock SET on_hand = on_hand - $3, reserved = reserved - $3 \
             WHERE sku = $1 AND center = $2 AND reserved >= $3",
            args![sku, center, quantity],
        )
        .await?;
    if n != 1 {
        return Err(StoreError::Corrupt(format!("shipping {quantity} of {sku} at {center}: not that much reserved")));
    }
    Ok(())
}

/// Units found missing at a pick: off the shelf and out of the reservation made for them.
pub async fn write_off_reserved(c: &mut Conn<'_>, sku: &str, center: &str, quantity: u32) -> Result<(), StoreError> {
    ship(c, sku, center, quantity).await
}

/// Units back on the shelf (a return received in sellable condition).
pub async fn restock(c: &mut Conn<'_>, sku: &str, center: &str, quantity: u32) -> Result<(), StoreError> {
    c.exec(
        "INSERT INTO stock (sku, center, on_hand, reserved) VALUES ($1, $2, $3, 0) \
         ON CONFLICT (sku, center) DO UPDATE SET on_hand = stock.on_hand + excluded.on_hand",
        args![sku, center, quantity],
    )
    .await
    .map(drop)
}

/// Gives a reservation back (a cancelled order).
pub async fn release(c: &mut Conn<'_>, sku: &str, center: &str, quantity: u32) -> Result<(), StoreError> {
    let n = c
        .exec(
            "UPDATE stock SET reserved = reserved - $3 WHERE sku = $1 AND center = $2 AND reserved >= $3",
            args![sku, center, quantity],
        )
        .await?;
    if n != 1 {
        return Err(StoreError::Corrupt(format!("releasing {quantity} of {sku} at {center}: not that much reserved")));
    }
    Ok(())
}

/// The stock rows of `skus`, by SKU, locked until the transaction ends (on PostgreSQL; SQLite's one writer
/// holds the whole database already). Rows are locked in (SKU, center) order, the order every placement
/// uses, so that two transactions wanting some of the same rows cannot deadlock.
pub async fn lock_stock(
    c: &mut Conn<'_>,
    skus: &[&str],
) -> Result<std::collections::HashMap<String, Vec<StockLevel>>, StoreError> {
    let mut levels: std::collections::HashMap<String, Vec<StockLevel>> = std::collections::HashMap::new();
    match c.backend() {
        crate::Backend::Postgres => {
            for r in c.all(LOCK_STOCK, vec![lock_stock_arg(skus)]).await? {
                add_locked_level(&mut levels, &r, 0)?;
            }
        }
        crate::Backend::Sqlite => {
            let mut sorted = skus.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            for sku in sorted {
                levels.insert(sku.to_string(), stock_levels(c, sku).await?);
            }
        }
    }
    Ok(levels)
}

/// `lock_stock`'s PostgreSQL statement, its SKUs in `$1` (see `lock_stock_arg`); also run inside another (see
/// `placement`).
/// The columns of a locked stock row, in `LOCK_STOCK`'s order.
const LOCKED_COLS: &str = "sku, center, on_hand, reserved";

pub(crate) const LOCK_STOCK: &str =
    "SELECT sku, center, on_hand, reserved FROM stock WHERE sku = ANY($1) ORDER BY sku, center FOR UPDATE";

pub(crate) fn lock_stock_arg(skus: &[&str]) -> crate::Arg {
    crate::Arg::Texts(skus.iter().map(|s| s.to_string()).collect())
}

/// Adds the stock level in `LOCK_STOCK`'s columns, from `at` on, to `levels`.
pub(crate) fn add_locked_level(
    levels: &mut std::collections::HashMap<String, Vec<StockLevel>>,
    r: &crate::Row,
    at: usize,
) -> Result<(), StoreError> {
    let c = Cols::new(LOCKED_COLS, at);
    let level = StockLevel {
        center: r.text(c.get("center"))?,
        on_hand: r.int(c.get("on_hand"))?,
        reserved: r.int(c.get("reserved"))?,
    };
    levels.entry(r.text(c.get("sku"))?).or_default().push(level);
    Ok(())
}

/// A quantity of a SKU to reserve at a center.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub sku: String,
    pub center: String,
    pub quantity: i64,
}

/// The writes that reserve all of `wanted` (among others, see `Conn::together`), and the count of changed rows
/// that means all of it was free; less means the transaction must be rolled back. Each is a guarded
/// update, made once per (SKU, center) for the sum wanted there, in (SKU, center) order; on PostgreSQL all in one
/// statement.
pub fn reserve_writes(backend: crate::Backend, wanted: &[Reservation]) -> (Vec<crate::Write<'static>>, u64) {
    let mut sums: std::collections::BTreeMap<(&str, &str), i64> = std::collections::BTreeMap::new();
    for r in wanted {
        *sums.entry((r.sku.as_str(), r.center.as_str())).or_default() += r.quantity;
    }
    let expected = sums.len() as u64;
    if sums.is_empty() {
        return (Vec::new(), 0);
    }
    let writes = match backend {
        crate::Backend::Postgres => {
            let (mut skus, mut centers, mut quantities) = (Vec::new(), Vec::new(), Vec::new());
            for ((sku, center), quantity) in &sums {
                skus.push(sku.to_string());
                centers.push(center.to_string());
                quantities.push(*quantity);
            }
            vec![crate::Write::Sql {
                sql: "UPDATE stock s SET reserved = s.reserved + r.quantity \
                      FROM UNNEST($1::text[], $2::text[], $3::bigint[]) AS r(sku, center, quantity) \
                      WHERE s.sku = ANY($1::text[]) AND s.sku = r.sku AND s.center = r.center \
                      AND s.on_hand - s.reserved >= r.quantity",
                args: vec![crate::Arg::Texts(skus), crate::Arg::Texts(centers), crate::Arg::Ints(quantities)],
            }]
        }
        crate::Backend::Sqlite => sums
            .into_iter()
            .map(|((sku, center), quantity)| crate::Write::Sql { sql: RESERVE, args: args![sku, center, quantity] })
            .collect(),
    };
    (writes, expected)
}
