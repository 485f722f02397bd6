//! Prometheus metrics: requests by route and status, a latency histogram per route, and the
//! number of documents. Kept by a middleware; rendered as Prometheus text at `/metrics`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
}

/// Request counters and latency histogram.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    fn record(&self, route: String, status: u16, seconds: f64) {
        let mut m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *m.requests.entry((route.clone(), status)).or_default() += 1;
        let h = m.latency.entry(route).or_default();
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                h.buckets[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    /// Prometheus text exposition.
    pub fn render(&self, documents: u64) -> String {
        let m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut s = String::new();
        s.push_str("# HELP wash_http_requests_total HTTP requests by route and status.\n");
        s.push_str("# TYPE wash_http_requests_total counter\n");
        for ((route, status), n) in &m.requests {
            s.push_str(&format!("wash_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}\n"));
        }
        s.push_str("# HELP wash_http_request_duration_seconds Time to answer a request, by route.\n");
        s.push_str("# TYPE wash_http_request_duration_seconds histogram\n");
        for (route, h) in &m.latency {
            let name = "wash_http_request_duration_seconds";
            for (i, b) in BUCKETS.iter().enumerate() {
                s.push_str(&format!("{name}_bucket{{route=\"{route}\",le=\"{b}\"}} {}\n", h.buckets[i]));
            }
            s.push_str(&format!("{name}_bucket{{route=\"{route}\",le=\"+Inf\"}} {}\n", h.count));
            s.push_str(&format!("{name}_sum{{route=\"{route}\"}} {}\n", h.sum));
            s.push_str(&format!("{name}_count{{route=\"{route}\"}} {}\n", h.count));
        }
        s.push_str("# HELP wash_documents Documents in the index.\n# TYPE wash_documents gauge\n");
        s.push_str(&format!("wash_documents {documents}\n"));
        s
    }
}

/// Middleware that records every request.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route =
        req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let start = Instant::now();
    let resp = next.run(req).await;
    state.metrics.record(route, resp.status().as_u16(), start.elapsed().as_secs_f64());
    resp
}
