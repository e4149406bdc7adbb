//! Facts about the running program that become system tags, as the Python client's
//! `DefaultRunContext`, `GitRunContext` and `SystemEnvironmentContext` (`MLFLOW_RUN_CONTEXT`)
//! record them.

use std::process::Command;
use std::sync::OnceLock;

use crate::base::env;
use crate::base::model::RunTag;
use crate::base::python_str;
use crate::base::validate;

/// The environment variable naming the worker process a coordinator launched
/// (`RunHandle::configure_worker` sets it).
pub(crate) const WORKER_ID_ENV: &str = env::WORKER_ID;

/// The tag that marks every run of a worker process with its worker id.
pub(crate) const WORKER_TAG: &str = "mlflow.rs.workerId";

/// A random key on each run whose id the server chooses: when the answer to its creation is
/// lost (the run may exist), the replay of the creation finds the run by it instead of
/// creating it twice.
pub(crate) const CREATE_KEY_TAG: &str = "mlflow.rs.createKey";

/// The system tags for a new run, computed once per process.
pub(crate) fn tags() -> &'static [RunTag] {
    static TAGS: OnceLock<Vec<RunTag>> = OnceLock::new();
    TAGS.get_or_init(|| {
        let mut tags = vec![
            tag("mlflow.user", &user()),
            tag("mlflow.source.name", &source_name()),
            tag("mlflow.source.type", "LOCAL"),
        ];
        // Set by a coordinator for its worker processes, to find their runs if they die.
        if let Some(worker) = env::nonempty(WORKER_ID_ENV) {
            tags.push(tag(WORKER_TAG, &worker));
        }
        if let Some(commit) = git(&["rev-parse", "HEAD"]) {
            tags.push(tag("mlflow.source.git.commit", &commit));
            if let Some(branch) =
                git(&["rev-parse", "--abbrev-ref", "HEAD"]).filter(|b| b != "HEAD")
            {
                tags.push(tag("mlflow.source.git.branch", &branch));
            }
            if let Some(url) = git(&["config", "--get", "remote.origin.url"]) {
                tags.push(tag("mlflow.source.git.repoURL", &url));
            }
        }
        // Last, so that they override the tags above (the caller's override them in turn).
        if let Some(text) = env::raw(env::RUN_CONTEXT) {
            tags.extend(context_tags(&text));
        }
        tags
    })
}

/// The tags of `MLFLOW_RUN_CONTEXT`, as Python's `SystemEnvironmentContext` reads them: set
/// at all (blank too), it must be a JSON object, and each member is a tag. A string is the
/// value as it is; a number or a bool is written as Python's `str()` writes what
/// `json.loads` made of it (`1`, `0.5`, `True`). What cannot be used is left out with a
/// warning (Python warns and drops them all when the JSON does not parse): the whole
/// variable when it is not a JSON object; a member whose key MLflow would refuse, or whose
/// value is `null`, a list or an object.
pub(crate) fn context_tags(text: &str) -> Vec<RunTag> {
    let members = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(members)) => members,
        Ok(_) => {
            warn(format_args!(
                "{} is not a JSON object: ignored",
                env::RUN_CONTEXT
            ));
            return Vec::new();
        }
        Err(e) => {
            warn(format_args!(
                "{} is not valid JSON ({e}): ignored",
                env::RUN_CONTEXT
            ));
            return Vec::new();
        }
    };
    let mut tags = Vec::new();
    for (key, value) in members {
        let value = match value {
            serde_json::Value::String(s) => s,
            serde_json::Value::Bool(b) => python_str::boolean(b).to_owned(),
            // `json.loads` makes an int of `3`, a float of `3.0` and `3e5`.
            serde_json::Value::Number(n) => match n.as_f64() {
                Some(x) if n.is_f64() => python_str::float(x),
                _ => n.to_string(),
            },
            other => {
                warn(format_args!(
                    "{}: the value of {key:?} is not a string, a number or a bool ({other}): \
                     left out",
                    env::RUN_CONTEXT
                ));
                continue;
            }
        };
        if let Err(e) = validate::key("tag", &key) {
            warn(format_args!("{}: {e}: left out", env::RUN_CONTEXT));
            continue;
        }
        let value = validate::truncate_value("tag", &key, value, validate::MAX_TAG_VALUE_LENGTH);
        tags.push(RunTag { key, value });
    }
    tags
}

fn warn(message: std::fmt::Arguments<'_>) {
    tracing::warn!("mlflow: {message}");
    eprintln!("mlflow: {message}");
}

/// The user as the Python client names it: `MLFLOW_TRACKING_USERNAME`, else what
/// `getpass.getuser()` returns (`LOGNAME`, `USER`, `LNAME`, `USERNAME`, the password database).
pub(crate) fn user() -> String {
    for var in std::iter::once(env::TRACKING_USERNAME).chain(env::LOGIN_NAMES) {
        if let Some(v) = env::nonempty(var) {
            return v;
        }
    }
    passwd_user().unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(unix)]
fn passwd_user() -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwuid_r writes only into `pwd` and `buf`, both valid for the lengths given;
    // `pw_name` points into `buf`, which outlives its use below.
    let rc = unsafe {
        libc::getpwuid_r(
            libc::getuid(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: on success pw_name is a NUL-terminated string inside `buf`.
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    Some(name.to_string_lossy().into_owned())
}

#[cfg(not(unix))]
fn passwd_user() -> Option<String> {
    None
}

/// `sys.argv[0]` in Python; the program as invoked here.
fn source_name() -> String {
    std::env::args_os()
        .next()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_else(|| "<unknown>".to_owned())
}

/// Runs git in the working directory; `None` outside a work tree or without git.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn tag(key: &str, value: &str) -> RunTag {
    RunTag {
        key: key.to_owned(),
        value: value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(tags: &[RunTag]) -> Vec<(&str, &str)> {
        let mut pairs: Vec<(&str, &str)> = tags
            .iter()
            .map(|t| (t.key.as_str(), t.value.as_str()))
            .collect();
        pairs.sort();
        pairs
    }

    #[test]
    fn run_context_members_become_tags_as_python_writes_them() {
        let tags = context_tags(
            r#"{"team": "vision", "n": 3, "lr": 1e-5, "ok": true, "x": null, "bad key!": "v"}"#,
        );
        assert_eq!(
            pairs(&tags),
            [
                ("lr", "1e-05"),
                ("n", "3"),
                ("ok", "True"),
                ("team", "vision")
            ]
        );
        assert!(context_tags("").is_empty());
        assert!(context_tags("[1, 2]").is_empty());
        assert!(context_tags("{").is_empty());
    }
}
