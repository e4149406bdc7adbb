//! `RunHandle`'s calls that the API floor serves (artifacts, dicts, figures, tables, images,
//! tags, artifact URIs):
//! thin delegations to the functions that do the work, so that every method of the type is
//! in `runs/handle.rs` or here.

use std::path::Path;

use super::logged_models::LogModel;
use super::{artifacts, dicts, figures, inputs, run_admin, tables};
use crate::base::datasets::{Dataset, DatasetInput};
use crate::base::error::Result;
#[cfg(feature = "image")]
use crate::base::images::Image;
use crate::base::logged_models::LoggedModel;
use crate::base::search::FileInfo;
use crate::base::table::Table;
use crate::runs::RunHandle;

impl RunHandle {
    /// Records `dataset` as an input of this run, used in `context`; see
    /// [`log_input`](crate::log_input).
    pub fn log_input(&self, dataset: &Dataset, context: Option<&str>) -> Result<()> {
        inputs::log_inputs_of(self, vec![DatasetInput::new(dataset.clone(), context)])
    }

    /// Logs the file or folder at `path` as a logged model called `name` made by this run;
    /// see [`log_model`](crate::log_model).
    pub fn log_model(&self, name: &str, path: impl AsRef<Path>) -> Result<LoggedModel> {
        self.logged_model(name, path).log()
    }

    /// A logged model of this run to configure by chaining; see
    /// [`logged_model`](crate::logged_model).
    pub fn logged_model(&self, name: &str, path: impl AsRef<Path>) -> LogModel {
        LogModel::new(Some(self.clone()), name, path.as_ref())
    }

    /// Records several datasets as inputs of this run, each with its tags; see
    /// [`log_inputs`](crate::log_inputs).
    pub fn log_inputs(&self, datasets: &[DatasetInput]) -> Result<()> {
        inputs::log_inputs_of(self, datasets.to_vec())
    }

    /// Logs the file `local` at the root of this run's artifacts; waits for the upload.
    pub fn log_artifact(&self, local: impl AsRef<Path>) -> Result<()> {
        artifacts::log_file(self, local.as_ref(), "")
    }

    /// Logs the file `local` into the folder `artifact_dir` of this run's artifacts.
    pub fn log_artifact_to(&self, local: impl AsRef<Path>, artifact_dir: &str) -> Result<()> {
        artifacts::log_file(self, local.as_ref(), artifact_dir)
    }

    /// Logs every file under `dir` (recursively) at the root of this run's artifacts.
    pub fn log_artifacts(&self, dir: impl AsRef<Path>) -> Result<()> {
        artifacts::log_folder(self, dir.as_ref(), "")
    }

    /// Logs every file under `dir` into the folder `artifact_dir` of this run's artifacts.
    pub fn log_artifacts_to(&self, dir: impl AsRef<Path>, artifact_dir: &str) -> Result<()> {
        artifacts::log_folder(self, dir.as_ref(), artifact_dir)
    }

    /// Stores `text` as the artifact file `artifact_file` of this run.
    pub fn log_text(&self, text: &str, artifact_file: &str) -> Result<()> {
        artifacts::log_bytes(self, text.as_bytes(), artifact_file)
    }

    /// Stores `value` as pretty-printed JSON in the artifact file `artifact_file`.
    pub fn log_json<T: serde::Serialize + ?Sized>(
        &self,
        value: &T,
        artifact_file: &str,
    ) -> Result<()> {
        artifacts::log_json_to(self, value, artifact_file)
    }

    /// Lists this run's artifacts directly under `path` (`""` for the root).
    pub fn list_artifacts(&self, path: &str) -> Result<Vec<FileInfo>> {
        artifacts::list_of(self, path)
    }

    /// Stores `value` in the artifact file `artifact_file` of this run: YAML for `.yaml` and
    /// `.yml` names, JSON otherwise; as [`log_dict`](crate::log_dict).
    pub fn log_dict<T: serde::Serialize + ?Sized>(
        &self,
        value: &T,
        artifact_file: &str,
    ) -> Result<()> {
        dicts::log_dict_to(self, value, artifact_file)
    }

    /// Stores a rendered figure (PNG, SVG, ...) as the artifact file `artifact_file` of this
    /// run; as [`log_figure`](crate::log_figure).
    pub fn log_figure(&self, figure: impl AsRef<[u8]>, artifact_file: &str) -> Result<()> {
        figures::log_to(self, figure.as_ref(), artifact_file)
    }

    /// Logs `table` to this run's `.json` file `artifact_file`, appending to the table there;
    /// as [`log_table`](crate::log_table).
    pub fn log_table(&self, table: &Table, artifact_file: &str) -> Result<()> {
        tables::log_to(self, table, artifact_file)
    }

    /// Logs `image` under `key` at `step` to this run, for the UI's image grid; as
    /// [`log_image`](crate::log_image) (feature `image`).
    #[cfg(feature = "image")]
    pub fn log_image(&self, key: &str, image: impl Into<Image>, step: i64) -> Result<()> {
        super::images::log_stepped(self, key, &image.into(), step)
    }

    /// Stores `image` as the artifact file `artifact_file` of this run; as
    /// [`log_image_artifact`](crate::log_image_artifact) (feature `image`).
    #[cfg(feature = "image")]
    pub fn log_image_artifact(&self, image: impl Into<Image>, artifact_file: &str) -> Result<()> {
        super::images::log_file(self, &image.into(), artifact_file)
    }

    /// Deletes this run's tag `key`, after what was queued before it (a tag set just before
    /// is stored, then deleted), and waits for the answer: a tag the run does not have is
    /// [`Error::Api`](crate::Error::Api) with `RESOURCE_DOES_NOT_EXIST`, a deleted run
    /// `INVALID_PARAMETER_VALUE`.
    ///
    /// ```no_run
    /// # use mlflow_tracking_runtime as mlflow;
    /// let run = mlflow::start_run().tag("draft", "yes").start();
    /// run.handle().delete_tag("draft")?;
    /// # Ok::<(), mlflow::Error>(())
    /// ```
    pub fn delete_tag(&self, key: &str) -> Result<()> {
        run_admin::delete_tag_of(self, key)
    }

    /// The URI of this run's artifact `artifact_path` (`""`: the artifact root); see
    /// [`get_artifact_uri`](crate::get_artifact_uri).
    pub fn artifact_uri(&self, artifact_path: &str) -> Result<String> {
        run_admin::artifact_uri_of(self, artifact_path)
    }
}
