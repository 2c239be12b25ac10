//! The hold window is over: send the order to the warehouse.

use super::{finish, parse, JobError, OrderRef};
use crate::orders::lifecycle;
use crate::state::AppState;
use buynow_domain::{OrderEvent, OrderStatus};
use buynow_store::jobs::Job;
use buynow_store::{now_micros, orders};

pub async fn run(state: &AppState, job: &Job) -> Result<(), JobError> {
    let OrderRef { order_id } = parse(job)?;
    finish(state, job, move |c| {
        Box::pin(async move {
            let now = now_micros();
            let order = orders::get(c, order_id).await?.ok_or_else(|| JobError::Fatal("no such order".into()))?;
            if order.status == OrderStatus::PaymentAuthorized {
                if now < order.hold_until {
                    return Err(JobError::Retry("the hold window is still open".into()));
                }
                lifecycle::apply(c, &order, OrderEvent::Release, "Released to the fulfillment center", now).await?;
                orders::set_shipments_status(c, order_id, "released").await?;
            }
            Ok(())
        })
    })
    .await
    .map(drop)
}
