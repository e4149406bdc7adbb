//! When and how long to wait before resending a request, following the Python client
//! (`mlflow/utils/request_utils.py`): urllib3-style exponential backoff with additive jitter,
//! `Retry-After` honoured, and creation requests resent only where that cannot duplicate.

use std::time::Duration;

use backon::ExponentialBuilder;

use crate::base::config::HttpSettings;
use crate::base::error::RETRY_CODES;

/// Whether a request may be sent twice without creating something twice, or failing the
/// second time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// Log-batch, update, get, deleting and restoring a run, setting an experiment tag:
    /// resending is harmless.
    Safe,
    /// Run and experiment creation, and what a second time refuses (deleting or restoring an
    /// experiment, deleting a tag) or answers with a 500 (renaming a deleted experiment is
    /// `INVALID_STATE`): resent only when the server surely did not act on it (connection
    /// refused, 408, 429).
    CreatesResource,
}

/// What a failed attempt looked like, for the retry decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// No connection was made: the server never saw the request.
    Connect,
    /// The request may have reached the server (timeout, reset mid-answer).
    Transport,
    /// The server answered with this status.
    Status(u16),
    /// The server could not get a database connection in time (SQLAlchemy's pool, answered
    /// by MLflow as a 400 `BAD_REQUEST` "QueuePool limit ... reached"). MLflow rolls the
    /// request's session back, so it did nothing: resending is safe, even for a creation,
    /// and a fleet under load recovers instead of losing what it was sent.
    PoolExhausted,
}

/// Whether to try again after `failure`.
pub(crate) fn should_retry(failure: Failure, idempotency: Idempotency) -> bool {
    match (failure, idempotency) {
        (Failure::Connect | Failure::PoolExhausted, _) => true,
        (Failure::Transport, Idempotency::Safe) => true,
        (Failure::Transport, Idempotency::CreatesResource) => false,
        (Failure::Status(s), Idempotency::Safe) => RETRY_CODES.contains(&s),
        (Failure::Status(s), Idempotency::CreatesResource) => s == 408 || s == 429,
    }
}

/// What an error answer with `status` and `body` means for the retry decision.
pub(crate) fn failure_of(status: u16, body: &[u8]) -> Failure {
    // SQLAlchemy's pool timeout message; MLflow passes it through as the error's message.
    const POOL_TIMEOUT: &[u8] = b"QueuePool limit";
    if status == 400 && body.windows(POOL_TIMEOUT.len()).any(|w| w == POOL_TIMEOUT) {
        Failure::PoolExhausted
    } else {
        Failure::Status(status)
    }
}

/// The backoff schedule: `factor * 2^n` seconds, capped at 120 s, `max_retries` times. The
/// jitter is added per attempt by [`with_jitter`].
pub(crate) fn backoff(settings: &HttpSettings) -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_secs_f64(settings.backoff_factor))
        .with_factor(2.0)
        .with_max_delay(Duration::from_secs(120))
        .with_max_times(settings.max_retries as usize)
}

/// Adds up to `jitter` seconds, as urllib3's `backoff_jitter` does.
pub(crate) fn with_jitter(delay: Duration, jitter: f64) -> Duration {
    if jitter <= 0.0 {
        return delay;
    }
    delay + Duration::from_secs_f64(rand::random::<f64>() * jitter)
}

/// Parses a `Retry-After` header given in seconds (the form MLflow servers and proxies use).
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(3600.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_is_resent_only_when_it_cannot_duplicate() {
        use Failure::*;
        use Idempotency::*;
        assert!(should_retry(Connect, CreatesResource));
        assert!(should_retry(Status(429), CreatesResource));
        assert!(!should_retry(Status(500), CreatesResource));
        assert!(!should_retry(Transport, CreatesResource));
        assert!(should_retry(Status(503), Safe));
        assert!(should_retry(Transport, Safe));
        assert!(!should_retry(Status(400), Safe));
        assert!(!should_retry(Status(404), Safe));
        assert!(should_retry(PoolExhausted, CreatesResource));
    }

    #[test]
    fn a_server_out_of_database_connections_is_told_from_other_refusals() {
        let pool = br#"{"error_code": "BAD_REQUEST", "message": "QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00"}"#;
        assert_eq!(failure_of(400, pool), Failure::PoolExhausted);
        let bad = br#"{"error_code": "INVALID_PARAMETER_VALUE", "message": "Invalid value"}"#;
        assert_eq!(failure_of(400, bad), Failure::Status(400));
        assert_eq!(failure_of(500, pool), Failure::Status(500));
    }

    #[test]
    fn retry_after_in_seconds() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(" 0.5 "), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
