//! Images (the `image` feature): `log_image` by key and step for the run's image grid in
//! the UI, the legacy `log_image_artifact` to a file, and `load_image`.

use super::artifacts;
use crate::base::error::Result;
use crate::base::images::{self, Image, LOGGED_IMAGES_TAG};
use crate::base::time::now_ms;
use crate::runs::RunHandle;
use crate::tracker::{self, Tracker};

/// Logs `image` under `key` at `step` to the active run, as Python's `log_image(image,
/// key=key, step=step)` does: the image grid of the run's page in the MLflow UI shows it
/// under its key, with a slider over the steps ([`RunHandle::log_image`] and
/// [`Client::log_image`](crate::Client::log_image) log to a given run).
///
/// - The key may hold ASCII letters and digits, `_`, `-`, `.`, spaces and `/`
///   ([`Error::InvalidKey`](crate::Error::InvalidKey) otherwise).
/// - Two files: `images/<key>+step+<step>+timestamp+<ms>+<uuid>.png` (a `/` of the key
///   written `~`) with the image, and beside it `...+<uuid>+compressed.webp`, the
///   thumbnail the grid shows, scaled so that its longest side is 256 pixels (up or down,
///   bicubic). The thumbnail is lossless WebP (the `image` crate has no lossy encoder), so
///   larger than Python's.
/// - The tag `mlflow.loggedImages` is set to `True`.
///
/// Encoding happens on the calling thread; the upload waits, like every artifact's.
///
/// ```no_run
/// # use mlflow_tracking_runtime as mlflow;
/// let _run = mlflow::start_run().start();
/// for step in 0..3u8 {
///     let pixels = vec![step * 100; 64 * 32 * 3]; // 64 x 32 RGB, row by row
///     let image = mlflow::Image::from_u8(64, 32, 3, pixels)?;
///     mlflow::log_image("samples/generated", image, i64::from(step))?;
/// }
/// # Ok::<(), mlflow::Error>(())
/// ```
pub fn log_image(key: &str, image: impl Into<Image>, step: i64) -> Result<()> {
    artifacts::active()?.log_image(key, image, step)
}

/// Stores `image` as the artifact file `artifact_file` of the active run, in the format
/// its extension names (`.png`, `.jpg`/`.jpeg`, `.webp`): Python's legacy
/// `log_image(image, artifact_file)`. The UI shows it among the artifacts, not in the
/// image grid.
pub fn log_image_artifact(image: impl Into<Image>, artifact_file: &str) -> Result<()> {
    artifacts::active()?.log_image_artifact(image, artifact_file)
}

/// The image in the artifact file `artifact_uri` names (as for
/// [`load_text`](crate::load_text)): Python's `mlflow.artifacts.load_image`.
pub fn load_image(artifact_uri: &str) -> Result<Image> {
    load_on(&tracker::current(), artifact_uri)
}

/// Stores `image` and its thumbnail under the names the UI reads, then sets
/// `mlflow.loggedImages` to `True` as Python does.
pub(crate) fn log_stepped(run: &RunHandle, key: &str, image: &Image, step: i64) -> Result<()> {
    images::check_key(key)?;
    let uuid = uuid::Uuid::new_v4().to_string();
    let (file, thumbnail) = images::file_names(key, step, now_ms(), &uuid);
    let png = image.png()?;
    let webp = image.thumbnail_webp()?;
    artifacts::log_bytes_many(run, &[(&png, &file), (&webp, &thumbnail)])?;
    run.set_tag(LOGGED_IMAGES_TAG, "True")
}

/// Stores `image` as `artifact_file` of `run`, encoded as its extension says.
pub(crate) fn log_file(run: &RunHandle, image: &Image, artifact_file: &str) -> Result<()> {
    let bytes = image.encode_for(artifact_file)?;
    artifacts::log_bytes(run, &bytes, artifact_file)
}

pub(crate) fn load_on(tracker: &Tracker, artifact_uri: &str) -> Result<Image> {
    Image::decode(&artifacts::read_uri(tracker, artifact_uri)?)
}
