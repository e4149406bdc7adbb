//! The `MLmodel` file of a logged model, as MLflow's `Model.save` writes it
//! (`mlflow/models/model.py`): PyYAML's `yaml.dump` of the model's dict, keys sorted, with
//! the flavor the caller names and the fields `log_model` sets. Its few scalars are written
//! here as PyYAML writes them (plain, or single-quoted when a YAML 1.1 reader would take
//! them for something else than a string), so the file is byte for byte Python's.

use crate::base::error::{Error, Result};

/// The MLflow release whose `MLmodel` format this file follows (the pinned one), written as
/// its `mlflow_version`.
pub const MLMODEL_MLFLOW_VERSION: &str = "3.17.2";

/// The `MLmodel` text of model `model_id` stored at `artifact_location`, made by `run_id`
/// at `now_ms`, with the one flavor `flavor` (an empty mapping: this crate saves no flavor
/// configuration). As Python's `log_model`: `artifact_path` is the model's artifact
/// location, `model_uuid` its id, and `prompts` null (no prompts linked). A flavor that is
/// not a plain name (letters, digits, `_`, `-`, `.`) is [`Error::InvalidArgument`].
pub(crate) fn mlmodel_yaml(
    model_id: &str,
    artifact_location: &str,
    flavor: &str,
    run_id: Option<&str>,
    now_ms: i64,
) -> Result<String> {
    let plain_name = !flavor.is_empty()
        && flavor
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !plain_name {
        return Err(Error::InvalidArgument(format!(
            "a model's flavor is a plain name (letters, digits, '_', '-', '.'), not {flavor:?}"
        )));
    }
    let mut out = format!(
        "artifact_path: {}\nflavors:\n  {}: {{}}\nmlflow_version: {}\nmodel_id: {}\nmodel_uuid: {}\n\
         prompts: null\n",
        scalar(artifact_location),
        scalar(flavor),
        scalar(MLMODEL_MLFLOW_VERSION),
        scalar(model_id),
        scalar(model_id),
    );
    if let Some(run_id) = run_id {
        out.push_str(&format!("run_id: {}\n", scalar(run_id)));
    }
    out.push_str(&format!(
        "utc_time_created: {}\n",
        scalar(&utc_text(now_ms))
    ));
    Ok(out)
}

/// A string scalar as PyYAML writes it: plain when a YAML 1.1 reader reads it back as this
/// string, else single-quoted (`'` doubled).
fn scalar(s: &str) -> String {
    if is_plain(s) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

fn is_plain(s: &str) -> bool {
    let safe = |c: char| {
        c.is_ascii_alphanumeric()
            || matches!(c, '/' | '_' | '-' | '.' | ':' | '@' | '+' | ' ' | '\'')
    };
    let first_ok = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '.'));
    let lower = s.to_ascii_lowercase();
    let special = matches!(
        lower.as_str(),
        "y" | "n" | "yes" | "no" | "true" | "false" | "on" | "off" | "null" | "~" | ".nan" | ".inf"
    );
    // Numbers (YAML 1.1 ints, floats, sexagesimals) and dates/times would not read back as
    // strings: digits with at most one `.` and no other letter.
    let numeric = s
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | ':' | '_' | '-' | '+'))
        && s.chars().any(|c| c.is_ascii_digit())
        && !(s.matches('.').count() > 1 && !s.contains(':') && !s.contains('-'));
    // YAML 1.1 timestamps: `2026-12-04`, `2026-12-04 23:05:01.123000`, ...
    let b = s.as_bytes();
    let timestamp = b.len() >= 8
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && s.chars().all(|c| {
            c.is_ascii_digit() || matches!(c, '-' | ':' | '.' | ' ' | 'T' | 't' | 'Z' | '+')
        });
    !s.is_empty()
        && !timestamp
        && first_ok
        && s.chars().all(safe)
        && !special
        && !numeric
        && !s.ends_with([':', ' '])
        && !s.contains(": ")
        && !s.contains(" #")
}

/// `str(datetime.now(timezone.utc).replace(tzinfo=None))` for `ms` since the epoch:
/// `2026-12-04 23:05:01.123000` (Python drops the fraction when it is zero).
pub(crate) fn utc_text(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let micros = ms.rem_euclid(1000) * 1000;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (rest / 3600, rest % 3600 / 60, rest % 60);
    let base = format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}");
    if micros == 0 {
        base
    } else {
        format!("{base}.{micros:06}")
    }
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_pythons_str_of_a_utc_datetime() {
        assert_eq!(utc_text(0), "1970-01-01 00:00:00");
        // datetime.fromtimestamp(1764889501.123, timezone.utc)
        assert_eq!(utc_text(1_764_889_501_123), "2025-12-04 23:05:01.123000");
        assert_eq!(utc_text(951_782_400_000), "2000-02-29 00:00:00");
    }

    #[test]
    fn the_file_is_what_model_save_writes() {
        // Model(artifact_path=.., model_uuid="m-1", run_id="r1", model_id="m-1",
        // utc_time_created=..).add_flavor("burn").to_yaml() under MLflow 3.17.2.
        let text = mlmodel_yaml("m-1", "/a/models/m-1/artifacts", "burn", Some("r1"), 0).unwrap();
        assert_eq!(
            text,
            "artifact_path: /a/models/m-1/artifacts\nflavors:\n  burn: {}\nmlflow_version: 3.17.2\n\
             model_id: m-1\nmodel_uuid: m-1\nprompts: null\nrun_id: r1\n\
             utc_time_created: '1970-01-01 00:00:00'\n"
        );
        assert!(mlmodel_yaml("m-1", "/a", "bad flavor", None, 0).is_err());
    }

    #[test]
    fn scalars_are_quoted_as_pyyaml_quotes_them() {
        // yaml.dump of each string, as PyYAML 6 writes it.
        for (s, dumped) in [
            (
                "mlflow-artifacts:/4/models/m-1/artifacts",
                "mlflow-artifacts:/4/models/m-1/artifacts",
            ),
            ("file:///tmp/x", "file:///tmp/x"),
            ("3.17.2", "3.17.2"),
            ("1.5", "'1.5'"),
            ("12", "'12'"),
            ("yes", "'yes'"),
            ("2026-12-04 23:05:01.123000", "'2026-12-04 23:05:01.123000'"),
            ("it's", "it's"),
            ("/tmp/a b/c", "/tmp/a b/c"),
            ("'quoted", "'''quoted'"),
            ("", "''"),
        ] {
            assert_eq!(scalar(s), dumped, "{s}");
        }
    }
}
