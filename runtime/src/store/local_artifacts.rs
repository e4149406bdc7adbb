//! Artifacts under a local root (`file://...` or a plain absolute path): what the embedded
//! store's runs use, and servers started with `--no-serve-artifacts` on a shared disk.
//! Files are copied by the OS, never read into memory whole.

use std::path::{Path, PathBuf};

use crate::base::error::{Error, Result};
use crate::base::search::FileInfo;

/// The local folder behind a run's artifact URI, or why there is none.
pub(crate) fn root(artifact_uri: &str) -> Result<PathBuf> {
    if let Some(rest) = artifact_uri.strip_prefix("file://") {
        // file:///abs/path (empty authority) or file://localhost/abs/path.
        let path = rest.strip_prefix("localhost").unwrap_or(rest);
        let decoded = url::Url::parse(&format!("file://{path}"))
            .ok()
            .and_then(|u| u.to_file_path().ok())
            .unwrap_or_else(|| PathBuf::from(path));
        return Ok(decoded);
    }
    let p = Path::new(artifact_uri);
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    Err(Error::Config(format!(
        "artifact URI {artifact_uri:?} is not a local folder and this store cannot reach it"
    )))
}

/// `base/rel` for a relative artifact path with `/` separators; `..`, absolute paths and
/// empty components are refused so that nothing lands outside the run's folder.
pub(crate) fn join(base: &Path, rel: &str) -> Result<PathBuf> {
    let mut out = base.to_path_buf();
    for part in rel.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if part == ".." || part.contains('\\') && cfg!(windows) {
            return Err(Error::InvalidArgument(format!(
                "artifact path {rel:?} must stay inside the run's artifact folder"
            )));
        }
        out.push(part);
    }
    Ok(out)
}

pub(crate) async fn log_artifact(
    artifact_uri: &str,
    local: &Path,
    artifact_path: &str,
) -> Result<()> {
    let dest = join(&root(artifact_uri)?, artifact_path)?;
    if let Some(dir) = dest.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| Error::io("cannot create artifact folder", dir, e))?;
    }
    tokio::fs::copy(local, &dest)
        .await
        .map_err(|e| Error::io(format!("cannot copy {} to", local.display()), &dest, e))?;
    Ok(())
}

pub(crate) async fn list_artifacts(artifact_uri: &str, path: &str) -> Result<Vec<FileInfo>> {
    let dir = join(&root(artifact_uri)?, path)?;
    let mut entries = match tokio::fs::read_dir(&dir).await {
        Ok(e) => e,
        // MLflow lists a missing folder, or a file, as nothing.
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(Vec::new());
        }
        Err(e) => return Err(Error::io("cannot list artifacts in", &dir, e)),
    };
    let prefix = path.trim_matches('/');
    let mut out = Vec::new();
    while let Some(entry) = entries
        .next_entry()
        .await
        .map_err(|e| Error::io("cannot list artifacts in", &dir, e))?
    {
        let meta = entry
            .metadata()
            .await
            .map_err(|e| Error::io("cannot read", entry.path(), e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        out.push(FileInfo {
            path: if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            },
            is_dir: meta.is_dir(),
            file_size: (!meta.is_dir()).then_some(meta.len()),
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

pub(crate) async fn download_artifact(artifact_uri: &str, path: &str, dest: &Path) -> Result<()> {
    let src = join(&root(artifact_uri)?, path)?;
    tokio::fs::copy(&src, dest)
        .await
        .map_err(|e| Error::io(format!("cannot copy artifact {path:?} to"), dest, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_and_paths() {
        assert_eq!(root("/a/b").unwrap(), PathBuf::from("/a/b"));
        assert_eq!(root("file:///a/b%20c").unwrap(), PathBuf::from("/a/b c"));
        assert!(root("mlflow-artifacts:/1/x/artifacts").is_err());
        assert_eq!(
            join(Path::new("/r"), "d/e f.txt").unwrap(),
            PathBuf::from("/r/d/e f.txt")
        );
        assert!(join(Path::new("/r"), "../x").is_err());
    }
}
