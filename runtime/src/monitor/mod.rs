//! Floor 5, system metrics: while a run lives, one thread of the process samples CPU,
//! memory, disk, network (and NVIDIA GPUs) and logs them to it as `system/...` metrics,
//! as MLflow's Python client does.

// Without the `gpu` feature, the key mapping is used by its tests only.
#[cfg_attr(not(feature = "gpu"), allow(dead_code))]
mod gpu;
mod readings;
mod sampler;
mod settings;
mod window;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use crate::sender::RunSlot;
use crate::tracker::Tracker;

pub use settings::{disable_system_metrics_logging, enable_system_metrics_logging};

/// A run's monitoring, as the run holds it: none, or the flag that stops it.
#[derive(Debug, Default)]
pub(crate) struct RunMonitor {
    stop: OnceLock<Arc<AtomicBool>>,
}

impl RunMonitor {
    /// Starts monitoring the run in `slot` when `choice` (the builder's), the switch or the
    /// environment say so. Only hands the run to the sampling thread: never waits.
    pub(crate) fn start(
        &self,
        choice: Option<bool>,
        tracker: &Arc<Tracker>,
        slot: &Arc<RunSlot>,
        resumed: bool,
    ) {
        if !settings::enabled(choice) {
            return;
        }
        if let Some(why) = readings::unavailable() {
            settings::warn_once(why);
            return;
        }
        let settings = match settings::Settings::from_env() {
            Ok(settings) => settings,
            Err(e) => {
                settings::warn_once(&format!("{e}: system metrics are not logged"));
                return;
            }
        };
        let stop = Arc::new(AtomicBool::new(false));
        if self.stop.set(stop.clone()).is_err() {
            return;
        }
        sampler::submit(sampler::Job {
            tracker: tracker.clone(),
            slot: slot.clone(),
            stop,
            settings,
            resumed,
            started: Instant::now(),
        });
    }

    /// Stops the monitoring, if any: the window under way is not logged.
    pub(crate) fn stop(&self) {
        if let Some(stop) = self.stop.get() {
            stop.store(true, Ordering::Release);
        }
    }
}
