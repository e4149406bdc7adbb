//! A minimal HTTP/1.0 client over loopback, enough to ask a test server for a page without
//! the crate under test.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Sends `request` to `addr` and returns the body when the status is 200.
fn exchange(addr: SocketAddr, request: &str, read_timeout: Duration) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(read_timeout)).ok()?;
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.lines().next()?.split_whitespace().nth(1)?;
    (status == "200").then(|| body.to_owned())
}

/// `host:port` of an `http://host:port` URI, resolved.
fn address(uri: &str) -> Option<(SocketAddr, &str)> {
    let host = uri.strip_prefix("http://")?.trim_end_matches('/');
    let addr = std::net::ToSocketAddrs::to_socket_addrs(host)
        .ok()?
        .next()?;
    Some((addr, host))
}

/// `GET path` on the server at `uri` (`http://host:port`); the body when the answer is 200.
pub fn http_get(uri: &str, path: &str) -> Option<String> {
    let (addr, host) = address(uri)?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    exchange(addr, &request, Duration::from_secs(30))
}

/// `POST path` with a JSON body on the server at `uri`; the parsed body when the answer is
/// 200.
pub fn http_post_json(
    uri: &str,
    path: &str,
    body: &serde_json::Value,
) -> Option<serde_json::Value> {
    let (addr, host) = address(uri)?;
    let body = body.to_string();
    let request = format!(
        "POST {path} HTTP/1.0\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    serde_json::from_str(&exchange(addr, &request, Duration::from_secs(30))?).ok()
}
