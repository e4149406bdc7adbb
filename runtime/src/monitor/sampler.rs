//! The one sampling thread of the process: it holds every monitored run, each with its own
//! schedule, window and step, and logs full windows through the run's tracker queue.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use super::gpu;
use super::readings::{self, ReadingSource};
use super::settings::{Settings, warn_once};
use super::window::{Reading, Window};
use crate::base::model::{Batch, Metric};
use crate::base::time::now_ms;
use crate::base::validate;
use crate::sender::{Command, RunSlot};
use crate::tracker::Tracker;

/// Runs whose samples fall this close together share one reading: the figures are the same
/// and the cost is paid once.
const SHARE_READING: Duration = Duration::from_millis(50);

/// A run to monitor, as its start hands it over.
pub(crate) struct Job {
    pub(crate) tracker: Arc<Tracker>,
    pub(crate) slot: Arc<RunSlot>,
    /// Set when the run ends; the thread drops the run at its next look.
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) settings: Settings,
    /// Resumed through `MLFLOW_RUN_ID`: steps continue after the run's last `system/` step.
    pub(crate) resumed: bool,
    pub(crate) started: Instant,
}

/// Hands `job` to the sampling thread, starting it on first use. Never waits.
pub(crate) fn submit(job: Job) {
    static SAMPLER: OnceLock<Option<flume::Sender<Job>>> = OnceLock::new();
    let tx = SAMPLER.get_or_init(|| {
        let (tx, rx) = flume::unbounded();
        let spawned = thread::Builder::new()
            .name("mlflow-system-metrics".into())
            // The sources are opened on the thread: loading NVML takes a while.
            .spawn(move || run(machine(), &rx));
        match spawned {
            Ok(_) => Some(tx),
            Err(e) => {
                warn_once(&format!(
                    "system metrics: cannot start the sampling thread: {e}"
                ));
                None
            }
        }
    });
    if let Some(tx) = tx {
        let _ = tx.send(job);
    }
}

/// The sources of this machine: CPU, memory, disk and network, then the NVIDIA GPUs.
fn machine() -> readings::Sources {
    #[allow(unused_mut)]
    let mut sources: Vec<Box<dyn ReadingSource>> = Vec::new();
    #[cfg(feature = "system-metrics")]
    sources.push(Box::new(readings::host::Host::new()));
    sources.extend(gpu::nvidia());
    readings::Sources(sources)
}

/// Where a run's steps start.
enum FirstStep {
    Known(i64),
    /// The store's answer for a resumed run, asked for when the run was taken on.
    Asked(flume::Receiver<i64>),
}

/// When a run is sampled and what it has gathered: the part of a monitored run that does
/// not talk to the store.
#[derive(Debug)]
struct Schedule {
    settings: Settings,
    window: Window,
    next_due: Instant,
    /// Windows completed so far.
    windows: i64,
}

impl Schedule {
    fn new(settings: Settings, started: Instant, window: Window) -> Schedule {
        Schedule {
            next_due: started + settings.interval,
            settings,
            window,
            windows: 0,
        }
    }

    /// Adds the sample taken at the end of an interval the run lived through, and gives the
    /// window's number and values when it is full. A window the run's end cuts short is
    /// never logged, as in Python, whose monitor stops at the end of the interval without
    /// logging what it gathered.
    fn sampled(&mut self, reading: &Reading, now: Instant) -> Option<(i64, Vec<(String, f64)>)> {
        self.window.add(reading);
        self.next_due += self.settings.interval;
        if self.next_due <= now {
            // The thread was held up (a full queue): skip the samples missed, not bunch them.
            self.next_due = now + self.settings.interval;
        }
        if self.window.samples() < self.settings.samples_before_logging {
            return None;
        }
        let index = self.windows;
        self.windows += 1;
        Some((index, self.window.take(&self.settings.prefix)))
    }
}

/// One run on the thread.
struct Monitored {
    job: Job,
    schedule: Schedule,
    first_step: FirstStep,
}

impl Monitored {
    fn new(job: Job, source: &mut dyn ReadingSource) -> Monitored {
        let first_step = if job.resumed {
            FirstStep::Asked(ask_next_step(&job))
        } else {
            FirstStep::Known(0)
        };
        Monitored {
            schedule: Schedule::new(
                job.settings.clone(),
                job.started,
                Window::new(source.network()),
            ),
            first_step,
            job,
        }
    }

    fn sampled(&mut self, reading: &Reading, now: Instant) {
        if let Some((index, values)) = self.schedule.sampled(reading, now) {
            self.log(index, values);
        }
    }

    fn log(&mut self, index: i64, values: Vec<(String, f64)>) {
        let first = match &self.first_step {
            FirstStep::Known(step) => *step,
            FirstStep::Asked(answer) => {
                // Python's rule: 0 when the run cannot be read.
                let step = answer.recv().unwrap_or(0);
                self.first_step = FirstStep::Known(step);
                step
            }
        };
        let step = first + index;
        let timestamp = now_ms();
        let mut batch = Batch::default();
        for (key, value) in values {
            match validate::key("metric", &key) {
                Ok(()) => batch.metrics.push(Metric::new(key, value, timestamp, step)),
                Err(e) => warn_once(&format!("system metrics: {e}")),
            }
        }
        if batch.is_empty() || self.job.stop.load(Ordering::Acquire) {
            return;
        }
        // Through the run's queue like any other log: ordered after its creation.
        let sent = self.job.tracker.send(Command::Log {
            run: self.job.slot.clone(),
            batch,
        });
        if sent.is_err() {
            self.job.stop.store(true, Ordering::Release);
        }
    }
}

/// Asks the store, after the resumed run's start, for the step after its highest `system/`
/// step (whatever node logged it), as Python's `_get_next_logging_step` does.
fn ask_next_step(job: &Job) -> flume::Receiver<i64> {
    let (reply, answer) = flume::bounded(1);
    let slot = job.slot.clone();
    let call = Command::Call(Box::new(move |ctx| {
        Box::pin(async move {
            let next = async {
                let id = slot.known_id()?;
                let run = ctx.get().ok()?.get_run(&id).await.ok()?;
                run.metrics
                    .iter()
                    .filter(|m| m.key.starts_with("system/"))
                    .map(|m| m.step)
                    .max()
            };
            let _ = reply.send(next.await.map_or(0, |step| step + 1));
        })
    }));
    // A stopped sender drops the reply, which reads as "start at 0".
    let _ = job.tracker.send(call);
    answer
}

/// The thread: waits for the earliest run due (or a new run), samples, logs.
fn run(mut source: readings::Sources, jobs: &flume::Receiver<Job>) {
    let mut runs: Vec<Monitored> = Vec::new();
    let mut last: Option<(Instant, Reading)> = None;
    loop {
        let next_due = runs.iter().map(|r| r.schedule.next_due).min();
        let job = match next_due {
            None => jobs.recv().ok(),
            Some(due) => match jobs.recv_deadline(due) {
                Ok(job) => Some(job),
                Err(flume::RecvTimeoutError::Timeout) => None,
                Err(flume::RecvTimeoutError::Disconnected) => return,
            },
        };
        if next_due.is_none() && job.is_none() {
            return;
        }
        if let Some(job) = job {
            runs.push(Monitored::new(job, &mut source));
        }
        runs.retain(|r| !r.job.stop.load(Ordering::Acquire));
        let now = Instant::now();
        for monitored in runs.iter_mut().filter(|r| r.schedule.next_due <= now) {
            let recent = last
                .as_ref()
                .is_some_and(|(at, _)| now.duration_since(*at) < SHARE_READING);
            if !recent {
                let mut reading = Reading::default();
                source.sample(&mut reading.values);
                reading.network = source.network();
                last = Some((now, reading));
            }
            if let Some((_, reading)) = &last {
                monitored.sampled(reading, now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source whose CPU figure climbs by 10.25 at each sample.
    struct Fake(f64);

    impl ReadingSource for Fake {
        fn sample(&mut self, into: &mut Vec<(String, f64)>) {
            self.0 += 10.25;
            into.push(("cpu_utilization_percentage".into(), self.0));
        }
    }

    #[test]
    fn every_nth_sample_completes_a_window_averaged_and_rounded() {
        let settings = Settings {
            interval: Duration::from_millis(200),
            samples_before_logging: 2,
            prefix: "system/".into(),
        };
        let t0 = Instant::now();
        let mut schedule = Schedule::new(settings, t0, Window::new(None));
        let mut source = Fake(0.0);
        let mut logged = Vec::new();
        for i in 1..=5 {
            let now = t0 + Duration::from_millis(200 * i);
            assert_eq!(
                schedule.next_due, now,
                "each sample is one interval after the last"
            );
            let mut reading = Reading::default();
            source.sample(&mut reading.values);
            logged.extend(schedule.sampled(&reading, now));
        }
        // (10.25 + 20.5) / 2 = 15.375 and (30.75 + 41.0) / 2 = 35.875, as Python rounds
        // them; the fifth sample's window is not full and is not logged.
        assert_eq!(
            logged,
            [
                (
                    0,
                    vec![("system/cpu_utilization_percentage".to_owned(), 15.4)]
                ),
                (
                    1,
                    vec![("system/cpu_utilization_percentage".to_owned(), 35.9)]
                ),
            ]
        );
    }

    #[test]
    fn a_late_sample_moves_the_schedule_instead_of_bunching_samples() {
        let settings = Settings {
            interval: Duration::from_secs(1),
            samples_before_logging: 1,
            prefix: "system/".into(),
        };
        let t0 = Instant::now();
        let mut schedule = Schedule::new(settings, t0, Window::new(None));
        let late = t0 + Duration::from_millis(3500);
        assert!(schedule.sampled(&Reading::default(), late).is_some());
        assert_eq!(schedule.next_due, late + Duration::from_secs(1));
    }
}
