//! The S3 client for a bucket, configured from the environment as boto3 and MLflow's
//! `S3ArtifactRepository` read it: every `AWS_*` variable `object_store` knows (keys, session
//! token, region, endpoint, and the providers of cloud machines: web identity, ECS and EKS
//! task roles, instance metadata), MLflow's `MLFLOW_S3_ENDPOINT_URL`, `MLFLOW_S3_IGNORE_TLS`
//! and `MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE`, and the static keys of a profile in the shared
//! files (`AWS_PROFILE`, `~/.aws/credentials`, `~/.aws/config`), which `object_store` does
//! not read.
//!
//! Clients are kept per bucket and settings: the environment is read on every call (cheap),
//! so a process that changes its variables gets a client for the new ones.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::{BackoffConfig, ClientOptions, RetryConfig};

use crate::base::config::HttpSettings;
use crate::base::env;
use crate::base::error::{Error, Result};
use crate::base::sync::lock;

/// What a client is built from: the bucket and every setting, secrets included (never
/// printed: this type has no `Debug`).
#[derive(Hash, PartialEq, Eq)]
struct S3Settings {
    bucket: String,
    config: Vec<(String, String)>,
    endpoint: Option<String>,
    ignore_tls: bool,
    virtual_hosted: bool,
    max_retries: u32,
    timeout_ms: u128,
}

/// The S3 client for `bucket`, built on first use for the current settings.
pub(super) fn client(bucket: &str) -> Result<Arc<AmazonS3>> {
    static CLIENTS: OnceLock<Mutex<HashMap<u64, Arc<AmazonS3>>>> = OnceLock::new();
    let settings = read(bucket)?;
    let mut hasher = DefaultHasher::new();
    settings.hash(&mut hasher);
    let key = hasher.finish();
    let clients = CLIENTS.get_or_init(Default::default);
    if let Some(client) = lock(clients).get(&key) {
        return Ok(client.clone());
    }
    let client = Arc::new(build(settings)?);
    lock(clients).insert(key, client.clone());
    Ok(client)
}

fn read(bucket: &str) -> Result<S3Settings> {
    let http = HttpSettings::from_env()?;
    let mut config: Vec<(String, String)> = env::with_prefix(env::AWS_PREFIX)
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    config.sort();
    let has = |name: &str| config.iter().any(|(k, _)| k == &name.to_ascii_lowercase());
    // boto3's order: keys in the environment, then web identity, then the shared files,
    // then container and instance roles (which object_store reaches on its own).
    let keys_set = has(env::AWS_ACCESS_KEY_ID) || has(env::AWS_WEB_IDENTITY_TOKEN_FILE);
    let region_set = has(env::AWS_REGION) || has(env::AWS_DEFAULT_REGION);
    if !keys_set {
        config.extend(profile_keys()?);
    }
    if !region_set && let Some(region) = profile_region() {
        config.push(("aws_region".into(), region));
    }
    let style = env::nonempty(env::BOTO_CLIENT_ADDRESSING_STYLE).unwrap_or_default();
    Ok(S3Settings {
        bucket: bucket.to_owned(),
        config,
        endpoint: env::nonempty(env::S3_ENDPOINT_URL).map(|e| e.trim().to_owned()),
        ignore_tls: env::flag(env::S3_IGNORE_TLS)
            .map_err(|v| {
                Error::Config(format!(
                    "{}={v:?}: expected true or false",
                    env::S3_IGNORE_TLS
                ))
            })?
            .unwrap_or(false),
        virtual_hosted: style.trim().eq_ignore_ascii_case("virtual"),
        max_retries: http.max_retries,
        timeout_ms: http.timeout.as_millis(),
    })
}

fn build(s: S3Settings) -> Result<AmazonS3> {
    let mut builder = AmazonS3Builder::new();
    let mut allow_http = false;
    for (key, value) in &s.config {
        // Only the keys object_store knows; others (AWS_PROFILE, AWS_PAGER...) are not its.
        if let Ok(config_key) = key.parse::<AmazonS3ConfigKey>() {
            if key.starts_with("aws_endpoint") && value.starts_with("http://") {
                allow_http = true;
            }
            builder = builder.with_config(config_key, value);
        }
    }
    // MLflow's own variable wins over the SDK's, as in S3ArtifactRepository.
    if let Some(endpoint) = &s.endpoint {
        allow_http |= endpoint.starts_with("http://");
        let endpoint = if s.virtual_hosted {
            with_bucket_host(endpoint, &s.bucket)?
        } else {
            endpoint.clone()
        };
        builder = builder.with_endpoint(endpoint);
    }
    let timeout = Duration::from_millis(u64::try_from(s.timeout_ms).unwrap_or(u64::MAX));
    let options = ClientOptions::new()
        .with_allow_http(allow_http)
        .with_allow_invalid_certificates(s.ignore_tls)
        .with_timeout(timeout)
        .with_connect_timeout(timeout.min(Duration::from_secs(30)));
    let retry = RetryConfig {
        backoff: BackoffConfig::default(),
        max_retries: s.max_retries as usize,
        retry_timeout: Duration::from_secs(180),
    };
    builder
        .with_bucket_name(&s.bucket)
        .with_virtual_hosted_style_request(s.virtual_hosted)
        .with_client_options(options)
        .with_retry(retry)
        .build()
        // The builder's errors name settings, never their values.
        .map_err(|e| Error::Config(format!("S3 bucket {:?}: {e}", s.bucket)))
}

/// `http://host:port` with the bucket as the host's first label, for virtual-hosted style
/// requests to a custom endpoint.
fn with_bucket_host(endpoint: &str, bucket: &str) -> Result<String> {
    let mut url = url::Url::parse(endpoint)
        .map_err(|e| Error::Config(format!("{}={endpoint:?}: {e}", env::S3_ENDPOINT_URL)))?;
    let host = url.host_str().unwrap_or_default().to_owned();
    url.set_host(Some(&format!("{bucket}.{host}")))
        .map_err(|e| Error::Config(format!("{}={endpoint:?}: {e}", env::S3_ENDPOINT_URL)))?;
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// The profile boto3 would use: `AWS_PROFILE`, else `default`; and whether it was asked for.
fn profile() -> (String, bool) {
    match env::nonempty(env::AWS_PROFILE) {
        Some(p) => (p.trim().to_owned(), true),
        None => ("default".into(), false),
    }
}

fn shared_file(var: &str, name: &str) -> Option<PathBuf> {
    env::nonempty(var)
        .map(PathBuf::from)
        .or_else(|| env::home().map(|h| h.join(".aws").join(name)))
}

/// The static keys of the profile, from the credentials file and then the config file. A
/// profile named by `AWS_PROFILE` that has none (missing, or one that assumes a role, signs
/// in through SSO or runs a process) is an error rather than a silent fall-through to the
/// machine's role.
fn profile_keys() -> Result<Vec<(String, String)>> {
    let (name, asked) = profile();
    let credentials = shared_file(env::AWS_SHARED_CREDENTIALS_FILE, "credentials")
        .and_then(|p| ini_section(&p, &name));
    let config = shared_file(env::AWS_CONFIG_FILE, "config").and_then(|p| {
        let section = if name == "default" {
            name.clone()
        } else {
            format!("profile {name}")
        };
        ini_section(&p, &section)
    });
    for section in [credentials.as_ref(), config.as_ref()]
        .into_iter()
        .flatten()
    {
        let get = |k: &str| section.get(k).cloned();
        if let (Some(id), Some(secret)) = (get("aws_access_key_id"), get("aws_secret_access_key")) {
            let mut keys = vec![
                ("aws_access_key_id".to_owned(), id),
                ("aws_secret_access_key".to_owned(), secret),
            ];
            if let Some(token) = get("aws_session_token") {
                keys.push(("aws_session_token".to_owned(), token));
            }
            return Ok(keys);
        }
    }
    if asked {
        let what = if credentials.is_some() || config.is_some() {
            "has no static keys (aws_access_key_id, aws_secret_access_key); profiles that assume a role, use SSO or run a credential process are not read by this crate"
        } else {
            "is in neither ~/.aws/credentials nor ~/.aws/config (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE)"
        };
        return Err(Error::Config(format!(
            "{}={name:?}: the profile {what}; export its keys instead (`aws configure export-credentials --profile {name} --format env`)",
            env::AWS_PROFILE
        )));
    }
    Ok(Vec::new())
}

/// The profile's `region` in the config file.
fn profile_region() -> Option<String> {
    let (name, _) = profile();
    let section = if name == "default" {
        name
    } else {
        format!("profile {name}")
    };
    shared_file(env::AWS_CONFIG_FILE, "config")
        .and_then(|p| ini_section(&p, &section))
        .and_then(|s| s.get("region").cloned())
}

/// The `key = value` lines of `[section]` in an INI file, as botocore reads the shared
/// files; `None` when the file or the section is missing.
fn ini_section(path: &std::path::Path, section: &str) -> Option<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).ok()?;
    parse_section(&text, section)
}

fn parse_section(text: &str, section: &str) -> Option<HashMap<String, String>> {
    let mut found = None;
    let mut current = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.trim() == section;
            if current {
                found.get_or_insert_with(HashMap::new);
            }
            continue;
        }
        if let (true, Some((k, v))) = (current, line.split_once('='))
            && let Some(map) = found.as_mut()
        {
            map.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_files_are_read_by_section() {
        let text = "[default]\naws_access_key_id = A\naws_secret_access_key=B\n\n[profile dev]\nregion = eu-west-1\n# c\n";
        let d = parse_section(text, "default").unwrap();
        assert_eq!(d.get("aws_access_key_id").map(String::as_str), Some("A"));
        assert_eq!(
            d.get("aws_secret_access_key").map(String::as_str),
            Some("B")
        );
        let dev = parse_section(text, "profile dev").unwrap();
        assert_eq!(dev.get("region").map(String::as_str), Some("eu-west-1"));
        assert!(parse_section(text, "other").is_none());
    }

    #[test]
    fn virtual_hosted_endpoints_carry_the_bucket() {
        assert_eq!(
            with_bucket_host("http://localhost:9000", "b").unwrap(),
            "http://b.localhost:9000"
        );
    }
}
