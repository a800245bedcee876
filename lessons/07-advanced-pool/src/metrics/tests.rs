//! The metrics' own tests: the histogram's percentiles and the JSON's keys.

use super::*;

#[test]
fn percentiles_are_the_bucket_bounds_that_hold_them() {
    let h = Histogram::default();
    for _ in 0..98 {
        h.record(Duration::from_micros(100)); // bucket below 128 µs
    }
    h.record(Duration::from_millis(3)); // below 4096 µs
    h.record(Duration::from_millis(3));
    let l = h.summary();
    assert_eq!(l.count, 100);
    assert_eq!(l.p50, Duration::from_micros(128));
    assert_eq!(l.p99, Duration::from_micros(4096));
    assert_eq!(l.mean, Duration::from_micros((98 * 100 + 2 * 3000) / 100));
}

#[test]
fn an_empty_histogram_summarises_to_zero() {
    assert_eq!(Histogram::default().summary(), Latency::default());
}

#[test]
fn the_json_names_every_counter() {
    let json = Metrics::default().snapshot(0).to_json();
    for key in [
        "submitted",
        "completed",
        "failed",
        "panicked",
        "cancelled",
        "full",
        "rate",
        "breaker",
        "closed",
        "timeout",
        "in_flight",
        "queue_depth",
        "busy_workers",
        "p99",
    ] {
        assert!(
            json.contains(&format!("\"{key}\":")),
            "{key} missing from {json}"
        );
    }
}
