//! Rate and bandwidth limits: token buckets that make callers wait, never fail.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// A token bucket: `rate` tokens per second, holding at most `burst`.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    /// `rate` per second; a burst of one second's worth (at least `min_burst`).
    pub fn new(rate: f64, min_burst: f64) -> TokenBucket {
        let burst = rate.max(min_burst);
        TokenBucket {
            rate,
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Waits until `n` tokens are available and takes them. A request larger than the burst is
    /// let through once the bucket is full, paying the debt afterwards.
    pub async fn take(&self, n: f64) {
        loop {
            let wait = {
                let mut s = self.state.lock().await;
                let now = Instant::now();
                let elapsed = now.duration_since(s.1).as_secs_f64();
                s.0 = (s.0 + elapsed * self.rate).min(self.burst);
                s.1 = now;
                if s.0 >= n.min(self.burst) {
                    s.0 -= n;
                    return;
                }
                // At most a day at a time (then the bucket is looked at again): a tiny rate
                // gives waits no `Duration` holds.
                let secs = (n.min(self.burst) - s.0) / self.rate;
                Duration::try_from_secs_f64(secs)
                    .unwrap_or(Duration::MAX)
                    .min(Duration::from_secs(86_400))
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// The slowest pace a limit may set: one object a day.
pub const MIN_OBJECTS_PER_SEC: f64 = 1.0 / 86_400.0;
/// The slowest bandwidth a limit may set: a byte a second.
pub const MIN_BYTES_PER_SEC: f64 = 1.0;

/// A rate as an error shows it: `1e-300`, not three hundred digits.
pub fn shown_rate(rate: f64) -> String {
    if rate != 0.0 && (rate.abs() < 1e-3 || rate.abs() >= 1e15) {
        format!("{rate:e}")
    } else {
        format!("{rate}")
    }
}

/// Why `rate` (of `what`, per second) is not a limit tierd takes, if it is not: not a finite
/// number at least `min`.
pub fn refuse_rate(rate: f64, min: f64, what: &str) -> Option<String> {
    (!(rate.is_finite() && rate >= min)).then(|| {
        let shown = shown_rate(rate);
        let least = if min < 1.0 {
            format!("{min:.7} (one a day)")
        } else {
            format!("{min}")
        };
        format!("{shown} {what} per second is not a rate tierd takes; write at least {least}")
    })
}

/// The executor's limits: objects per second and bytes per second, each optional.
#[derive(Debug, Default)]
pub struct Limits {
    pub objects: Option<TokenBucket>,
    pub bytes: Option<TokenBucket>,
}

impl Limits {
    pub fn new(objects_per_sec: Option<f64>, bytes_per_sec: Option<f64>) -> Limits {
        Limits {
            objects: objects_per_sec
                .filter(|r| *r > 0.0)
                .map(|r| TokenBucket::new(r, 1.0)),
            bytes: bytes_per_sec
                .filter(|r| *r > 0.0)
                .map(|r| TokenBucket::new(r, 1024.0 * 1024.0)),
        }
    }

    pub async fn object(&self) {
        if let Some(b) = &self.objects {
            b.take(1.0).await;
        }
    }

    pub async fn bytes(&self, n: usize) {
        if let Some(b) = &self.bytes {
            b.take(n as f64).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_bucket_spaces_requests_at_its_rate() {
        let b = TokenBucket::new(10.0, 1.0);
        let start = Instant::now();
        for _ in 0..30 {
            b.take(1.0).await;
        }
        // 10 from the initial burst, then 20 at 10/s.
        let took = start.elapsed().as_secs_f64();
        assert!((1.9..=2.1).contains(&took), "took {took}s");
    }

    #[tokio::test(start_paused = true)]
    async fn a_byte_limit_paces_bandwidth() {
        let l = Limits::new(None, Some(4.0 * 1024.0 * 1024.0));
        let start = Instant::now();
        for _ in 0..12 {
            l.bytes(1024 * 1024).await;
        }
        let took = start.elapsed().as_secs_f64();
        assert!((1.9..=2.1).contains(&took), "took {took}s");
    }
}
