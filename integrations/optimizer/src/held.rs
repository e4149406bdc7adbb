//! The writes of Optuna's layout a trial holds back (its params, their tags, reported
//! values, user attributes), so that a short trial costs its run's creation, one batch and
//! its end on a tracking server. They go to the trial's run when the trial ends; once a
//! trial has run for [`HOLD`], what it writes goes out as it is written (what it held
//! first included): a long trial's reported values reach the store, and other processes'
//! pruners, as they are reported.

use std::time::{Duration, Instant};

use mlflow_tracking_runtime::RunHandle;

use crate::error::Result;

/// How long a trial holds its writes back at most.
pub(crate) const HOLD: Duration = Duration::from_secs(1);

/// A metric point held back: key, value, step and the time it was reported.
#[derive(Debug, Clone, PartialEq)]
struct Point {
    key: &'static str,
    value: f64,
    step: i64,
    timestamp: i64,
}

/// Writes waiting to go to one trial's run.
#[derive(Debug)]
pub(crate) struct Held {
    params: Vec<(String, String)>,
    tags: Vec<(String, String)>,
    points: Vec<Point>,
    /// When the trial started.
    started: Instant,
}

impl Held {
    /// Nothing held yet, for a trial starting now.
    pub(crate) fn new() -> Held {
        Held {
            params: Vec::new(),
            tags: Vec::new(),
            points: Vec::new(),
            started: Instant::now(),
        }
    }

    pub(crate) fn param(&mut self, key: String, value: String) {
        self.params.push((key, value));
    }

    pub(crate) fn tag(&mut self, key: String, value: String) {
        self.tags.push((key, value));
    }

    pub(crate) fn point(&mut self, key: &'static str, value: f64, step: i64) {
        self.points.push(Point {
            key,
            value,
            step,
            timestamp: now_ms(),
        });
    }

    /// Sends what is held once the trial has run for [`HOLD`].
    pub(crate) fn send_if_due(&mut self, run: &RunHandle) -> Result<()> {
        if self.started.elapsed() >= HOLD {
            self.send(run)
        } else {
            Ok(())
        }
    }

    /// Queues everything held on the trial's run, back to back, so that the sender sends it
    /// in one batch.
    pub(crate) fn send(&mut self, run: &RunHandle) -> Result<()> {
        let params = std::mem::take(&mut self.params);
        let tags = std::mem::take(&mut self.tags);
        let points = std::mem::take(&mut self.points);
        // Every part is queued even when one is refused; the first error is returned.
        let mut first = None;
        if !params.is_empty() {
            first = run.log_params(params).err();
        }
        if !tags.is_empty() {
            let e = run.set_tags(tags).err();
            first = first.or(e);
        }
        for p in points {
            let e = run
                .metric(p.key, p.value)
                .step(p.step)
                .timestamp(p.timestamp)
                .log()
                .err();
            first = first.or(e);
        }
        first.map_or(Ok(()), |e| Err(e.into()))
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_held_in_order_until_sent() {
        let mut held = Held::new();
        held.param("x".into(), "1.0".into());
        held.point("intermediate_value", 1.0, 1);
        held.tag("k".into(), "v".into());
        held.point("intermediate_value", 0.5, 2);
        assert!(held.started.elapsed() < HOLD);
        assert_eq!(held.params, [("x".to_owned(), "1.0".to_owned())]);
        assert_eq!(held.tags.len(), 1);
        let steps: Vec<i64> = held.points.iter().map(|p| p.step).collect();
        assert_eq!(steps, [1, 2]);
    }
}
