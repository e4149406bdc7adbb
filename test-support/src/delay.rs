//! A TCP delay line: a proxy on a free loopback port that makes a server on loopback look
//! like a remote one, for tests and for `./scripts/bench.sh --only latency`.
//! See [`DelayProxy`] for the model.

use std::io;
use std::net::{SocketAddr, TcpListener as StdListener, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until};

/// Bytes read from a socket at once.
const CHUNK: usize = 64 * 1024;
/// Chunks in flight per direction before the reader waits (about a socket buffer's worth of
/// backpressure: 4096 full chunks are 256 MiB, far more than one delay window carries).
const QUEUE: usize = 4096;

/// How far away the proxy puts the server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DelaySpec {
    /// Round-trip time: each direction is delayed by half of it, and a new connection pays
    /// one whole round trip for its handshake.
    pub rtt: Duration,
    /// Extra delay drawn per chunk in `0..=jitter` (never reorders the bytes of one
    /// direction).
    pub jitter: Duration,
    /// Extra client-to-server delay drawn per connection in `0..=reorder`, so that
    /// requests sent at once on separate connections can arrive in another order.
    pub reorder: Option<Duration>,
}

impl DelaySpec {
    /// A delay line of round-trip time `rtt`, without jitter or reordering.
    pub fn with_rtt(rtt: Duration) -> DelaySpec {
        DelaySpec {
            rtt,
            ..DelaySpec::default()
        }
    }

    /// The same, with per-chunk jitter in `0..=jitter`.
    pub fn jitter(self, jitter: Duration) -> DelaySpec {
        DelaySpec { jitter, ..self }
    }

    /// The same, with a per-connection extra client-to-server delay in `0..=max`.
    pub fn reorder(self, max: Duration) -> DelaySpec {
        DelaySpec {
            reorder: Some(max),
            ..self
        }
    }
}

#[derive(Default)]
struct Stats {
    accepted: AtomicU64,
    to_server: AtomicU64,
    to_client: AtomicU64,
}

/// A running delay proxy; stops, closing every connection through it, when dropped.
///
/// The model, per connection:
///
/// - **Handshake.** A new connection pays one round trip before its first byte can flow,
///   as TCP's SYN / SYN-ACK does: the client's first byte is forwarded no earlier than
///   `accept + rtt + rtt/2` (its connect "returns" after one RTT, then the byte needs half a
///   round trip to arrive). So the first request on a fresh connection costs two RTTs.
/// - **Delay line.** Each direction's bytes arrive `rtt/2` after the proxy read them (plus
///   jitter, if any). Reading and writing are separate tasks joined by a queue of
///   timestamped chunks, so a large body is not throttled: it arrives `rtt/2` late at the
///   rate it was sent, not one chunk per `rtt/2`. Bytes of one direction never overtake
///   each other (jitter can only delay a chunk up to the one after it).
/// - **Reordering** (optional): each new connection draws an extra delay in
///   `0..=reorder` for its client-to-server direction, so requests a client sends at once
///   on separate connections can reach the server in another order.
///
/// What it does not model: bandwidth limits, loss, and ACK timing. The server's segments
/// are acknowledged by the proxy's kernel on loopback (with the same delayed-ACK timer a
/// client's kernel has), not a round trip later, so a server's Nagle stall behind a delayed
/// ACK (uvicorn issue #3149) costs the delayed-ACK timer here, where across a real network
/// it costs that plus a round trip. Both proxy sockets set `TCP_NODELAY`, so the proxy adds
/// no Nagle stalls of its own.
///
/// ```no_run
/// use std::time::Duration;
/// use mlflow_test_support::{DelayProxy, DelaySpec};
///
/// let server: std::net::SocketAddr = "127.0.0.1:5000".parse().unwrap();
/// let proxy = DelayProxy::start(server, DelaySpec::with_rtt(Duration::from_millis(50)));
/// let uri = proxy.uri(); // http://127.0.0.1:PORT, 50 ms away from the server
/// # let _ = uri;
/// assert_eq!(proxy.connections(), 0);
/// ```
pub struct DelayProxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    spec: DelaySpec,
    stats: Arc<Stats>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for DelayProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DelayProxy")
            .field("addr", &self.addr)
            .field("upstream", &self.upstream)
            .field("spec", &self.spec)
            .field("connections", &self.connections())
            .finish()
    }
}

impl DelayProxy {
    /// Starts a proxy on a free `127.0.0.1` port in front of `upstream` (a `SocketAddr` or
    /// `"host:port"`). Panics when it cannot.
    pub fn start(upstream: impl ToSocketAddrs, spec: DelaySpec) -> DelayProxy {
        DelayProxy::try_start("127.0.0.1:0", upstream, spec)
            .unwrap_or_else(|e| panic!("cannot start the delay proxy: {e}"))
    }

    /// Starts a proxy listening on `listen` (port 0: a free one) in front of `upstream`.
    pub fn try_start(
        listen: impl ToSocketAddrs,
        upstream: impl ToSocketAddrs,
        spec: DelaySpec,
    ) -> io::Result<DelayProxy> {
        let upstream = upstream.to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "upstream resolves to nothing")
        })?;
        let listener = StdListener::bind(listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let stats = Arc::new(Stats::default());
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = {
            let stats = Arc::clone(&stats);
            std::thread::Builder::new()
                .name(format!("delay-proxy-{}", addr.port()))
                .spawn(move || {
                    runtime.block_on(async move {
                        let listener = match TcpListener::from_std(listener) {
                            Ok(l) => l,
                            Err(e) => {
                                eprintln!("delay proxy: {e}");
                                return;
                            }
                        };
                        tokio::select! {
                            _ = stopped => {}
                            () = accept_loop(listener, upstream, spec, stats) => {}
                        }
                    });
                    // Dropping the runtime here cancels every connection task: their
                    // sockets close.
                    drop(runtime);
                })?
        };
        Ok(DelayProxy {
            addr,
            upstream,
            spec,
            stats,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address the proxy listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` of the proxy (for an `https` server, build the URI from
    /// [`DelayProxy::addr`]: the proxy passes TLS through untouched).
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The server behind the proxy.
    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    /// The delays the proxy applies.
    pub fn spec(&self) -> DelaySpec {
        self.spec
    }

    /// Connections accepted so far (with a client that keeps connections alive, far fewer
    /// than its requests).
    pub fn connections(&self) -> u64 {
        self.stats.accepted.load(Ordering::Relaxed)
    }

    /// Bytes forwarded so far, `(client to server, server to client)`.
    pub fn bytes(&self) -> (u64, u64) {
        (
            self.stats.to_server.load(Ordering::Relaxed),
            self.stats.to_client.load(Ordering::Relaxed),
        )
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    spec: DelaySpec,
    stats: Arc<Stats>,
) {
    let mut rng = Rng::seeded(u64::from(upstream.port()));
    loop {
        let client = match listener.accept().await {
            Ok((client, _)) => client,
            Err(_) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let accepted = Instant::now();
        stats.accepted.fetch_add(1, Ordering::Relaxed);
        let extra = spec.reorder.map_or(Duration::ZERO, |max| rng.below(max));
        let seed = rng.next();
        tokio::spawn(connection(
            client,
            accepted,
            extra,
            upstream,
            spec,
            seed,
            Arc::clone(&stats),
        ));
    }
}

async fn connection(
    client: TcpStream,
    accepted: Instant,
    extra: Duration,
    upstream: SocketAddr,
    spec: DelaySpec,
    seed: u64,
    stats: Arc<Stats>,
) {
    let server = match TcpStream::connect(upstream).await {
        Ok(s) => s,
        Err(_) => {
            // A refused connection is seen after the handshake's round trip, as a close.
            sleep_until(accepted + spec.rtt).await;
            return;
        }
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let half = spec.rtt / 2;
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let up = Line {
        delay: half + extra,
        not_before: accepted + spec.rtt,
        jitter: spec.jitter,
        seed,
    };
    let down = Line {
        delay: half,
        not_before: accepted,
        jitter: spec.jitter,
        seed: seed.rotate_left(32) ^ 0x9e37_79b9_7f4a_7c15,
    };
    tokio::join!(
        up.run(client_read, server_write, &stats.to_server),
        down.run(server_read, client_write, &stats.to_client),
    );
}

/// One direction of a connection.
struct Line {
    delay: Duration,
    /// Bytes read earlier count as read at this instant (the handshake).
    not_before: Instant,
    jitter: Duration,
    seed: u64,
}

impl Line {
    async fn run(self, mut from: OwnedReadHalf, mut to: OwnedWriteHalf, counter: &AtomicU64) {
        let (tx, mut rx) = mpsc::channel::<(Instant, Option<Vec<u8>>)>(QUEUE);
        let reader = async move {
            let mut rng = Rng::seeded(self.seed);
            let mut buf = vec![0u8; CHUNK];
            let mut last = self.not_before;
            loop {
                // An error (a reset) ends the direction like an orderly close.
                let n = from.read(&mut buf).await.unwrap_or(0);
                let read_at = Instant::now().max(self.not_before);
                let at = (read_at + self.delay + rng.below(self.jitter)).max(last);
                last = at;
                let chunk = (n > 0).then(|| buf[..n].to_vec());
                if tx.send((at, chunk)).await.is_err() || n == 0 {
                    break;
                }
            }
        };
        let writer = async move {
            while let Some((at, chunk)) = rx.recv().await {
                sleep_until(at).await;
                match chunk {
                    Some(bytes) => {
                        if to.write_all(&bytes).await.is_err() {
                            break;
                        }
                        counter.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    }
                    None => {
                        let _ = to.shutdown().await;
                        break;
                    }
                }
            }
        };
        tokio::join!(reader, writer);
    }
}

/// splitmix64: enough randomness for delays, without a dependency.
struct Rng(u64);

impl Rng {
    fn seeded(salt: u64) -> Rng {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default();
        Rng(nanos ^ salt.wrapping_mul(0x2545_f491_4f6c_dd1d))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A duration in `0..=max`.
    fn below(&mut self, max: Duration) -> Duration {
        let max = max.as_nanos() as u64;
        if max == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(self.next() % (max + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream as StdStream;
    use std::time::Instant as StdInstant;

    /// A blocking echo server on a free port; one thread per connection.
    fn echo_server() -> SocketAddr {
        let listener = StdListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                std::thread::spawn(move || {
                    let _ = stream.set_nodelay(true);
                    let mut buf = vec![0u8; CHUNK];
                    loop {
                        match stream.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                if stream.write_all(&buf[..n]).is_err() {
                                    break;
                                }
                            }
                        }
                    }
                });
            }
        });
        addr
    }

    fn ping(stream: &mut StdStream, msg: &[u8]) -> Duration {
        let started = StdInstant::now();
        stream.write_all(msg).unwrap();
        let mut back = vec![0u8; msg.len()];
        stream.read_exact(&mut back).unwrap();
        assert_eq!(back, msg);
        started.elapsed()
    }

    fn connect(proxy: &DelayProxy) -> StdStream {
        let stream = StdStream::connect(proxy.addr()).unwrap();
        stream.set_nodelay(true).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream
    }

    #[test]
    fn a_fresh_connection_pays_the_handshake_then_one_rtt_per_round_trip() {
        let rtt = Duration::from_millis(100);
        let proxy = DelayProxy::start(echo_server(), DelaySpec::with_rtt(rtt));
        let mut stream = connect(&proxy);
        let first = ping(&mut stream, b"hello");
        assert!(first >= 2 * rtt, "first round trip took {first:?}");
        assert!(first < 2 * rtt + Duration::from_secs(2), "{first:?}");
        for _ in 0..3 {
            let again = ping(&mut stream, b"again");
            assert!(again >= rtt, "round trip took {again:?}");
            assert!(again < rtt + Duration::from_secs(2), "{again:?}");
        }
        assert_eq!(proxy.connections(), 1);
        let _second = connect(&proxy);
        // The count is taken when the proxy's thread accepts.
        let deadline = StdInstant::now() + Duration::from_secs(5);
        while proxy.connections() < 2 && StdInstant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(proxy.connections(), 2);
    }

    #[test]
    fn a_large_body_is_delayed_not_throttled() {
        let rtt = Duration::from_millis(100);
        let proxy = DelayProxy::start(echo_server(), DelaySpec::with_rtt(rtt));
        let mut stream = connect(&proxy);
        let body: Vec<u8> = (0..10 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        ping(&mut stream, b"warm"); // the handshake, out of the way
        let started = StdInstant::now();
        let mut writer = stream.try_clone().unwrap();
        let sent = body.clone();
        let sender = std::thread::spawn(move || writer.write_all(&sent).unwrap());
        let mut back = vec![0u8; body.len()];
        stream.read_exact(&mut back).unwrap();
        let took = started.elapsed();
        sender.join().unwrap();
        assert!(back == body, "the bytes came back changed");
        assert!(took >= rtt, "took {took:?}");
        // One chunk per half round trip would take at least 160 x 50 ms = 8 s each way.
        assert!(took < Duration::from_secs(4), "10 MB took {took:?}");
        let (up, down) = proxy.bytes();
        assert!(up >= body.len() as u64 && down >= body.len() as u64);
    }

    #[test]
    fn jitter_and_reordering_keep_each_connection_in_order() {
        let rtt = Duration::from_millis(20);
        let reorder = Duration::from_millis(50);
        let spec = DelaySpec::with_rtt(rtt)
            .jitter(Duration::from_millis(10))
            .reorder(reorder);
        let proxy = DelayProxy::start(echo_server(), spec);
        for _ in 0..4 {
            let mut stream = connect(&proxy);
            let first = ping(&mut stream, b"first");
            assert!(first >= 2 * rtt, "{first:?}");
            assert!(
                first < 2 * rtt + reorder + Duration::from_secs(2),
                "{first:?}"
            );
            // Many small writes, each jittered: they must still come back in order.
            let mut writer = stream.try_clone().unwrap();
            let sender = std::thread::spawn(move || {
                for i in 0..200u32 {
                    writer.write_all(&i.to_be_bytes()).unwrap();
                    std::thread::sleep(Duration::from_micros(200));
                }
            });
            let mut back = vec![0u8; 800];
            stream.read_exact(&mut back).unwrap();
            sender.join().unwrap();
            for (i, word) in back.chunks(4).enumerate() {
                assert_eq!(u32::from_be_bytes(word.try_into().unwrap()), i as u32);
            }
        }
        assert_eq!(proxy.connections(), 4);
    }

    #[test]
    fn the_server_closing_reaches_the_client_and_drop_stops_the_proxy() {
        let listener = StdListener::bind("127.0.0.1:0").unwrap();
        let upstream = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.write_all(b"bye").unwrap();
        });
        let proxy = DelayProxy::start(upstream, DelaySpec::with_rtt(Duration::from_millis(10)));
        let addr = proxy.addr();
        let mut stream = connect(&proxy);
        let mut all = Vec::new();
        stream.read_to_end(&mut all).unwrap();
        assert_eq!(all, b"bye");
        drop(proxy);
        assert!(StdStream::connect(addr).is_err(), "still listening");
    }

    #[test]
    fn rng_stays_in_range() {
        let mut rng = Rng::seeded(1);
        let max = Duration::from_millis(50);
        assert!((0..1000).all(|_| rng.below(max) <= max));
        assert_eq!(rng.below(Duration::ZERO), Duration::ZERO);
    }
}
