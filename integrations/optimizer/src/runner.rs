//! Running one trial: its child run, its number, the objective (errors, pruning, panics),
//! and how the trial is recorded; and several trials on worker threads.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt::Display;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use mlflow_tracking_runtime::{RunGuard, RunStatus, start_run};

use crate::error::{Error, Result};
use crate::held::Held;
use crate::layout::{FAIL_REASON_TAG, NUMBER_TAG, PARAM_DIRECTIONS_TAG, VALUE_METRIC, json_string};
use crate::storage;
use crate::study::Study;
use crate::trial::Trial;

/// Runs one trial of `objective` on this thread; `wanted` is how many trials the caller
/// still has to start (this one included), the most numbers worth claiming at once.
pub(crate) fn run_trial<F, E>(study: &Study, objective: &F, wanted: usize) -> Result<()>
where
    F: Fn(&mut Trial<'_>) -> std::result::Result<f64, E>,
    E: Display + 'static,
{
    let claimed = study.claims.take(&study.client, &study.run_id, wanted)?;
    if claimed.others_wrote {
        study.refresh()?;
    }
    let number = claimed.number;
    // The parent is passed explicitly: on a worker thread nothing is active, and on the
    // caller's thread a run the caller has open must not become the trial's parent. The
    // number goes with the run's creation; nothing here waits for the run to exist.
    let guard = start_run()
        .parent(&study.run)
        .tag(PARAM_DIRECTIONS_TAG, "{}")
        .tag(NUMBER_TAG, number)
        .start();
    let inner = storage::with_number(number, || study.inner.ask());
    let mut trial = Trial {
        inner,
        space: &study.space,
        run: guard.handle(),
        number,
        suggested: BTreeMap::new(),
        held: Held::new(),
    };
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| objective(&mut trial)));
    let Trial {
        inner, mut held, ..
    } = trial;
    match outcome {
        Ok(Ok(value)) if !value.is_nan() => {
            held.point(VALUE_METRIC, value, 1);
            study.inner.complete_trial(inner, value);
            finish(held, guard, RunStatus::Finished)?;
            study.show_if_best(number, value)?;
        }
        Ok(Ok(_nan)) => {
            // Optuna fails a trial whose value is NaN.
            let reason = "the objective returned NaN";
            held.tag(FAIL_REASON_TAG.to_owned(), json_string(reason));
            study.inner.fail_trial(inner, reason);
            finish(held, guard, RunStatus::Failed)?;
        }
        Ok(Err(e)) if is_pruned(&e) => {
            // Optuna's value of a pruned trial: its last reported value.
            let last = inner
                .intermediate_values()
                .iter()
                .max_by_key(|(s, _)| *s)
                .map(|(_, v)| *v);
            if let Some(v) = last.filter(|v| !v.is_nan()) {
                held.point(VALUE_METRIC, v, 1);
            }
            study.inner.prune_trial(inner);
            finish(held, guard, RunStatus::Killed)?;
        }
        Ok(Err(e)) => {
            let reason = e.to_string();
            held.tag(FAIL_REASON_TAG.to_owned(), json_string(&reason));
            study.inner.fail_trial(inner, reason);
            finish(held, guard, RunStatus::Failed)?;
        }
        Err(payload) => {
            let reason = format!("panic: {}", panic_message(payload.as_ref()));
            held.tag(FAIL_REASON_TAG.to_owned(), json_string(&reason));
            finish(held, guard, RunStatus::Failed).ok();
            panic::resume_unwind(payload);
        }
    }
    Ok(())
}

/// Sends what the trial held back, then ends its run with `status`, also when sending was
/// refused: the run must not stay RUNNING.
fn finish(mut held: Held, guard: RunGuard, status: RunStatus) -> Result<()> {
    let sent = held.send(&guard.handle());
    guard.end(status);
    sent
}

/// Runs `n_trials` trials on `workers` threads; the first error stops new trials.
pub(crate) fn run_parallel<F, E>(
    study: &Study,
    n_trials: usize,
    workers: usize,
    objective: &F,
) -> Result<()>
where
    F: Fn(&mut Trial<'_>) -> std::result::Result<f64, E> + Sync,
    E: Display + 'static,
{
    let started = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let mut panicked = None;
    std::thread::scope(|s| {
        let threads: Vec<_> = (0..workers.min(n_trials))
            .map(|_| {
                s.spawn(|| {
                    loop {
                        let begun = started.fetch_add(1, Ordering::SeqCst);
                        if stop.load(Ordering::SeqCst) || begun >= n_trials {
                            break;
                        }
                        if let Err(e) = run_trial(study, objective, n_trials - begun) {
                            stop.store(true, Ordering::SeqCst);
                            let mut slot = first_error.lock().unwrap_or_else(|p| p.into_inner());
                            slot.get_or_insert(e);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            if let Err(payload) = t.join() {
                stop.store(true, Ordering::SeqCst);
                panicked.get_or_insert(payload);
            }
        }
    });
    if let Some(payload) = panicked {
        panic::resume_unwind(payload);
    }
    match first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The objective's error says the trial is pruned: the `optimizer` crate's `TrialPruned`
/// or `Error::TrialPruned`, or this crate's `Error::TrialPruned`.
fn is_pruned<E: 'static>(e: &E) -> bool {
    let any: &dyn Any = e;
    any.downcast_ref::<optimizer::TrialPruned>().is_some()
        || matches!(
            any.downcast_ref::<optimizer::Error>(),
            Some(optimizer::Error::TrialPruned)
        )
        || matches!(any.downcast_ref::<Error>(), Some(Error::TrialPruned))
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_owned()
    }
}

/// Runs `n_trials` trials, `concurrency` at once, each on a tokio blocking thread: every
/// store call (the trial's run, its number, reading back) happens there, never on the
/// executor's threads.
#[cfg(feature = "async")]
pub(crate) async fn run_async<F, E>(
    study: std::sync::Arc<Study>,
    n_trials: usize,
    concurrency: usize,
    objective: std::sync::Arc<F>,
) -> Result<()>
where
    F: Fn(&mut Trial<'_>) -> std::result::Result<f64, E> + Send + Sync + 'static,
    E: Display + 'static,
{
    let started = std::sync::Arc::new(AtomicUsize::new(0));
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..concurrency.min(n_trials))
        .map(|_| {
            let (study, objective) = (study.clone(), objective.clone());
            let (started, stop) = (started.clone(), stop.clone());
            tokio::task::spawn_blocking(move || -> Result<()> {
                loop {
                    let begun = started.fetch_add(1, Ordering::SeqCst);
                    if stop.load(Ordering::SeqCst) || begun >= n_trials {
                        break;
                    }
                    if let Err(e) = run_trial(&study, &*objective, n_trials - begun) {
                        stop.store(true, Ordering::SeqCst);
                        return Err(e);
                    }
                }
                Ok(())
            })
        })
        .collect();
    let mut first_error = None;
    let mut panicked = None;
    for task in tasks {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(join) => match join.try_into_panic() {
                Ok(payload) => {
                    panicked.get_or_insert(payload);
                }
                Err(other) => {
                    first_error.get_or_insert(Error::Optimizer(other.to_string()));
                }
            },
        }
    }
    if let Some(payload) = panicked {
        panic::resume_unwind(payload);
    }
    first_error.map_or(Ok(()), Err)
}
