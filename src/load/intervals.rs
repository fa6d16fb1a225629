//! Interval histograms: each second's latency and service-time histograms, kept compressed
//! while the run goes, written and read as HdrHistogram interval logs (`.hlog`), and whole
//! histograms as base64 text for the JSON report.
//!
//! Values are microseconds. A second is the **intended** send second (as in the timeline),
//! so latency includes waiting for a late send (coordinated omission corrected).

use std::io;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};

use super::histogram::Hist;

/// The tag of the latency histograms (from intended send time) in an interval log.
pub const LATENCY_TAG: &str = "latency";
/// The tag of the service-time histograms (from actual send) in an interval log.
pub const SERVICE_TAG: &str = "service";

/// A histogram as V2-deflate bytes (the encoding of HdrHistogram's interval logs).
pub(crate) fn encode(h: &Hist) -> Vec<u8> {
    let mut bytes = Vec::new();
    // Writing to a Vec cannot fail, and every histogram of ours is encodable.
    let _ = V2DeflateSerializer::new().serialize(h, &mut bytes);
    bytes
}

/// A histogram from V2 (deflate or not) bytes.
pub(crate) fn decode(bytes: &[u8]) -> Result<Hist, String> {
    Deserializer::new()
        .deserialize(&mut io::Cursor::new(bytes))
        .map_err(|e| format!("not an HdrHistogram: {e:?}"))
}

/// A histogram as base64 text of its V2-deflate bytes (as in an interval log line).
pub fn to_base64(h: &Hist) -> String {
    STANDARD.encode(encode(h))
}

/// A histogram from base64 text of V2 bytes.
pub fn from_base64(text: &str) -> Result<Hist, String> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|e| format!("not base64: {e}"))?;
    decode(&bytes)
}

/// One second's histograms, compressed.
#[derive(Debug, Clone, PartialEq)]
struct Packed {
    second: u64,
    latency: Vec<u8>,
    service: Vec<u8>,
}

/// One second's histograms (microseconds), as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    /// Seconds since the run's start (the interval is `[second, second + 1)`).
    pub second: u64,
    /// Latency from the intended send time.
    pub latency: Hist,
    /// Service time from the actual send.
    pub service: Hist,
}

/// Every second's histograms of a run, compressed (about 1 KiB a second), in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Intervals {
    packed: Vec<Packed>,
}

impl Intervals {
    /// Keep second `second`'s histograms.
    pub(super) fn push(&mut self, second: u64, latency: &Hist, service: &Hist) {
        self.packed.push(Packed {
            second,
            latency: encode(latency),
            service: encode(service),
        });
    }

    /// How many seconds are kept.
    pub fn len(&self) -> usize {
        self.packed.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.packed.is_empty()
    }

    /// Sort by second (a run's archive and its open seconds meet at the end).
    pub(super) fn sort(&mut self) {
        self.packed.sort_by_key(|p| p.second);
    }

    /// Write the standard HdrHistogram interval log: `StartTime`/`BaseTime` headers (`start`,
    /// the wall-clock instant of the run's second 0), then per second one line tagged
    /// `latency` and one tagged `service`, timestamps in seconds since `BaseTime`, values in
    /// microseconds (the max column in milliseconds: `MaxValueDivisor` 1000).
    pub fn write_hlog(&self, out: &mut impl io::Write, start: SystemTime) -> io::Result<()> {
        let mut serializer = V2DeflateSerializer::new();
        let mut log = IntervalLogWriterBuilder::new()
            .add_comment(
                "shakedown load: latency (from intended send) and service time, microseconds",
            )
            .with_start_time(start)
            .with_base_time(start)
            .with_max_value_divisor(1000.0)
            .begin_log_with(out, &mut serializer)?;
        for p in &self.packed {
            let at = Duration::from_secs(p.second);
            for (tag, bytes) in [(LATENCY_TAG, &p.latency), (SERVICE_TAG, &p.service)] {
                let h = decode(bytes).map_err(io::Error::other)?;
                log.write_histogram(&h, at, Duration::from_secs(1), Tag::new(tag))
                    .map_err(|e| io::Error::other(e.to_string()))?;
            }
        }
        Ok(())
    }
}

/// The intervals of an interval log written by [`Intervals::write_hlog`] (or any log whose
/// intervals are tagged `latency` and `service`; untagged ones count as latency), by second
/// since its `BaseTime`. Errors name the line.
pub fn read_hlog(text: &[u8]) -> Result<Vec<Interval>, String> {
    let mut out: Vec<Interval> = Vec::new();
    for (i, entry) in IntervalLogIterator::new(text).enumerate() {
        let entry = entry.map_err(|e| format!("entry {}: {e:?}", i + 1))?;
        let LogEntry::Interval(h) = entry else {
            continue;
        };
        let second = h.start_timestamp().as_secs();
        let hist = from_base64(h.encoded_histogram())
            .map_err(|e| format!("interval at {second}s: {e}"))?;
        let at = match out.iter().position(|x| x.second == second) {
            Some(at) => at,
            None => {
                out.push(Interval {
                    second,
                    latency: super::histogram::small_histogram(),
                    service: super::histogram::small_histogram(),
                });
                out.len() - 1
            }
        };
        let into = match h.tag().map(|t| t.as_str()) {
            Some(SERVICE_TAG) => &mut out[at].service,
            _ => &mut out[at].latency,
        };
        super::histogram::merge(into, &hist);
    }
    out.sort_by_key(|x| x.second);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::histogram::{record, run_histogram, small_histogram};
    use super::*;

    #[test]
    fn an_hlog_reads_back_through_the_crates_reader_with_its_counts() {
        let mut intervals = Intervals::default();
        for second in 0..3u64 {
            let (mut l, mut s) = (small_histogram(), small_histogram());
            for i in 0..(100 * (second + 1)) {
                record(&mut l, Duration::from_micros(1000 + i));
                record(&mut s, Duration::from_micros(500));
            }
            intervals.push(second, &l, &s);
        }
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut text = Vec::new();
        intervals.write_hlog(&mut text, start).unwrap();
        let log = String::from_utf8(text.clone()).unwrap();
        assert!(log.contains("#[StartTime: 1800000000.000"), "{log}");
        // The crate's own reader: 6 tagged intervals, the counts recorded.
        let mut seen = Vec::new();
        for entry in IntervalLogIterator::new(&text) {
            if let LogEntry::Interval(h) = entry.unwrap() {
                let hist: Hist = from_base64(h.encoded_histogram()).unwrap();
                seen.push((
                    h.start_timestamp().as_secs(),
                    h.tag().unwrap().as_str().to_string(),
                    hist.len(),
                ));
            }
        }
        assert_eq!(seen.len(), 6);
        assert_eq!(seen[0], (0, "latency".into(), 100));
        assert_eq!(seen[1], (0, "service".into(), 100));
        assert_eq!(seen[5], (2, "service".into(), 300));
        let back = read_hlog(&text).unwrap();
        assert_eq!(back.len(), 3);
        assert_eq!(back[2].latency.len(), 300);
        assert_eq!(
            back[2].latency.max(),
            back[2].latency.highest_equivalent(1299)
        );
    }

    #[test]
    fn base64_histograms_round_trip_exactly() {
        let mut h = run_histogram();
        for v in [1u64, 17, 999, 123_456, 3_000_000] {
            h.record_n(v, v % 7 + 1).unwrap();
        }
        let back = from_base64(&to_base64(&h)).unwrap();
        assert_eq!(back, h);
        assert!(from_base64("not base64!").unwrap_err().contains("base64"));
        assert!(from_base64("aGVsbG8=").is_err());
    }
}
