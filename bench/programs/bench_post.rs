//! Raw HTTP/1.1 poster for `./scripts/bench.sh`: the server's own limits, with no client
//! library (std `TcpStream`, `TCP_NODELAY`, each request written in one piece).
//!
//! ```text
//! bench_post floor URL [keepalive]       # the seed sweep's 86 requests, one at a time
//! bench_post ceiling URL REQUESTS CONNS [keepalive]  # REQUESTS log-batch bodies of 1000 points
//! ```
//!
//! `floor` posts exactly what the seed sweep needs: the experiment lookup; per parent one
//! `runs/create` with its tags; per child one `runs/create` with its tags, one
//! `runs/log-batch`, one `runs/update`; the parent's `runs/update`. By default each request
//! gets a fresh connection. Prints one JSON line.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

struct Conn {
    addr: String,
    keepalive: bool,
    stream: Option<BufReader<TcpStream>>,
    count: u64,
}

impl Conn {
    fn new(url: &str, keepalive: bool) -> Conn {
        let addr = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        Conn {
            addr,
            keepalive,
            stream: None,
            count: 0,
        }
    }

    fn call(&mut self, method: &str, path: &str, body: &[u8]) -> (u16, Value) {
        if self.stream.is_none() || !self.keepalive {
            let s = TcpStream::connect(&self.addr).unwrap_or_else(|e| fail(&e.to_string()));
            let _ = s.set_nodelay(true);
            self.stream = Some(BufReader::new(s));
        }
        let Some(reader) = self.stream.as_mut() else {
            fail("no connection")
        };
        let mut req = format!(
            "{method} /api/2.0/mlflow/{path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        )
        .into_bytes();
        req.extend_from_slice(body);
        if let Err(e) = reader.get_mut().write_all(&req) {
            fail(&e.to_string());
        }
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut length = 0usize;
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut payload = vec![0; length];
        if let Err(e) = reader.read_exact(&mut payload) {
            fail(&e.to_string());
        }
        self.count += 1;
        if status != 200 && !(status == 404 && path.contains("get-by-name")) {
            fail(&format!(
                "{method} {path}: HTTP {status}: {}",
                String::from_utf8_lossy(&payload)
            ));
        }
        (
            status,
            serde_json::from_slice(&payload).unwrap_or(Value::Null),
        )
    }

    fn post(&mut self, path: &str, body: &Value) -> Value {
        self.call("POST", path, body.to_string().as_bytes()).1
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("bench_post: {msg}");
    std::process::exit(1);
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn tags(pairs: &[(&str, &str)]) -> Value {
    pairs
        .iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect()
}

fn experiment(c: &mut Conn, name: &str) -> String {
    let path = format!(
        "experiments/get-by-name?experiment_name={}",
        name.replace(' ', "%20")
    );
    let (status, got) = c.call("GET", &path, b"");
    let id = if status == 404 {
        c.post("experiments/create", &json!({"name": name}))["experiment_id"].clone()
    } else {
        got["experiment"]["experiment_id"].clone()
    };
    id.as_str()
        .unwrap_or_else(|| fail("no experiment id"))
        .to_owned()
}

fn run_id(created: &Value) -> String {
    created["run"]["info"]["run_id"]
        .as_str()
        .unwrap_or_else(|| fail("no run id"))
        .to_owned()
}

fn floor(url: &str, keepalive: bool) {
    let mut c = Conn::new(url, keepalive);
    let start = Instant::now();
    let exp = experiment(&mut c, "Nested Child Association");
    let system = [
        ("mlflow.user", "bench"),
        ("mlflow.source.name", "bench_post"),
        ("mlflow.source.type", "LOCAL"),
    ];
    for x in 0..5 {
        let pname = format!("parent_run_test_default_{x}");
        let mut t = system.to_vec();
        t.extend([
            ("mlflow.runName", pname.as_str()),
            ("test_identifier", "default"),
        ]);
        let parent = run_id(&c.post(
            "runs/create",
            &json!({"experiment_id": exp, "run_name": pname, "start_time": now_ms(),
                    "user_id": "bench", "tags": tags(&t)}),
        ));
        for i in 0..5 {
            let cname = format!("run_{i}_test_{x}");
            let mut t = system.to_vec();
            t.extend([
                ("mlflow.parentRunId", parent.as_str()),
                ("mlflow.runName", cname.as_str()),
                ("test_identifier", "default"),
            ]);
            let child = run_id(&c.post(
                "runs/create",
                &json!({"experiment_id": exp, "run_name": cname, "start_time": now_ms(),
                        "user_id": "bench", "tags": tags(&t)}),
            ));
            let ts = now_ms();
            c.post(
                "runs/log-batch",
                &json!({"run_id": child,
                        "params": [{"key": "param1", "value": "x"}, {"key": "param2", "value": "u"}],
                        "metrics": [{"key": "metric1", "value": 0.5, "timestamp": ts, "step": 0},
                                    {"key": "metric2", "value": 4.2, "timestamp": ts, "step": 0}]}),
            );
            c.post(
                "runs/update",
                &json!({"run_id": child, "status": "FINISHED", "end_time": now_ms()}),
            );
        }
        c.post(
            "runs/update",
            &json!({"run_id": parent, "status": "FINISHED", "end_time": now_ms()}),
        );
    }
    println!(
        "{{\"mode\":\"floor\",\"keepalive\":{keepalive},\"requests\":{},\"total_s\":{:.6}}}",
        c.count,
        start.elapsed().as_secs_f64()
    );
}

fn ceiling(url: &str, requests: usize, conns: usize, keepalive: bool) {
    let mut setup = Conn::new(url, false);
    let exp = experiment(&mut setup, "bench-ceiling");
    let run = run_id(&setup.post(
        "runs/create",
        &json!({"experiment_id": exp, "start_time": now_ms(), "run_name": format!("ceiling-c{conns}")}),
    ));
    let ts = now_ms();
    let bodies: Vec<Vec<u8>> = (0..requests)
        .map(|r| {
            let metrics: Vec<Value> = (r * 1000..(r + 1) * 1000)
                .map(|s| json!({"key": "loss", "value": s as f64 * 1e-3, "timestamp": ts, "step": s}))
                .collect();
            json!({"run_id": run, "metrics": metrics})
                .to_string()
                .into_bytes()
        })
        .collect();
    // Each worker imports its handlers on its first request: warm them all, untimed.
    std::thread::scope(|s| {
        for w in 0..4 {
            let run = run.clone();
            s.spawn(move || {
                let mut c = Conn::new(url, false);
                for r in 0..2 {
                    let step = 1_000_000_000 + (w * 2 + r) * 1000;
                    let metrics: Vec<Value> = (step..step + 1000)
                        .map(|s| json!({"key": "warm", "value": 0.0, "timestamp": ts, "step": s}))
                        .collect();
                    c.post(
                        "runs/log-batch",
                        &json!({"run_id": run, "metrics": metrics}),
                    );
                }
            });
        }
    });
    let next = Mutex::new(0usize);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..conns {
            s.spawn(|| {
                let mut c = Conn::new(url, keepalive);
                loop {
                    let i = {
                        let mut n = next.lock().unwrap_or_else(|p| p.into_inner());
                        *n += 1;
                        *n - 1
                    };
                    let Some(body) = bodies.get(i) else { return };
                    c.call("POST", "runs/log-batch", body);
                }
            });
        }
    });
    let total = start.elapsed().as_secs_f64();
    setup.post(
        "runs/update",
        &json!({"run_id": run, "status": "FINISHED", "end_time": now_ms()}),
    );
    let n = requests * 1000;
    println!(
        "{{\"mode\":\"ceiling\",\"keepalive\":{keepalive},\"concurrency\":{conns},\"n\":{n},\"total_s\":{total:.6},\"per_s\":{:.1},\"ms_per_request\":{:.3}}}",
        n as f64 / total,
        1000.0 * total / requests as f64
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str);
    match (arg(0), arg(1)) {
        (Some("floor"), Some(url)) => floor(url, arg(2) == Some("keepalive")),
        (Some("ceiling"), Some(url)) => {
            let num = |i: usize| arg(i).and_then(|v| v.parse().ok()).unwrap_or(1);
            ceiling(url, num(2), num(3), arg(4) == Some("keepalive"))
        }
        _ => fail(
            "usage: bench_post floor URL [keepalive] | bench_post ceiling URL REQUESTS CONNS [keepalive]",
        ),
    }
}
