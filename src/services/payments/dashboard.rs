//! The back office's dashboard: today's and this month's successful payments (count and amount,
//! within the debt types the operator may see), the amount of every day of the month for the
//! chart, and what is under way or needs attention.

use jiff::civil::Date;

use crate::domain::{Cents, Day};
use crate::services::ServiceError;
use crate::services::admin::access::OrgAccess;
use crate::store::dashboard::{self, Activity, DayTotal, RejectedFlow};
use crate::store::{Db, anomalies};

/// What the dashboard shows.
#[derive(Debug, Clone)]
pub struct Dashboard {
    pub today: DayTotal,
    pub month_count: i64,
    pub month_cents: Cents,
    /// Every day of the month up to today, zeros included, in order.
    pub days: Vec<DayTotal>,
    pub activity: Activity,
    pub rejected_flows: Vec<RejectedFlow>,
    /// Open anomalies, for the org's administrators (`None` for an operator, who cannot review them).
    pub open_anomalies: Option<i64>,
}

/// The dashboard of `access`'s org on `today` (Europe/Rome).
pub fn dashboard(db: &Db, access: &OrgAccess, today: Date) -> Result<Dashboard, ServiceError> {
    let first = today.first_of_month();
    let (from, to) = (first.to_string(), today.to_string());
    let org_id = access.org.id;
    let (totals, activity, rejected_flows, open_anomalies) = db.read(|conn| {
        let totals = dashboard::list_payments_per_day(conn, org_id, &from, &to, access.allowed_types.as_deref())?;
        let activity = dashboard::get_activity(conn, org_id)?;
        let flows = dashboard::list_rejected_flows(conn, org_id, 5)?;
        let anomalies = if access.admin { Some(anomalies::count_open(conn, org_id)?) } else { None };
        Ok::<_, ServiceError>((totals, activity, flows, anomalies))
    })?;
    let days: Vec<DayTotal> = first
        .series(jiff::Span::new().days(1))
        .take_while(|d| *d <= today)
        .map(|d| {
            let day = Day::from(d);
            totals.iter().find(|t| t.day == day).cloned().unwrap_or(DayTotal { day, count: 0, cents: Cents::ZERO })
        })
        .collect();
    let today_total = days.last().cloned().unwrap_or_default();
    Ok(Dashboard {
        month_count: days.iter().map(|d| d.count).sum(),
        month_cents: Cents::new(days.iter().map(|d| d.cents.get()).sum()),
        today: today_total,
        days,
        activity,
        rejected_flows,
        open_anomalies,
    })
}
