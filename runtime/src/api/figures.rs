//! `log_figure`: a rendered figure (what `plotters` and other plotting crates write: PNG or
//! SVG, also JPEG, WebP, PDF, HTML) stored as the artifact file Python's `log_figure` would
//! have saved it to, its format checked against the file name's extension as matplotlib's
//! `savefig` chooses the format by it.

use std::path::Path;

use super::artifacts;
use crate::base::error::{Error, Result};
use crate::runs::RunHandle;

/// Stores the rendered figure `figure` (the bytes of a PNG, SVG, JPEG, WebP, PDF or HTML
/// file) as the artifact file `artifact_file` of the active run; the name's extension must
/// match the content (see [`RunHandle::log_figure`]).
///
/// ```no_run
/// # use mlflow_tracking_runtime as mlflow;
/// let _run = mlflow::start_run().start();
/// // What plotters' SVGBackend::with_string(&mut svg, ..) leaves in `svg`:
/// let svg = String::from(r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>"#);
/// mlflow::log_figure(&svg, "plots/loss.svg")?;
/// // A PNG file written by BitMapBackend::new("loss.png", ..):
/// mlflow::log_figure(std::fs::read("loss.png").expect("rendered"), "plots/loss.png")?;
/// # Ok::<(), mlflow::Error>(())
/// ```
pub fn log_figure(figure: impl AsRef<[u8]>, artifact_file: &str) -> Result<()> {
    artifacts::active()?.log_figure(figure, artifact_file)
}

/// Checks `figure` against `artifact_file`'s extension and stores it in `run`.
pub(crate) fn log_to(run: &RunHandle, figure: &[u8], artifact_file: &str) -> Result<()> {
    check(figure, artifact_file)?;
    artifacts::log_bytes(run, figure, artifact_file)
}

/// The formats by extension, and whether `bytes` is one.
fn check(bytes: &[u8], artifact_file: &str) -> Result<()> {
    let ext = Path::new(artifact_file)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let text = || std::str::from_utf8(bytes).ok();
    let (format, ok) = match ext.as_str() {
        "png" => ("PNG", bytes.starts_with(b"\x89PNG\r\n\x1a\n")),
        "svg" => ("SVG", text().is_some_and(|t| t.contains("<svg"))),
        "jpg" | "jpeg" => ("JPEG", bytes.starts_with(&[0xFF, 0xD8, 0xFF])),
        "webp" => (
            "WebP",
            bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP",
        ),
        "pdf" => ("PDF", bytes.starts_with(b"%PDF-")),
        "html" | "htm" => ("HTML", text().is_some()),
        _ => {
            return Err(Error::InvalidArgument(format!(
                "Unsupported file extension for a figure: {artifact_file:?} (log_figure stores \
                 .png, .svg, .jpg, .jpeg, .webp, .pdf or .html files)"
            )));
        }
    };
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "the figure for {artifact_file:?} is not a {format} file"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn content_matches_the_extension() {
        assert!(check(b"\x89PNG\r\n\x1a\nrest", "a/b.png").is_ok());
        assert!(check(b"<?xml version=\"1.0\"?><svg></svg>", "b.SVG").is_ok());
        assert!(check(b"<svg/>", "b.png").is_err());
        assert!(check(b"\x89PNG\r\n\x1a\n", "b.svg").is_err());
        assert!(check(b"%PDF-1.7", "b.pdf").is_ok());
        assert!(check(b"x", "b.gif").is_err());
        assert!(check(b"x", "noext").is_err());
    }
}
