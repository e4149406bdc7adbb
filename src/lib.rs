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
//! | feature | default | what it brings |
//! |---|---|---|
//! | `macros` | yes | [`#[parent_run]`](parent_run), [`#[child_run]`](child_run) (syn and quote, at build time) |
//! | `rest` | yes | the REST store: `http://`, `https://` URIs (reqwest, hyper, rustls with the Mozilla roots) |
//! | `sqlite` | yes | the embedded store: `sqlite:///` URIs and the default `sqlite:///mlflow.db` (rusqlite, which compiles the bundled SQLite C library) |
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
//! depth.
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
//! They never wait for the network or the disk: values are queued and a background thread
//! (with its own tokio runtime, so this works from inside any async executor) sends them in
//! batches. What the store says later (server errors, outages) is reported by [`flush`],
//! on stderr and through `tracing`. [`flush`] waits until everything logged so far is stored.
//! When `main` returns (or `std::process::exit` is called) the queue is flushed before the
//! process ends; a process killed by a signal or an aborting panic loses what was still
//! queued.
//!
//! # What logging costs
//!
//! A logging call checks its input, puts one entry on a queue and returns; it does no
//! network or disk I/O. One background thread per tracking URI (with its own tokio runtime)
//! drains the queue in order:
//!
//! - consecutive calls for a run become one `runs/log-batch` request, cut to the server's
//!   limits (1000 metrics, 100 params, 100 tags, 1000 entities), or one SQLite transaction
//!   of up to 10,000 values for the embedded store;
//! - when a run has more metrics waiting than one request holds, up to 4 metric-only
//!   requests for it are under way at once (a tracking server has 4 workers by default, and
//!   the order of metric points does not matter to MLflow); a request carrying params or
//!   tags is always sent alone, after everything logged before it.
//!   `MLFLOW_RS_HTTP_IN_FLIGHT` (1 to 32) sets the number (1 is about 10% faster against a
//!   server started with `--workers 1`);
//! - a run is created with its system tags and the tags set right after it started (they
//!   ride on the create request); ending a run stores its pending data, then its status. The
//!   seed sweep costs at most 3 requests per run (create, one batch, update) plus the
//!   experiment lookup;
//! - order follows MLflow's semantics: a run is created before anything is logged to it, a
//!   child after its parent, a param before a conflicting one; tags are last-write-wins;
//! - the requests of different runs are under way together, up to
//!   `MLFLOW_RS_HTTP_CONCURRENCY` at once per tracking server (1 to 64; by default 4 for a
//!   server near by, where more only make its SQLite writes contend, and 8 for one 20 ms
//!   of round trip away or farther, where requests mostly wait on the network): the
//!   runs started while a request was under way are created together (children once their
//!   parent exists, runs started meanwhile in the next wave), and each ending run stores
//!   its batch, then its status, beside the others; a request starts as soon as any other
//!   finishes. A sweep of many short runs thus pays a few round trips per wave of runs, not
//!   three per run. `MLFLOW_RS_HTTP_CONCURRENCY=1` sends them one after another: a server
//!   on SQLite may answer `database is locked` under concurrency (a 500, retried, except
//!   for a run's creation, which is never resent blindly and goes to the spill, to be
//!   replayed). Do not raise it much for a single `mlflow server` on SQLite: with 16
//!   requests at once, one uvicorn worker may take them all and exhaust its database
//!   connection pool (15), then answer each waiting request 30 s later with a 400
//!   ("QueuePool limit ... reached"), which no client retries. The embedded store always
//!   works one request at a time.
//!
//! Over REST the server assigns run ids, so a new run's id is pending for a moment: the run
//! handle holds it, [`active_run_id`] and [`RunHandle::id`] wait for it, and a child's
//! `mlflow.parentRunId` is filled in on the background thread once the parent exists. The
//! embedded store knows ids at once. Against a remote server, keep a [`RunHandle`] (from
//! [`active_run`]) where you would keep an id, and ask for the id when you need it: each
//! wait costs the caller a round trip and holds the next runs back, as in
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
//! The queue holds at most [`QUEUE_CAPACITY`] entries (and the background thread holds, per
//! run, at most what it sends at once: 16,000 values over REST, 1,000 with
//! `MLFLOW_RS_HTTP_IN_FLIGHT=1`, 10,000 for SQLite): when the store is healthy but slower
//! than the training loop, logging calls wait for room (back-pressure) instead of growing
//! memory; when the store is unreachable, what cannot be delivered moves to the spill file
//! (see below) so that training never stalls on an outage. Nothing is dropped silently.
//!
//! Everything queued is stored by [`flush`], when a run ends, and when the process exits
//! normally (`main` returns or `std::process::exit` runs: an exit hook flushes, for up to
//! 120 s). A process killed by SIGKILL, or a panic with `panic = "abort"`, loses what was
//! still queued; runs then stay RUNNING in MLflow.
//!
//! Connections: requests go out with `TCP_NODELAY`. `mlflow server` with its default 4
//! uvicorn workers leaves Nagle's algorithm on, so on a kept-alive connection an answer can
//! wait about 40 ms for the client's delayed ACK (uvicorn issue #3149; the Python client
//! pays this on every call), while a fresh connection, in quick-ACK mode, does not wait but
//! costs a round trip for its handshake. Over plain `http` this crate times its requests:
//! one on a new connection takes at least two round trips, one on a reused connection at
//! least one. The first requests go out on new kept-alive connections; as soon as one
//! answer shows the server under 20 ms of round trip away, every later request gets a fresh
//! connection, for good; when the first two answers both say 20 ms or more, connections are
//! kept alive (until an answer shows the server nearer after all: a server slow only at
//! first). `https` keeps its connections, since a TLS handshake per request would cost
//! more. `MLFLOW_RS_HTTP_KEEPALIVE=true`, `false` or `auto` (the default) chooses. At most
//! `MLFLOW_RS_HTTP_CONCURRENCY` requests (4 near by, 8 far away) are under way at once to
//! one server, hence as many connections. Measured through a delay line at 50 ms of round
//! trip, the seed sweep takes 1.2x to 1.5x its time on loopback (see BENCHMARKS.md,
//! "Latency").
//!
//! # When things go wrong
//!
//! **Retries.** Requests to a tracking server are retried as the official client retries
//! them: on 408, 429, 500, 502, 503, 504 and connection errors, with exponential backoff
//! (`MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR` x 2^n seconds, default factor 2, at most 120 s) plus
//! up to `MLFLOW_HTTP_REQUEST_BACKOFF_JITTER` seconds of jitter (default 1), at most
//! `MLFLOW_HTTP_REQUEST_MAX_RETRIES` times (default 7), each attempt bounded by
//! `MLFLOW_HTTP_REQUEST_TIMEOUT` seconds (default 120). A `Retry-After` header (in seconds)
//! replaces the computed wait unless `MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER=false`. Run and
//! experiment creation is resent only after a refused connection, a 408 or a 429, where the
//! server cannot have acted on it, so retries never create a run twice. A run creation
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
//! Unlike metrics, an upload **waits**: it runs on the background sender after the run's
//! creation and everything queued before it, and its error is returned by the call. Once
//! the call returns, the local file may be changed or removed.
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
//! - `params(a, b)`: these arguments are logged as params (their `Display` text, key = the
//!   argument's name) when the run starts, before the body runs. `params(*)` logs every
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
//!   [`RunHandle`] with [`current_run`] and enter it there: [`RunHandle::enter`] for a
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
//!     let run = mlflow::current_run().expect("inside the parent run");
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
//!     let sweep = mlflow::current_run().expect("inside the parent run");
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
//! ```ignore
//! // The whole program: examples/burn_sweep.rs (`cargo run --example burn_sweep --features burn`).
//! #[mlflow::child_run(name = "lr_{lr}")]
//! fn trial(lr: f64) -> Result<(), mlflow::burn::Error> {
//!     mlflow::burn::log_config(&config)?; // a burn `Config` as params: `optimizer.beta_1`, ...
//!     let result = SupervisedTraining::new(dir, train, valid)
//!         .metric_train_numeric(LossMetric::new())
//!         .metric_valid_numeric(LossMetric::new())
//!         .num_epochs(3)
//!         .with_metric_logger(mlflow::burn::MlflowMetricLogger::active()?)
//!         .launch(Learner::new(model, AdamConfig::new().init(), lr));
//!     mlflow::burn::log_model(result.model, dir.join("model"))?; // artifact `model/model.bpk`
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
//! - `MlflowMetricLogger::active()` takes the run active where it is called and logs to it
//!   from burn's own thread; `MlflowMetricLogger::new(handle)` takes any [`RunHandle`].
//!   Logging goes through the background sender like every other call: it never waits for
//!   the store.
//! - The crate implements burn-train **0.22**'s trait (`>=0.22.1, <0.23`); burn's main
//!   branch (0.23) changes it. See the README's "burn" section.
#![warn(missing_docs)]

#[cfg(feature = "macros")]
#[doc(inline)]
pub use mlflow_tracking_macros::{child_run, parent_run};

pub use mlflow_tracking_runtime::{
    Batch, Client, Error, Experiment, Metric, Outcome, Param, QUEUE_CAPACITY, Result, Run,
    RunBuilder, RunGuard, RunHandle, RunInfo, RunStatus, RunTag, Scoped, ScopedRun, active_run,
    active_run_id, current_run, flush, get_tracking_uri, log_metric, log_metric_with_step,
    log_metrics, log_param, log_params, print_run_links, set_experiment, set_tag, set_tags,
    set_tracking_uri, start_run,
};
pub use mlflow_tracking_runtime::{PARENT_RUN_ID_ENV, Worker};
pub use mlflow_tracking_runtime::{ReplayReport, install_signal_handlers, replay_spill};
pub use mlflow_tracking_runtime::{disable_system_metrics_logging, enable_system_metrics_logging};

/// burn integration: a burn-train metric logger, a burn `Config` as params, the trained
/// model as an artifact (see the "burn" section above).
#[cfg(feature = "burn")]
pub mod burn {
    pub use mlflow_tracking_burn::*;
}

/// The spill file: where data that could not be delivered during an outage goes, its
/// format, and how it is replayed.
pub mod spill {
    pub use mlflow_tracking_runtime::spill::*;
}

// Reading runs back and artifacts (see the "Reading runs back" and "Artifacts" sections).
pub use mlflow_tracking_runtime::{
    FileInfo, Page, RunIter, SearchExperiments, SearchRuns, ViewType, download_artifacts,
    get_metric_history, get_run, list_artifacts, log_artifact, log_artifact_to, log_artifacts,
    log_artifacts_to, log_json, log_text, search_experiments, search_runs,
};

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

    /// `value`'s `Display` text. The bound makes a non-`Display` argument an error at the
    /// argument, with [`ParamValue`]'s message; the return type does not depend on it, so
    /// that is the only error.
    #[inline]
    pub fn display_param<T: ParamValue + ?Sized>(value: &T) -> ::std::string::String {
        ::std::string::ToString::to_string(value)
    }
    pub use mlflow_tracking_runtime::outcome::{
        OtherOutcome, Outcome, Probe, ResultDebugOutcome, ResultDisplayOutcome,
    };
    pub use mlflow_tracking_runtime::{RunBuilder, RunGuard, RunStatus, ScopedRun, start_run};
}
