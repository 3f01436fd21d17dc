//! Times on the command line, in UTC: `2024-05-01`, `2024-05-01T12:30[:00]` (or with a
//! space), or `@SECONDS` since the epoch.

const NS: i64 = 1_000_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of a time in ns since the epoch.
pub fn format_ns(ns: i64) -> String {
    let secs = ns.div_euclid(NS);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
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
        Some((d, c)) => (d, c),
        None => (text, "00:00"),
    };
    let nums = |s: &str, sep: char| -> Result<Vec<i64>, String> {
        s.split(sep).map(|n| n.parse().map_err(|_| bad())).collect()
    };
    let (d, c) = (nums(date, '-')?, nums(clock, ':')?);
    let [y, mo, da] = d[..] else {
        return Err(bad());
    };
    let (h, mi, s) = match c[..] {
        [h, mi] => (h, mi, 0),
        [h, mi, s] => (h, mi, s),
        _ => return Err(bad()),
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&da) || h > 23 || mi > 59 || s > 60 {
        return Err(bad());
    }
    let secs = days_from_civil(y, mo, da) * 86_400 + h * 3600 + mi * 60 + s;
    secs.checked_mul(NS).ok_or_else(bad)
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

    #[test]
    fn nonsense_is_rejected() {
        for bad in [
            "yesterday",
            "2024-13-01",
            "2024-01-01T25:00",
            "2024-01",
            "@x",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
