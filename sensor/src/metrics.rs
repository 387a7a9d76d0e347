//! Prometheus metrics: counters the pipeline bumps with one atomic add, and a small HTTP/1.1
//! responder for `GET /metrics` in the text exposition format (version 0.0.4).
//!
//! Why no web framework: the endpoint is one path, `GET` only, one response per connection, no
//! TLS, no keep-alive, no request body. hyper or axum would add a few dozen crates to a daemon
//! that runs with BPF privileges, for what fits in a hundred lines that read at most
//! [`MAX_REQUEST`] bytes under a [`IO_TIMEOUT`] and serve at most [`MAX_CONNECTIONS`] clients at
//! once. The listener refuses a non-loopback address unless the configuration allows it
//! ([`bind`]): the numbers say what the sensor sees, and the endpoint has no authentication.
//!
//! Use: build one [`Metrics`], hand each stage the handles it bumps ([`Counter`] and
//! [`Histogram`] are cheap clones of one shared atomic; [`CounterVec::with`] returns the handle
//! of one label value, so take it once, not per event), and run [`serve`] on a listener from
//! [`bind`].
use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{
        Arc, PoisonError, RwLock,
        atomic::{AtomicI64, AtomicU64, Ordering::Relaxed},
    },
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
    sync::{Semaphore, watch},
};
use tracing::{debug, info, warn};

/// The longest request head read.
pub const MAX_REQUEST: usize = 8192;
/// How long one connection may take, reading and writing.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once; more wait to be accepted.
pub const MAX_CONNECTIONS: usize = 8;
/// Upper bounds (seconds) of the record-to-alert lag histogram's buckets. The target is a p99
/// under 0.5 s; journald alone batches notifications every 0.25 s.
pub const LAG_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// A monotonically increasing count.
#[derive(Debug, Clone, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    pub fn inc(&self) {
        self.add(1);
    }

    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

/// A value that goes up and down.
#[derive(Debug, Clone, Default)]
pub struct Gauge(Arc<AtomicI64>);

impl Gauge {
    pub fn set(&self, v: i64) {
        self.0.store(v, Relaxed);
    }

    pub fn get(&self) -> i64 {
        self.0.load(Relaxed)
    }
}

/// Counters told apart by the value of one label (a source, a rule id, a sink).
#[derive(Debug)]
pub struct CounterVec {
    label: &'static str,
    series: RwLock<BTreeMap<String, Counter>>,
}

impl CounterVec {
    pub fn new(label: &'static str) -> Self {
        Self {
            label,
            series: RwLock::new(BTreeMap::new()),
        }
    }

    /// The counter for `value`, created at zero the first time: a series shows from then on
    /// (call it at start-up for the values known then, so rates work from the first scrape).
    pub fn with(&self, value: &str) -> Counter {
        let read = self.series.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = read.get(value) {
            return c.clone();
        }
        drop(read);
        let mut write = self.series.write().unwrap_or_else(PoisonError::into_inner);
        write.entry(value.to_owned()).or_default().clone()
    }

    fn snapshot(&self) -> Vec<(String, u64)> {
        let read = self.series.read().unwrap_or_else(PoisonError::into_inner);
        read.iter().map(|(k, c)| (k.clone(), c.get())).collect()
    }
}

/// Durations counted in buckets, Prometheus-style.
#[derive(Debug, Clone)]
pub struct Histogram(Arc<HistogramInner>);

#[derive(Debug)]
struct HistogramInner {
    bounds: &'static [f64],
    /// One per bound, then one for +Inf; each counts its own range (made cumulative when
    /// rendered).
    buckets: Box<[AtomicU64]>,
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    /// `bounds`: increasing upper bounds in seconds.
    pub fn new(bounds: &'static [f64]) -> Self {
        Self(Arc::new(HistogramInner {
            bounds,
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }))
    }

    pub fn observe(&self, d: Duration) {
        let h = &self.0;
        let secs = d.as_secs_f64();
        let i = h
            .bounds
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(h.bounds.len());
        h.buckets[i].fetch_add(1, Relaxed);
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        h.sum_micros.fetch_add(micros, Relaxed);
        h.count.fetch_add(1, Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.0.count.load(Relaxed)
    }
}

/// Every metric of the sensor. Names and help texts are in [`Metrics::render`]'s output.
#[derive(Debug)]
pub struct Metrics {
    /// `sensor_events_total{source}`: records read (`kernel`, `journald`, `auth-log`).
    pub events: CounterVec,
    /// `sensor_alerts_total{rule}`: alerts raised, by rule id.
    pub alerts: CounterVec,
    /// `sensor_kernel_events_lost_total`: events the kernel dropped (ring buffer full).
    pub kernel_events_lost: Counter,
    /// `sensor_parse_errors_total{source}`: log records that could not be parsed.
    pub parse_errors: CounterVec,
    /// `sensor_log_gaps_total{source}`: times a log source could not resume where it stopped
    /// (a vacuumed journal cursor, an auth.log rotated away).
    pub log_gaps: CounterVec,
    /// `sensor_sink_write_failures_total{sink}`: records a sink failed to write.
    pub sink_write_failures: CounterVec,
    /// `sensor_alert_lag_seconds`: from the log record's timestamp to the alert written.
    pub alert_lag: Histogram,
    /// `sensor_kernel_tracing`: 1 while the eBPF programs are attached, 0 in log-only mode.
    pub kernel_tracing: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        Self {
            events: CounterVec::new("source"),
            alerts: CounterVec::new("rule"),
            kernel_events_lost: Counter::default(),
            parse_errors: CounterVec::new("source"),
            log_gaps: CounterVec::new("source"),
            sink_write_failures: CounterVec::new("sink"),
            alert_lag: Histogram::new(LAG_BUCKETS),
            kernel_tracing: Gauge::default(),
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        let vec = |out: &mut String, name: &str, help: &str, v: &CounterVec| {
            header(out, name, help, "counter");
            for (value, n) in v.snapshot() {
                out.push_str(&format!(
                    "{name}{{{}=\"{}\"}} {n}\n",
                    v.label,
                    escape(&value)
                ));
            }
        };
        vec(
            &mut out,
            "sensor_events_total",
            "Records read, by source.",
            &self.events,
        );
        vec(
            &mut out,
            "sensor_alerts_total",
            "Alerts raised, by rule id.",
            &self.alerts,
        );
        header(
            &mut out,
            "sensor_kernel_events_lost_total",
            "Kernel events dropped because the ring buffer was full.",
            "counter",
        );
        out.push_str(&format!(
            "sensor_kernel_events_lost_total {}\n",
            self.kernel_events_lost.get()
        ));
        vec(
            &mut out,
            "sensor_parse_errors_total",
            "Log records that could not be parsed, by source.",
            &self.parse_errors,
        );
        vec(
            &mut out,
            "sensor_log_gaps_total",
            "Times a log source could not resume where it stopped, by source.",
            &self.log_gaps,
        );
        vec(
            &mut out,
            "sensor_sink_write_failures_total",
            "Records a sink failed to write, by sink.",
            &self.sink_write_failures,
        );
        self.render_lag(&mut out);
        header(
            &mut out,
            "sensor_kernel_tracing",
            "1 while the eBPF programs are attached, 0 in log-only mode.",
            "gauge",
        );
        out.push_str(&format!(
            "sensor_kernel_tracing {}\n",
            self.kernel_tracing.get()
        ));
        out
    }

    fn render_lag(&self, out: &mut String) {
        let name = "sensor_alert_lag_seconds";
        header(
            out,
            name,
            "Time from a log record's timestamp to its alert written.",
            "histogram",
        );
        let h = &self.alert_lag.0;
        let mut cumulative = 0;
        for (i, bucket) in h.buckets.iter().enumerate() {
            cumulative += bucket.load(Relaxed);
            let le = h.bounds.get(i).map_or("+Inf".to_owned(), f64::to_string);
            out.push_str(&format!("{name}_bucket{{le=\"{le}\"}} {cumulative}\n"));
        }
        let sum = h.sum_micros.load(Relaxed) as f64 / 1e6;
        out.push_str(&format!("{name}_sum {sum}\n"));
        out.push_str(&format!("{name}_count {}\n", h.count.load(Relaxed)));
    }
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
}

/// A label value as the exposition format quotes it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Why the metrics endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error(
        "refusing to serve metrics on {addr}: not a loopback address, and the endpoint has no authentication (set [metrics] allow_non_loopback = true to expose it anyway)"
    )]
    NotLoopback { addr: SocketAddr },
    #[error("listening for metrics on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Listens on `addr`, which must be loopback unless `allow_non_loopback`.
pub async fn bind(addr: SocketAddr, allow_non_loopback: bool) -> Result<TcpListener, MetricsError> {
    if !addr.ip().is_loopback() && !allow_non_loopback {
        return Err(MetricsError::NotLoopback { addr });
    }
    TcpListener::bind(addr)
        .await
        .map_err(|source| MetricsError::Bind { addr, source })
}

/// Answers scrapes on `listener` until `stop` turns true (or its sender is dropped).
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>, mut stop: watch::Receiver<bool>) {
    if let Ok(addr) = listener.local_addr() {
        info!(%addr, "serving Prometheus metrics at /metrics");
    }
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let accepted = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let metrics = Arc::clone(&metrics);
                tokio::spawn(async move {
                    match tokio::time::timeout(IO_TIMEOUT, respond(stream, &metrics)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => debug!(%peer, %e, "metrics connection failed"),
                        Err(_) => debug!(%peer, "metrics connection timed out"),
                    }
                    drop(permit);
                });
            }
            Err(e) => {
                // EMFILE and the like: wait a little rather than spin.
                warn!(%e, "accepting a metrics connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Reads one request head and writes one response.
async fn respond(mut stream: TcpStream, metrics: &Metrics) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let complete = loop {
        if find(&buf, b"\r\n\r\n") || find(&buf, b"\n\n") {
            break true;
        }
        if buf.len() >= MAX_REQUEST {
            break false;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break false;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let (status, body) = if complete {
        route(&buf, metrics)
    } else {
        (
            "400 Bad Request",
            "incomplete or oversized request\n".to_owned(),
        )
    };
    let head_only = buf.starts_with(b"HEAD ");
    let content_type = if status.starts_with("200") {
        "text/plain; version=0.0.4; charset=utf-8"
    } else {
        "text/plain; charset=utf-8"
    };
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head_only {
        response.extend_from_slice(body.as_bytes());
    }
    stream.write_all(&response).await?;
    stream.shutdown().await
}

/// The status line and body for a request head.
fn route(head: &[u8], metrics: &Metrics) -> (&'static str, String) {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.trim_end().split(' ');
    let (method, target, version) = (parts.next(), parts.next(), parts.next());
    if !version.is_some_and(|v| v.starts_with("HTTP/1.")) || parts.next().is_some() {
        return ("400 Bad Request", "bad request line\n".to_owned());
    }
    let path = target
        .unwrap_or_default()
        .split('?')
        .next()
        .unwrap_or_default();
    match (method, path) {
        (Some("GET" | "HEAD"), "/metrics") => ("200 OK", metrics.render()),
        (Some("GET" | "HEAD"), _) => ("404 Not Found", "not found: try /metrics\n".to_owned()),
        _ => ("405 Method Not Allowed", "only GET\n".to_owned()),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_exposition_format() {
        let m = Metrics::new();
        m.events.with("kernel").add(5);
        m.events.with("journald").inc();
        m.alerts.with("ssh-password-\"internal\"").inc();
        m.kernel_events_lost.add(2);
        m.sink_write_failures.with("file");
        m.alert_lag.observe(Duration::from_millis(30));
        m.alert_lag.observe(Duration::from_millis(300));
        m.alert_lag.observe(Duration::from_millis(500));
        m.alert_lag.observe(Duration::from_secs(20));
        m.kernel_tracing.set(1);
        assert_eq!(
            m.render(),
            r#"# HELP sensor_events_total Records read, by source.
# TYPE sensor_events_total counter
sensor_events_total{source="journald"} 1
sensor_events_total{source="kernel"} 5
# HELP sensor_alerts_total Alerts raised, by rule id.
# TYPE sensor_alerts_total counter
sensor_alerts_total{rule="ssh-password-\"internal\""} 1
# HELP sensor_kernel_events_lost_total Kernel events dropped because the ring buffer was full.
# TYPE sensor_kernel_events_lost_total counter
sensor_kernel_events_lost_total 2
# HELP sensor_parse_errors_total Log records that could not be parsed, by source.
# TYPE sensor_parse_errors_total counter
# HELP sensor_log_gaps_total Times a log source could not resume where it stopped, by source.
# TYPE sensor_log_gaps_total counter
# HELP sensor_sink_write_failures_total Records a sink failed to write, by sink.
# TYPE sensor_sink_write_failures_total counter
sensor_sink_write_failures_total{sink="file"} 0
# HELP sensor_alert_lag_seconds Time from a log record's timestamp to its alert written.
# TYPE sensor_alert_lag_seconds histogram
sensor_alert_lag_seconds_bucket{le="0.05"} 1
sensor_alert_lag_seconds_bucket{le="0.1"} 1
sensor_alert_lag_seconds_bucket{le="0.25"} 1
sensor_alert_lag_seconds_bucket{le="0.5"} 3
sensor_alert_lag_seconds_bucket{le="1"} 3
sensor_alert_lag_seconds_bucket{le="2.5"} 3
sensor_alert_lag_seconds_bucket{le="5"} 3
sensor_alert_lag_seconds_bucket{le="10"} 3
sensor_alert_lag_seconds_bucket{le="+Inf"} 4
sensor_alert_lag_seconds_sum 20.83
sensor_alert_lag_seconds_count 4
# HELP sensor_kernel_tracing 1 while the eBPF programs are attached, 0 in log-only mode.
# TYPE sensor_kernel_tracing gauge
sensor_kernel_tracing 1
"#
        );
    }

    #[test]
    fn a_label_handle_bumps_the_shared_series() {
        let m = Metrics::new();
        let kernel = m.events.with("kernel");
        let again = m.events.with("kernel");
        kernel.inc();
        again.add(2);
        assert_eq!(m.events.with("kernel").get(), 3);
        assert_eq!(escape("a\\b\n\"c\""), "a\\\\b\\n\\\"c\\\"");
    }

    async fn request(addr: SocketAddr, raw: &str) -> String {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(raw.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    }

    #[tokio::test]
    async fn answers_a_scrape_over_loopback() {
        let metrics = Arc::new(Metrics::new());
        metrics.alerts.with("ssh-password-internal").add(7);
        let listener = bind("127.0.0.1:0".parse().unwrap(), false).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop_tx, stop_rx) = watch::channel(false);
        let server = tokio::spawn(serve(listener, Arc::clone(&metrics), stop_rx));

        let ok = request(addr, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
        let (head, body) = ok.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(
            head.contains("Content-Type: text/plain; version=0.0.4"),
            "{head}"
        );
        assert!(
            head.contains(&format!("Content-Length: {}\r\n", body.len())),
            "{head}"
        );
        assert!(
            body.contains("sensor_alerts_total{rule=\"ssh-password-internal\"} 7\n"),
            "{body}"
        );

        let missing = request(addr, "GET / HTTP/1.1\r\n\r\n").await;
        assert!(
            missing.starts_with("HTTP/1.1 404 Not Found\r\n"),
            "{missing}"
        );
        let post = request(addr, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n").await;
        assert!(post.starts_with("HTTP/1.1 405 "), "{post}");
        let garbage = request(addr, "hello\r\n\r\n").await;
        assert!(garbage.starts_with("HTTP/1.1 400 "), "{garbage}");
        let head = request(addr, "HEAD /metrics?x=1 HTTP/1.0\r\n\r\n").await;
        assert!(
            head.starts_with("HTTP/1.1 200 OK\r\n") && head.ends_with("\r\n\r\n"),
            "{head}"
        );

        stop_tx.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("serve stops when told")
            .unwrap();
    }

    #[tokio::test]
    async fn refuses_a_non_loopback_address() {
        let err = bind("0.0.0.0:9464".parse().unwrap(), false)
            .await
            .unwrap_err();
        assert!(matches!(err, MetricsError::NotLoopback { .. }));
        assert!(err.to_string().contains("0.0.0.0:9464"), "{err}");
        let v6 = bind("[::]:9464".parse().unwrap(), false).await.unwrap_err();
        assert!(matches!(v6, MetricsError::NotLoopback { .. }));
    }
}
