//! The ingest rate limit (`ingest-rate` packets a second per source, with
//! a burst of `ingest-burst`): a token bucket per source, so a source
//! beyond its rate is refused while the others go on.

use std::collections::HashMap;
use std::time::Instant;

/// `ingest-rate` and `ingest-burst`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Packets a second, sustained.
    pub per_sec: f64,
    /// Packets at once.
    pub burst: f64,
}

impl Rate {
    /// From the options' text: `rate` (packets a second, > 0, may have a
    /// fraction) and `burst` (whole packets, default the rate rounded up,
    /// at least 1).
    pub fn parse(rate: &str, burst: Option<&str>) -> Result<Rate, String> {
        let per_sec: f64 = rate
            .trim()
            .trim_end_matches("/s")
            .parse()
            .ok()
            .filter(|r: &f64| r.is_finite() && *r > 0.0)
            .ok_or_else(|| format!("ingest-rate {rate:?}: packets a second, more than 0"))?;
        let burst = match burst {
            None => per_sec.ceil().max(1.0),
            Some(b) => b
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|b| *b >= 1)
                .map(f64::from)
                .ok_or_else(|| {
                    format!("ingest-burst {b:?}: a whole number of packets, at least 1")
                })?,
        };
        Ok(Rate { per_sec, burst })
    }
}

/// One source's bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets of every source.
#[derive(Debug, Default)]
pub struct Buckets {
    by_source: HashMap<String, Bucket>,
}

/// Sources forgotten once this many are known (their buckets were full).
const MAX_SOURCES: usize = 100_000;

impl Buckets {
    /// Takes one packet from `source`'s bucket at `now`: `Ok`, or the
    /// seconds until one is there.
    pub fn take(&mut self, source: &str, rate: Rate, now: Instant) -> Result<(), u64> {
        if self.by_source.len() >= MAX_SOURCES && !self.by_source.contains_key(source) {
            // Buckets that refilled are as good as new ones.
            self.by_source.retain(|_, b| {
                b.tokens + now.duration_since(b.at).as_secs_f64() * rate.per_sec < rate.burst
            });
        }
        let b = self.by_source.entry(source.to_string()).or_insert(Bucket {
            tokens: rate.burst,
            at: now,
        });
        let refill = now.saturating_duration_since(b.at).as_secs_f64() * rate.per_sec;
        b.tokens = (b.tokens + refill).min(rate.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / rate.per_sec).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_options_are_a_rate_and_a_burst() {
        assert_eq!(
            Rate::parse("20", None).unwrap(),
            Rate {
                per_sec: 20.0,
                burst: 20.0
            }
        );
        assert_eq!(
            Rate::parse("0.5/s", Some("3")).unwrap(),
            Rate {
                per_sec: 0.5,
                burst: 3.0
            }
        );
        assert_eq!(Rate::parse("0.2", None).unwrap().burst, 1.0);
        for bad in ["0", "-1", "x", "inf", ""] {
            assert!(Rate::parse(bad, None).is_err(), "{bad}");
        }
        assert!(Rate::parse("5", Some("0")).is_err());
        assert!(Rate::parse("5", Some("1.5")).is_err());
    }

    #[test]
    fn a_source_gets_its_burst_then_its_rate_and_others_are_not_affected() {
        let rate = Rate {
            per_sec: 2.0,
            burst: 3.0,
        };
        let mut b = Buckets::default();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(b.take("a", rate, t0), Ok(()));
        }
        assert_eq!(b.take("a", rate, t0), Err(1));
        // Another source has its own bucket.
        assert_eq!(b.take("b", rate, t0), Ok(()));
        // Half a second later: one more packet for "a".
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(b.take("a", rate, t1), Ok(()));
        assert_eq!(b.take("a", rate, t1), Err(1));
        // Long idle: the bucket is full again, not more.
        let t2 = t1 + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(b.take("a", rate, t2), Ok(()));
        }
        assert!(b.take("a", rate, t2).is_err());
    }

    #[test]
    fn retry_after_is_the_wait_for_the_next_packet_rounded_up() {
        let rate = Rate {
            per_sec: 0.1,
            burst: 1.0,
        };
        let mut b = Buckets::default();
        let t0 = Instant::now();
        assert_eq!(b.take("s", rate, t0), Ok(()));
        assert_eq!(b.take("s", rate, t0), Err(10));
        assert_eq!(b.take("s", rate, t0 + Duration::from_secs(4)), Err(6));
    }
}
