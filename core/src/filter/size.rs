//! [`ByteSize`]: a number of bytes, written in JSON as a number or as `"10 MB"`.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// A size in bytes; in JSON either a number of bytes or a string such as `"10 MB"`.
///
/// Units follow the Windows (and SmartSync) convention: `KB` = 1024 bytes, `MB` = 1024²,
/// `GB` = 1024³, `TB` = 1024⁴; `KiB`, `MiB`, `GiB`, `TiB` and the one-letter forms `k`, `m`,
/// `g`, `t` mean the same. `B`, `byte` and `bytes` (or no unit) are bytes. Units are
/// case-insensitive, the space before them optional, and a decimal fraction is allowed
/// (`"1.5GB"`), rounded to the nearest byte. It serializes as a plain number of bytes, so a
/// round trip is lossless.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(pub u64);

const UNITS: [(&str, u64); 5] = [
    ("bytes", 1),
    ("KB", 1 << 10),
    ("MB", 1 << 20),
    ("GB", 1 << 30),
    ("TB", 1 << 40),
];

fn unit_multiplier(unit: &str) -> Option<u64> {
    let shift = match unit.to_ascii_lowercase().as_str() {
        "" | "b" | "byte" | "bytes" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return None,
    };
    Some(1 << shift)
}

impl FromStr for ByteSize {
    type Err = Error;

    /// Parses `"512"`, `"10 MB"`, `"1.5GB"`, `"512 KiB"`, `"100 bytes"`, `"2k"`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a missing number, an
    /// unknown unit, a fraction of a byte, or a size beyond `u64`.
    fn from_str(text: &str) -> Result<ByteSize> {
        let invalid = |why: &str| Error::invalid(format!("invalid size {text:?}: {why}"));
        let s = text.trim();
        let number_end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let (number, unit) = (&s[..number_end], s[number_end..].trim());
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty() || fraction.contains('.') {
            return Err(invalid(
                "expected a number of bytes or a number and a unit such as \"10 MB\"",
            ));
        }
        let multiplier = unit_multiplier(unit).ok_or_else(|| {
            invalid(&format!(
                "unknown unit {unit:?} (expected bytes, KB, MB, GB or TB)"
            ))
        })?;
        if multiplier == 1 && fraction.bytes().any(|b| b != b'0') {
            return Err(invalid("a size in bytes must be a whole number"));
        }
        if fraction.len() > 18 {
            return Err(invalid("too many decimals"));
        }
        let too_large = || invalid("larger than 16 EiB");
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| too_large())?
        };
        let fraction_value: u128 = if fraction.is_empty() {
            0
        } else {
            fraction.parse().expect("digits only, at most 18")
        };
        let scale = 10u128.pow(fraction.len() as u32);
        let bytes = whole
            .checked_mul(u128::from(multiplier))
            .and_then(|b| {
                // Round the fractional part to the nearest byte, halves up.
                let part = (fraction_value * u128::from(multiplier) * 2 + scale) / (2 * scale);
                b.checked_add(part)
            })
            .and_then(|b| u64::try_from(b).ok())
            .ok_or_else(too_large)?;
        Ok(ByteSize(bytes))
    }
}

impl fmt::Display for ByteSize {
    /// The largest unit that divides the size exactly: `10 MB`, `1536 KB`, `100 bytes`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, size) = UNITS
            .iter()
            .rev()
            .find(|&&(_, size)| self.0 != 0 && self.0.is_multiple_of(size))
            .copied()
            .unwrap_or(UNITS[0]);
        if size == 1 && self.0 == 1 {
            return f.write_str("1 byte");
        }
        write!(f, "{} {name}", self.0 / size)
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct SizeVisitor;

        impl Visitor<'_> for SizeVisitor {
            type Value = ByteSize;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of bytes or a size such as \"10 MB\"")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<ByteSize, E> {
                Ok(ByteSize(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<ByteSize, E> {
                u64::try_from(v)
                    .map(ByteSize)
                    .map_err(|_| E::custom(format!("invalid size {v}: negative")))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<ByteSize, E> {
                // 2^64 is exactly representable; anything below it and whole fits in a u64.
                if v >= 0.0 && v.fract() == 0.0 && v < 18_446_744_073_709_551_616.0 {
                    Ok(ByteSize(v as u64))
                } else {
                    Err(E::custom(format!(
                        "invalid size {v}: expected a whole number of bytes"
                    )))
                }
            }

            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<ByteSize, E> {
                v.parse().map_err(E::custom)
            }
        }

        d.deserialize_any(SizeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: u64 = 1024;

    macro_rules! parses {
        ($($name:ident: $text:expr => $bytes:expr;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!($text.parse::<ByteSize>().unwrap(), ByteSize($bytes));
            }
        )*};
    }

    parses! {
        plain_number: "512" => 512;
        bytes_word: "100 bytes" => 100;
        one_byte: "1 byte" => 1;
        b_suffix: "7B" => 7;
        kb_is_1024: "10 KB" => 10 * K;
        kib: "512 KiB" => 512 * K;
        short_k: "2k" => 2 * K;
        mb_is_1024_squared: "10 MB" => 10 * K * K;
        mib_lowercase: "3mib" => 3 * K * K;
        fraction_gb: "1.5GB" => 3 * K * K * K / 2;
        fraction_rounds_to_nearest: "0.001 KB" => 1;
        leading_dot: ".5 k" => 512;
        trailing_dot: "2. MB" => 2 * K * K;
        tb: "1 TB" => K * K * K * K;
        surrounding_space: "  4 kb  " => 4 * K;
        max: "18446744073709551615" => u64::MAX;
    }

    macro_rules! rejects {
        ($($name:ident: $text:expr => $message:expr;)*) => {$(
            #[test]
            fn $name() {
                let err = $text.parse::<ByteSize>().unwrap_err();
                assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
                assert_eq!(err.to_string(), $message);
            }
        )*};
    }

    rejects! {
        rejects_empty: "" => "invalid size \"\": expected a number of bytes or a number and a unit such as \"10 MB\"";
        rejects_unit_only: "MB" => "invalid size \"MB\": expected a number of bytes or a number and a unit such as \"10 MB\"";
        rejects_two_dots: "1.2.3 MB" => "invalid size \"1.2.3 MB\": expected a number of bytes or a number and a unit such as \"10 MB\"";
        rejects_unknown_unit: "5 XB" => "invalid size \"5 XB\": unknown unit \"XB\" (expected bytes, KB, MB, GB or TB)";
        rejects_negative: "-5" => "invalid size \"-5\": expected a number of bytes or a number and a unit such as \"10 MB\"";
        rejects_fractional_bytes: "1.5 bytes" => "invalid size \"1.5 bytes\": a size in bytes must be a whole number";
        rejects_overflow: "16777216 TB" => "invalid size \"16777216 TB\": larger than 16 EiB";
        rejects_huge_number: "99999999999999999999999999999999999999999" => "invalid size \"99999999999999999999999999999999999999999\": larger than 16 EiB";
    }

    macro_rules! displays {
        ($($name:ident: $bytes:expr => $text:expr;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(ByteSize($bytes).to_string(), $text);
                assert_eq!($text.parse::<ByteSize>().unwrap(), ByteSize($bytes));
            }
        )*};
    }

    displays! {
        displays_zero: 0 => "0 bytes";
        displays_one: 1 => "1 byte";
        displays_odd: 1000 => "1000 bytes";
        displays_kb: 10 * K => "10 KB";
        displays_mixed_as_kb: 1536 * K => "1536 KB";
        displays_gb: 2 * K * K * K => "2 GB";
    }

    #[test]
    fn json_accepts_numbers_and_strings_and_serializes_bytes() {
        for (json, bytes) in [
            ("1048576", 1 << 20),
            ("\"1 MB\"", 1 << 20),
            ("\"1.5GB\"", 3 << 29),
            ("2048.0", 2048),
            ("0", 0),
        ] {
            let size: ByteSize = serde_json::from_str(json).unwrap();
            assert_eq!(size, ByteSize(bytes), "{json}");
            let back = serde_json::to_string(&size).unwrap();
            assert_eq!(back, bytes.to_string());
            assert_eq!(serde_json::from_str::<ByteSize>(&back).unwrap(), size);
        }
        let max = serde_json::to_string(&ByteSize(u64::MAX)).unwrap();
        assert_eq!(
            serde_json::from_str::<ByteSize>(&max).unwrap(),
            ByteSize(u64::MAX)
        );
    }

    #[test]
    fn json_errors_say_what_is_wrong() {
        for (json, message) in [
            ("-1", "invalid size -1: negative"),
            ("1.5", "invalid size 1.5: expected a whole number of bytes"),
            ("\"5 XB\"", "unknown unit \"XB\""),
            (
                "true",
                "expected a number of bytes or a size such as \"10 MB\"",
            ),
        ] {
            let err = serde_json::from_str::<ByteSize>(json).unwrap_err();
            assert!(err.to_string().contains(message), "{json}: {err}");
        }
    }
}
