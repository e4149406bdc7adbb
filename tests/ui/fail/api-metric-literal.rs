// The model types are `#[non_exhaustive]` (later versions add fields): build them with
// their constructors, not struct literals.
fn main() {
    let _ = mlflow::Metric {
        key: "loss".into(),
        value: 0.5,
        timestamp: 0,
        step: 0,
    };
}
