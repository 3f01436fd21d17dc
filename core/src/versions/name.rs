//! The names of stored versions: `stem (YYYY-MM-DD HHMMSS.mmm).ext`, and back.

use chrono::{DateTime, Datelike, NaiveDate, Timelike};

const NS_PER_MS: i64 = 1_000_000;
/// `YYYY-MM-DD HHMMSS.mmm`
const STAMP_LEN: usize = 21;

/// `ns` truncated to the millisecond (the resolution of stored times).
pub(crate) fn truncate_ms(ns: i64) -> i64 {
    ns.div_euclid(NS_PER_MS) * NS_PER_MS
}

/// A stored version's name, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredName {
    /// The original file name.
    pub original: Vec<u8>,
    /// When it was stored, ns since the epoch, truncated to the millisecond.
    pub stored_ns: i64,
    /// 1 for the first version stored in that millisecond, 2 for the next (`#2`), ...
    pub seq: u32,
}

/// Splits a file name into stem and extension: the extension follows the last dot, unless
/// that dot starts the name (`.bashrc` has none), ends it, or what follows has a space or a
/// parenthesis (`a (2020-01-01 000000.000)` has none either).
fn split(name: &[u8]) -> (&[u8], Option<&[u8]>) {
    match name.iter().rposition(|&b| b == b'.') {
        Some(i)
            if i > 0 && i + 1 < name.len() && !name[i + 1..].iter().any(|b| b" ()".contains(b)) =>
        {
            (&name[..i], Some(&name[i + 1..]))
        }
        _ => (name, None),
    }
}

/// The stamp `YYYY-MM-DD HHMMSS.mmm` (UTC) of `ns`, truncated to the millisecond.
fn stamp(ns: i64) -> String {
    let t = DateTime::from_timestamp_nanos(truncate_ms(ns));
    format!(
        "{:04}-{:02}-{:02} {:02}{:02}{:02}.{:03}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.timestamp_subsec_millis()
    )
}

/// The stored name of version `seq` of `original`, stored at `stored_ns`.
pub(crate) fn format(original: &[u8], stored_ns: i64, seq: u32) -> Vec<u8> {
    let (stem, ext) = split(original);
    let mut out = Vec::with_capacity(original.len() + STAMP_LEN + 8);
    out.extend_from_slice(stem);
    out.extend_from_slice(b" (");
    out.extend_from_slice(stamp(stored_ns).as_bytes());
    if seq > 1 {
        out.extend_from_slice(format!(" #{seq}").as_bytes());
    }
    out.push(b')');
    if let Some(ext) = ext {
        out.push(b'.');
        out.extend_from_slice(ext);
    }
    out
}

/// Reads a `YYYY-MM-DD HHMMSS.mmm` stamp.
fn parse_stamp(s: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(s).ok()?;
    if s.len() != STAMP_LEN || !s.is_char_boundary(STAMP_LEN) {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = &s[range];
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let b = s.as_bytes();
    if (b[4], b[7], b[10], b[17]) != (b'-', b'-', b' ', b'.') {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    let time = date.and_hms_milli_opt(num(11..13)?, num(13..15)?, num(15..17)?, num(18..21)?)?;
    time.and_utc().timestamp_nanos_opt()
}

/// Takes a stored name apart; `None` for any name [`format()`] would not have produced, so
/// that `format(parse(n)) == n` for every accepted name.
///
/// Only the last parenthesized stamp before the extension counts: a user file named
/// `a (2020-01-01 000000.000).txt` is stored as `a (2020-01-01 000000.000) (…).txt`.
pub(crate) fn parse(name: &[u8]) -> Option<StoredName> {
    // With an extension the stamp's `)` comes right before the last dot; without one it ends
    // the name. (The stamp itself holds a dot, so at most one of the two can fit.)
    let before_ext = match name.iter().rposition(|&b| b == b'.') {
        Some(i) if i > 0 && name[i - 1] == b')' => &name[..i],
        _ => name,
    };
    let inner = before_ext.strip_suffix(b")")?;
    let (inner, seq) = match inner.iter().rposition(|&b| b == b'#') {
        Some(i)
            if inner[..i].ends_with(b" ")
                && inner.len() > i + 1
                && inner[i + 1..].iter().all(u8::is_ascii_digit) =>
        {
            let digits = std::str::from_utf8(&inner[i + 1..]).ok()?;
            (&inner[..i - 1], digits.parse::<u32>().ok()?)
        }
        _ => (inner, 1),
    };
    let split_at = inner.len().checked_sub(STAMP_LEN)?;
    let stored_ns = parse_stamp(&inner[split_at..])?;
    let stem = inner[..split_at].strip_suffix(b" (")?;
    let mut original = stem.to_vec();
    if before_ext.len() < name.len() {
        original.extend_from_slice(&name[before_ext.len()..]);
    }
    let parsed = StoredName {
        original,
        stored_ns,
        seq,
    };
    (!parsed.original.is_empty() && format(&parsed.original, stored_ns, seq) == name)
        .then_some(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-22 15:30:12.123456789 UTC
    const T: i64 = 1_795_361_412_123_456_789;
    const T_MS: i64 = 1_795_361_412_123_000_000;

    macro_rules! round_trip {
        ($($test:ident: $original:expr => $stored:expr, seq $seq:expr;)*) => {$(
            #[test]
            fn $test() {
                let original: &[u8] = $original;
                let stored = format(original, T, $seq);
                assert_eq!(
                    String::from_utf8_lossy(&stored),
                    String::from_utf8_lossy($stored)
                );
                let parsed = parse(&stored).expect("a stored name parses");
                assert_eq!(
                    parsed,
                    StoredName { original: original.to_vec(), stored_ns: T_MS, seq: $seq }
                );
            }
        )*};
    }

    round_trip! {
        plain_extension: b"name.txt" => b"name (2026-11-22 153012.123).txt", seq 1;
        no_extension: b"Makefile" => b"Makefile (2026-11-22 153012.123)", seq 1;
        dotfile: b".bashrc" => b".bashrc (2026-11-22 153012.123)", seq 1;
        dotfile_with_extension: b".config.bak" => b".config (2026-11-22 153012.123).bak", seq 1;
        double_extension: b"a.tar.gz" => b"a.tar (2026-11-22 153012.123).gz", seq 1;
        trailing_dot: b"odd." => b"odd. (2026-11-22 153012.123)", seq 1;
        second_in_same_ms: b"name.txt" => b"name (2026-11-22 153012.123 #2).txt", seq 2;
        counter_no_extension: b"x" => b"x (2026-11-22 153012.123 #17)", seq 17;
        user_parentheses: b"report (final).txt" => b"report (final) (2026-11-22 153012.123).txt", seq 1;
        user_stamp_lookalike: b"a (2020-01-01 000000.000).txt"
            => b"a (2020-01-01 000000.000) (2026-11-22 153012.123).txt", seq 1;
        user_stamp_lookalike_no_ext: b"a (2020-01-01 000000.000)"
            => b"a (2020-01-01 000000.000) (2026-11-22 153012.123)", seq 1;
        user_counter_lookalike: b"v (2020-01-01 000000.000 #3)"
            => b"v (2020-01-01 000000.000 #3) (2026-11-22 153012.123)", seq 1;
        extension_with_paren: b"a.b)" => b"a.b) (2026-11-22 153012.123)", seq 1;
        extension_with_space: b"v1.0 final" => b"v1.0 final (2026-11-22 153012.123)", seq 1;
        non_utf8: b"caf\xe9.txt" => b"caf\xe9 (2026-11-22 153012.123).txt", seq 1;
        non_utf8_extension: b"x.\xff\xfe" => b"x (2026-11-22 153012.123).\xff\xfe", seq 1;
        spaces_and_hash: b"a #2 (b).c" => b"a #2 (b) (2026-11-22 153012.123).c", seq 1;
    }

    #[test]
    fn rejects_names_it_did_not_write() {
        for name in [
            &b"name.txt"[..],
            b"name (2026-11-22 153012.123",
            b"name (2026-13-22 153012.123).txt",
            b"name (2026-11-22 153012.12).txt",
            b"name (2026-11-22 153012.123 #1).txt",
            b"name (2026-11-22 153012.123 #02).txt",
            b"name (2026-11-22 153012.123 #).txt",
            b"name(2026-11-22 153012.123).txt",
            b" (2026-11-22 153012.123).txt",
            b"a.b (2026-11-22 153012.123)",
            b"name (2026-11-22 153012.123).t.x",
            b"name (2026-11-22 153012.123)x",
            b"name (2026-11-22 153012.123).",
            b"name (2026-11-22 153012.123).a b",
            b"(2026-11-22 153012.123)",
        ] {
            assert_eq!(parse(name), None, "{:?}", String::from_utf8_lossy(name));
        }
    }

    #[test]
    fn times_before_1970_round_trip() {
        let stored = format(b"old", -1_500_000, 1);
        assert_eq!(stored, b"old (1969-12-31 235959.998)");
        assert_eq!(parse(&stored).unwrap().stored_ns, -2_000_000);
    }
}
