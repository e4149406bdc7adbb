//! The REST store: any MLflow tracking server over `http://` or `https://`.
