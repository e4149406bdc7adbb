//! Datasets as MLflow records them: a dataset (name, digest, where it came from), its use by
//! a run (a dataset input with tags, the context among them), a run's inputs, MLflow's size
//! rules for them, and the digest of a file's bytes.

use std::io::Read;
use std::path::Path;

use md5::{Digest, Md5};

use crate::base::error::{Error, Result};
use crate::base::py_json::{self, Style};

/// The input tag holding the context a dataset was used in (`"training"`, `"eval"`), as
/// Python's `mlflow.log_input(dataset, context=..)` writes it.
pub const DATASET_CONTEXT_TAG: &str = "mlflow.data.context";

/// A dataset as MLflow's tracking store keeps it (Python's `mlflow.entities.Dataset`): the
/// pair (name, digest) identifies it within an experiment.
///
/// New fields may be added (it is `#[non_exhaustive]`): build one with [`Dataset::new`] or
/// [`Dataset::from_file`].
///
/// ```
/// # use mlflow_tracking_runtime as mlflow;
/// let ds = mlflow::Dataset::new("seeds", "3f2a9c01", "local", r#"{"uri": "/data/seeds.csv"}"#)
///     .with_schema(r#"{"mlflow_colspec": [{"type": "double", "name": "x"}]}"#);
/// assert_eq!(ds.name, "seeds");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Dataset {
    /// The dataset's name (at most 500 characters).
    pub name: String,
    /// A short fingerprint of its content (at most 36 characters); see [`digest_of_bytes`].
    pub digest: String,
    /// The kind of source, such as `local`, `s3`, `http` or `code`.
    pub source_type: String,
    /// Where it came from, as the source type describes it: for the types Python knows, a
    /// JSON object such as `{"uri": "/data/seeds.csv"}`.
    pub source: String,
    /// Its schema, as text (Python writes `{"mlflow_colspec": [...]}` JSON); optional.
    pub schema: Option<String>,
    /// Summary figures such as the row count, as text (Python writes JSON); optional.
    pub profile: Option<String>,
}

impl Dataset {
    /// A dataset called `name` with `digest`, from `source` of type `source_type`; no schema
    /// or profile.
    pub fn new(
        name: impl Into<String>,
        digest: impl Into<String>,
        source_type: impl Into<String>,
        source: impl Into<String>,
    ) -> Dataset {
        Dataset {
            name: name.into(),
            digest: digest.into(),
            source_type: source_type.into(),
            source: source.into(),
            schema: None,
            profile: None,
        }
    }

    /// A dataset called `name` for the local file `path`: its digest is [`file_digest`],
    /// its source type `local` and its source `{"uri": "<absolute path>"}`, as Python's
    /// local dataset sources describe a file. A file that cannot be read is [`Error::Io`].
    ///
    /// ```no_run
    /// # use mlflow_tracking_runtime as mlflow;
    /// let train = mlflow::Dataset::from_file("train", "data/train.csv")?;
    /// mlflow::log_input(&train, Some("training"))?;
    /// # Ok::<(), mlflow::Error>(())
    /// ```
    pub fn from_file(name: impl Into<String>, path: impl AsRef<Path>) -> Result<Dataset> {
        let path = path.as_ref();
        let digest = file_digest(path)?;
        let absolute = std::path::absolute(path).map_err(|e| Error::io("dataset file", path, e))?;
        let uri = absolute.to_string_lossy();
        let source = py_json::to_string(&serde_json::json!({ "uri": uri }), Style::Dumps)
            .map_err(|e| Error::Internal(format!("dataset source: {e}")))?;
        Ok(Dataset::new(name, digest, "local", source))
    }

    /// The dataset with its schema set.
    pub fn with_schema(mut self, schema: impl Into<String>) -> Dataset {
        self.schema = Some(schema.into());
        self
    }

    /// The dataset with its profile set.
    pub fn with_profile(mut self, profile: impl Into<String>) -> Dataset {
        self.profile = Some(profile.into());
        self
    }
}

/// The digest MLflow's `get_normalized_md5_digest([bytes])` gives: the md5 of `bytes`, its
/// first 8 hexadecimal characters.
///
/// Python's dataset constructors digest something else than the file's bytes (`from_pandas`
/// hashes a sample of the rows as pandas sees them, `from_numpy` the array's buffer), so a
/// digest from this function will not equal the one Python computes for the same data: use
/// one side's digests consistently for a dataset.
///
/// ```
/// # use mlflow_tracking_runtime as mlflow;
/// assert_eq!(mlflow::digest_of_bytes(b"a,b\n1,2\n"), "e5ebd4c0");
/// ```
pub fn digest_of_bytes(bytes: &[u8]) -> String {
    hex8(Md5::digest(bytes).as_slice())
}

/// [`digest_of_bytes`] of the file `path`'s content, read in pieces (a large file is not
/// held in memory). A file that cannot be read is [`Error::Io`].
pub fn file_digest(path: impl AsRef<Path>) -> Result<String> {
    let path = path.as_ref();
    let io = |e| Error::io("dataset file", path, e);
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut md5 = Md5::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        md5.update(&buf[..n]);
    }
    Ok(hex8(md5.finalize().as_slice()))
}

fn hex8(bytes: &[u8]) -> String {
    bytes.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// A tag of a dataset's use by a run (Python's `InputTag`), such as
/// [`DATASET_CONTEXT_TAG`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InputTag {
    /// The key (at most 255 characters).
    pub key: String,
    /// The value (at most 500 characters).
    pub value: String,
}

impl InputTag {
    /// The tag `key` = `value`.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> InputTag {
        InputTag {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// A dataset used by a run, with the tags of that use (Python's `DatasetInput`).
///
/// New fields may be added (it is `#[non_exhaustive]`): build one with
/// [`DatasetInput::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DatasetInput {
    /// The dataset.
    pub dataset: Dataset,
    /// The tags of its use, the context among them.
    pub tags: Vec<InputTag>,
}

impl DatasetInput {
    /// `dataset` used in `context` (the tag [`DATASET_CONTEXT_TAG`]; none for `None` or an
    /// empty context, as Python skips a falsy one).
    pub fn new(dataset: Dataset, context: Option<&str>) -> DatasetInput {
        let tags = context
            .filter(|c| !c.is_empty())
            .map(|c| InputTag::new(DATASET_CONTEXT_TAG, c))
            .into_iter()
            .collect();
        DatasetInput { dataset, tags }
    }

    /// The context the dataset was used in, if one was given.
    pub fn context(&self) -> Option<&str> {
        self.tag(DATASET_CONTEXT_TAG)
    }

    /// The value of the input tag `key`, if set.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|t| t.key == key)
            .map(|t| t.value.as_str())
    }
}

/// What a run used (Python's `run.inputs`): its datasets.
///
/// New fields may be added (it is `#[non_exhaustive]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunInputs {
    /// The datasets the run used, with their tags (Python's `run.inputs.dataset_inputs`).
    pub dataset_inputs: Vec<DatasetInput>,
}

/// MLflow's limits (`mlflow/utils/validation.py`), in characters.
const MAX_NAME: usize = 500;
const MAX_DIGEST: usize = 36;
const MAX_SOURCE: usize = 65_535;
const MAX_SCHEMA: usize = 1_048_575;
const MAX_PROFILE: usize = 16_777_215;
const MAX_TAG_KEY: usize = 255;
const MAX_TAG_VALUE: usize = 500;
/// Datasets per `runs/log-inputs` request.
pub(crate) const MAX_DATASETS_PER_REQUEST: usize = 1000;

/// Checks dataset inputs as MLflow's `_validate_dataset_inputs` does, with its messages.
pub(crate) fn validate(inputs: &[DatasetInput]) -> Result<()> {
    if inputs.len() > MAX_DATASETS_PER_REQUEST {
        return Err(Error::InvalidArgument(format!(
            "A batch of datasets may hold at most {MAX_DATASETS_PER_REQUEST} datasets, got {}",
            inputs.len()
        )));
    }
    for input in inputs {
        let d = &input.dataset;
        too_long("name", &d.name, MAX_NAME)?;
        too_long("digest", &d.digest, MAX_DIGEST)?;
        too_long("source", &d.source, MAX_SOURCE)?;
        too_long("schema", d.schema.as_deref().unwrap_or(""), MAX_SCHEMA)?;
        too_long("profile", d.profile.as_deref().unwrap_or(""), MAX_PROFILE)?;
        if d.name.is_empty() {
            return Err(Error::InvalidArgument(
                "Dataset name cannot be empty".into(),
            ));
        }
        for tag in &input.tags {
            too_long("key", &tag.key, MAX_TAG_KEY)?;
            too_long("value", &tag.value, MAX_TAG_VALUE)?;
        }
    }
    Ok(())
}

fn too_long(what: &str, text: &str, limit: usize) -> Result<()> {
    if text.chars().count() > limit {
        return Err(Error::InvalidArgument(format!(
            "'{what}' exceeds the maximum length of {limit} characters"
        )));
    }
    Ok(())
}

/// Keeps the first input of each (name, digest), as MLflow's stores do.
#[cfg(any(feature = "sqlite", test, feature = "testing"))]
pub(crate) fn dedup(inputs: &[DatasetInput]) -> Vec<&DatasetInput> {
    let mut seen = std::collections::HashSet::new();
    inputs
        .iter()
        .filter(|i| seen.insert((i.dataset.name.as_str(), i.dataset.digest.as_str())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_mlflows_truncated_md5() {
        // hashlib.md5(b"").hexdigest()[:8]
        assert_eq!(digest_of_bytes(b""), "d41d8cd9");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.csv");
        std::fs::write(&path, b"a,b\n1,2\n").unwrap();
        assert_eq!(file_digest(&path).unwrap(), digest_of_bytes(b"a,b\n1,2\n"));
        let ds = Dataset::from_file("d", &path).unwrap();
        assert_eq!(ds.source_type, "local");
        assert!(ds.source.starts_with("{\"uri\": \"/"), "{}", ds.source);
        assert!(matches!(
            Dataset::from_file("d", dir.path().join("missing")),
            Err(Error::Io { .. })
        ));
    }

    #[test]
    fn the_context_is_a_tag_and_limits_are_mlflows() {
        let ds = Dataset::new("d", "abc", "local", "{}");
        let input = DatasetInput::new(ds.clone(), Some("training"));
        assert_eq!(input.context(), Some("training"));
        assert!(DatasetInput::new(ds.clone(), Some("")).tags.is_empty());
        assert!(validate(std::slice::from_ref(&input)).is_ok());
        let long = DatasetInput::new(Dataset::new("d", "x".repeat(37), "local", "{}"), None);
        let err = validate(&[long]).unwrap_err().to_string();
        assert!(
            err.contains("'digest' exceeds the maximum length of 36"),
            "{err}"
        );
        let twice = [input.clone(), input.clone()];
        assert_eq!(dedup(&twice).len(), 1);
    }
}
