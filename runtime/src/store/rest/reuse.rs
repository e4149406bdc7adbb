//! Whether requests to a server reuse connections: fixed by `MLFLOW_RS_HTTP_KEEPALIVE` or
//! the scheme, or chosen from how long the first requests take.
//!
//! `mlflow server` with more than one uvicorn worker leaves Nagle's algorithm on, so on a
//! kept-alive connection an answer's second segment can wait for the client's delayed ACK,
//! up to about 40 ms (uvicorn issue #3149). A fresh connection starts in quick-ACK mode and
//! does not wait, but costs one round trip for its handshake. Near the server (loopback, a
//! LAN) the stall costs more than the handshake, so fresh connections win; across a network
//! the handshake costs more. Over plain `http` the first requests therefore go out on fresh
//! connections and are timed: when even the fastest of them took [`KEEP_ALIVE_ABOVE`] or
//! longer (a handshake plus a request is two round trips, so about 20 ms of round trip), the
//! rest keep their connections. `https` always keeps them (a TLS handshake per request
//! costs far more).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use url::Url;

use crate::base::config;
use crate::base::error::{Error, Result};
use crate::base::sync::lock;

/// Environment variable fixing connection reuse: `true`, `false` or `auto` (the default).
pub const KEEP_ALIVE_ENV: &str = "MLFLOW_RS_HTTP_KEEPALIVE";

/// A fresh-connection request this slow or slower says the server is far: keep connections.
pub const KEEP_ALIVE_ABOVE: Duration = Duration::from_millis(40);

/// Answered requests timed before choosing; the fastest of them counts, so one slow answer
/// (a busy server, a first query) does not decide alone. Two: a sweep's first requests are
/// the experiment's lookup and the first run's create, one after the other, so the choice
/// is made before the first requests that go out together.
const SAMPLES: u32 = 2;

const UNDECIDED: u8 = 0;
const FRESH: u8 = 1;
const KEPT: u8 = 2;

/// The HTTP clients of one server and the choice between them.
pub(super) struct Connections {
    /// Opens a connection per request (no idle pool).
    fresh: reqwest::Client,
    /// Keeps connections alive; `None` when the choice is fixed to fresh connections.
    kept: Option<reqwest::Client>,
    choice: AtomicU8,
    /// While undecided: answers timed so far and the fastest.
    timed: Mutex<(u32, Duration)>,
}

/// How connection reuse was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    Always,
    Never,
    Auto,
}

fn policy(url: &Url) -> Result<Policy> {
    let asked = match config::env_nonempty(KEEP_ALIVE_ENV) {
        None => Policy::Auto,
        Some(v) => match v.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Policy::Always,
            "false" | "0" | "no" => Policy::Never,
            "auto" => Policy::Auto,
            _ => {
                return Err(Error::Config(format!(
                    "{KEEP_ALIVE_ENV}={v:?}: expected true, false or auto"
                )));
            }
        },
    };
    Ok(match asked {
        Policy::Auto if url.scheme() == "https" => Policy::Always,
        other => other,
    })
}

impl Connections {
    /// The clients for `url`; `builder` gives the settings both share.
    pub(super) fn new(
        url: &Url,
        builder: impl Fn() -> Result<reqwest::ClientBuilder>,
    ) -> Result<Connections> {
        let build = |b: reqwest::ClientBuilder| {
            b.build()
                .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))
        };
        let fresh = build(builder()?.pool_max_idle_per_host(0))?;
        let (kept, choice) = match policy(url)? {
            Policy::Never => (None, FRESH),
            Policy::Always => (Some(build(builder()?)?), KEPT),
            Policy::Auto => (Some(build(builder()?)?), UNDECIDED),
        };
        Ok(Connections {
            fresh,
            kept,
            choice: AtomicU8::new(choice),
            timed: Mutex::new((0, Duration::MAX)),
        })
    }

    /// The client for the next request, and whether its answer should be timed for the
    /// choice ([`Connections::timed`]).
    pub(super) fn client(&self) -> (&reqwest::Client, bool) {
        match (self.choice.load(Ordering::Acquire), &self.kept) {
            (KEPT, Some(kept)) => (kept, false),
            (UNDECIDED, _) => (&self.fresh, true),
            _ => (&self.fresh, false),
        }
    }

    /// Records how long a request on a fresh connection took until its answer's headers;
    /// after [`SAMPLES`] answers the choice is made, once.
    pub(super) fn timed(&self, took: Duration) {
        let mut timed = lock(&self.timed);
        if self.choice.load(Ordering::Acquire) != UNDECIDED {
            return;
        }
        timed.0 += 1;
        timed.1 = timed.1.min(took);
        if timed.0 >= SAMPLES {
            let far = timed.1 >= KEEP_ALIVE_ABOVE;
            tracing::debug!(
                "mlflow: fastest of {SAMPLES} first requests took {:.1} ms: {}",
                timed.1.as_secs_f64() * 1000.0,
                if far {
                    "keeping connections alive"
                } else {
                    "a fresh connection per request"
                }
            );
            self.choice
                .store(if far { KEPT } else { FRESH }, Ordering::Release);
        }
    }

    /// True once connections are kept alive (for tests and diagnostics).
    #[cfg(test)]
    fn keeps_alive(&self) -> bool {
        self.choice.load(Ordering::Acquire) == KEPT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auto() -> Connections {
        let url = Url::parse("http://127.0.0.1:1/").unwrap();
        let c = Connections::new(&url, || Ok(reqwest::Client::builder())).unwrap();
        // The environment may fix the policy; these tests are about the automatic one.
        c.choice.store(UNDECIDED, Ordering::Release);
        c
    }

    #[test]
    fn near_servers_get_fresh_connections() {
        let c = auto();
        // One slow answer among them does not decide.
        for ms in [60, 3, 90].into_iter().take(SAMPLES as usize) {
            assert!(c.client().1, "still timing");
            c.timed(Duration::from_millis(ms));
        }
        assert!(!c.client().1 && !c.keeps_alive());
    }

    #[test]
    fn far_servers_keep_connections_and_the_choice_stays() {
        let c = auto();
        for ms in [120, 101, 240].into_iter().take(SAMPLES as usize) {
            c.timed(Duration::from_millis(ms));
        }
        assert!(c.keeps_alive() && !c.client().1);
        c.timed(Duration::from_millis(1));
        assert!(c.keeps_alive());
    }

    #[test]
    fn https_and_the_variable_fix_the_choice() {
        let https = Url::parse("https://example.invalid/").unwrap();
        let http = Url::parse("http://example.invalid/").unwrap();
        // Only when the variable is not set in this process's environment.
        if config::env_nonempty(KEEP_ALIVE_ENV).is_none() {
            assert_eq!(policy(&https).unwrap(), Policy::Always);
            assert_eq!(policy(&http).unwrap(), Policy::Auto);
        }
    }
}
