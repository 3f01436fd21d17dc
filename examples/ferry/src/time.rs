//! Times on the command line, in UTC: `2024-05-01`, `2024-05-01T12:30[:00]` (or with a
//! space), or `@SECONDS` since the epoch.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};

const NS: i64 = 1_000_000_000;

/// `YYYY-MM-DD HH:MM:SS` (UTC) of a time in ns since the epoch.
pub fn format_ns(ns: i64) -> String {
    DateTime::from_timestamp_nanos(ns)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Parses a time (UTC) into ns since the epoch.
pub fn parse(text: &str) -> Result<i64, String> {
    let bad = || {
        format!("{text:?} is not a time: use YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] (UTC) or @SECONDS")
    };
    let text = text.trim();
    if let Some(secs) = text.strip_prefix('@') {
        let secs: i64 = secs.parse().map_err(|_| bad())?;
        return secs.checked_mul(NS).ok_or_else(bad);
    }
    let (date, clock) = match text.split_once(['T', ' ']) {
        Some((d, c)) => (d, Some(c)),
        None => (text, None),
    };
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| bad())?;
    let clock = match clock {
        None => NaiveTime::MIN,
        Some(c) => NaiveTime::parse_from_str(c, "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(c, "%H:%M"))
            .map_err(|_| bad())?,
    };
    NaiveDateTime::new(date, clock)
        .and_utc()
        .timestamp_nanos_opt()
        .ok_or_else(bad)
}

/// Now, in ns since the epoch.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip() {
        let ns = parse("2024-02-29T23:59:58").unwrap();
        assert_eq!(ns, 1_709_251_198 * NS);
        assert_eq!(format_ns(ns + 123), "2024-02-29 23:59:58");
        assert_eq!(parse("1970-01-01").unwrap(), 0);
        assert_eq!(parse("@86400").unwrap(), 86_400 * NS);
        assert_eq!(format_ns(-1), "1969-12-31 23:59:59");
    }

    /// Issue 11, item 9: every form the hand-written parser took is still taken, as the same
    /// time.
    #[test]
    fn every_accepted_form_gives_the_same_time() {
        let noon = 1_714_565_400 * NS; // 2024-05-01 12:10:00 UTC
        for (text, ns) in [
            ("2024-05-01", 1_714_521_600 * NS),
            ("2024-5-1", 1_714_521_600 * NS),
            (" 2024-05-01\n", 1_714_521_600 * NS),
            ("2024-05-01T12:10", noon),
            ("2024-05-01T12:10:00", noon),
            ("2024-05-01 12:10", noon),
            ("2024-05-01 12:10:07", noon + 7 * NS),
            ("2024-05-01T12:10:7", noon + 7 * NS),
            ("2024-05-01T9:05", 1_714_554_300 * NS),
            ("2024-05-01T23:59:60", 1_714_608_000 * NS), // a leap second: the next minute
            ("1969-12-31T23:59:59", -NS),
            ("1900-01-01", -2_208_988_800 * NS),
            ("@0", 0),
            ("@-5", -5 * NS),
            ("@+5", 5 * NS),
            ("@1714521600", 1_714_521_600 * NS),
        ] {
            assert_eq!(parse(text), Ok(ns), "{text:?}");
        }
        assert_eq!(format_ns(noon + 7 * NS + 999), "2024-05-01 12:10:07");
        assert_eq!(format_ns(-2_208_988_800 * NS), "1900-01-01 00:00:00");
        assert_eq!(format_ns(i64::MAX), "2262-04-11 23:47:16");
    }

    #[test]
    fn nonsense_is_rejected() {
        for bad in [
            "yesterday",
            "2024-13-01",
            "2024-01-01T25:00",
            "2024-01-01T12:60",
            "2024-01-01T12",
            "2024-01-01T12:00:00:00",
            "2024-01-01T",
            "2024-01",
            "2024-01-01-02",
            "2024-01-32",
            "2024-00-10",
            "@x",
            "@",
            "@9223372036854775807",
            "",
            "3000-01-01",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse("2024-01").unwrap_err().contains("YYYY-MM-DD"));
    }

    /// The hand-written parser took any day up to 31 and rolled `2024-02-30` into March.
    #[test]
    fn days_a_month_does_not_have_are_rejected() {
        for bad in ["2024-02-30", "2023-02-29", "2024-04-31"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse("2024-02-29").is_ok());
    }
}
