//! Timestamps as Celery writes them.
//!
//! Celery uses timezone-aware ISO-8601 strings (`2026-11-24T06:25:58.186691+00:00`, Python's
//! `datetime.isoformat()`, which drops the fraction when it is zero) for `eta`, `expires` and
//! `date_done`, and float epoch seconds for event timestamps.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

/// Now, as float seconds since the Unix epoch (event `timestamp`, `unacked_index` scores).
pub fn epoch_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// Python's `datetime.isoformat()` of an aware UTC datetime.
pub fn isoformat(at: DateTime<Utc>) -> String {
    if at.timestamp_subsec_micros() == 0 {
        at.to_rfc3339_opts(SecondsFormat::Secs, false)
    } else {
        at.to_rfc3339_opts(SecondsFormat::Micros, false)
    }
}

/// `now + after` in Celery's ISO form (how `countdown` becomes `eta`).
pub fn iso_after(after: Duration) -> String {
    let delta = chrono::Duration::from_std(after).unwrap_or(chrono::Duration::MAX);
    isoformat(Utc::now().checked_add_signed(delta).unwrap_or(DateTime::<Utc>::MAX_UTC))
}

/// Parses an `eta` / `expires` value. Naive times (no offset, as Celery sends with `enable_utc`
/// off and no timezone) are taken as UTC.
pub fn parse_iso(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|naive| naive.and_utc())
}

/// How long from now until `at` (zero when `at` is past).
pub fn until(at: DateTime<Utc>) -> Duration {
    (at - Utc::now()).to_std().unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isoformat_matches_python() {
        let at = DateTime::parse_from_rfc3339("2026-11-24T06:25:58.186691+00:00").unwrap().with_timezone(&Utc);
        assert_eq!(isoformat(at), "2026-11-24T06:25:58.186691+00:00");
        let whole = DateTime::parse_from_rfc3339("2026-11-24T06:25:58+00:00").unwrap().with_timezone(&Utc);
        assert_eq!(isoformat(whole), "2026-11-24T06:25:58+00:00");
    }

    #[test]
    fn parses_aware_and_naive() {
        let aware = parse_iso("2026-11-24T09:25:58.5+03:00").unwrap();
        let naive = parse_iso("2026-11-24T06:25:58.5").unwrap();
        assert_eq!(aware, naive);
        assert!(parse_iso("tomorrow").is_none());
    }
}
