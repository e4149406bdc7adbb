//! `delay-proxy`: the test-support [`DelayProxy`] as a process, for `bench/run.py`.
//!
//! ```text
//! delay-proxy --upstream 127.0.0.1:5000 --rtt-ms 50 [--listen 127.0.0.1:0]
//!             [--jitter-ms J] [--reorder-ms R] [--until-killed]
//! ```
//!
//! Prints one JSON line with the address it listens on, then runs until its stdin closes
//! (or, with `--until-killed`, until a signal ends it). When stdin closes it prints a second
//! JSON line with the connections it accepted and the bytes it forwarded.

use std::io::Read;
use std::time::Duration;

use mlflow_test_support::{DelayProxy, DelaySpec};

fn usage(msg: &str) -> ! {
    eprintln!("delay-proxy: {msg}");
    eprintln!(
        "usage: delay-proxy --upstream HOST:PORT --rtt-ms MS [--listen HOST:PORT] \
         [--jitter-ms MS] [--reorder-ms MS] [--until-killed]"
    );
    std::process::exit(2)
}

fn millis(flag: &str, value: Option<String>) -> Duration {
    let value = value.unwrap_or_else(|| usage(&format!("{flag} needs a value")));
    let ms: f64 = value
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v >= 0.0)
        .unwrap_or_else(|| usage(&format!("{flag} {value}: expected milliseconds")));
    Duration::from_secs_f64(ms / 1000.0)
}

fn main() {
    let mut listen = "127.0.0.1:0".to_owned();
    let mut upstream = None;
    let mut spec = DelaySpec::default();
    let mut until_killed = false;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--listen" => {
                listen = args
                    .next()
                    .unwrap_or_else(|| usage("--listen needs a value"))
            }
            "--upstream" => upstream = args.next(),
            "--rtt-ms" => spec.rtt = millis("--rtt-ms", args.next()),
            "--jitter-ms" => spec.jitter = millis("--jitter-ms", args.next()),
            "--reorder-ms" => spec.reorder = Some(millis("--reorder-ms", args.next())),
            "--until-killed" => until_killed = true,
            "-h" | "--help" => usage("a TCP delay line in front of a server"),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let upstream = upstream.unwrap_or_else(|| usage("--upstream is required"));
    let proxy =
        DelayProxy::try_start(listen.as_str(), upstream.as_str(), spec).unwrap_or_else(|e| {
            eprintln!("delay-proxy: {e}");
            std::process::exit(1)
        });
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{}",
        serde_json::json!({
            "listen": proxy.addr().to_string(),
            "upstream": proxy.upstream().to_string(),
            "rtt_ms": ms(spec.rtt),
            "jitter_ms": ms(spec.jitter),
            "reorder_ms": spec.reorder.map(ms),
        })
    );
    if until_killed {
        loop {
            std::thread::park();
        }
    }
    // Returns at end of file, or at an error reading stdin; either way, stop.
    let _ = std::io::stdin().lock().read_to_end(&mut Vec::new());
    let (to_server, to_client) = proxy.bytes();
    println!(
        "{}",
        serde_json::json!({
            "connections": proxy.connections(),
            "bytes_to_server": to_server,
            "bytes_to_client": to_client,
        })
    );
}
