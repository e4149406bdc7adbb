//! Whether requests to a server reuse connections: fixed by `MLFLOW_RS_HTTP_KEEPALIVE` or
//! the scheme, or chosen from how long requests take.
//!
//! `mlflow server` with more than one uvicorn worker leaves Nagle's algorithm on, so on a
//! kept-alive connection an answer's second segment can wait for the client's delayed ACK,
//! up to about 40 ms (uvicorn issue #3149). A fresh connection starts in quick-ACK mode and
//! does not wait, but costs one round trip for its handshake. Near the server (loopback, a
//! LAN) the stall costs more than the handshake, so fresh connections win; across a network
//! the handshake costs more. Over plain `http` every answer bounds the round trip from
//! above: a request on a new connection takes at least two round trips (handshake,
//! request), one on a reused connection at least one. The first requests go out on the
//! kept-alive client, whose first connections are new (so no stall, and nothing lost if the
//! server is far). One answer under [`FAR`] proves the server near: fresh connections from
//! then on, for good. When [`SAMPLES`] answers all say [`FAR`] or more, the connections are
//! kept. `https` always keeps them (a TLS handshake per request costs far more).

use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use url::Url;

use crate::base::env;
use crate::base::error::{Error, Result};

/// Environment variable fixing connection reuse: `true`, `false` or `auto` (the default).
pub const KEEP_ALIVE_ENV: &str = env::HTTP_KEEPALIVE;

/// A server at least this many round-trip milliseconds away gets kept-alive connections.
pub const FAR: Duration = Duration::from_millis(20);

/// Answers that must all say "far" before connections are kept, so that one slow answer (a
/// busy server, a first query) does not decide alone. Two: a sweep's first requests are the
/// experiment's lookup and the first run's create, one after the other, so the choice is
/// made before the first requests that go out together.
const SAMPLES: u32 = 2;

const UNDECIDED: u8 = 0;
const FRESH: u8 = 1;
const KEPT: u8 = 2;

/// How a request went out, which says how many round trips its time holds at least.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Via {
    /// A connection of its own: handshake and request, two round trips.
    Fresh,
    /// Maybe a reused connection: one round trip.
    Kept,
}

/// The HTTP clients of one server and the choice between them.
pub(super) struct Connections {
    /// Opens a connection per request (no idle pool).
    fresh: reqwest::Client,
    /// Keeps connections alive; `None` when the choice is fixed to fresh connections.
    kept: Option<reqwest::Client>,
    /// Whether the choice follows the timings (`MLFLOW_RS_HTTP_KEEPALIVE=auto` over http).
    adaptive: bool,
    choice: AtomicU8,
    /// Answers timed so far.
    answers: AtomicU32,
    /// The smallest upper bound on the round trip seen so far, in microseconds.
    round_trip_us: AtomicU64,
}

/// How connection reuse was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    Always,
    Never,
    Auto,
}

fn policy(url: &Url) -> Result<Policy> {
    let asked = match env::nonempty(KEEP_ALIVE_ENV) {
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
        let policy = policy(url)?;
        let (kept, choice) = match policy {
            Policy::Never => (None, FRESH),
            Policy::Always => (Some(build(builder()?)?), KEPT),
            Policy::Auto => (Some(build(builder()?)?), UNDECIDED),
        };
        Ok(Connections {
            fresh,
            kept,
            adaptive: policy == Policy::Auto,
            choice: AtomicU8::new(choice),
            answers: AtomicU32::new(0),
            round_trip_us: AtomicU64::new(u64::MAX),
        })
    }

    /// The client for the next request, and how it goes out (for [`Connections::timed`]).
    pub(super) fn client(&self) -> (&reqwest::Client, Via) {
        match (self.choice.load(Ordering::Acquire), &self.kept) {
            (KEPT, Some(kept)) => (kept, Via::Kept),
            // Until the first answer no connection went back to the pool (it goes back once
            // the answer's body was read, after its time was taken): this one is new.
            (UNDECIDED, Some(kept)) if self.answers.load(Ordering::Acquire) == 0 => {
                (kept, Via::Fresh)
            }
            (UNDECIDED, Some(kept)) => (kept, Via::Kept),
            _ => (&self.fresh, Via::Fresh),
        }
    }

    /// Records how long a request took until its answer's headers, and chooses.
    pub(super) fn timed(&self, took: Duration, via: Via) {
        let rounds = match via {
            Via::Fresh => 2,
            Via::Kept => 1,
        };
        let bound = u64::try_from(took.as_micros() / rounds).unwrap_or(u64::MAX);
        let round_trip = self
            .round_trip_us
            .fetch_min(bound, Ordering::AcqRel)
            .min(bound);
        let answers = self.answers.fetch_add(1, Ordering::AcqRel) + 1;
        let far = round_trip >= FAR.as_micros() as u64;
        if !self.adaptive {
            return;
        }
        let choice = self.choice.load(Ordering::Acquire);
        let next = match choice {
            UNDECIDED | KEPT if !far => FRESH,
            UNDECIDED if answers >= SAMPLES => KEPT,
            other => other,
        };
        if next != choice
            && self
                .choice
                .compare_exchange(choice, next, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            tracing::debug!(
                "mlflow: round trip at most {:.1} ms after {answers} answers: {}",
                round_trip as f64 / 1000.0,
                if next == KEPT {
                    "keeping connections alive"
                } else {
                    "a fresh connection per request"
                }
            );
        }
    }

    /// True once [`SAMPLES`] answers put the server [`FAR`] away or farther (whatever the
    /// connections, which the variable or the scheme may fix).
    pub(super) fn far(&self) -> bool {
        self.answers.load(Ordering::Acquire) >= SAMPLES
            && self.round_trip_us.load(Ordering::Acquire) >= FAR.as_micros() as u64
    }

    /// True while connections are kept alive (for tests and diagnostics).
    #[cfg(test)]
    fn keeps_alive(&self) -> bool {
        self.choice.load(Ordering::Acquire) == KEPT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auto() -> Connections {
        let mut c = fixed_or_auto();
        c.adaptive = true;
        c
    }

    fn fixed_or_auto() -> Connections {
        let url = Url::parse("http://127.0.0.1:1/").unwrap();
        let c = Connections::new(&url, || Ok(reqwest::Client::builder())).unwrap();
        // The environment may fix the policy; these tests are about the automatic one.
        c.choice.store(UNDECIDED, Ordering::Release);
        c
    }

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn near_servers_get_fresh_connections() {
        let c = auto();
        // The first request goes on the kept-alive client, on a new connection.
        assert_eq!(c.client().1, Via::Fresh);
        // One slow answer does not decide; once one came back, a request may reuse it.
        c.timed(ms(90), Via::Fresh);
        assert!(!c.keeps_alive());
        assert_eq!(
            c.client().1,
            Via::Kept,
            "still undecided, on the kept client"
        );
        // One fast answer proves the server near.
        c.timed(ms(12), Via::Kept);
        assert_eq!(c.client().1, Via::Fresh);
        c.timed(ms(900), Via::Fresh);
        assert!(!c.keeps_alive(), "the choice of fresh connections stays");
        assert_eq!(c.client().1, Via::Fresh);
    }

    #[test]
    fn one_fast_first_answer_decides_at_once() {
        let c = auto();
        c.timed(ms(8), Via::Fresh);
        assert_eq!(c.client().1, Via::Fresh);
        assert!(!c.keeps_alive() && !c.far());
    }

    #[test]
    fn far_servers_keep_connections() {
        let c = auto();
        c.timed(ms(120), Via::Fresh);
        c.timed(ms(60), Via::Kept);
        assert!(c.keeps_alive());
        assert_eq!(c.client().1, Via::Kept);
        // A kept connection's answer in one round trip of 50 ms: still far.
        c.timed(ms(55), Via::Kept);
        assert!(c.keeps_alive());
    }

    #[test]
    fn the_distance_is_known_also_when_the_connections_are_fixed() {
        let mut c = fixed_or_auto();
        c.adaptive = false;
        assert!(!c.far(), "nothing known yet");
        c.timed(ms(120), Via::Fresh);
        c.timed(ms(130), Via::Kept);
        assert!(c.far());
        assert_eq!(
            c.choice.load(Ordering::Acquire),
            UNDECIDED,
            "choice untouched"
        );
    }

    #[test]
    fn a_server_slow_only_at_first_gets_fresh_connections_back() {
        let c = auto();
        // A cold server on loopback: its first answers take long.
        c.timed(ms(850), Via::Fresh);
        c.timed(ms(900), Via::Fresh);
        assert!(c.keeps_alive());
        c.timed(ms(9), Via::Kept);
        assert!(!c.keeps_alive());
        c.timed(ms(900), Via::Kept);
        assert!(!c.keeps_alive(), "and keeps them");
    }

    #[test]
    fn https_and_the_variable_fix_the_choice() {
        let https = Url::parse("https://example.invalid/").unwrap();
        let http = Url::parse("http://example.invalid/").unwrap();
        // Only when the variable is not set in this process's environment.
        if env::nonempty(KEEP_ALIVE_ENV).is_none() {
            assert_eq!(policy(&https).unwrap(), Policy::Always);
            assert_eq!(policy(&http).unwrap(), Policy::Auto);
        }
    }
}
