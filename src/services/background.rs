//! The background work of the services, bound to the job queue: one [`Handlers`] registry that
//! `serve` and `mypay import` start the runner with, so every kind of `jobs::Job` has its handler
//! in one place and `jobs` itself knows no service.

use std::path::PathBuf;

use crate::config::NoticesMode;
use crate::jobs::{Handlers, JobKind};

/// What the handlers need from the configuration.
#[derive(Debug, Clone)]
pub struct JobSettings {
    pub data_dir: PathBuf,
    /// The largest decompressed CSV an import reads (`import.max_uncompressed_bytes`).
    pub max_uncompressed_bytes: u64,
    /// The station id written in receipt exports.
    pub station_id: String,
    /// When an import's notices ZIP is made (`import.notices`).
    pub notices: NoticesMode,
    /// What fetches reporting flows from pagoPA, when this installation does (`serve` sets it).
    pub reporting: Option<std::sync::Arc<dyn crate::services::payments::flows_view::FlowFetcher>>,
    /// How long personal data is kept (`[retention]`), for the daily purge.
    pub retention: crate::config::RetentionSettings,
    /// pagoPA's biz-events receipt API, when this installation is a station (`serve` sets it).
    pub receipts: Option<std::sync::Arc<dyn crate::services::payments::recovery::ReceiptSource>>,
}

impl JobSettings {
    pub fn from_config(config: &crate::config::Config) -> JobSettings {
        JobSettings {
            data_dir: config.data_dir.clone(),
            max_uncompressed_bytes: config.import.max_uncompressed_bytes,
            station_id: config.station.station_id.clone(),
            notices: config.import.notices,
            reporting: None,
            retention: config.retention,
            receipts: None,
        }
    }
}

/// The handler of every job kind.
pub fn handlers(settings: &JobSettings) -> Handlers {
    Handlers::new()
        .on(
            JobKind::Import,
            crate::services::debts::imports::jobs::ImportJob {
                data_dir: settings.data_dir.clone(),
                max_uncompressed_bytes: settings.max_uncompressed_bytes,
            },
        )
        .on(
            JobKind::ImportNotices,
            crate::services::debts::imports::notices::NoticesJob::new(&settings.data_dir, settings.notices),
        )
        .on(
            JobKind::Export,
            crate::services::debts::exports::ExportJob {
                data_dir: settings.data_dir.clone(),
                station_id: settings.station_id.clone(),
            },
        )
        .on(JobKind::OutcomePush, crate::services::payments::outcome_push::PushJob)
        .on(
            JobKind::ReportingFetch,
            crate::services::payments::flows_view::FetchJob { fetcher: settings.reporting.clone() },
        )
        .on(
            JobKind::ReceiptRecovery,
            crate::services::payments::recovery::RecoveryJob { source: settings.receipts.clone() },
        )
        .on(
            JobKind::RetentionPurge,
            crate::services::gdpr::purge::PurgeJob {
                settings: crate::services::gdpr::purge::PurgeSettings {
                    data_dir: settings.data_dir.clone(),
                    retention: settings.retention,
                },
            },
        )
        .on(
            JobKind::ReconImport,
            crate::services::reconciliation::uploads::ReconImportJob { data_dir: settings.data_dir.clone() },
        )
        .on(JobKind::Reconcile, crate::services::reconciliation::ReconcileJob)
        .on(
            JobKind::ReconExport,
            crate::services::reconciliation::exports::ReconExportJob {
                data_dir: settings.data_dir.clone(),
                station_id: settings.station_id.clone(),
            },
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_kind_has_a_handler() {
        let settings = JobSettings {
            data_dir: PathBuf::from("/nonexistent"),
            max_uncompressed_bytes: 1,
            station_id: String::new(),
            notices: NoticesMode::On,
            reporting: None,
            retention: crate::config::RetentionSettings::default(),
            receipts: None,
        };
        assert!(handlers(&settings).missing().is_empty());
    }
}
