//! `buynow bench --soak`: a steady load for a long while, reported minute by minute, to see whether anything
//! grows that should not — the process's memory, the database beyond its orders, the lag of jobs and messages —
//! or whether Buy Now slows as the hours pass.

use super::{Bench, Target};
use anyhow::Context;
use buynow_store::{args, Backend, Store};
use plotters::prelude::*;
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

pub struct Soak<'a> {
    pub minutes: u64,
    /// Orders per second, spread evenly over the clients.
    pub rate: f64,
    pub database: &'a str,
    /// One session token per client.
    pub clients: &'a [String],
    pub skus: &'a [String],
}

/// Requests waiting for their answers at once, past which a due request is not sent and counts as an error: a
/// server this far behind is failing the soak, and an unbounded queue of requests would only hide where.
const MAX_IN_FLIGHT: usize = 4096;

/// One minute of the soak.
#[derive(Serialize, Clone, Debug)]
pub struct Minute {
    minute: u64,
    orders_per_sec: f64,
    p99_ms: f64,
    errors: u64,
    /// This process's resident memory: the server's, with the bench's clients (`None` with `--url`).
    rss_mb: Option<f64>,
    db_mb: f64,
    orders_kept: i64,
    /// p99 of how long after it was due each job that finished this minute finished (about one in ten, sampled).
    job_lag_p99_s: f64,
    /// p99 of how long after its event each message sent this minute was sent (about one in ten, sampled).
    message_lag_p99_s: f64,
    /// The longest any due job, unpublished event or due message had waited at the minute's end.
    oldest_waiting_s: f64,
    /// Seconds of open write transactions per second of the minute: on SQLite, how busy its one writer was
    /// (from the server's `/metrics`; `None` where it could not be read).
    writes_busy: Option<f64>,
    /// The source lines whose write transactions were open longest this minute, with their seconds per second.
    top_writes: Vec<(String, f64)>,
}

/// The requests of the minute under way.
#[derive(Default)]
struct Window {
    latencies_us: Mutex<Vec<u32>>,
    placed: AtomicU64,
    errors: AtomicU64,
}

pub async fn run(args: &Bench, client: &reqwest::Client, target: &Target, soak: Soak<'_>) -> anyhow::Result<()> {
    let window = Arc::new(Window::default());
    let stop = Arc::new(AtomicBool::new(false));
    let run_id = format!("{:x}", buynow_store::now_micros() % 0xffff_ffff);
    let every = Duration::from_secs_f64(soak.clients.len() as f64 / soak.rate);
    let started = Instant::now();
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let clients: Vec<_> = soak
        .clients
        .iter()
        .enumerate()
        .map(|(c, token)| {
            let (window, stop, client, token) = (window.clone(), stop.clone(), client.clone(), token.clone());
            let (url, skus, run_id) = (target.url.clone(), soak.skus.to_vec(), run_id.clone());
            let random_keys = args.random_keys;
            // The clients' requests are spread evenly over each period rather than sent all at once.
            let first = started + every.mul_f64(c as f64 / soak.clients.len() as f64);
            let in_flight = in_flight.clone();
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval_at(first.into(), every);
                // Requests leave on their schedule whether or not the answers before them came back, as a shop's
                // customers do not wait for each other: a client that waited for each answer would send fewer
                // requests exactly when the server is slow, and its p99 would leave out the wait it skipped.
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                let mut n = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let due = ticks.tick().await;
                    n += 1;
                    let Ok(permit) = in_flight.clone().try_acquire_owned() else {
                        window.errors.fetch_add(1, Ordering::Relaxed);
                        continue;
                    };
                    let request = client
                        .post(format!("{url}/v1/buy-now"))
                        .bearer_auth(&token)
                        .header(
                            "Idempotency-Key",
                            super::idempotency_key(random_keys, || format!("soak-{run_id}-{c}-{n}")),
                        )
                        .json(&json!({"sku": skus[n % skus.len()], "quantity": 1}));
                    let window = window.clone();
                    tokio::spawn(async move {
                        let resp = request.send().await;
                        // From when the request was due, so time spent waiting to be sent counts.
                        let us = u32::try_from(due.elapsed().as_micros()).unwrap_or(u32::MAX);
                        window.latencies_us.lock().unwrap_or_else(|p| p.into_inner()).push(us);
                        match resp.map(|r| r.status().as_u16()) {
                            Ok(201) => window.placed.fetch_add(1, Ordering::Relaxed),
                            _ => window.errors.fetch_add(1, Ordering::Relaxed),
                        };
                        drop(permit);
                    });
                }
            })
        })
        .collect();

    let mut kept = count_orders(&target.store).await?;
    let first_writes = write_seconds(client, target).await;
    let mut writes = first_writes.clone();
    let mut minutes = Vec::new();
    if !args.json {
        println!(
            "BuyNow soak — {:.0} orders/s from {} clients for {} minutes",
            soak.rate,
            soak.clients.len(),
            soak.minutes
        );
        println!(
            "{:>6} {:>9} {:>8} {:>6} {:>8} {:>9} {:>11} {:>9} {:>9} {:>9} {:>7}",
            "minute",
            "orders/s",
            "p99 ms",
            "errors",
            "RSS MB",
            "DB MB",
            "orders",
            "job lag",
            "msg lag",
            "waiting",
            "writes"
        );
    }
    for minute in 1..=soak.minutes {
        let end = started + Duration::from_secs(60 * minute);
        tokio::time::sleep_until(end.into()).await;
        let now = buynow_store::now_micros();
        let mut latencies = std::mem::take(&mut *window.latencies_us.lock().unwrap_or_else(|p| p.into_inner()));
        let placed = window.placed.swap(0, Ordering::Relaxed);
        kept += i64::try_from(placed).unwrap_or(0);
        let lags = lags(&target.store, now - 60_000_000, now).await?;
        let minute_writes = write_seconds(client, target).await;
        let (writes_busy, top_writes) = match (&writes, &minute_writes) {
            (Some(before), Some(after)) => {
                let per_site = per_second(before, after, 60.0);
                (Some(per_site.iter().map(|(_, s)| s).sum()), per_site.into_iter().take(4).collect())
            }
            _ => (None, Vec::new()),
        };
        writes = minute_writes;
        let row = Minute {
            minute,
            orders_per_sec: placed as f64 / 60.0,
            p99_ms: super::percentile(&mut latencies, 0.99).map_or(0.0, |us| f64::from(us) / 1000.0),
            errors: window.errors.swap(0, Ordering::Relaxed),
            rss_mb: target.local.as_ref().and_then(|_| resident_mb()),
            db_mb: database_mb(&target.store, soak.database).await?,
            orders_kept: kept,
            job_lag_p99_s: lags.0,
            message_lag_p99_s: lags.1,
            oldest_waiting_s: lags.2,
            writes_busy,
            top_writes,
        };
        if args.json {
            println!("{}", serde_json::to_string(&row)?);
        } else {
            println!(
                "{:>6} {:>9.0} {:>8.1} {:>6} {:>8} {:>9.0} {:>11} {:>9.2} {:>9.2} {:>9.2} {:>7}",
                row.minute,
                row.orders_per_sec,
                row.p99_ms,
                row.errors,
                row.rss_mb.map_or("-".to_string(), |m| format!("{m:.0}")),
                row.db_mb,
                row.orders_kept,
                row.job_lag_p99_s,
                row.message_lag_p99_s,
                row.oldest_waiting_s,
                row.writes_busy.map_or("-".to_string(), |w| format!("{w:.2}"))
            );
        }
        minutes.push(row);
        if let Some(mail) = &target.mail {
            // A soak's e-mails would fill the disk: each minute's are read by no one, and deleted.
            let dir = mail.path().to_path_buf();
            tokio::task::spawn_blocking(move || {
                for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                    let _ = std::fs::remove_file(entry.path());
                }
            });
        }
    }
    stop.store(true, Ordering::Relaxed);
    super::resume_panics(futures::future::join_all(clients).await);
    plot(&args.plot, &minutes, soak.rate).with_context(|| format!("writing {}", args.plot.display()))?;
    if !args.json {
        println!("plot: {}", args.plot.display());
        if let (Some(first), Some(last)) = (&first_writes, &writes) {
            let seconds = 60.0 * soak.minutes as f64;
            println!("write transactions open, seconds per second of the soak, by the line that began them:");
            for (site, busy) in per_second(first, last, seconds).into_iter().take(8) {
                println!("{busy:>7.3}  {site}");
            }
        }
    }
    let errors: u64 = minutes.iter().map(|m| m.errors).sum();
    if errors > 0 {
        anyhow::bail!("{errors} requests failed during the soak");
    }
    Ok(())
}

/// The soak's own reads run apart from the server's workers (`Store::read_apart`): on SQLite they count every
/// order and read a minute's worth of jobs and sends, and a worker blocked that long would be a stall the soak
/// itself caused.
async fn count_orders(store: &Store) -> anyhow::Result<i64> {
    Ok(store
        .read_apart(|c| Box::pin(async move { c.one("SELECT COUNT(*) FROM orders", vec![]).await?.int(0) }))
        .await?)
}

/// Job lag p99, message lag p99 (from the event to its sending, of those finished in `[from, to)`), and the
/// oldest wait at `to`, in seconds.
async fn lags(store: &Store, from: i64, to: i64) -> anyhow::Result<(f64, f64, f64)> {
    let (mut jobs, mut sent, oldest) = store.read_apart(move |c| Box::pin(lag_rows(c, from, to))).await?;
    let p99 = |lags: &mut [i64]| super::percentile(lags, 0.99).map_or(0.0, |us| us.max(0) as f64 / 1e6);
    Ok((p99(&mut jobs), p99(&mut sent), oldest.map_or(0.0, |t| (to - t).max(0) as f64 / 1e6)))
}

/// The lags (µs) of the jobs finished and of the messages sent in `[from, to)`, and since when the one waiting
/// longest at `to` has waited.
async fn lag_rows(
    c: &mut buynow_store::Conn<'_>,
    from: i64,
    to: i64,
) -> Result<(Vec<i64>, Vec<i64>, Option<i64>), buynow_store::StoreError> {
    let ints = |rows: Vec<buynow_store::Row>| rows.iter().map(|r| r.int(0)).collect::<Result<Vec<i64>, _>>();
    let jobs = c
        .all(
            // About one job in ten, by the last digit of its finish time, as the sends below: the index on it
            // (`jobs_finished`) holds that digit, so only the sampled jobs are read.
            "SELECT finished_at - run_at FROM jobs WHERE status IN ('done', 'failed') \
             AND finished_at >= $1 AND finished_at < $2 AND finished_at % 10 = 0",
            args![from, to],
        )
        .await?;
    let sent = c
        .all(
            // From the event, not the delivery: a delivery is written when its event is fanned out, and the
            // customer waits from the event. About one send in ten, by the last digit of the time it was
            // recorded: the join to the events of every send of a minute was itself a load on the database
            // being measured.
            "SELECT d.sent_at - COALESCE(e.created_at, d.created_at) FROM deliveries d \
             LEFT JOIN outbox e ON e.id = d.event_id \
             WHERE d.status = 'sent' AND d.sent_at >= $1 AND d.sent_at < $2 AND d.sent_at % 10 = 0",
            args![from, to],
        )
        .await?;
    let oldest = c
        .one(
            // `status IN (…)` as the partial index `jobs_due` says it, so that SQLite reads that index and does
            // not scan every job once a minute.
            "SELECT MIN(t) FROM (SELECT MIN(run_at) AS t FROM jobs \
             WHERE status IN ('queued', 'running') AND status = 'queued' AND run_at <= $1 \
             UNION ALL SELECT MIN(created_at) FROM outbox WHERE published_at IS NULL \
             UNION ALL SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1) w",
            args![to],
        )
        .await?
        .opt_int(0)?;
    Ok((ints(jobs)?, ints(sent)?, oldest))
}

/// The seconds write transactions were open so far, by the source line that began them, from the server's
/// `/metrics`; `None` where it could not be read.
async fn write_seconds(client: &reqwest::Client, target: &Target) -> Option<HashMap<String, f64>> {
    let resp = client.get(format!("{}/metrics", target.url)).bearer_auth(&target.admin).send().await.ok()?;
    let text = resp.error_for_status().ok()?.text().await.ok()?;
    Some(parse_write_seconds(&text))
}

fn parse_write_seconds(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter_map(|l| l.strip_prefix("buynow_db_write_held_seconds_total{"))
        .filter_map(|l| {
            let (labels, value) = l.rsplit_once("} ")?;
            let label = |name: &str| {
                let start = labels.find(&format!("{name}=\""))? + name.len() + 2;
                labels[start..].split('"').next()
            };
            Some((format!("{}:{}", label("file")?, label("line")?), value.trim().parse().ok()?))
        })
        .collect()
}

/// Each site's seconds from `before` to `after`, per second of `over`, busiest first.
fn per_second(before: &HashMap<String, f64>, after: &HashMap<String, f64>, over: f64) -> Vec<(String, f64)> {
    let mut sites: Vec<(String, f64)> = after
        .iter()
        .map(|(site, s)| (site.clone(), (s - before.get(site).copied().unwrap_or(0.0)) / over))
        .filter(|(_, s)| *s > 0.0)
        .collect();
    sites.sort_by(|a, b| b.1.total_cmp(&a.1));
    sites
}

/// This process's resident set, from /proc (Linux).
fn resident_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 =
        status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kb / 1024.0)
}

/// The database's size on disk: the SQLite file with its write-ahead log, or PostgreSQL's own figure.
async fn database_mb(store: &Store, database: &str) -> anyhow::Result<f64> {
    let bytes = match store.backend() {
        Backend::Sqlite => {
            let path = database.trim_start_matches("sqlite://").split('?').next().unwrap_or_default();
            let size = |p: String| std::fs::metadata(p).map_or(0, |m| m.len());
            size(path.to_string()) + size(format!("{path}-wal"))
        }
        Backend::Postgres => {
            let mut read = store.read().await?;
            let r = read.conn().one("SELECT pg_database_size(current_database())", vec![]).await?;
            u64::try_from(r.int(0)?).unwrap_or(0)
        }
    };
    Ok(bytes as f64 / 1_048_576.0)
}

/// The soak as a picture: one panel per measure, against the minute.
fn plot(path: &std::path::Path, minutes: &[Minute], rate: f64) -> anyhow::Result<()> {
    type Series = (&'static str, fn(&Minute) -> f64);
    let panels: [Series; 6] = [
        ("Buy Now orders/s", |m| m.orders_per_sec),
        ("Buy Now p99 (ms)", |m| m.p99_ms),
        ("Resident memory (MB)", |m| m.rss_mb.unwrap_or(0.0)),
        ("Database size (MB)", |m| m.db_mb),
        ("Job lag p99 (s)", |m| m.job_lag_p99_s),
        ("Message lag p99 (s)", |m| m.message_lag_p99_s),
    ];
    let root = SVGBackend::new(path, (900, 1500)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(&format!("BuyNow soak at {rate:.0} orders/s"), ("sans-serif", 24))?;
    let last = minutes.last().map_or(1, |m| m.minute).max(1);
    for (area, (title, value)) in root.split_evenly((panels.len(), 1)).iter().zip(panels) {
        let top = minutes.iter().map(value).fold(0.0_f64, f64::max).max(1e-3) * 1.15;
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(60)
            .build_cartesian_2d(0u64..last, 0.0..top)?;
        chart.configure_mesh().x_desc("minute").draw()?;
        chart.draw_series(LineSeries::new(minutes.iter().map(|m| (m.minute, value(m))), &BLUE))?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_seconds_are_read_by_site_and_differenced_busiest_first() {
        let before = parse_write_seconds(
            "# HELP buynow_db_write_held_seconds Seconds\n\
             buynow_db_write_held_seconds_total{file=\"crates/store/src/batch.rs\",line=\"262\"} 10.0\n\
             buynow_db_write_held_seconds_total{file=\"crates/server/src/retention.rs\",line=\"62\"} 1.0\n\
             buynow_db_write_waited_seconds_total{file=\"crates/store/src/batch.rs\",line=\"262\"} 99.0\n",
        );
        assert_eq!(before.len(), 2);
        assert_eq!(before["crates/store/src/batch.rs:262"], 10.0);
        let after = parse_write_seconds(
            "buynow_db_write_held_seconds_total{file=\"crates/store/src/batch.rs\",line=\"262\"} 40.0\n\
             buynow_db_write_held_seconds_total{file=\"crates/server/src/retention.rs\",line=\"62\"} 13.0\n\
             buynow_db_write_held_seconds_total{file=\"crates/server/src/jobs/mod.rs\",line=\"90\"} 6.0\n",
        );
        let busy = per_second(&before, &after, 60.0);
        let sites: Vec<&str> = busy.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(
            sites,
            ["crates/store/src/batch.rs:262", "crates/server/src/retention.rs:62", "crates/server/src/jobs/mod.rs:90"]
        );
        assert_eq!(busy[0].1, 0.5);
        assert_eq!(busy[2].1, 0.1);
    }
}
