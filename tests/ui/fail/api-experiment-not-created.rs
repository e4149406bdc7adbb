// `create_experiment(..)` is a builder: the experiment exists only after `.create()`.
#![deny(unused_must_use)]

fn main() {
    mlflow::create_experiment("vision").tag("team", "vision");
}
