//! Facts about the running program that become system tags, as the Python client's
//! `DefaultRunContext` and `GitRunContext` record them.

use std::process::Command;
use std::sync::OnceLock;

use crate::base::model::RunTag;

/// The environment variable naming the worker process a coordinator launched
/// (`RunHandle::configure_worker` sets it).
pub(crate) const WORKER_ID_ENV: &str = "MLFLOW_RS_WORKER_ID";

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
        if let Some(worker) = crate::base::config::env_nonempty(WORKER_ID_ENV) {
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
        tags
    })
}

/// The user as the Python client names it: `MLFLOW_TRACKING_USERNAME`, else what
/// `getpass.getuser()` returns (`LOGNAME`, `USER`, `LNAME`, `USERNAME`, the password database).
pub(crate) fn user() -> String {
    for var in [
        "MLFLOW_TRACKING_USERNAME",
        "LOGNAME",
        "USER",
        "LNAME",
        "USERNAME",
    ] {
        if let Some(v) = crate::base::config::env_nonempty(var) {
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
