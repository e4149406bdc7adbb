//! Whether a run is monitored, and how: the switches and `MLFLOW_SYSTEM_METRICS_*`, read as
//! the Python client reads them, when each run starts.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use crate::base::env;
use crate::base::sync::lock;

const ENABLE_ENV: &str = env::ENABLE_SYSTEM_METRICS_LOGGING;
const INTERVAL_ENV: &str = env::SYSTEM_METRICS_SAMPLING_INTERVAL;
const SAMPLES_ENV: &str = env::SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING;
const NODE_ID_ENV: &str = env::SYSTEM_METRICS_NODE_ID;

/// Python's defaults: a sample every 10 s, each logged on its own.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);
const DEFAULT_SAMPLES: usize = 1;

/// What `enable_`/`disable_system_metrics_logging` chose: unset, off, on.
static SWITCH: AtomicU8 = AtomicU8::new(UNSET);
const UNSET: u8 = 0;
const OFF: u8 = 1;
const ON: u8 = 2;

/// Turns system metrics logging on for the runs started from now on, unless a run's
/// builder says otherwise ([`RunBuilder::log_system_metrics`](crate::RunBuilder::log_system_metrics)).
/// Wins over `MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING`.
pub fn enable_system_metrics_logging() {
    SWITCH.store(ON, Ordering::Relaxed);
}

/// Turns system metrics logging off for the runs started from now on, unless a run's
/// builder says otherwise. Wins over `MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING`.
pub fn disable_system_metrics_logging() {
    SWITCH.store(OFF, Ordering::Relaxed);
}

/// Whether a run is monitored: its builder's choice, else the switch, else the variable.
pub(super) fn enabled(builder: Option<bool>) -> bool {
    builder.unwrap_or_else(|| match SWITCH.load(Ordering::Relaxed) {
        ON => true,
        OFF => false,
        _ => env_enabled(),
    })
}

/// `MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING`: `true`/`1`/`false`/`0` in any case, as in Python.
/// Python's `start_run` raises on anything else; starting a run never fails here, so the
/// value counts as off, with a warning.
fn env_enabled() -> bool {
    env::flag(ENABLE_ENV).unwrap_or_else(|value| {
        warn_once(&format!(
            "{ENABLE_ENV}={value:?} is not one of true, false, 1, 0: system metrics are off"
        ));
        None
    }) == Some(true)
}

/// How one run is sampled.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    pub(crate) interval: Duration,
    pub(crate) samples_before_logging: usize,
    /// `system/`, or `system/{node_id}/`.
    pub(crate) prefix: String,
}

impl Settings {
    /// The settings in the environment now. Python reads them when each run's monitor is
    /// made and does not monitor a run whose settings do not parse; so does this.
    pub(crate) fn from_env() -> Result<Settings, String> {
        Settings::parse(
            env::nonempty(INTERVAL_ENV).as_deref(),
            env::nonempty(SAMPLES_ENV).as_deref(),
            env::raw(NODE_ID_ENV).as_deref(),
        )
    }

    fn parse(
        interval: Option<&str>,
        samples: Option<&str>,
        node_id: Option<&str>,
    ) -> Result<Settings, String> {
        // Python's `value or default`: 0 means the default. A negative interval, which makes
        // Python's loop spin, is refused.
        let interval = match interval {
            None => DEFAULT_INTERVAL,
            Some(text) => match text.trim().parse::<f64>() {
                Ok(0.0) => DEFAULT_INTERVAL,
                Ok(secs) if secs.is_finite() && secs > 0.0 => Duration::from_secs_f64(secs),
                _ => {
                    return Err(format!(
                        "{INTERVAL_ENV}={text:?} is not a positive number of seconds"
                    ));
                }
            },
        };
        let samples_before_logging = match samples {
            None => DEFAULT_SAMPLES,
            Some(text) => match text.trim().parse::<i64>() {
                Ok(0) => DEFAULT_SAMPLES,
                Ok(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
                _ => return Err(format!("{SAMPLES_ENV}={text:?} is not a positive integer")),
            },
        };
        let prefix = match node_id {
            Some(id) if !id.is_empty() => format!("system/{id}/"),
            _ => "system/".to_owned(),
        };
        Ok(Settings {
            interval,
            samples_before_logging,
            prefix,
        })
    }
}

/// Logs `message` as a warning, once per distinct message for the process: a setting that
/// is wrong is wrong for every run, and a source that fails fails at every sample.
pub(crate) fn warn_once(message: &str) {
    static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut seen = lock(&SEEN);
    if seen.iter().any(|m| m == message) {
        return;
    }
    seen.push(message.to_owned());
    drop(seen);
    tracing::warn!("mlflow: {message}");
    eprintln!("mlflow: warning: {message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_pythons() {
        let s = Settings::parse(None, None, None).unwrap();
        assert_eq!(s.interval, Duration::from_secs(10));
        assert_eq!(s.samples_before_logging, 1);
        assert_eq!(s.prefix, "system/");
    }

    #[test]
    fn values_parse_like_pythons_float_and_int() {
        let s = Settings::parse(Some(" 0.2 "), Some("3"), Some("node_0")).unwrap();
        assert_eq!(s.interval, Duration::from_millis(200));
        assert_eq!(s.samples_before_logging, 3);
        assert_eq!(s.prefix, "system/node_0/");
        let s = Settings::parse(Some("1e1"), Some("0"), Some("")).unwrap();
        assert_eq!(s.interval, Duration::from_secs(10));
        assert_eq!(s.samples_before_logging, 1, "0 falls back to the default");
        assert_eq!(s.prefix, "system/", "an empty node id is no node id");
        assert_eq!(
            Settings::parse(Some("0"), None, None).unwrap().interval,
            Duration::from_secs(10)
        );
    }

    #[test]
    fn bad_values_are_refused() {
        for interval in ["abc", "-1", "nan", "inf"] {
            assert!(
                Settings::parse(Some(interval), None, None).is_err(),
                "{interval}"
            );
        }
        for samples in ["1.5", "-2", "x"] {
            assert!(
                Settings::parse(None, Some(samples), None).is_err(),
                "{samples}"
            );
        }
    }

    #[test]
    fn the_builder_wins_over_everything() {
        assert!(enabled(Some(true)));
        assert!(!enabled(Some(false)));
    }
}
