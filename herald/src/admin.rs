//! The admin API's wiring in the embedded edition: its state (store, engine, this
//! process's flow table, notification settings) and the daily archive retention run.

use std::{sync::Arc, time::Duration};

use herald_api::{mail::Mailer, notify::NotifyConfig, ApiState, FlowDirectory, FlowInfo};
use herald_frontend::FlowTable;
use herald_homeserver::{
    store::{Aor, Store},
    HomeServer,
};

use crate::config::Config;

/// The API's view of this process's front end.
struct Flows(Arc<FlowTable>);

impl FlowDirectory for Flows {
    fn flows(&self) -> Vec<FlowInfo> {
        self.0
            .list()
            .into_iter()
            .map(|c| FlowInfo {
                frontend: self.0.id().to_owned(),
                id: c.id,
                transport: c.transport.short_name().into(),
                remote: c.remote.to_string(),
                since: c
                    .since
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
            })
            .collect()
    }
}

pub fn state(
    cfg: &Config,
    store: Arc<dyn Store>,
    home: HomeServer,
    flows: Option<Arc<FlowTable>>,
) -> anyhow::Result<ApiState> {
    let a = &cfg.admin;
    let service = Aor::parse(&a.notify_from)
        .ok_or_else(|| anyhow::anyhow!("HERALD_NOTIFY_FROM: invalid address {}", a.notify_from))?;
    let mailer = match &a.smtp {
        Some(m) => Some(Mailer::new(m).map_err(|e| anyhow::anyhow!("HERALD_SMTP: {e}"))?),
        None => None,
    };
    Ok(ApiState {
        store,
        home,
        domain: cfg.domain.clone(),
        flows: flows.map(|f| Arc::new(Flows(f)) as Arc<dyn FlowDirectory>),
        notify: Arc::new(NotifyConfig {
            service,
            service_name: a.notify_name.clone(),
            when_busy: a.when_busy,
            mailer,
        }),
    })
}

/// Deletes archive records older than `days`, at start and then daily.
pub fn retention(state: ApiState, days: Option<u32>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let Some(days) = days else {
            return;
        };
        let mut every = tokio::time::interval(Duration::from_secs(86_400));
        loop {
            every.tick().await;
            if let Err(e) = herald_api::archive::purge_older_than(&state, days).await {
                tracing::error!(error = %e, "archive retention run failed");
            }
        }
    })
}
