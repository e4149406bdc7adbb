//! MLflow experiment tracking for Rust.
//!
//! Annotate functions with [`#[mlflow::parent_run]`](parent_run) and
//! [`#[mlflow::child_run]`](child_run): each call becomes an MLflow run, runs started inside
//! another run nest under it, and [`log_param`], [`log_metric`] and [`set_tag`] go to the
//! run that is active where they are called. A hyperparameter sweep needs no explicit
//! context management:
//!
//! ```no_run
//! #[mlflow::parent_run(name = "parent_run_test_default_{test_no}")]
//! fn execute_tuning(test_no: u32) {
//!     mlflow::set_tag("test_identifier", "default").ok();
//!     for i in 0..5 {
//!         train_one(i, test_no);
//!     }
//! }
//!
//! #[mlflow::child_run(name = "run_{i}_test_{test_no}")]
//! fn train_one(i: u32, test_no: u32) {
//!     mlflow::log_param("param1", "x").ok();
//!     mlflow::log_metric("metric1", 0.42).ok();
//! }
//!
//! fn main() -> Result<(), mlflow::Error> {
//!     mlflow::set_experiment("Nested Child Association")?;
//!     for x in 0..5 {
//!         execute_tuning(x);
//!     }
//!     mlflow::flush()
//! }
//! ```
//!
//! # Coming from Python
//!
//! The calls keep the Python client's names where they can; where Python takes optional
//! keyword arguments, Rust has a builder. A script written with `mlflow` in Python and the
//! same calls written here store the same things (`tests/side_by_side.rs` runs both on fresh
//! stores and compares them through the Python client).
//!
//! | Python | Rust |
//! | --- | --- |
//! | `mlflow.set_tracking_uri(uri)`, `get_tracking_uri()` | [`set_tracking_uri`]`(uri)?`, [`get_tracking_uri`]`()` |
//! | `mlflow.set_experiment(name)` | [`set_experiment`]`(name)?` |
//! | `mlflow.set_experiment(experiment_id=id)` | [`set_experiment_by_id`]`(id)?` |
//! | `mlflow.create_experiment(name, artifact_location=.., tags=..)` | [`create_experiment`]`(name).artifact_location(..).tag(k, v).create()?` |
//! | `mlflow.get_experiment(id)`, `get_experiment_by_name(name)` | [`get_experiment`]`(id)?`, [`get_experiment_by_name`]`(name)?` |
//! | `mlflow.delete_experiment(id)`; `MlflowClient().restore_experiment(id)`, `.rename_experiment(id, name)` | [`delete_experiment`]`(id)?`; [`restore_experiment`]`(id)?`, [`Client::rename_experiment`]`(id, name)?` |
//! | `mlflow.set_experiment_tag(k, v)`, `set_experiment_tags(d)`, `delete_experiment_tag(k)` | [`set_experiment_tag`], [`set_experiment_tags`], [`delete_experiment_tag`] |
//! | `mlflow.search_experiments(filter_string=..)` | [`search_experiments`]`().filter(..).collect_all()?` |
//! | `with mlflow.start_run(run_name=.., tags=.., description=..):` | `let _run = `[`start_run`]`().name(..).tag(k, v).description(..).start();`, or [`#[parent_run]`](parent_run) / [`#[child_run]`](child_run) on a function |
//! | `start_run(nested=True)` | nothing to write: a run started inside another nests under it |
//! | `start_run(run_id=id)` (and `MLFLOW_RUN_ID`) | `start_run().`[`resume`](RunBuilder::resume)`(id).start()` (and `MLFLOW_RUN_ID`) |
//! | `start_run(parent_run_id=id)`, `experiment_id=..`, `log_system_metrics=True` | [`RunBuilder::parent_id`], [`RunBuilder::experiment_id`], [`RunBuilder::log_system_metrics`] |
//! | `mlflow.end_run(status)` | [`RunGuard::end`]`(RunStatus::Failed)`, or drop the guard (FINISHED), or return `Err` from an annotated function (FAILED) |
//! | `MlflowClient().set_terminated(id, status, end_time=t)` | [`Client::set_terminated`], [`Client::set_terminated_at`], [`RunGuard::end_at`] |
//! | `mlflow.active_run()`, `last_active_run()` | [`active_run`]`()` (a [`RunHandle`]: `.id()?`, `.name()`), [`last_active_run`]`()?` |
//! | `mlflow.get_run(id)`, `get_parent_run(id)` | [`get_run`]`(id)?`, [`get_parent_run`]`(id)?` |
//! | `mlflow.delete_run(id)`; `MlflowClient().restore_run(id)` | [`delete_run`]`(id)?`, [`restore_run`]`(id)?` |
//! | `MlflowClient().update_run(id, status=.., name=..)` | [`Client::update_run`]`(id, RunUpdate::renamed(..))?` ([`RunUpdate`]) |
//! | `mlflow.log_param(k, v)`, `log_params(d)` | [`log_param`]`(k, v)?`, [`log_params`]`([(k, v), ..])?` |
//! | `mlflow.log_metric(k, v)`, `log_metric(k, v, step=s)` | [`log_metric`]`(k, v)?`, [`log_metric_with_step`]`(k, v, s)?` |
//! | `mlflow.log_metric(k, v, step=s, timestamp=t)` | [`metric`]`(k, v).step(s).timestamp(t).log()?` |
//! | `mlflow.log_metrics(d)`, `log_metrics(d, step=s)` | [`log_metrics`]`([(k, v), ..])?`, [`log_metrics_with_step`]`(.., s)?` |
//! | `mlflow.set_tag(k, v)`, `set_tags(d)`, `delete_tag(k)` | [`set_tag`], [`set_tags`], [`delete_tag`] |
//! | `mlflow.log_artifact(path, artifact_path=dir)` | [`log_artifact`]`(path)?`, [`log_artifact_to`]`(path, dir)?` |
//! | `mlflow.log_artifacts(local_dir, artifact_path=dir)` | [`log_artifacts`]`(local_dir)?`, [`log_artifacts_to`]`(local_dir, dir)?` |
//! | `mlflow.log_text(text, file)`, `log_dict(d, file)` | [`log_text`]`(text, file)?`, [`log_dict`]`(&value, file)?` (any `Serialize` value) |
//! | `mlflow.log_figure(fig, file)` | [`log_figure`]`(bytes, file)?` (the PNG or SVG your plotting crate drew) |
//! | `mlflow.log_table(data, file)`, `load_table(file, run_ids=..)` | [`log_table`]`(&table, file)?` ([`Table`]), [`load_table`]`(file).run_ids(..).load()?` |
//! | `mlflow.log_image(image, key=k, step=s)` | `log_image(k, image, s)?` (feature `image`) |
//! | `mlflow.artifacts.load_text(uri)`, `load_dict(uri)` | [`load_text`]`(uri)?`, [`load_dict`]`(uri)?` |
//! | `MlflowClient().list_artifacts(id, path)`, `mlflow.artifacts.download_artifacts(run_id=id, artifact_path=p, dst_path=d)` | [`list_artifacts`]`(id, path)?`, [`download_artifacts`]`(id, p, d)?` |
//! | `mlflow.get_artifact_uri(path)` | [`get_artifact_uri`]`(path)?` |
//! | `mlflow.search_runs(experiment_names=.., filter_string=.., order_by=..)` | [`search_runs`]`().experiment_names(..).filter(..).order_by(..).collect_all()?` |
//! | `MlflowClient().get_metric_history(id, key)` | [`get_metric_history`]`(id, key)?` |
//! | `mlflow.enable_system_metrics_logging()` | [`enable_system_metrics_logging`]`()` |
//! | `mlflow.flush_async_logging()` | [`flush`]`()?` |
//! | `mlflow.log_input(dataset, context=c)`; `MlflowClient().log_inputs(id, datasets)` | [`log_input`]`(&dataset, Some(c))?` ([`Dataset`]); [`Client::log_inputs`]`(id, &inputs)?` ([`DatasetInput`]) |
//! | `mlflow.data.get_normalized_md5_digest([bytes])` | [`digest_of_bytes`]`(bytes)`, [`file_digest`]`(path)?`, [`Dataset::from_file`]`(name, path)?` |
//! | `run.inputs.dataset_inputs`, `run.outputs.model_outputs` | `run.`[`inputs`](Run::inputs)`.dataset_inputs`, `run.`[`outputs`](Run::outputs)`.model_outputs` |
//! | `mlflow.<flavor>.log_model(model, name=n, params=.., model_type=..)` | [`log_model`]`(n, path)?`, [`logged_model`]`(n, path).param(k, v).model_type(t).flavor(f).log()?` |
//! | `mlflow.get_logged_model(id)`, `search_logged_models(filter_string=.., order_by=..)` | [`get_logged_model`]`(id)?`, [`search_logged_models`]`().filter(..).order_by(..).collect_all()?` |
//! | `mlflow.log_metric(k, v, step=s, model_id=m.model_id, dataset=d)` | [`metric`]`(k, v).step(s).model(&m).dataset(&d).log()?` |
//! | `mlflow.register_model(model_uri, name)` | [`register_model`]`(uri, name)?` ([`ModelVersion`], its `version` a `u64`) |
//! | `MlflowClient().set_registered_model_alias(name, alias, version)`, `get_model_version_by_alias(..)` | [`Client::set_registered_model_alias`]`(name, alias, v)?`, [`Client::get_model_version_by_alias`]`(name, alias)?` |
//! | `MlflowClient().search_registered_models(filter_string=..)`, `search_model_versions(..)` | [`Client::search_registered_models`]`().filter(..).collect_all()?`, [`Client::search_model_versions`]`()` |
//! | `mlflow.artifacts.download_artifacts(artifact_uri="models:/name@alias", dst_path=d)` | [`download_artifacts_uri`]`("models:/name@alias", d)?` |
//! | `mlflow.set_registry_uri(uri)`, `MLFLOW_REGISTRY_URI` | [`set_registry_uri`]`(uri)?`, the same variable |
//! | `optuna.create_study(study_name=n, storage=MlflowStorage(experiment_id=e))`, `load_study(..)`; `study.optimize(f, n_trials=k)` | `mlflow::optimizer::Study::builder(n).minimize().param(name, ..).load_or_create()?`, then `study.optimize(k, f)?` (feature `optimizer`; "Tuning with an optimizer") |
//! | `MlflowClient(tracking_uri=uri, registry_uri=r)` | [`Client::new`]`()`, [`Client::with_tracking_uri`]`(uri)?`, `.`[`with_registry_uri`](Client::with_registry_uri)`(r)?` |
//!
//! [`Client`] has the run-by-id forms of the logging and reading calls, as `MlflowClient`
//! has them, and [`RunHandle`] the same calls bound to one run.
//!
//! What differs, and why:
//!
//! - **Logging is queued.** The Python client sends each call before it returns (unless
//!   `MLFLOW_ENABLE_ASYNC_LOGGING` is on); here a logging call checks its input, queues it and
//!   returns, and what the store says later comes from [`flush`], from the end of the run
//!   and on stderr. Input MLflow would refuse is still an error from the call itself.
//! - **Ctrl-C.** Python raises `KeyboardInterrupt` and marks the runs it unwinds through
//!   FAILED. A Rust process ends at once and its runs stay RUNNING, unless it called
//!   [`install_signal_handlers`]: then its runs end KILLED, after a flush.
//! - **The active run** is per thread, as in Python, and per future in async code; a new
//!   thread or task starts with none (hand one over with [`RunHandle::enter`] or
//!   [`RunHandle::scope`]).
//! - **Searches** return [`Run`]s, not a DataFrame. [`search_runs`] returns up to 100,000
//!   runs as `mlflow.search_runs` does ([`FLUENT_SEARCH_LIMIT`]), [`Client::search_runs`] one
//!   page of 1,000 as `MlflowClient.search_runs` ([`CLIENT_SEARCH_LIMIT`]); either takes
//!   `max_results`, and `collect_all()` / `iter()` page through everything asked for.
//! - **`log_image`** takes the key first; its thumbnail is lossless WebP (Python's is lossy).
//!   **`log_dict`** writes JSON keys in the value's order (a struct's fields; a
//!   `serde_json::json!` map sorts them), and YAML with a few byte-level differences from
//!   PyYAML listed at [`log_dict`]. **`load_dict`** reads YAML too.
//! - **Retries** follow Python's policy and limits; the backoff factor may be fractional.
//! - **A run's end** records FAILED for an `Err` or a panic, as Python does for an exception;
//!   a process that calls `std::process::exit` ends its open runs FINISHED, as Python's exit
//!   hook does.
//!
//! # Where the data goes
//!
//! The tracking URI is, in this order: what [`set_tracking_uri`] set, else the environment
//! variable `MLFLOW_TRACKING_URI`, else `sqlite:///mlflow.db`, MLflow's own default: an
//! SQLite file in the working directory, in MLflow's own schema, so that `mlflow ui` started
//! in the same folder shows the runs (nested), next to runs logged from Python.
//!
//! | URI | store |
//! |---|---|
//! | `http://host:port`, `https://...` | any MLflow tracking server (REST) |
//! | `sqlite:///relative/path.db`, `sqlite:////absolute/path.db` | the embedded store |
//!
//! Other URIs that MLflow knows (`postgresql://`, `databricks`, `file:` paths to `mlruns`)
//! are refused with an error that says what to use instead.
//!
//! The experiment is, in this order: what [`set_experiment`] chose (getting or creating it
//! by name), else `MLFLOW_EXPERIMENT_NAME` (get or create), else `MLFLOW_EXPERIMENT_ID`,
//! else the Default experiment `"0"`. A run started inside another run goes to its parent's
//! experiment.
//!
//! # Cargo features
//!
//! From `Cargo.toml`'s own comments:
//!
#![doc = document_features::document_features!()]
//!
//! A program that only talks to a server need not build SQLite, and one that only writes
//! `mlflow.db` need not build an HTTP and TLS stack:
//!
//! ```toml
//! mlflow-tracking = { version = "0.1", default-features = false, features = ["macros", "rest"] }
//! ```
//!
//! The API is the same in every build. A URI whose store the build left out is an
//! [`Error::Config`] that names the feature, such as, in a rest-only build: `tracking URI
//! "sqlite:///mlflow.db" needs the embedded SQLite store, which this build left out: enable
//! the "sqlite" feature of mlflow-tracking (on by default); or use an http:// or https://
//! tracking server URI`. [`set_tracking_uri`] and [`Client::with_tracking_uri`] refuse such
//! a URI at once; one from `MLFLOW_TRACKING_URI`, or the default `sqlite:///mlflow.db`, is
//! refused by the first call that needs the store ([`set_experiment`], a search, [`flush`]
//! for runs logged anyway). So a rest-only program sets `MLFLOW_TRACKING_URI` or calls
//! [`set_tracking_uri`] first.
//!
//! # Runs
//!
//! A run records `start_time`, its name (also the `mlflow.runName` tag), and the system tags
//! the Python client sets: `mlflow.user`, `mlflow.source.name` (the program as invoked),
//! `mlflow.source.type` = `LOCAL`, and `mlflow.source.git.commit`/`.branch`/`.repoURL` when
//! the program runs inside a git work tree. A run started while another is active on the
//! same thread gets `mlflow.parentRunId` = that run: this is how MLflow nests runs, to any
//! depth. A run given no name gets one made up as MLflow makes them up (`adaptable-owl-412`:
//! an adjective and an animal from MLflow's lists, a number up to 1000, at most 20
//! characters), on either store, known as soon as the run starts ([`RunHandle::name`]).
//!
//! `MLFLOW_RUN_CONTEXT`, as in Python, adds tags to every new run: a JSON object such as
//! `{"team": "vision", "shard": 3}` (numbers and bools written as Python writes them). Its
//! tags override the system tags, and the run's own tags override them; the variable is read
//! once, when the process creates its first run. A value that is not a JSON object is
//! ignored with a warning, as a member with an invalid key or a `null`, list or object value.
//!
//! A run ends FINISHED when its function returns, FAILED when it returns `Err` (the error's
//! `Display` goes into the tag `error`) or panics (the panic then goes on unchanged).
//! `MLFLOW_RUN_ID`, when set, makes the first top-level run of the process resume that run,
//! as the Python client does.
//!
//! A run's **description** (the UI's "Description", the `mlflow.note.content` tag) comes
//! from `start_run().description("..")`; the macros take the annotated function's doc
//! comment, as written (no placeholders), and `description = ".."` or `description = false`
//! change that.
//!
//! When a run against a tracking server ends, the links to it and to its experiment are
//! printed on stdout once its end is recorded, as the Python client prints them:
//!
//! ```text
//! 🏃 View run trial-3 at: http://127.0.0.1:5000/#/experiments/1/runs/0f3c...
//! 🧪 View experiment at: http://127.0.0.1:5000/#/experiments/1
//! ```
//!
//! The host keeps the tracking URI's path prefix and never shows credentials. The embedded
//! store prints nothing; `MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT=true` or
//! [`print_run_links(false)`](print_run_links) turn the links off.
//!
//! The macros are sugar over the imperative API, which can be used directly:
//!
//! ```no_run
//! let run = mlflow::start_run().name("by-hand").tag("team", "vision").start();
//! mlflow::log_metric("loss", 0.5)?;
//! let child = mlflow::start_run().name("trial-1").start(); // nests under "by-hand"
//! mlflow::log_param("lr", 0.01)?;
//! drop(child); // FINISHED
//! run.end(mlflow::RunStatus::Finished);
//!
//! // Closure form: FINISHED on Ok, FAILED on Err or panic.
//! let value = mlflow::start_run().name("closure").try_run(|| {
//!     mlflow::log_metric("acc", 0.9)?;
//!     Ok::<_, mlflow::Error>(42)
//! })?;
//! # let _ = value;
//! # Ok::<(), mlflow::Error>(())
//! ```
//!
//! # Logging
//!
//! [`log_param`], [`log_params`], [`log_metric`], [`log_metric_with_step`], [`log_metrics`],
//! [`set_tag`] and [`set_tags`] log to the innermost active run. They check their input on
//! the spot and return an error for what can be known at once: no active run
//! ([`Error::NoActiveRun`]), a key MLflow would reject ([`Error::InvalidKey`]), a param this
//! process already logged with another value ([`Error::ParamChanged`]). Param values over
//! 6000 and tag values over 8000 characters are truncated with a warning, as the official
//! client does. Metric values may be NaN or infinite.
//!
//! Param and tag values are text. They take any `impl Display`, and are written as the
//! Python client writes them (it stores `str(value)`), so that a search written for runs
//! logged from Python, such as `params.lr = '1e-05'`, finds runs logged from Rust too:
//!
//! | value | stored | (Rust's `Display`) |
//! | --- | --- | --- |
//! | `1e-5_f64` | `1e-05` | `0.00001` |
//! | `1.0_f64`, `100.0` | `1.0`, `100.0` | `1`, `100` |
//! | `1e16`, `1e15` | `1e+16`, `1000000000000000.0` | `10000000000000000`, `1000000000000000` |
//! | `0.1_f32` | `0.1` (an `f32`'s own shortest digits) | `0.1` |
//! | `f64::NAN`, `f64::INFINITY`, `-0.0` | `nan`, `inf`, `-0.0` | `NaN`, `inf`, `-0` |
//! | `true` | `True` | `true` |
//!
//! That is Python's `repr(float)` for `f64` and `f32` (the shortest digits that read back
//! as the value, positional from `1e-4` up to below `1e16`, scientific otherwise) and `True`
//! / `False` for `bool`, also behind references (`&f64`, as when logging a map's values).
//! Every other type is written with its `Display` (integers, strings, your own types). This
//! holds for [`log_param`], [`log_params`], [`set_tag`], [`set_tags`], [`RunHandle`]'s and
//! [`Client`]'s methods, [`RunBuilder::param`] and [`RunBuilder::tag`], the macros'
//! `params(..)` and `mlflow::burn::log_config`. Run names, `{placeholders}` included, are
//! Rust's `format!` text. To store another text, pass a string (`format!("{lr}")`).
//!
//! They do not wait for the network or the disk: values are queued and a background thread
//! (with its own tokio runtime, so this works from inside any async executor) sends them in
//! batches; see [What waits](#what-waits) for when a call does wait. What the store says
//! later (server errors, outages) is reported by [`flush`], on stderr and through
//! `tracing`. [`flush`] waits until everything logged so far is stored. When `main` returns
//! (or `std::process::exit` is called) the queue is flushed before the process ends; a
//! process killed by a signal or an aborting panic loses what was still queued.
//!
//! # Errors
//!
//! Every call returns the one [`Error`] type (it is `Clone`, so a failure can be kept and
//! reported more than once). Its kind says what to do about it:
//!
//! | kind | what happened | what to do |
//! | --- | --- | --- |
//! | [`Error::Config`] | the tracking URI, an environment variable or another setting is unusable | fix the setting the message names |
//! | [`Error::InvalidKey`], [`Error::InvalidValue`], [`Error::InvalidArgument`], [`Error::ParamChanged`] | input MLflow would refuse | fix the call |
//! | [`Error::NoActiveRun`] | a logging call outside any run | start a run, or hand the run over ([`RunHandle::scope`]) |
//! | [`Error::Api`] | the store refused a request: MLflow's code and message are kept | read the message ([`Error::error_code`]) |
//! | [`Error::Transport`] | the store could not be reached, or its answer could not be read | check the server and the network; the data waits in the spill file (a local offline buffer) |
//! | [`Error::Spilled`] | data waits in a spill file for the store to come back | nothing, or [`replay_spill`] later |
//! | [`Error::Io`] | a local file or folder could not be read or written (the spill, an artifact, a download), with its path | check the disk, the permissions, the path |
//! | [`Error::Timeout`] | something did not finish in the time it was given (a flush with a deadline) | wait longer, or look at the store |
//! | [`Error::Internal`] | a failure no setting or input explains | please report it |
//!
//! [`Error::RunNotCreated`], [`Error::ParentRun`], [`Error::Undelivered`] and
//! [`Error::Many`] wrap one of these with the run they concern.
//!
//! # What waits
//!
//! **Logging calls return at once**: [`log_param`], [`log_params`], [`log_metric`] and its
//! forms, [`set_tag`], [`set_tags`], starting a run and ending one. Each checks its input,
//! puts one entry on a queue and returns; one background thread per tracking URI sends the
//! entries in batches (a `runs/log-batch` request of up to 1,000 metrics, or one SQLite
//! transaction), several runs' requests at once. The sweep at the top of this page costs
//! about three requests per run (create, one batch, end).
//!
//! **Unless the queue is full.** The queue holds [`QUEUE_CAPACITY`] (100,000) entries. When
//! the store is healthy but slower than the training loop, logging calls wait for room
//! (back-pressure) instead of growing memory: tried with 2,020 runs and 100,000 points
//! logged in a tight loop against a default local `mlflow server`, the loop waited 13.8 s in
//! all. When the store cannot be reached at all, nothing waits: what cannot be delivered
//! goes to the spill file (a local offline buffer, see [When things go wrong](#when-things-go-wrong))
//! and is delivered when the store is back. Nothing is dropped silently.
//!
//! **These calls wait for an answer**, after everything queued before them (so they see it):
//! [`set_experiment`] and every experiment call, [`RunHandle::id`] and [`active_run_id`]
//! over REST (until the server has created the run), [`flush`], [`search_runs`],
//! [`get_run`] and the other reads, artifact uploads and downloads (their errors are
//! returned by the call), and run management ([`delete_run`], [`Client::update_run`], ...).
//! In async code they block the calling thread.
//!
//! Over REST the server assigns run ids, so a new run's id is pending for a moment: the run
//! handle holds it, and a child's `mlflow.parentRunId` is filled in on the background thread
//! once the parent exists. The embedded store knows ids at once. Against a remote server,
//! keep a [`RunHandle`] (from [`active_run`]) where you would keep an id, and ask for the id
//! when you need it: each wait costs the caller a round trip and holds the next runs back:
//!
//! ```no_run
//! #[mlflow::parent_run(name = "trial_{lr}")]
//! fn trial(lr: f64) -> Option<mlflow::RunHandle> {
//!     mlflow::log_param("lr", lr).ok();
//!     mlflow::active_run() // not active_run_id(): that would wait for the create
//! }
//!
//! let runs: Vec<_> = [0.1, 0.01].into_iter().filter_map(trial).collect();
//! mlflow::flush()?;
//! for run in &runs {
//!     println!("{} is {}", run.name(), run.id()?);
//! }
//! # Ok::<(), mlflow::Error>(())
//! ```
//!
//! Everything queued is stored by [`flush`], when a run ends, and when the process exits
//! normally (`main` returns or `std::process::exit` runs: an exit hook flushes, for up to
//! 120 s). A process killed by SIGKILL, or a panic with `panic = "abort"`, loses what was
//! still queued; its runs then stay RUNNING in MLflow.
//!
//! How the background thread orders and batches requests, how many it keeps under way, how
//! it picks connections, and what a server 50 ms away costs: `docs/performance.md` in the
//! repository; the settings are in [Configuration](#configuration).
//!
//! # When things go wrong
//!
//! **Retries.** Requests to a tracking server are retried as the official client retries
//! them: on 408, 429, 500, 502, 503, 504 and connection errors, with exponential backoff
//! (`MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR` x 2^n seconds, default factor 2, at most 120 s) plus
//! up to `MLFLOW_HTTP_REQUEST_BACKOFF_JITTER` seconds of jitter (default 1), at most
//! `MLFLOW_HTTP_REQUEST_MAX_RETRIES` times (default 7), each attempt bounded by
//! `MLFLOW_HTTP_REQUEST_TIMEOUT` seconds (default 120). A `Retry-After` header (in seconds)
//! replaces the computed wait unless `MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER=false`. Run
//! and experiment creation is resent only where the server cannot have acted on it (a
//! refused connection, a 408, a 429), so retries never create a run twice. A server out of
//! database connections (a 400 "QueuePool limit ... reached", which MLflow answers after
//! rolling the request back) is retried too, creations included, where the Python client
//! gives up. A run creation
//! whose answer is lost otherwise (a reset, a timeout, a 5xx after the retries) may have
//! been acted on: it goes to the spill (below), and every run created over REST carries a
//! random key in the tag `mlflow.rs.createKey`, by which the replay looks the run up first
//! and creates it only when it is not there. Unlike the Python client, the backoff factor
//! may be fractional.
//!
//! **First contact.** Until the server has answered once, failures are bounded by
//! `MLFLOW_RS_FIRST_CONTACT_TIMEOUT` seconds (default 30): [`set_experiment`] against a
//! server that is down or a wrong URI fails within that time with an error that names the
//! URI and what to check, instead of backing off for minutes.
//!
//! **Outages.** Once runs are going, an outage is ridden out by the retries. When the
//! retries are exhausted, or the logging queue fills up half-way while a request is being
//! retried, nothing is dropped: the background sender writes what it cannot deliver (run
//! creations, metrics, params, tags, run ends, in order) to a spill file,
//! `./mlflow-spill/<pid>-<unix time>.jsonl` (the folder is `MLFLOW_RS_SPILL_DIR` when set),
//! and keeps draining the queue, so training never stalls. It probes the server every 2 s;
//! when the server answers again the spill is delivered, in order, before anything newer, and
//! the file is removed. [`flush`] reports data still waiting as [`Error::Spilled`] (with the
//! file), and a run that ends during an outage says so on stderr. A file left behind (the
//! process ended during the outage) is replayed with [`replay_spill`] or
//! `cargo run --example replay -- <file>`; the format is in [`spill`]. Replaying is
//! idempotent where MLflow is: params with the same value and tags are accepted again, and
//! MLflow's SQL stores keep one row per identical metric point; run creation is made so by
//! its key (a spilled creation whose run is found is not made again), and delivered lines
//! are removed from the file.
//!
//! **Bad input.** A key MLflow would reject, or a param changed to another value, is an
//! error from the logging call naming the key (and for params the old and new value), and
//! the other entries of the same call are still logged. When the conflict is found by the
//! server (a run resumed through `MLFLOW_RUN_ID` that already has the param), the rest of
//! the batch is sent again without the params, then each param alone, so only the
//! conflicting param is lost; [`flush`] reports it as [`Error::ParamChanged`].
//!
//! **Panics and signals.** A panic ends every run it unwinds through FAILED, innermost
//! first, and what was logged is delivered before the process exits. Ctrl-C and SIGTERM are
//! handled only after [`install_signal_handlers`]: the open runs then end KILLED (the Python
//! client marks such runs FAILED), the queue is flushed for at most
//! `MLFLOW_RS_SIGNAL_FLUSH_TIMEOUT` seconds (default 10), and the signal is raised again with
//! its default action, so the process ends as it would have.
//!
//! **Credentials and TLS.** `MLFLOW_TRACKING_USERNAME`/`MLFLOW_TRACKING_PASSWORD` (HTTP
//! Basic) win over `MLFLOW_TRACKING_TOKEN` (Bearer); credentials in the URI come last.
//! Certificates are verified (rustls, with the Mozilla roots); `MLFLOW_TRACKING_SERVER_CERT_PATH`
//! adds a CA bundle, `MLFLOW_TRACKING_CLIENT_CERT_PATH` names a PEM file with a client
//! certificate and its key, and `MLFLOW_TRACKING_INSECURE_TLS=true` turns verification off,
//! with a warning. Secrets never appear in `Debug` or `Display` output, errors, logs or spill
//! files; credentials in a tracking URI are shown as `***`.
//!
//! # Working with run ids
//!
//! [`active_run_id`] gives the id of the current run. Over REST the server assigns ids, so
//! this waits for the run to be created; the embedded store knows ids at once. [`Client`]
//! logs to and reads runs by id.
//!
//! # Reading runs back
//!
//! [`search_runs`] starts a search in MLflow's own grammar, run by the store (the server, or
//! SQL in the embedded store, with the same answers):
//!
//! - experiments: [`SearchRuns::experiment_ids`] / [`SearchRuns::experiment_names`], by
//!   default the active experiment;
//! - [`SearchRuns::filter`]: `<type>.<key> <op> <value>` clauses joined by `AND`, with types
//!   `metrics`, `params`, `tags` and `attributes` (`status`, `run_name`, `run_id`,
//!   `user_id`, `artifact_uri`, `start_time`, `end_time`); operators `=`, `!=`, `<`, `<=`,
//!   `>`, `>=` (metrics, times), `=`, `!=`, `LIKE`, `ILIKE` (strings; `LIKE` is
//!   case-sensitive), `IS NULL` / `IS NOT NULL` (params, tags), `IN` / `NOT IN` (`run_id`);
//!   keys with dots or spaces in back-quotes: ``tags.`mlflow.parentRunId` ``;
//! - [`SearchRuns::order_by`] such as `metrics.acc DESC` (missing values last), then
//!   `start_time DESC` and run id;
//! - [`SearchRuns::max_results`] caps the total; pages are fetched transparently by
//!   [`SearchRuns::iter`] (lazily) or [`SearchRuns::collect_all`].
//!
//! A filter the server would refuse gives [`Error::Api`] with status 400 and
//! `INVALID_PARAMETER_VALUE`, from either store. Results are [`Run`]s: info, latest
//! metrics, params, tags ([`Run::metric`], [`Run::param`], [`Run::tag`],
//! [`Run::parent_run_id`]). [`get_run`] reads one run, [`get_metric_history`] every point
//! of a metric, [`search_experiments`] the experiments; [`Client`] has the same calls for
//! another tracking URI. Reads run on the background sender after everything logged
//! before them, so they see it without a [`flush`].
//!
//! Finding each parent's best child (one search per parent):
//!
//! ```no_run
//! let parents = mlflow::search_runs()
//!     .experiment_names(["Nested Child Association"])
//!     .filter("tags.`mlflow.parentRunId` IS NULL")
//!     .collect_all()?;
//! for parent in &parents {
//!     let best = mlflow::search_runs()
//!         .experiment_ids([parent.info.experiment_id.clone()])
//!         .children_of(&parent.info.run_id)
//!         .order_by(["metrics.metric1 DESC"])
//!         .first()?;
//!     if let Some(child) = best {
//!         println!(
//!             "{} -> {} (metric1 = {:?})",
//!             parent.info.run_name,
//!             child.info.run_name,
//!             child.metric("metric1")
//!         );
//!     }
//! }
//! # Ok::<(), mlflow::Error>(())
//! ```
//!
//! # Experiments
//!
//! [`set_experiment`] gets or creates an experiment by name and makes it the active one;
//! [`set_experiment_by_id`] makes an existing, active experiment the active one (Python's
//! `set_experiment(experiment_id=...)`: a missing id is [`Error::Api`] with
//! `RESOURCE_DOES_NOT_EXIST`, a deleted experiment `INVALID_PARAMETER_VALUE`).
//! [`create_experiment`] creates one with an artifact location and tags, and returns its id
//! (a name that exists is `RESOURCE_ALREADY_EXISTS`). [`get_experiment`] and
//! [`get_experiment_by_name`] read one back: an [`Experiment`] with its `tags`,
//! `creation_time` and `last_update_time`.
//!
//! [`set_experiment_tag`], [`set_experiment_tags`] and [`delete_experiment_tag`] work on the
//! active experiment; [`delete_experiment`] and [`restore_experiment`] mark an experiment and
//! all its runs deleted or active again (MLflow keeps deleted ones, and their names, until
//! `mlflow gc`). [`Client`] has the same calls by experiment id, and
//! [`Client::rename_experiment`]. [`search_experiments`] filters by tag as MLflow does:
//! `tags.team = 'vision'`, `tags.team LIKE 'vis%'`, `tags.team IS NULL`.
//!
//! ```no_run
//! let id = mlflow::create_experiment("vision")
//!     .artifact_location("s3://bucket/vision")
//!     .tag("team", "vision")
//!     .create()?;
//! mlflow::set_experiment_by_id(&id)?;
//! mlflow::set_experiment_tag("stage", "dev")?;
//! let found = mlflow::search_experiments().filter("tags.team = 'vision'").collect_all()?;
//! assert_eq!(found[0].tag("stage"), Some("dev"));
//! mlflow::Client::new().rename_experiment(&id, "vision-2024")?;
//! # Ok::<(), mlflow::Error>(())
//! ```
//!
//! Every one of these calls waits for the store's answer, after everything logged before it
//! (they run on the background sender in queue order), and returns its error.
//!
//! # Managing runs
//!
//! - [`delete_run`] and [`restore_run`] (also on [`Client`]): a deleted run is kept, hidden
//!   from searches unless they ask for [`ViewType::DeletedOnly`] or [`ViewType::All`], and
//!   refuses new data.
//! - [`delete_tag`] deletes a tag of the active run, [`RunHandle::delete_tag`] of any run,
//!   [`Client::delete_tag`] by run id; a tag set just before is stored first.
//! - [`Client::update_run`] changes a run's status or name with a [`RunUpdate`];
//!   [`Client::set_terminated_at`] and [`RunGuard::end_at`] end a run with an end time of
//!   your choosing.
//! - [`get_parent_run`] reads a run's parent back; [`last_active_run`] reads back the
//!   active run, else the last run that ended on this thread (or in this task, for async
//!   code): per thread, as in Python.
//! - [`get_artifact_uri`] (and [`RunHandle::artifact_uri`]) gives the URI of an artifact of
//!   the active run, joined as MLflow joins it (`""` for the artifact root).
//!
//! ```no_run
//! #[mlflow::parent_run(name = "scratch")]
//! fn scratch() {
//!     mlflow::set_tag("draft", "yes").ok();
//!     mlflow::delete_tag("draft").ok();
//! }
//!
//! scratch();
//! let run = mlflow::last_active_run()?.expect("scratch's run");
//! mlflow::delete_run(&run.info.run_id)?;
//! mlflow::restore_run(&run.info.run_id)?;
//! # Ok::<(), mlflow::Error>(())
//! ```
//!
//! # Artifacts
//!
//! [`log_artifact`], [`log_artifact_to`] (into a folder), [`log_artifacts`] /
//! [`log_artifacts_to`] (a whole folder, recursively), [`log_text`] and [`log_json`] store
//! files with the active run; [`RunHandle`] has the same methods. [`list_artifacts`] and
//! [`download_artifacts`] (a file or a folder) read them back, also on [`Client`].
//!
//! - With a server that serves artifacts (the default of `mlflow server`: the run's
//!   `artifact_uri` is `mlflow-artifacts:/...`) files go through its artifact proxy,
//!   streamed in both directions (a 100 MB file does not sit in memory) and retried like
//!   every other request. Runs whose `artifact_uri` is a local folder (`file://` or an
//!   absolute path) are written there directly.
//! - With the embedded store, files go into the run's `artifact_uri` folder
//!   (`./mlruns/<experiment>/<run>/artifacts` by default), where `mlflow ui` finds them.
//!
//! Unlike metrics, an upload **waits**: it starts after the run's creation and everything
//! queued before it, and its error is returned by the call. Once the call returns, the local
//! file may be changed or removed. The bytes move beside the background sender, on threads
//! of their own: metrics logged meanwhile (from other threads, for this run or any other)
//! are delivered while a multi-gigabyte checkpoint is on its way.
//!
//! ## Object storage (S3)
//!
//! With the `s3` feature, artifact roots in S3 or an S3-compatible store (MinIO, Ceph,
//! Cloudflare R2, moto) are written and read by the process itself, as the Python client
//! does with boto3: the `s3://` URIs of a server started with `--default-artifact-root
//! s3://bucket/path --no-serve-artifacts`, and experiments of the embedded store created
//! with an `s3://` [`artifact_location`](CreateExperiment::artifact_location). Without the
//! feature such a URI is an [`Error::Config`] that names it. Settings come from the
//! environment, as boto3 and MLflow read them: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`, `AWS_DEFAULT_REGION` / `AWS_REGION`, `MLFLOW_S3_ENDPOINT_URL` (an
//! `http://` endpoint is allowed), `MLFLOW_S3_IGNORE_TLS`, `MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE`,
//! the roles of cloud machines (instance metadata, ECS and EKS task roles, web identity:
//! `AWS_WEB_IDENTITY_TOKEN_FILE` with `AWS_ROLE_ARN`), and the static keys of a profile in
//! `~/.aws/credentials` or `~/.aws/config` (`AWS_PROFILE`). Profiles that assume a role,
//! sign in through SSO or run a credential process are not read: export their keys
//! (`aws configure export-credentials --format env`). Files of 8 MiB or more go up in
//! parts of 8 MiB, ten at a time, read from disk as they go (a 2 GB file never sits in
//! memory), each part retried (`MLFLOW_HTTP_REQUEST_MAX_RETRIES`); a failed upload is
//! aborted, so no half object is left. Large downloads come back in byte ranges, written
//! to disk in order. Errors keep S3's code (`NoSuchBucket`, `InvalidAccessKeyId`) beside
//! MLflow's (`RESOURCE_DOES_NOT_EXIST`, `UNAUTHENTICATED`); keys never appear in them.
//!
//! Through a server that proxies artifacts to an object store (`--artifacts-destination
//! s3://...`), large files skip the server's own transfer, as the Python client's do: the
//! crate asks the server what it can do (`/api/3.0/mlflow/server-info`, once) and, when it
//! says so (a destination that presigns, such as S3), or when
//! `MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD` / `MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD` say
//! `true` (`false` keeps everything on the server's path):
//! - files of at least `MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE` bytes (default 500 MiB)
//!   go up in parts of `MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE` (default 10 MiB): the server
//!   hands out presigned part URLs, the parts go straight to the store (eight at a time,
//!   streamed from disk, each retried), and the server completes the upload, or aborts it
//!   after a failure. A server whose store has no multipart uploads gets the file in one
//!   request;
//! - downloads come from a presigned URL, in ranges of `MLFLOW_MULTIPART_DOWNLOAD_CHUNK_SIZE`
//!   bytes (default 100 MiB), eight at a time, each written at its place and retried (a
//!   GiB through the server's own path took 7-9x longer in the benchmarks).
//!
//! The server's credentials never go to the object store, and presigned URLs' signatures
//! never appear in errors or logs.
//!
//! ```no_run
//! let run = mlflow::start_run().name("train").start();
//! mlflow::log_json(&serde_json::json!({"lr": 0.01}), "config.json")?;
//! mlflow::log_artifact("model.bin")?;
//! mlflow::log_artifacts_to("plots", "figures")?;
//! let files = mlflow::list_artifacts(&run.id()?, "")?;
//! # let _ = files;
//! # Ok::<(), mlflow::Error>(())
//! ```
//!
//! ## Dicts, text and figures
//!
//! [`log_dict`] writes any `Serialize` value as the Python client's `log_dict` does: YAML
//! for a name ending in `.yaml` or `.yml` (`yaml.dump(value, indent=2,
//! default_flow_style=False)`: keys sorted, block style, strings a YAML 1.1 reader would
//! misread quoted), JSON otherwise (`json.dump(value, indent=2)`: the value's own key order,
//! non-ASCII as `\uXXXX`, floats as Python prints them). [`log_figure`] stores a rendered
//! figure, such as the SVG or PNG that `plotters` draws, as the file Python's `log_figure`
//! would have saved (its extension must match the content: `.png`, `.svg`, `.jpg`,
//! `.jpeg`, `.webp`, `.pdf`, `.html`). [`load_text`] and [`load_dict`] read a file back by
//! artifact URI, as `mlflow.artifacts.load_text` and `load_dict` do: `runs:/<run_id>/<path>`
//! (through the tracking store, on both stores), or a run's `artifact_uri` followed by the
//! path (`mlflow-artifacts:/...` through the server, `file://` URIs and local paths
//! directly). `load_dict` reads JSON, and YAML for `.yaml`/`.yml` names (Python's reads JSON
//! only). [`RunHandle`] and [`Client`] have the same calls.
//!
//! ```no_run
//! let run = mlflow::start_run().name("train").start();
//! mlflow::log_dict(&serde_json::json!({"lr": 0.01, "layers": [64, 64]}), "config.yaml")?;
//! let mut svg = String::new();
//! // plotters: SVGBackend::with_string(&mut svg, (640, 480)), draw, drop the backend.
//! # svg.push_str(r#"<svg xmlns="http://www.w3.org/2000/svg"/>"#);
//! mlflow::log_figure(&svg, "plots/loss.svg")?;
//! let uri = format!("runs:/{}/config.yaml", run.id()?);
//! let config: serde_json::Value = mlflow::load_dict(&uri)?;
//! assert_eq!(config["layers"][0], 64);
//! # Ok::<(), mlflow::Error>(())
//! ```
//!
//! ## Tables
//!
//! [`log_table`] stores a [`Table`] (named columns, rows of JSON values: from columns, from
//! `Serialize` records, or row by row) as a `.json` artifact in MLflow's layout (pandas'
//! `to_json(orient="split")`), appends to the table when the run has it already, and lists
//! it in the run's `mlflow.loggedArtifacts` tag, all as Python's `log_table` does: Python's
//! `mlflow.load_table` reads it, and the UI's evaluation view finds it. [`load_table`]
//! reads a table back from every run of the active experiment that has it (or of
//! [`LoadTable::run_ids`]), concatenated, with [`LoadTable::extra_columns`] such as
//! `run_id`; [`Client::load_table`] takes the experiment.
//!
//! ```no_run
//! use serde_json::json;
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Answer { question: String, answer: String, score: f64 }
//!
//! let run = mlflow::start_run().name("eval").start();
//! let rows = [Answer { question: "2+2?".into(), answer: "4".into(), score: 1.0 }];
//! mlflow::log_table(&mlflow::Table::from_records(&rows)?, "eval.json")?;
//! let more = mlflow::Table::from_columns([
//!     ("question", vec![json!("3+3?")]),
//!     ("answer", vec![json!("7")]),
//!     ("score", vec![json!(0.0)]),
//! ])?;
//! mlflow::log_table(&more, "eval.json")?; // appended: two rows
//! drop(run);
//! let all = mlflow::load_table("eval.json").extra_columns(["run_id"]).load()?;
//! let answers: Vec<Answer> = all.records()?;
//! # let _ = answers;
//! # Ok::<(), mlflow::Error>(())
//! ```
//!
//! ## Images
//!
//! With the cargo feature `image` (off by default), `mlflow::log_image` logs an
//! `mlflow::Image` under a key at a step, as Python's `log_image(image, key=.., step=..)`: the run's page in the UI
//! shows the images of each key in a grid, with a slider over the steps. An `Image` is 8
//! bits per channel (gray, gray and alpha, RGB, RGBA), made from pixels in memory
//! (`Image::from_u8`, or `Image::from_f32` for a tensor's values in `[0, 1]`, both row by
//! row with interleaved channels, numpy's `H x W x C`), from a PNG, JPEG or WebP file
//! (`Image::decode`, `Image::open`) or from the `image` crate's types (`into()`;
//! `mlflow::image` re-exports that crate). `RunHandle` and `Client` have the same calls.
//!
//! Files and tag are the Python client's: `images/<key>+step+<step>+timestamp+<ms>+<uuid>.png`
//! (a `/` in the key becomes `~`; keys may hold letters, digits, `_`, `-`, `.`, spaces and
//! `/`), a thumbnail beside it ending `+compressed.webp` whose longest side is 256 pixels,
//! and the tag `mlflow.loggedImages` = `True`. The PNG and the thumbnail are made on the
//! calling thread; the upload waits, as for every artifact. The thumbnail is lossless WebP
//! (the `image` crate writes no lossy WebP), larger than Python's lossy one.
//! `log_image_artifact` stores an image as one file (Python's older `log_image(image,
//! artifact_file)`: `.png`, `.jpg`, `.jpeg` or `.webp`), and `load_image` reads one back.
//!
//! ```no_run
//! # #[cfg(feature = "image")] {
//! let _run = mlflow::start_run().name("gan").start();
//! for step in 0..10 {
//!     let pixels: Vec<f32> = vec![step as f32 / 10.0; 64 * 64 * 3]; // a generator's output
//!     let image = mlflow::Image::from_f32(64, 64, 3, &pixels)?;
//!     mlflow::log_image("samples", image, step)?;
//! }
//! # }
//! # Ok::<(), mlflow::Error>(())
//! ```
//!
//! # After the sweep
//!
//! A sweep exists to pick a winner and keep it. This crate records which data each trial
//! saw (datasets as the run's inputs) and keeps each trial's model as a logged model
//! (MLflow 3's `LoggedModel`), with metrics linked to it, so that the best model is one
//! search away; Python's tools read all of it as their own, from a server or from the
//! embedded `mlflow.db` (MLflow's `datasets`, `inputs`, `input_tags` and `logged_models`
//! tables).
//!
//! **Datasets.** A [`Dataset`] is a name, a digest, a source type and a source (and
//! optionally a schema and a profile, as text). [`log_input`] records it as an input of the
//! active run, with a context such as `"training"` (the input tag `mlflow.data.context`);
//! the UI shows it on the run's page, Python reads it in `run.inputs.dataset_inputs`, and
//! [`search_runs`] filters on `datasets.name`, `datasets.digest` and `datasets.context`, on
//! the embedded store as on a server. A dataset is kept once per experiment by (name,
//! digest): logging it again changes nothing. [`Dataset::from_file`] describes a local file
//! (source type `local`, source `{"uri": "<absolute path>"}`) with [`file_digest`]: the md5
//! of the file's bytes, its first 8 hex characters, as MLflow's
//! `get_normalized_md5_digest`. That is **not** the digest Python's `mlflow.data.from_pandas`
//! computes for the same data (it hashes the rows as pandas sees them): give a dataset the
//! same digest everywhere you log it.
//!
//! **Logged models.** [`log_model`]`(name, path)` stores the file or folder at `path` as a
//! logged model made by the active run, as the Python client's `log_model` does: the model
//! is created with the run as its source run (its params are the builder's and the run's,
//! its tags the builder's and `mlflow.user`/`mlflow.source.*`), recorded as the run's output
//! (`run.outputs`), the run's metric points at the model's step are linked to it, its files
//! are stored at its artifact location with an `MLmodel` file naming the flavor, and it is
//! marked READY (FAILED, and the call's error, when the files could not be stored).
//! [`logged_model`] is the builder (params, tags, model type, flavor, step); [`RunHandle`]
//! and [`Client`] have both forms. [`LoggedModel::uri`] (`models:/<model_id>`) is what
//! Python's `mlflow.models.Model.load` and `mlflow.register_model` take.
//! [`metric`]`(..).model(&m).dataset(&d)` links a point to a model and the dataset it was
//! measured on (Python's `model_id=` and `dataset=`): it shows on the model in the UI's Models
//! tab and orders [`search_logged_models`].
//!
//! ```no_run
//! # fn main() -> mlflow::Result<()> {
//! let train = mlflow::Dataset::from_file("seeds-train", "data/train.csv")?;
//! let eval = mlflow::Dataset::new("seeds-eval", "0badc0de", "local", r#"{"uri": "data/eval.csv"}"#);
//! for lr in [0.1, 0.01] {
//!     let _trial = mlflow::start_run().name(format!("lr_{lr}")).param("lr", lr).start();
//!     mlflow::log_input(&train, Some("training"))?;
//!     // ... train, then save the weights ...
//!     let model = mlflow::logged_model("net", "checkpoints/last")
//!         .flavor("burn")
//!         .model_type("classifier")
//!         .log()?;
//!     mlflow::metric("acc", 1.0 - lr).model(&model).dataset(&eval).log()?;
//! }
//! let best = mlflow::search_logged_models()
//!     .filter("metrics.acc > 0.5")
//!     .order_by(["metrics.acc DESC"])
//!     .first()?
//!     .expect("a model");
//! println!("{} from run {:?}", best.uri(), best.source_run_id);
//! let trained_on = mlflow::search_runs()
//!     .filter("datasets.name = 'seeds-train' AND datasets.context = 'training'")
//!     .collect_all()?;
//! # let _ = trained_on;
//! # Ok(())
//! # }
//! ```
//!
//! Logged models need an MLflow 3 tracking server (or the embedded store): against an
//! MLflow 2.x server [`log_model`] is an [`Error::Api`] with `ENDPOINT_NOT_FOUND` that says
//! the server has no logged models (datasets work there). The `MLmodel` file lists the
//! flavor with no configuration: Python loads the model's description and files, not a
//! Python object.
//!
//! **The model registry.** [`register_model`]`(source, name)` makes the winner a version of
//! a registered model, creating the registered model when it does not exist, as Python's
//! `mlflow.register_model` does: `source` is a logged model's [`LoggedModel::uri`]
//! (`models:/<model_id>`; the version records the model's id, its source run and its files'
//! location, and the model's `mlflow.modelVersions` tag lists the version) or
//! `runs:/<run_id>/<path>` (a run's folder with an `MLmodel` file, else the run's logged
//! model called `path`). [`ModelVersion::version`] is a `u64`, and every call that takes a
//! version takes one. Aliases name versions: [`Client::set_registered_model_alias`],
//! [`Client::get_model_version_by_alias`], [`Client::delete_registered_model_alias`]
//! (`latest` and `v<number>` are reserved, and refused as MLflow refuses them; stages are
//! deprecated by MLflow and not offered). [`Client`] also creates, reads, searches
//! ([`SearchRegisteredModels`], [`SearchModelVersions`]: filter, order, pages), renames,
//! describes, tags and deletes registered models and versions. [`download_artifacts_uri`]
//! downloads by URI, as Python's `download_artifacts(artifact_uri=..)`:
//! `models:/<name>/<version>`, `models:/<name>@<alias>`, `models:/<name>/latest`,
//! `models:/<model_id>` and `runs:/<run_id>/<path>`.
//!
//! ```no_run
//! # fn main() -> mlflow::Result<()> {
//! let best = mlflow::search_logged_models()
//!     .order_by(["metrics.acc DESC"])
//!     .first()?
//!     .expect("a model");
//! let version = mlflow::register_model(&best.uri(), "nested-child-association")?;
//! let client = mlflow::Client::new();
//! client.set_registered_model_alias("nested-child-association", "champion", version.version)?;
//! let dir = mlflow::download_artifacts_uri("models:/nested-child-association@champion", "champion")?;
//! # let _ = dir;
//! # Ok(())
//! # }
//! ```
//!
//! The registry is where the registry URI says: [`set_registry_uri`], else
//! `MLFLOW_REGISTRY_URI`, else the tracking URI, as in Python. With the embedded store the
//! registry is MLflow's registry tables in the same `mlflow.db` (Python reads it with
//! tracking and registry URI `sqlite:///mlflow.db`); versions are numbered inside one
//! write transaction, so processes registering versions of one model at once get
//! consecutive numbers. A registry on another store than the model's works as in Python: an
//! embedded registry records where the logged model's files are (they are downloaded through
//! the tracking store); a server registry looks `models:/<id>` up in its own tracking store
//! and answers its error when the model is not there. Unknown models and versions are
//! [`Error::Api`] with `RESOURCE_DOES_NOT_EXIST`, an unknown alias `INVALID_PARAMETER_VALUE`
//! (MLflow's code for it), a bad name or a reserved alias `INVALID_PARAMETER_VALUE`, with
//! MLflow's message. An MLflow 2.x server keeps a registry too: register a run's model folder
//! there (`runs:/<run_id>/<path>`, a folder with an `MLmodel` file), as 2.x clients do.
//! `examples/sweep_to_registry.rs` is the whole workflow: tune, pick, register, download.
//!
//! # System metrics
//!
//! As MLflow's Python client does, a run can log how the machine is used while it lives,
//! as metrics named `system/...`. It is off by default; for a run it is, in this order,
//! what the run says ([`RunBuilder::log_system_metrics`], or `system_metrics = true|false`
//! on the macros), else what [`enable_system_metrics_logging`] /
//! [`disable_system_metrics_logging`] last chose, else `MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING`
//! (`true`/`1`; any other value than `false`/`0` is off, with a warning). Every run it is
//! on for is sampled, nested runs too.
//!
//! ```no_run
//! mlflow::enable_system_metrics_logging(); // every run started from now on
//!
//! #[mlflow::child_run(name = "trial_{i}", system_metrics = false)] // except these
//! fn trial(i: u32) {}
//!
//! let sweep = mlflow::start_run().name("sweep").start(); // sampled
//! for i in 0..3 {
//!     trial(i);
//! }
//! drop(sweep); // sampling stops with the run
//!
//! // Per run, whatever the switches say:
//! let quiet = mlflow::start_run().log_system_metrics(false).start();
//! # drop(quiet);
//! ```
//!
//! The keys, prefixed `system/` (or `system/{node_id}/` with `MLFLOW_SYSTEM_METRICS_NODE_ID`):
//!
//! | key | value |
//! |---|---|
//! | `cpu_utilization_percentage` | all CPUs, since the previous sample |
//! | `system_memory_usage_megabytes`, `system_memory_usage_percentage` | memory used (total minus available) |
//! | `disk_usage_percentage`, `disk_usage_megabytes`, `disk_available_megabytes` | the root filesystem, as `psutil.disk_usage("/")` |
//! | `network_receive_megabytes`, `network_transmit_megabytes` | all interfaces, since the run's sampling started |
//! | `gpu_{i}_memory_usage_percentage`, `gpu_{i}_memory_usage_megabytes`, `gpu_{i}_utilization_percentage`, `gpu_{i}_power_usage_watts`, `gpu_{i}_power_usage_percentage` | each NVIDIA GPU (`gpu` feature) |
//!
//! Megabytes are bytes / 10^6. A sample is taken every `MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL`
//! seconds (default 10; fractions allowed), and every
//! `MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING` samples (default 1) their means, rounded
//! to one decimal as Python's `round` does, are logged together at the next step (the
//! network keys: the last sample's, unrounded). Steps count from 0; a run resumed with
//! `MLFLOW_RUN_ID` continues after the highest `system/` step it has. As in Python, the
//! first point comes one full window after the run starts, and the window a run's end cuts
//! short is not logged. Settings are read when each run starts; a value that does not parse
//! leaves that run unmonitored, with a warning (Python does the same).
//!
//! The cost: one thread for the whole process samples every monitored run (runs whose
//! samples fall within 50 ms of each other share one), and logs through the run's queue
//! like [`log_metrics`]. Starting and ending a run only hand it to or take it from that
//! thread; they never wait for it. A source that cannot be read (no GPU, a refused NVML
//! call) leaves its keys out, with one warning, never an error.
//!
//! Cargo features: `system-metrics` (default) samples through `sysinfo`; `gpu` (opt-in)
//! adds NVIDIA GPUs through NVML, whose library `libnvidia-ml` is loaded when sampling
//! starts: without a GPU or a driver there are no GPU keys, and no error. Built without
//! `system-metrics`, the functions and the builder method are still there, and asking for
//! system metrics logs one warning and logs nothing else.
//!
//! # Configuration
//!
//! Every environment variable the crate reads. Those named `MLFLOW_*` mean what they mean
//! to the Python client (with its defaults and limits); those named `MLFLOW_RS_*` are this
//! crate's own. Values that do not parse, or are out of range, are an [`Error::Config`]
//! naming the variable, as Python refuses them.
//!
//! | variable | effect |
//! | --- | --- |
//! | `MLFLOW_TRACKING_URI` | where runs go ([Where the data goes](#where-the-data-goes)) |
//! | `MLFLOW_REGISTRY_URI` | where the model registry is, when [`set_registry_uri`] was not called; else the tracking URI ([After the sweep](#after-the-sweep)) |
//! | `MLFLOW_EXPERIMENT_NAME`, `MLFLOW_EXPERIMENT_ID` | the experiment when the code chooses none; a name and an id that name two experiments are refused, as in Python |
//! | `MLFLOW_RUN_ID` | the first top-level run of the process resumes this run |
//! | `MLFLOW_RUN_CONTEXT` | a JSON object of tags added to every new run ([Runs](#runs)) |
//! | `MLFLOW_TRACKING_TOKEN` | `Authorization: Bearer` token for the server |
//! | `MLFLOW_TRACKING_USERNAME`, `MLFLOW_TRACKING_PASSWORD` | HTTP basic auth (wins over the token, as in Python) |
//! | `MLFLOW_TRACKING_INSECURE_TLS` | `true`: skip TLS certificate checks (refused together with a certificate path) |
//! | `MLFLOW_TRACKING_SERVER_CERT_PATH`, `MLFLOW_TRACKING_CLIENT_CERT_PATH` | a CA bundle for the server's certificate; a PEM client certificate with its key (mutual TLS) |
//! | `MLFLOW_HTTP_REQUEST_MAX_RETRIES` | retries of a failed request (default 7, at most 10) |
//! | `MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR`, `MLFLOW_HTTP_REQUEST_BACKOFF_JITTER` | backoff `factor x 2^n` seconds (default 2, at most 120) plus up to `jitter` seconds (default 1) |
//! | `MLFLOW_HTTP_REQUEST_TIMEOUT` | seconds one request may take (default 120) |
//! | `MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER` | `false`: ignore a server's `Retry-After` |
//! | `MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT` | seconds an artifact transfer may stay idle (default: `MLFLOW_HTTP_REQUEST_TIMEOUT`); a long transfer that keeps moving is not cut |
//! | `MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD` | `true`/`false`: large files go to a proxying server in parts, through presigned URLs; unset: as the server says ([Object storage (S3)](#object-storage-s3)) |
//! | `MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD`, `MLFLOW_MULTIPART_DOWNLOAD_CHUNK_SIZE` | `true`/`false`: downloads from a proxying server through presigned URLs, in ranges of this many bytes (default 100 MiB); unset: as the server says |
//! | `MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE`, `MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE` | the size from which a file goes in parts (default 500 MiB), and the part size (default 10 MiB), as in Python |
//! | `MLFLOW_S3_ENDPOINT_URL`, `MLFLOW_S3_IGNORE_TLS`, `MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE`, `AWS_*` | `s3://` artifacts (feature `s3`): an S3-compatible endpoint, skipping its certificate check, path or virtual-host addressing; credentials and region as boto3 reads them |
//! | `MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT` | `true`: no "View run" links on stdout ([`print_run_links`] wins) |
//! | `MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING` | `true`/`1`: system metrics for every run ([System metrics](#system-metrics)) |
//! | `MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL`, `MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING`, `MLFLOW_SYSTEM_METRICS_NODE_ID` | seconds between samples (default 10), samples averaged per point (default 1), a node id in the keys |
//! | `MLFLOW_RS_FIRST_CONTACT_TIMEOUT` | seconds [`set_experiment`] may take to reach a server for the first time before it fails clearly (default 30) |
//! | `MLFLOW_RS_SPILL_DIR` | where the spill file (the local offline buffer) is written (default `./mlflow-spill`) |
//! | `MLFLOW_RS_SIGNAL_FLUSH_TIMEOUT` | seconds the signal handlers of [`install_signal_handlers`] flush before the process exits (default 10) |
//! | `MLFLOW_RS_PARENT_RUN_ID` | nest every run that would otherwise be top level under this run id (set by [`RunHandle::configure_worker`]) |
//! | `MLFLOW_RS_WORKER_ID` | set by [`RunHandle::configure_worker`]: the worker's runs get the tag `mlflow.rs.workerId`, which [`Worker::mark_killed`] looks for |
//! | `MLFLOW_RS_HTTP_CONCURRENCY` | requests of different runs under way at once to one server (1 to 64; default 4 for a server under 20 ms of round trip away, 8 for one farther). Above 15, one worker of an `mlflow server` on SQLite can exhaust its connection pool |
//! | `MLFLOW_RS_HTTP_IN_FLIGHT` | metric-only batch requests of one run under way at once (1 to 32, default 4) |
//! | `MLFLOW_RS_HTTP_KEEPALIVE` | `true`, `false` or `auto` (default): reuse connections, or a fresh one per request to a near server (`docs/performance.md` says why) |
//!
//! # The macros in depth
//!
//! ## Every argument
//!
//! All arguments are optional, in any order, each given at most once. A mistake (an unknown
//! key, a key given twice, a value of the wrong shape, a name that is not an argument) is a
//! compile error pointing at it, and an unknown key's error lists the valid ones: `name`,
//! `params`, `skip`, `tags`, `experiment`, `description`, `system_metrics`, `crate`.
//!
//! ```no_run
//! use std::path::PathBuf;
//!
//! #[mlflow::parent_run(
//!     name = "sweep_{test_no}",            // run name; {placeholders} are arguments
//!     experiment = "Nested Child Association", // this run and its children go there
//!     tags(team = "vision", "mlflow.note.content" = "nightly sweep"),
//!     params(test_no),                     // logged as params when the run starts
//! )]
//! fn sweep(test_no: u32, data: PathBuf) -> anyhow::Result<()> {
//!     for (i, lr) in [0.1, 0.01, 0.001].into_iter().enumerate() {
//!         train(i, lr, "adam", &data)?;
//!     }
//!     Ok(())
//! }
//!
//! // `params(*)`: every argument (never `self` unless named), minus `skip(..)`.
//! #[mlflow::child_run(name = "trial_{i}", params(*), skip(data), tags(kind = "trial"))]
//! fn train(i: usize, lr: f64, optimizer: &str, data: &PathBuf) -> anyhow::Result<f64> {
//!     let loss = lr * i as f64;
//!     mlflow::log_metric("loss", loss)?;
//!     Ok(loss)
//! }
//! # fn main() -> anyhow::Result<()> { sweep(1, "data.csv".into()) }
//! ```
//!
//! - `name = ".."`: the run name, with `{placeholders}` naming arguments (format specs such
//!   as `{lr:.3}` and `{cfg:?}` work); by default the function's name.
//! - `params(a, b)`: these arguments are logged as params (key = the argument's name;
//!   the value written as [`log_param`] writes it: floats and bools as Python writes them,
//!   anything else with its `Display`) when the run starts, before the body runs. `params(*)` logs every
//!   argument binding (each name bound by a pattern such as `(a, b): (u8, u8)`) except
//!   `self`; `params(self, epochs)` logs `self` too. Each must implement `Display`: the
//!   compile error for one that does not points at it and suggests `skip(..)`.
//! - `skip(a, ..)`: arguments `params(*)` leaves out. Only meaningful with `params(*)`:
//!   without it, or naming an argument that `params(..)` also names, it is an error.
//! - `tags(key = "value", ..)`: tags set when the run starts. A key is an identifier or a
//!   string (for keys with dots); values are string literals. For values known only at run
//!   time, call [`set_tag`] in the body.
//! - `experiment = ".."` (`#[parent_run]` only): the run goes to this experiment, got or
//!   created by name, and the runs started inside it follow (a run goes to its parent's
//!   experiment). Called inside a run of another experiment, it starts a **top-level** run
//!   in its own experiment: MLflow nests runs only within one experiment, so it gets no
//!   `mlflow.parentRunId`. `#[child_run]` rejects `experiment` at compile time: a child
//!   belongs with its parent, and a run that opens its own experiment is a parent.
//! - `description = ".."`: the run's description, instead of the function's doc comment
//!   (which is the default, taken literally); `description = false` sets none. A
//!   `tags("mlflow.note.content" = ..)` wins over both.
//! - `system_metrics = true` or `false`: whether the run logs system metrics, over the
//!   switches and the variable (see [System metrics](#system-metrics)).
//! - `crate = path`: where the generated code finds this crate (for re-exporting crates).
//!
//! ## What the macro does for you
//!
//! ```no_run
//! #[mlflow::child_run(name = "run_{i}", params(lr), tags(kind = "trial"))]
//! fn train(i: u32, lr: f64) -> Result<f64, std::io::Error> {
//!     Ok(lr * f64::from(i))
//! }
//! ```
//!
//! expands to (roughly; the real code uses hidden paths and hygienic names):
//!
//! ```no_run
//! fn train(i: u32, lr: f64) -> Result<f64, std::io::Error> {
//!     let run = mlflow::start_run()
//!         .name(format!("run_{i}"))
//!         .tag("kind", "trial")
//!         .param("lr", &lr) // formatted now: the body may consume `lr`
//!         .start(); // nests under the run active on this thread, if any
//!     let result = (move || -> Result<f64, std::io::Error> { Ok(lr * f64::from(i)) })();
//!     run.end_with(match &result {
//!         Ok(_) => mlflow::Outcome::Finished,
//!         Err(e) => mlflow::Outcome::Failed(e.to_string()),
//!     });
//!     result // a panic in the body unwinds through `run`, whose drop ends it FAILED
//! }
//! ```
//!
//! An `async fn` does the same with [`RunBuilder::start_scoped`]: the run starts when the
//! future is first polled and is the active run only while the body's future is polled.
//!
//! ## Nesting rules
//!
//! - **Threads**: the active run is per thread. A run started on a thread nests under the
//!   run active on that thread; a new thread starts with none, so its runs are top-level
//!   unless handed a parent.
//! - **Futures**: an annotated `async fn` is the active run while (and only while) its
//!   future is polled, on whichever worker polls it. Concurrent futures under one parent
//!   (`join!`, `join_all`, `select!`) each log to their own run, all nested under the
//!   parent, on single- and multi-threaded runtimes alike.
//! - **Hand-off**: a spawned thread or task does not inherit the run. Take a
//!   [`RunHandle`] with [`active_run`] and enter it there: [`RunHandle::enter`] for a
//!   closure on another thread, [`RunHandle::scope`] for a future given to `tokio::spawn`
//!   (or use [`RunBuilder::parent`] for one run).
//!
//! ```no_run
//! #[mlflow::child_run(name = "shard_{i}")]
//! fn shard(i: u32) {}
//!
//! #[mlflow::child_run(name = "task_{i}")]
//! async fn task(i: u32) {}
//!
//! #[mlflow::parent_run]
//! async fn sweep() {
//!     let run = mlflow::active_run().expect("inside the parent run");
//!     std::thread::scope(|s| {
//!         for i in 0..4 {
//!             let run = run.clone();
//!             s.spawn(move || run.enter(|| shard(i))); // child of `sweep`
//!         }
//!     });
//!     let spawned = tokio::spawn(run.scope(task(0))); // child of `sweep`
//!     spawned.await.ok();
//!     tokio::spawn(task(1)).await.ok(); // no hand-off: a top-level run
//! }
//! ```
//!
//! ## Scaling out: worker processes and machines
//!
//! Runs nest across processes too: a coordinator opens the parent run and starts workers
//! (processes on this machine, jobs on a cluster) whose runs become its children.
//!
//! **Where the runs go**, from small to large:
//!
//! 1. **`./mlflow.db`**, the embedded default: one machine. Several processes may write
//!    the same file at once: each write takes SQLite's lock, a process waits up to 10 s
//!    for it and retries, and a write that still finds the file busy is handled as an
//!    outage (spilled, replayed when the file is free; see
//!    [When things go wrong](#when-things-go-wrong)). Not on a network file system (NFS,
//!    SMB): SQLite's locking is not reliable there.
//! 2. **One `mlflow server`** in front of the file (or any database), for workers on
//!    several machines: `mlflow server --host 0.0.0.0 --port 5000 --backend-store-uri
//!    sqlite:///mlflow.db` (artifacts are served by it too, from `./mlartifacts`), and
//!    `MLFLOW_TRACKING_URI=http://<host>:5000` for every process.
//! 3. **PostgreSQL behind several `mlflow server`s** behind a load balancer, with a shared
//!    artifact store: run `mlflow db upgrade postgresql+psycopg://...` once, then start
//!    each server with `mlflow server --backend-store-uri postgresql+psycopg://...
//!    --artifacts-destination s3://bucket/mlartifacts --serve-artifacts`. The servers are
//!    stateless; the clients talk to the load balancer.
//!
//! **How a worker finds its parent**:
//!
//! - [`RunHandle::configure_worker`] sets up a [`std::process::Command`]: the tracking URI
//!   (an embedded store's file as an absolute path, so the worker may run in another
//!   folder), the parent's experiment, [`PARENT_RUN_ID_ENV`] (`MLFLOW_RS_PARENT_RUN_ID`)
//!   and a worker id, which tags the worker's runs (`mlflow.rs.workerId`); it removes
//!   `MLFLOW_RUN_ID` and `MLFLOW_EXPERIMENT_NAME`. For other launchers (a job script, a pod
//!   spec), [`Worker::env`] lists the variables.
//! - In the worker, every run that would otherwise be top level (a `#[parent_run]`, a
//!   `#[child_run]` or `start_run()` with no active run) nests under
//!   `MLFLOW_RS_PARENT_RUN_ID`: no MLflow code needed for that. In code,
//!   [`RunBuilder::parent_id`] names the parent of one run.
//! - Explicit code wins over the variable: `.parent_id(..)`, `.parent(..)` and
//!   `.top_level()` ignore it, and a run started inside another run nests under that one.
//! - A child goes into its parent's experiment (read from the store once per process).
//! - A parent that does not exist in the store, or is deleted, is an error naming it
//!   ([`Error::ParentRun`], from [`RunHandle::id`] and [`flush`]); the child is not
//!   created. A parent that has already ended (FINISHED) is fine and is left as it is.
//! - A worker started with `MLFLOW_RUN_ID` resumes that run and adopts the parent when the
//!   run has none; a run that already has another parent is never re-parented (an error
//!   instead).
//! - A worker that dies without ending its runs (SIGKILL, out of memory) leaves them
//!   RUNNING: once it has exited, the coordinator calls [`Worker::mark_killed`], which ends
//!   that worker's RUNNING runs KILLED and returns their ids. A worker that calls
//!   [`install_signal_handlers`] ends its own runs KILLED on SIGTERM or Ctrl-C.
//!
//! ```no_run
//! use std::process::Command;
//!
//! #[mlflow::child_run(name = "trial_{t}")]
//! fn trial(t: u32) -> mlflow::Result<()> {
//!     mlflow::log_metric("loss", 1.0 / f64::from(t + 1))
//! }
//!
//! #[mlflow::parent_run(name = "sweep")]
//! fn coordinate() -> mlflow::Result<()> {
//!     let sweep = mlflow::active_run().expect("inside the parent run");
//!     let exe = std::env::current_exe().expect("this program");
//!     let mut workers = Vec::new();
//!     for w in 0..4 {
//!         let mut command = Command::new(&exe);
//!         command.arg(w.to_string());
//!         let worker = sweep.configure_worker(&mut command)?;
//!         workers.push((worker, command.spawn().expect("worker started")));
//!     }
//!     for (worker, mut child) in workers {
//!         if !child.wait().expect("worker exited").success() {
//!             println!("marked KILLED: {:?}", worker.mark_killed()?);
//!         }
//!     }
//!     Ok(())
//! }
//!
//! fn main() -> mlflow::Result<()> {
//!     match std::env::args().nth(1) {
//!         // A worker: its trials nest under the coordinator's run.
//!         Some(w) => {
//!             mlflow::install_signal_handlers()?;
//!             let w: u32 = w.parse().expect("worker index");
//!             for t in (w..16).step_by(4) {
//!                 trial(t)?;
//!             }
//!         }
//!         None => coordinate()?,
//!     }
//!     mlflow::flush()
//! }
//! ```
//!
//! The whole program, with a summary of the best trial: `examples/distributed_sweep.rs`
//! (`cargo run --example distributed_sweep`; `-- --workers 8 --trials 32`; with
//! `MLFLOW_TRACKING_URI=http://...` against a server).
//!
//! ## When things go wrong
//!
//! - **`Err`**: a function returning a `Result`, however spelled (`anyhow::Result<()>`,
//!   `io::Result<T>`, a type alias), ends its run FAILED on `Err`, with the error's
//!   `Display` text in the tag `error`; `Ok` ends it FINISHED. The value is returned
//!   unchanged.
//! - **Panic**: the run ends FAILED (and so does every enclosing run the panic unwinds
//!   through); the panic goes on unchanged. With `panic = "abort"` nothing unwinds, so the
//!   runs stay RUNNING.
//! - **Cancellation**: an `async fn` whose future is dropped before completing ends KILLED.
//! - **Ctrl-C**: by default the signal ends the process at once and its runs stay RUNNING.
//!   With the opt-in signal handlers (`mlflow::install_signal_handlers()`), the open runs
//!   end KILLED before the process exits. (In Python, Ctrl-C raises `KeyboardInterrupt`,
//!   and the client marks the runs it unwinds through FAILED.)
//!
//! # Tuning with an optimizer
//!
//! With the cargo feature `optimizer` (off by default), `mlflow::optimizer` (the
//! `mlflow-tracking-optimizer` crate) runs hyperparameter studies of the
//! [optimizer](https://crates.io/crates/optimizer) crate (`>=1.0.1, <2`) and stores them as
//! Python's Optuna `MlflowStorage` (`mlflow.optuna.storage`) stores them: a study written in
//! Rust is read by `optuna.load_study(study_name=..., storage=MlflowStorage(experiment_id=...))`
//! with the same trials, numbers, params, values, states, intermediate values and best trial,
//! and a study Python started is continued in Rust.
//!
//! ```toml
//! mlflow-tracking = { version = "0.1", features = ["optimizer"] }
//! ```
//!
//! An excerpt of `examples/optimizer_sweep.rs` (`cargo run --example optimizer_sweep
//! --features optimizer`):
//!
//! ```ignore
//!     let study = Study::builder(&name)
//!         .minimize()
//!         .sampler(TpeSampler::new())
//!         .param("lr", FloatParam::new(1e-4, 0.5).log_scale())
//!         .param("batch_size", IntParam::new(8, 256).log_scale())
//!         .load_or_create()?;
//!
//!     study.optimize_parallel(trials, workers, |trial| -> Result<f64, Error> {
//!         let lr = trial.suggest_float("lr")?;
//!         let batch = trial.suggest_int("batch_size")?;
//!         // ... the model ...
//!         for epoch in 1..=EPOCHS {
//!             // ... one epoch of training, then the validation loss ...
//!             trial.report(epoch, valid)?;
//!             if trial.should_prune() {
//!                 return Err(TrialPruned.into());
//!             }
//!         }
//!         Ok(valid)
//!     })?;
//! ```
//!
//! - **The study** is a run named after it, tagged `optuna.study_direction`, in the active
//!   experiment; `load_or_create` finds the newest run of that name (as Python does) or
//!   creates it. A run of that name that is not a study, or a study stored with another
//!   direction, is an error that says so. Trials never end the study's run.
//! - **Each trial** is a child run of the study's run, also from worker threads
//!   (`optimize_parallel`) and from async code (`optimize_async`, feature
//!   `optimizer-async`: trials on tokio's blocking threads): the study's run is passed as
//!   the parent explicitly, so trials never nest under each other or under a run the caller
//!   has open. Inside the objective,
//!   [`log_metric`], [`log_param`], artifacts, `#[child_run]` functions and the burn logger
//!   log into the trial. It ends FINISHED, KILLED when pruned (`Err(TrialPruned)`) or FAILED
//!   (an error, a NaN value, a panic: the reason in the tag `sys_fail_reason`, then the
//!   panic goes on).
//! - **Optuna's layout**: trial tags `numbers`, `param_directions` (distribution JSON),
//!   `param_internal_val_<name>`, `user_<key>`; params with the values as Python writes
//!   them; metrics `value` and `intermediate_value` (step = the reported step).
//!   `trial.report(step, value)` logs with the report's time, and the pruner decides from
//!   the stored trials, other processes' included (read back when `optimize` starts and
//!   whenever another process is seen claiming numbers).
//! - **Three requests per trial** on a tracking server: the trial's run is created with its
//!   number, what Optuna's layout needs goes in one batch when the trial ends (a trial
//!   that runs longer than a second sends it as it is written), then its end. Trials do
//!   not wait for the server: numbers are claimed ahead of time, up to 16 per request.
//! - **Parameters are named**: registered with `StudyBuilder::param(name, ..)` and asked for
//!   by name (`suggest_float`, `suggest_int`, `suggest_categorical`); an unknown name is an
//!   error naming the registered ones.
//! - **Numbers stay unique** across threads, processes and machines: numbers are claimed
//!   with write-once params on the study run (`trial_run.<n>`, which Optuna does not read),
//!   several at once, together with the `trial_id` points Python numbers trials by. Processes started
//!   one after the other, or at once with `configure_worker`, resume the study by name.
//! - **The answer** is on the study run: the tags `best_trial.number`, `best_trial.value`
//!   and `best_trial.params.<name>`; or search the study's children by `metrics.value`.
//! - The `optimizer` crate's `async`, `cma-es` and `gp` features are the facade's
//!   `optimizer-async`, `optimizer-cma-es` and `optimizer-gp`. Multi-objective studies are
//!   not supported (a stored one is an error); the `mlflow::optimizer` docs list what maps
//!   how.
//!
//! # burn
//!
//! With the cargo feature `burn` (off by default), `mlflow::burn` (the
//! `mlflow-tracking-burn` crate) plugs into [burn](https://burn.dev) 0.22's training loop:
//! `MlflowMetricLogger` is a burn-train metric logger that logs burn's metrics to a run.
//!
//! ```toml
//! mlflow-tracking = { version = "0.1", features = ["burn"] }
//! ```
//!
//! An excerpt of `examples/burn_sweep.rs` (`cargo run --example burn_sweep --features burn`):
//!
//! ```ignore
//! #[mlflow::child_run(name = "lr_{lr}")]
//! fn trial(lr: f64, dir: &Path) -> Result<(), mlflow::burn::Error> {
//!     let config = TrialConfig::new(lr, AdamConfig::new());
//!     mlflow::burn::log_config(&config)?; // a burn `Config` as params: `optimizer.beta_1`, ...
//!     // ... the model and the data loaders ...
//!     let logger = MlflowMetricLogger::active()?;
//!     let checkpoints = dir.join("checkpoint");
//!     let result = SupervisedTraining::new(dir, train, valid)
//!         .metric_train_numeric(LossMetric::new())
//!         .metric_valid_numeric(LossMetric::new())
//!         .num_epochs(config.epochs)
//!         .with_application_logger(None)
//!         .with_custom_checkpointers(
//!             MlflowCheckpointer::new(&logger, &checkpoints), // each checkpoint a logged model
//!             FileCheckpointer::new(&checkpoints, "optim"),
//!             FileCheckpointer::new(&checkpoints, "scheduler"),
//!         )
//!         .with_metric_logger(logger)
//!         .launch(Learner::new(model, config.optimizer.init(), lr));
//!     let model = mlflow::burn::log_model(result.model, dir.join("model"))?;
//!     println!("lr {lr}: final model {}", model.uri());
//!     Ok(())
//! }
//! ```
//!
//! - Epoch values go to `train/<metric>` and `valid/<metric>` (step = the epoch, from 1),
//!   with the value burn computed for the epoch; per-batch values only with
//!   `.every_n_batches(n)`, to `train/batch/<metric>` (step = the batch count of the split).
//!   Metric names are made into keys MLflow accepts, distinct names stay distinct, text
//!   metrics are skipped.
//! - burn picks the checkpoint to keep and stops early from its loggers' values: the logger
//!   answers burn with the values it was given, exactly as burn's in-memory logger does.
//! - Checkpoints as logged models (opt-in): `MlflowCheckpointer::new(&logger, dir)`,
//!   registered as burn's model checkpointer with `with_custom_checkpointers` (above), writes
//!   burn's checkpoint files as burn's `FileCheckpointer` does (`model-<epoch>.bpk`, so burn
//!   restores and deletes them as usual) and logs each one as a logged model of the logger's
//!   run: `model-<epoch>`, flavor `burn`, tag `burn.epoch`, with that epoch's values
//!   (`train/Loss`, `valid/Loss`, ...) linked to it at step = the epoch. burn hands the
//!   values to its loggers on another thread: a checkpoint waits for its epoch's values (at
//!   most `wait_for_values`, 30 s by default), on burn's checkpointer thread. The best
//!   checkpoint of the sweep is one search away (`examples/burn_sweep.rs`):
//!
//! ```ignore
//! let best_checkpoint = mlflow::search_logged_models()
//!     .experiment_names([EXPERIMENT])
//!     .filter("tags.`burn.epoch` != ''")
//!     .order_by(["metrics.`valid/Loss` ASC"])
//!     .first()?;
//! ```
//!
//! - `mlflow::burn::log_model(model, path)` saves the model with burn and logs the file as
//!   a logged model of flavor `burn` (named after the file, tag `burn.version`), returning
//!   the [`LoggedModel`].
//! - `MlflowMetricLogger::active()` takes the run active where it is called and logs to it
//!   from burn's own thread; `MlflowMetricLogger::new(handle)` takes any [`RunHandle`].
//!   Logging goes through the background sender like every other call: it never waits for
//!   the store.
//! - The crate implements burn-train **0.22**'s trait (`>=0.22.1, <0.23`); burn's main
//!   branch (0.23) changes it: a project on burn 0.23 gets a second burn-train in its build
//!   and "the trait `MetricLogger` is not implemented". Keep the tracked trainings on burn
//!   0.22.1 until 0.23 is supported, or log from your own code
//!   ([`log_metric_with_step`] after each `launch`).
#![warn(missing_docs)]
// docs.rs builds with `--cfg docsrs` on nightly: every feature-gated item is marked with
// the feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

/// The README's Rust code blocks, compiled as doctests so that the README cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
#[doc(inline)]
pub use mlflow_tracking_macros::{child_run, parent_run};

#[allow(deprecated)]
#[doc(hidden)]
pub use mlflow_tracking_runtime::current_run;
pub use mlflow_tracking_runtime::{
    Batch, Client, Error, Experiment, Metric, MetricBuilder, Outcome, Param, QUEUE_CAPACITY,
    Result, Run, RunBuilder, RunGuard, RunHandle, RunInfo, RunStatus, RunTag, RunUpdate, Scoped,
    ScopedRun, active_run, active_run_id, flush, get_tracking_uri, log_metric,
    log_metric_with_step, log_metrics, log_metrics_with_step, log_param, log_params, metric,
    print_run_links, set_experiment, set_tag, set_tags, set_tracking_uri, start_run,
};
// The model registry (see the "After the sweep" section).
pub use mlflow_tracking_runtime::{
    ModelVersion, NewModelVersion, RegisteredModel, RegistrySearch, SearchModelVersions,
    SearchRegisteredModels, SearchRegistryRequest, download_artifacts_uri, get_registry_uri,
    register_model, set_registry_uri,
};
pub use mlflow_tracking_runtime::{PARENT_RUN_ID_ENV, Worker};
pub use mlflow_tracking_runtime::{ReplayReport, install_signal_handlers, replay_spill};
pub use mlflow_tracking_runtime::{disable_system_metrics_logging, enable_system_metrics_logging};

/// burn integration: a burn-train metric logger, checkpoints as logged models, a burn
/// `Config` as params, the trained model as a logged model (see the "burn" section above).
#[cfg(feature = "burn")]
#[cfg_attr(docsrs, doc(cfg(feature = "burn")))]
pub mod burn {
    pub use mlflow_tracking_burn::*;
}

/// optimizer integration: hyperparameter studies stored as Optuna's `MlflowStorage` stores
/// them (see the "Tuning with an optimizer" section above).
#[cfg(feature = "optimizer")]
#[cfg_attr(docsrs, doc(cfg(feature = "optimizer")))]
pub mod optimizer {
    pub use mlflow_tracking_optimizer::*;
}

/// The spill file: where data that could not be delivered during an outage goes, its
/// format, and how it is replayed.
pub mod spill {
    pub use mlflow_tracking_runtime::spill::*;
}

// Experiments and runs by id (see the "Experiments" and "Managing runs" sections).
pub use mlflow_tracking_runtime::{
    CreateExperiment, create_experiment, delete_experiment, delete_experiment_tag, delete_run,
    delete_tag, get_artifact_uri, get_experiment, get_experiment_by_name, get_parent_run,
    last_active_run, restore_experiment, restore_run, set_experiment_by_id, set_experiment_tag,
    set_experiment_tags,
};

// Reading runs back and artifacts (see the "Reading runs back" and "Artifacts" sections).
pub use mlflow_tracking_runtime::{
    CLIENT_SEARCH_LIMIT, FLUENT_SEARCH_LIMIT, FileInfo, LoadTable, Page, RunIter,
    SearchExperiments, SearchRuns, Table, ViewType, download_artifacts, get_metric_history,
    get_run, list_artifacts, load_dict, load_table, load_text, log_artifact, log_artifact_to,
    log_artifacts, log_artifacts_to, log_dict, log_figure, log_json, log_table, log_text,
    search_experiments, search_runs,
};
// Datasets and logged models (see the "After the sweep" section).
pub use mlflow_tracking_runtime::{
    DATASET_CONTEXT_TAG, Dataset, DatasetInput, InputTag, RunInputs, digest_of_bytes, file_digest,
    log_input, log_inputs,
};
pub use mlflow_tracking_runtime::{
    LogModel, LoggedModel, LoggedModelOutput, LoggedModelStatus, RunOutputs, SearchLoggedModels,
    get_logged_model, log_model, logged_model, search_logged_models,
};
// Images (the `image` feature; see the "Images" section).
#[cfg(feature = "image")]
#[cfg_attr(docsrs, doc(cfg(feature = "image")))]
pub use mlflow_tracking_runtime::{Image, image, load_image, log_image, log_image_artifact};

/// Decides how a run ends from a function's return value; used by the macros, usable by
/// anyone.
pub mod outcome {
    pub use mlflow_tracking_runtime::outcome::*;
}

/// Items the macros' generated code names. **Not a stable API**: only the macros should use
/// these paths. Everything here is a re-export of public items, or a helper that only
/// improves the macros' error messages.
#[doc(hidden)]
pub mod __private {
    pub use ::std::format;

    /// An argument named in `params(..)` (or taken by `params(*)`): what can be logged as a
    /// param. Only here for its error message, which lands on the argument.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be logged as a param: it does not implement `std::fmt::Display`",
        label = "this argument is logged as a param by `params(..)`",
        note = "leave it out with `skip(<argument>)` next to `params(*)` (or drop it from \
                `params(..)`), or log something printable from the body with `mlflow::log_param`"
    )]
    pub trait ParamValue: ::std::fmt::Display {}

    impl<T: ::std::fmt::Display + ?Sized> ParamValue for T {}

    /// `value` as a param's text: floats and bools as Python writes them, anything else
    /// with its `Display` (`python_str`). The bound makes a non-`Display` argument an error
    /// at the argument, with [`ParamValue`]'s message; the return type does not depend on
    /// it, so that is the only error.
    #[inline]
    pub fn display_param<T: ParamValue + ?Sized>(value: &T) -> ::std::string::String {
        mlflow_tracking_runtime::base::python_str::python_str(value)
    }
    pub use mlflow_tracking_runtime::outcome::{
        OtherOutcome, Outcome, Probe, ResultDebugOutcome, ResultDisplayOutcome,
    };
    pub use mlflow_tracking_runtime::{RunBuilder, RunGuard, RunStatus, ScopedRun, start_run};
}
