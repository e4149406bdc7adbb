//! Tables, dicts, text, figures and images logged from Rust are what MLflow's own Python
//! client reads, and what it writes is what this crate reads, on both stores (the suite's
//! server and the embedded SQLite store): Python's `load_table` reads a Rust table and one
//! appended to, Python's `load_dict` and `yaml.safe_load` read `log_dict`'s files (byte for
//! byte what `json.dump` and `yaml.dump` write), figures arrive unchanged, and `log_image`'s
//! files, thumbnail and tag match a Python `log_image` of the same pixels.
//!
//! The image scenario needs the `image` feature: `scripts/test.sh` builds the tests with
//! `--features mlflow-tracking/image`; without it that scenario is not compiled.

mod stores;

use mlflow::Table;
use mlflow_test_support::run_python;
use serde_json::{Value, json};
use stores::{Target, on_both_stores};

/// Python's prelude: the tracking URI and the test's experiment, a client.
const PRELUDE: &str = r#"
import json, os, mlflow
from mlflow import MlflowClient
mlflow.set_tracking_uri(os.environ["URI"])
exp = mlflow.set_experiment(os.environ["EXP"])
client = MlflowClient()
def frame(df):
    return json.loads(df.to_json(orient="split", index=False))
"#;

fn python(t: &Target, script: &str, env: &[(&str, &str)]) -> Value {
    mlflow::flush().expect("flush");
    let mut all = vec![("URI", t.uri.as_str()), ("EXP", t.experiment.as_str())];
    all.extend_from_slice(env);
    run_python(&format!("{PRELUDE}{script}"), &all)
}

/// `value` with every number as a float (pandas turns a column with a gap into floats).
fn floats(value: &Value) -> Value {
    match value {
        Value::Number(n) => json!(n.as_f64()),
        Value::Array(a) => Value::Array(a.iter().map(floats).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), floats(v))).collect()),
        other => other.clone(),
    }
}

/// A table as pandas' split JSON of it: `{"columns": [..], "data": [[..]]}`, numbers as floats.
fn split(table: &Table) -> Value {
    floats(&json!({"columns": table.columns(), "data": table.rows()}))
}

#[derive(serde::Serialize)]
struct Row {
    inputs: String,
    toxicity: f64,
    extra: i64,
}

fn tables_are_read_by_python(t: &Target) {
    let file = "eval/qa.json";
    let a = mlflow::start_run().name("a").start();
    let first = Table::from_columns([
        ("inputs", vec![json!("What is MLflow?"), json!("é/ü")]),
        ("toxicity", vec![json!(0.0), json!(0.25)]),
    ])
    .unwrap();
    mlflow::log_table(&first, file).unwrap();
    let more = [Row {
        inputs: "row".into(),
        toxicity: 0.5,
        extra: 3,
    }];
    mlflow::log_table(&Table::from_records(&more).unwrap(), file).unwrap();
    let a_id = a.id().unwrap();
    drop(a);
    let b = mlflow::start_run().name("b").start();
    mlflow::log_table(&Table::from_columns([("inputs", ["b"])]).unwrap(), file).unwrap();
    let b_id = b.id().unwrap();
    drop(b);
    assert!(mlflow::log_table(&first, "bad:name.json").is_err());
    assert!(mlflow::log_table(&first, "t.csv").is_err());

    let seen = python(
        t,
        r#"
a = os.environ["A"]
one = mlflow.load_table("eval/qa.json", run_ids=[a], extra_columns=["run_id"])
both = mlflow.load_table("eval/qa.json", extra_columns=["run_id"])
with mlflow.start_run(run_name="py") as run:
    mlflow.log_table({"inputs": ["py1"], "toxicity": [0.5]}, "eval/qa.json")
print(json.dumps({"one": frame(one), "both": frame(both), "py": run.info.run_id,
                  "tag": client.get_run(a).data.tags["mlflow.loggedArtifacts"],
                  "py_tag": client.get_run(run.info.run_id).data.tags["mlflow.loggedArtifacts"]}))
"#,
        &[("A", &a_id)],
    );
    let expected_a = json!({
        "columns": ["inputs", "toxicity", "extra", "run_id"],
        "data": [
            ["What is MLflow?", 0.0, null, a_id],
            ["é/ü", 0.25, null, a_id],
            ["row", 0.5, 3, a_id],
        ],
    });
    assert_eq!(floats(&seen["one"]), floats(&expected_a));
    // The tag, byte for byte as Python writes it.
    assert_eq!(
        seen["tag"],
        r#"[{"path": "eval/qa.json", "type": "table"}]"#
    );
    assert_eq!(seen["tag"], seen["py_tag"]);

    // Our load_table agrees with Python's, across the experiment's runs, newest first.
    let ours = mlflow::load_table(file)
        .run_ids([a_id.clone(), b_id.clone()])
        .extra_columns(["run_id"])
        .load()
        .unwrap();
    assert_eq!(split(&ours), floats(&seen["both"]));
    assert_eq!(ours.len(), 4);
    let mine = mlflow::load_table(file)
        .run_ids([a_id.clone()])
        .extra_columns(["run_id", "status", "tags.mlflow.runName", "metrics.none"])
        .load()
        .unwrap();
    assert_eq!(
        mine.columns(),
        [
            "inputs",
            "toxicity",
            "extra",
            "run_id",
            "status",
            "tags.mlflow.runName",
            "metrics.none"
        ]
    );
    assert_eq!(mine.rows()[2][5], "a");
    assert!(mlflow::load_table("missing.json").load().is_err());

    // Appending from Rust to the table Python logged, then Python reads it.
    let py = seen["py"].as_str().unwrap().to_owned();
    let client = mlflow::Client::with_tracking_uri(&t.uri).unwrap();
    client.log_table(&py, &first, file).unwrap();
    let back = python(
        t,
        r#"
t = mlflow.load_table("eval/qa.json", run_ids=[os.environ["PY"]])
print(json.dumps({"t": frame(t), "tag": client.get_run(os.environ["PY"]).data.tags["mlflow.loggedArtifacts"]}))
"#,
        &[("PY", &py)],
    );
    assert_eq!(
        floats(&back["t"]),
        floats(&json!({
            "columns": ["inputs", "toxicity"],
            "data": [["py1", 0.5], ["What is MLflow?", 0.0], ["é/ü", 0.25]],
        }))
    );
    assert_eq!(
        back["tag"],
        r#"[{"path": "eval/qa.json", "type": "table"}]"#
    );
    let exp = client
        .get_experiment_by_name(&t.experiment)
        .unwrap()
        .unwrap()
        .experiment_id;
    let via_client = client.load_table(&exp, file).load().unwrap();
    assert_eq!(via_client.len(), 3 + 1 + 3);
}

fn dicts_and_text_round_trip(t: &Target) {
    let run = mlflow::start_run().name("dicts").start();
    let id = run.id().unwrap();
    // Byte for byte what Python writes: JSON always, YAML without quoted strings (PyYAML
    // single-quotes them, serde-saphyr double-quotes them).
    let exact = json!({
        "b": [1, {"z": 1, "a": "x y"}],
        "a": {"k": 0.1, "s": "hello world", "e": [], "m": {}, "i": -3},
        "c": null, "t": true, "f": false,
    });
    let quoted = json!({"yes": "yes", "n": "123", "on": "on", "u": "ü", "f": 1e-5});
    // What YAML 1.1 readers would misread, non-ASCII, line breaks: the same values.
    let tricky = json!({
        "date": "2024-01-01", "exp": "1e3", "octal": "0o17", "tilde": "~", "y": "y",
        "text": "héllo wörld", "lines": "one\ntwo\n", "tiny": 1e-7, "big": 1.5e300,
        "colon": "a: b", "dash": "- x", "hash": "# no",
    });
    mlflow::log_dict(&exact, "cfg/exact.yaml").unwrap();
    mlflow::log_dict(&exact, "cfg/exact.json").unwrap();
    mlflow::log_dict(&exact, "cfg/exact.txt").unwrap();
    mlflow::log_dict(&quoted, "cfg/quoted.json").unwrap();
    mlflow::log_dict(&quoted, "cfg/quoted.yaml").unwrap();
    mlflow::log_dict(&tricky, "cfg/tricky.yml").unwrap();
    run.handle().log_dict(&tricky, "cfg/tricky.json").unwrap();
    mlflow::log_text("héllo\n", "notes/a.txt").unwrap();
    let artifact_uri = mlflow::get_run(&id).unwrap().info.artifact_uri;

    let seen = python(
        t,
        r#"
import yaml
run = os.environ["RUN"]
def text(path):
    return mlflow.artifacts.load_text(f"runs:/{run}/{path}")
exact = json.loads(os.environ["EXACT"])
quoted = json.loads(os.environ["QUOTED"])
client.log_dict(run, {"from": "python", "list": [1, 2], "yes": "yes"}, "py/d.yaml")
print(json.dumps({
    "yaml_same": text("cfg/exact.yaml") == yaml.dump(exact, indent=2, default_flow_style=False),
    "json_same": text("cfg/exact.json") == json.dumps(exact, indent=2),
    "txt_same": text("cfg/exact.txt") == json.dumps(exact, indent=2),
    "quoted_json_same": text("cfg/quoted.json") == json.dumps(quoted, indent=2),
    "quoted_yaml": yaml.safe_load(text("cfg/quoted.yaml")),
    "json": mlflow.artifacts.load_dict(f"runs:/{run}/cfg/tricky.json"),
    "yaml": yaml.safe_load(text("cfg/tricky.yml")),
    "note": mlflow.artifacts.load_text(os.environ["ROOT"] + "/notes/a.txt"),
}))
"#,
        &[
            ("RUN", &id),
            ("EXACT", &exact.to_string()),
            ("QUOTED", &quoted.to_string()),
            ("ROOT", &artifact_uri),
        ],
    );
    assert_eq!(seen["yaml_same"], true, "YAML as yaml.dump writes it");
    assert_eq!(seen["json_same"], true, "JSON as json.dump writes it");
    assert_eq!(seen["txt_same"], true, "JSON for other extensions");
    assert_eq!(seen["quoted_json_same"], true, "JSON: ensure_ascii, 1e-05");
    assert_eq!(
        seen["quoted_yaml"], quoted,
        "YAML 1.1 look-alikes stay strings"
    );
    assert_eq!(seen["json"], tricky);
    assert_eq!(seen["yaml"], tricky);
    assert_eq!(seen["note"], "héllo\n");

    // And back in Rust: by runs:/ URI and by the run's artifact root, on both stores.
    let uri = |path: &str| format!("runs:/{id}/{path}");
    assert_eq!(mlflow::load_text(&uri("notes/a.txt")).unwrap(), "héllo\n");
    let d: Value = mlflow::load_dict(&uri("cfg/tricky.yml")).unwrap();
    assert_eq!(d, tricky);
    let d: Value = mlflow::load_dict(&format!("{artifact_uri}/cfg/exact.json")).unwrap();
    assert_eq!(d, exact);
    let client = mlflow::Client::with_tracking_uri(&t.uri).unwrap();
    let py: Value = client.load_dict(&uri("py/d.yaml")).unwrap();
    assert_eq!(py, json!({"from": "python", "list": [1, 2], "yes": "yes"}));
    assert!(mlflow::load_text(&uri("notes/missing.txt")).is_err());
    assert!(mlflow::load_dict::<Value>(&uri("notes/a.txt")).is_err());
    client.log_text(&id, "by client", "notes/b.txt").unwrap();
    assert_eq!(client.load_text(&uri("notes/b.txt")).unwrap(), "by client");
}

/// A 2 x 1 PNG (one red, one blue pixel; written by PIL), as a plotting crate writes one.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x7b, 0x40, 0xe8,
    0xdd, 0x00, 0x00, 0x00, 0x0f, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xc0,
    0xc0, 0xf0, 0x1f, 0x00, 0x07, 0x00, 0x01, 0xff, 0x7e, 0x08, 0xb1, 0xd0, 0x00, 0x00, 0x00, 0x00,
    0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

fn figures_are_stored_unchanged(t: &Target) {
    let run = mlflow::start_run().name("figures").start();
    let id = run.id().unwrap();
    let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10"><rect width="20" height="10" fill="red"/></svg>"#;
    mlflow::log_figure(svg, "plots/loss.svg").unwrap();
    run.handle().log_figure(PNG, "plots/loss.png").unwrap();
    assert!(mlflow::log_figure(svg, "plots/wrong.png").is_err());
    assert!(mlflow::log_figure(PNG, "plots/loss.gif").is_err());
    let seen = python(
        t,
        r#"
from PIL import Image
d = mlflow.artifacts.download_artifacts(run_id=os.environ["RUN"], artifact_path="plots")
png = Image.open(os.path.join(d, "loss.png"))
print(json.dumps({"files": sorted(os.listdir(d)),
                  "svg": open(os.path.join(d, "loss.svg")).read(),
                  "png": [png.size[0], png.size[1], list(png.convert("RGB").getdata())]}))
"#,
        &[("RUN", &id)],
    );
    assert_eq!(seen["files"], json!(["loss.png", "loss.svg"]));
    assert_eq!(seen["svg"], svg);
    assert_eq!(seen["png"], json!([2, 1, [[255, 0, 0], [0, 0, 255]]]));
}

#[cfg(feature = "image")]
fn images_match_pythons(t: &Target) {
    let (w, h) = (100u32, 50u32);
    let pixels: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 % 251) as u8).collect();
    let image = mlflow::Image::from_u8(w, h, 3, pixels.clone()).unwrap();
    let run = mlflow::start_run().name("images").start();
    let id = run.id().unwrap();
    mlflow::log_image("val/dogs", &image, 3).unwrap();
    run.handle()
        .log_image("val/dogs", image.clone(), 4)
        .unwrap();
    mlflow::log_image_artifact(&image, "legacy/a.png").unwrap();
    assert!(mlflow::log_image("bad:key", &image, 0).is_err());
    drop(run);
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("pixels.bin");
    std::fs::write(&raw, &pixels).unwrap();
    let seen = python(
        t,
        r#"
import numpy as np
from PIL import Image
arr = np.fromfile(os.environ["RAW"], dtype=np.uint8).reshape(50, 100, 3)
py = client.create_run(exp.experiment_id).info.run_id
client.log_image(py, arr, key="val/dogs", step=3)
def files(run):
    out = {}
    d = mlflow.artifacts.download_artifacts(run_id=run, artifact_path="images")
    for name in sorted(os.listdir(d)):
        im = Image.open(os.path.join(d, name))
        out[name] = {"format": im.format, "mode": im.mode, "size": list(im.size),
                     "same": im.format != "PNG" or bool((np.array(im) == arr).all())}
    return out
legacy = mlflow.artifacts.load_image(f"runs:/{os.environ['RUN']}/legacy/a.png")
print(json.dumps({"rust": files(os.environ["RUN"]), "python": files(py), "py": py,
                  "tag": client.get_run(os.environ["RUN"]).data.tags.get("mlflow.loggedImages"),
                  "py_tag": client.get_run(py).data.tags.get("mlflow.loggedImages"),
                  "legacy": [legacy.format, legacy.mode, list(legacy.size),
                             bool((np.array(legacy) == arr).all())]}))
"#,
        &[("RUN", &id), ("RAW", raw.to_str().unwrap())],
    );
    assert_eq!(seen["tag"], seen["py_tag"]);
    assert_eq!(seen["tag"], "True");
    assert_eq!(seen["legacy"], json!(["PNG", "RGB", [100, 50], true]));
    let shape = |files: &Value| -> Vec<(i64, Value)> {
        let mut out: Vec<(i64, Value)> = files
            .as_object()
            .unwrap()
            .iter()
            .map(|(name, f)| {
                let (stem, kind) = match name.strip_suffix("+compressed.webp") {
                    Some(stem) => (stem, "thumbnail"),
                    None => (name.strip_suffix(".png").expect(name), "image"),
                };
                let parts: Vec<&str> = stem.split('+').collect();
                assert_eq!(parts.len(), 6, "{name}");
                assert_eq!(parts[0], "val~dogs", "{name}");
                assert_eq!((parts[1], parts[3]), ("step", "timestamp"), "{name}");
                assert!(parts[4].parse::<i64>().is_ok(), "{name}");
                assert_eq!(parts[5].len(), 36, "a uuid: {name}");
                let mut f = f.clone();
                f["kind"] = json!(kind);
                (parts[2].parse().unwrap(), f)
            })
            .collect();
        out.sort_by_key(|(step, f)| (*step, f["kind"].to_string()));
        out
    };
    let rust = shape(&seen["rust"]);
    let python = shape(&seen["python"]);
    assert_eq!(rust.len(), 4, "{rust:?}");
    assert_eq!(python.len(), 2, "{python:?}");
    // Step 3 of both: same files, formats, modes, sizes and pixels (PNG).
    assert_eq!(rust[..2], python[..]);
    assert_eq!(rust[1].1["size"], json!([256, 128]));
    assert_eq!(rust[1].1["format"], "WEBP");
    assert_eq!(rust[2].0, 4);

    // And read back in Rust: Python's image, by URI.
    let py = seen["py"].as_str().unwrap();
    let name = seen["python"]
        .as_object()
        .unwrap()
        .keys()
        .find(|n| n.ends_with(".png"))
        .unwrap()
        .clone();
    let back = mlflow::load_image(&format!("runs:/{py}/images/{name}")).unwrap();
    assert_eq!(back, image);
    let client = mlflow::Client::with_tracking_uri(&t.uri).unwrap();
    client.log_image(py, "val/cats", &image, 0).unwrap();
    assert_eq!(client.list_artifacts(py, "images").unwrap().len(), 4);
}

on_both_stores!(
    tables_are_read_by_python,
    dicts_and_text_round_trip,
    figures_are_stored_unchanged
);

#[cfg(feature = "image")]
on_both_stores!(images_match_pythons);
