//! Links to a run in the tracking server's UI, printed when the run ends, as the Python
//! client prints them (`🏃 View run ...`, `🧪 View experiment ...`).

use std::sync::atomic::{AtomicU8, Ordering};

use crate::base::env;

/// Set to `true` to stop the links, as in the Python client.
pub(crate) const SUPPRESS_LINKS_ENV: &str = env::SUPPRESS_PRINTING_URL_TO_STDOUT;

const UNSET: u8 = 0;
const ON: u8 = 1;
const OFF: u8 = 2;

/// What [`print_run_links`] chose; `UNSET` leaves it to the environment.
static CHOICE: AtomicU8 = AtomicU8::new(UNSET);

/// Whether ending a run against a tracking server prints links to the run and its
/// experiment on stdout. By default it does, as the Python client does, unless
/// `MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT` is `true` (or `1`); this call overrides the
/// variable for the rest of the process. The embedded store never prints links.
pub fn print_run_links(enabled: bool) {
    CHOICE.store(if enabled { ON } else { OFF }, Ordering::Relaxed);
}

/// Whether links are printed now: the code's choice, else the environment's.
pub(crate) fn enabled() -> bool {
    match CHOICE.load(Ordering::Relaxed) {
        ON => true,
        OFF => false,
        _ => !suppressed_by_env(),
    }
}

/// The Python client accepts `true`, `false`, `1` and `0` in any case and fails on anything
/// else; a link is not worth failing a run's end for, so another value prints a warning
/// once and the links stay on.
fn suppressed_by_env() -> bool {
    env::flag(SUPPRESS_LINKS_ENV).unwrap_or_else(|value| {
        static WARNED: std::sync::Once = std::sync::Once::new();
        WARNED.call_once(|| {
            eprintln!(
                "mlflow: {SUPPRESS_LINKS_ENV}={value:?} is not one of true, false, 1, 0; run links stay on"
            );
        });
        None
    }) == Some(true)
}

/// The UI's address for a tracking server URI: scheme, host, port and path prefix as given,
/// without credentials, query or trailing `/` (the Python client prints the URI with only
/// the trailing `/` removed, credentials included; these links never show them).
#[cfg(feature = "rest")]
pub(crate) fn ui_base(server: &url::Url) -> String {
    let mut url = server.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    url.as_str().trim_end_matches('/').to_owned()
}

/// The two lines printed when a run ends.
pub(crate) fn lines(ui_base: &str, run_name: &str, experiment_id: &str, run_id: &str) -> String {
    let experiment = format!("{ui_base}/#/experiments/{experiment_id}");
    format!(
        "🏃 View run {run_name} at: {experiment}/runs/{run_id}\n🧪 View experiment at: {experiment}\n"
    )
}

// The links are only built for the REST store.
#[cfg(all(test, feature = "rest"))]
mod tests {
    use url::Url;

    use super::*;

    #[test]
    fn links_keep_the_path_prefix_and_drop_credentials() {
        let url = Url::parse("https://me:secret@mlflow.example.com:8443/team/mlflow/?x=1").unwrap();
        let base = ui_base(&url);
        assert_eq!(base, "https://mlflow.example.com:8443/team/mlflow");
        assert_eq!(
            lines(&base, "trial-1", "7", "abc"),
            "🏃 View run trial-1 at: https://mlflow.example.com:8443/team/mlflow/#/experiments/7/runs/abc\n\
             🧪 View experiment at: https://mlflow.example.com:8443/team/mlflow/#/experiments/7\n"
        );
        let plain = Url::parse("http://127.0.0.1:5000").unwrap();
        assert_eq!(ui_base(&plain), "http://127.0.0.1:5000");
    }
}
