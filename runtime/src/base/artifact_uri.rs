//! Artifact URIs, as `mlflow.artifacts.load_text` and `load_dict` take them: a file of a
//! run by id (`runs:/<run_id>/<path>`), or a file under a run's artifact root (the run's
//! `artifact_uri` with the path appended: `mlflow-artifacts:/1/<run>/artifacts/a.txt`, a
//! `file://` URI or a local path), split as the Python client splits them.

use super::error::{Error, Result};

/// Where an artifact file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ArtifactUri {
    /// `runs:/<run_id>/<path>`: the file `path` of run `run_id`, in the tracking store.
    Run {
        /// The run's id.
        run_id: String,
        /// The file, relative to the run's artifact root.
        path: String,
    },
    /// The file `name` in the folder `root` (a URI an artifact store understands).
    Root {
        /// The folder's URI: everything before the last `/`.
        root: String,
        /// The file's name: everything after it.
        name: String,
    },
}

impl ArtifactUri {
    /// Parses `uri`, which must name a file.
    pub(crate) fn parse(uri: &str) -> Result<ArtifactUri> {
        let bad = |why: &str| Error::InvalidArgument(format!("artifact URI {uri:?}: {why}"));
        if let Some(rest) = uri.strip_prefix("runs:") {
            let Some(path) = rest.strip_prefix('/').filter(|p| !p.starts_with('/')) else {
                return Err(bad(
                    "not a proper runs:/ URI; expected runs:/<run_id>/<path> (no host part)",
                ));
            };
            let (run_id, path) = path.split_once('/').unwrap_or((path, ""));
            let path = path.trim_matches('/');
            if run_id.is_empty() {
                return Err(bad("names no run id"));
            }
            if path.is_empty() {
                return Err(bad("names no file of the run"));
            }
            return Ok(ArtifactUri::Run {
                run_id: run_id.to_owned(),
                path: path.to_owned(),
            });
        }
        let full = if has_scheme(uri) || uri.starts_with('/') {
            uri.to_owned()
        } else {
            // A relative local path, as Python makes it absolute.
            std::path::absolute(uri)
                .map_err(|e| Error::io("artifact path", uri, e))?
                .to_string_lossy()
                .into_owned()
        };
        match full.trim_end_matches('/').rsplit_once('/') {
            Some((root, name)) if !name.is_empty() && !root.ends_with(':') => {
                Ok(ArtifactUri::Root {
                    root: if root.is_empty() {
                        "/".into()
                    } else {
                        root.to_owned()
                    },
                    name: name.to_owned(),
                })
            }
            _ => Err(bad("names no file")),
        }
    }
}

/// True for `scheme:...` (letters, digits, `+`, `-`, `.` before the colon), not for a path.
fn has_scheme(uri: &str) -> bool {
    uri.split_once(':').is_some_and(|(scheme, _)| {
        scheme.len() > 1
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(root: &str, name: &str) -> ArtifactUri {
        ArtifactUri::Root {
            root: root.into(),
            name: name.into(),
        }
    }

    #[test]
    fn parses_as_python() {
        assert_eq!(
            ArtifactUri::parse("runs:/abc/dir/f.json").unwrap(),
            ArtifactUri::Run {
                run_id: "abc".into(),
                path: "dir/f.json".into()
            }
        );
        assert!(ArtifactUri::parse("runs:/abc").is_err());
        assert!(ArtifactUri::parse("runs:/abc/").is_err());
        assert!(ArtifactUri::parse("runs://profile/abc/f").is_err());
        assert_eq!(
            ArtifactUri::parse("mlflow-artifacts:/1/r/artifacts/d/a.txt").unwrap(),
            root("mlflow-artifacts:/1/r/artifacts/d", "a.txt")
        );
        assert_eq!(
            ArtifactUri::parse("file:///tmp/m/a.txt").unwrap(),
            root("file:///tmp/m", "a.txt")
        );
        assert_eq!(
            ArtifactUri::parse("/tmp/m/a.txt").unwrap(),
            root("/tmp/m", "a.txt")
        );
        assert_eq!(ArtifactUri::parse("/a.txt").unwrap(), root("/", "a.txt"));
        assert!(ArtifactUri::parse("mlflow-artifacts:/").is_err());
        let rel = ArtifactUri::parse("sub/a.txt").unwrap();
        assert!(matches!(rel, ArtifactUri::Root { ref root, .. } if root.starts_with('/')));
    }
}
