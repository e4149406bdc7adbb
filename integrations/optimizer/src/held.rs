//! The writes of Optuna's layout a trial holds back (its params, their tags, reported
//! values, user attributes), so that a short trial costs its run's creation, one batch and
//! its end on a tracking server. They go to the trial's run when the trial ends, or as soon
//! as the oldest has waited [`HOLD`]: a long trial's reported values still reach the store
//! (and other processes' pruners) within about that long.

use std::time::{Duration, Instant};

use mlflow_tracking_runtime::RunHandle;

use crate::error::Result;

/// How long a write waits at most for others to go with it.
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
#[derive(Debug, Default)]
pub(crate) struct Held {
    params: Vec<(String, String)>,
    tags: Vec<(String, String)>,
    points: Vec<Point>,
    /// When the oldest write waiting was held.
    since: Option<Instant>,
}

impl Held {
    pub(crate) fn param(&mut self, key: String, value: String) {
        self.params.push((key, value));
        self.touch();
    }

    pub(crate) fn tag(&mut self, key: String, value: String) {
        self.tags.push((key, value));
        self.touch();
    }

    pub(crate) fn point(&mut self, key: &'static str, value: f64, step: i64) {
        self.points.push(Point {
            key,
            value,
            step,
            timestamp: now_ms(),
        });
        self.touch();
    }

    fn touch(&mut self) {
        self.since.get_or_insert_with(Instant::now);
    }

    /// Sends what is held if the oldest write has waited long enough.
    pub(crate) fn send_if_due(&mut self, run: &RunHandle) -> Result<()> {
        match self.since {
            Some(since) if since.elapsed() >= HOLD => self.send(run),
            _ => Ok(()),
        }
    }

    /// Queues everything held on the trial's run, back to back, so that the sender sends it
    /// in one batch.
    pub(crate) fn send(&mut self, run: &RunHandle) -> Result<()> {
        self.since = None;
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
    fn nothing_is_due_before_its_time() {
        let mut held = Held::default();
        assert!(held.since.is_none());
        held.point("intermediate_value", 1.0, 1);
        held.tag("k".into(), "v".into());
        let since = held.since.expect("held");
        assert!(since.elapsed() < HOLD);
        assert_eq!(held.points.len(), 1);
        assert_eq!(held.tags.len(), 1);
    }
}
