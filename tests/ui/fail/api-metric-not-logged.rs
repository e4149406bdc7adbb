// A metric builder does nothing until `.log()`: forgetting it is caught at compile time
// (a warning by default, an error here as under `-D warnings`).
#![deny(unused_must_use)]

fn main() {
    mlflow::metric("loss", 0.5).step(3);
}
