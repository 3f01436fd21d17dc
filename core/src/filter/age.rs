//! [`Age`]: a span of time back from now, written `"3 days"` or `"3d"`.

use std::fmt;
use std::str::FromStr;

use chrono::{Local, Months, Offset, TimeZone};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// A span of time back from now, such as `"3 days"`; months and years are calendar months
/// and years.
///
/// In JSON it is a string: an amount and a unit, with or without a space between them.
/// Units, singular or plural and case-insensitive: `minutes` (`m`, `min`), `hours` (`h`,
/// `hr`), `days` (`d`), `weeks` (`w`, `wk`), `months` (`mo`), `years` (`y`, `yr`). It
/// serializes in the long form (`"30 minutes"`, `"1 year"`), so a round trip is lossless.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Age {
    /// How many units.
    pub amount: u32,
    /// Which unit.
    pub unit: AgeUnit,
}

/// The unit of an [`Age`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgeUnit {
    /// Minutes.
    Minutes,
    /// Hours.
    Hours,
    /// Days (24 hours each).
    Days,
    /// Weeks (7 days each).
    Weeks,
    /// Calendar months.
    Months,
    /// Calendar years.
    Years,
}

impl AgeUnit {
    fn parse(unit: &str) -> Option<AgeUnit> {
        Some(match unit.to_ascii_lowercase().as_str() {
            "m" | "min" | "mins" | "minute" | "minutes" => AgeUnit::Minutes,
            "h" | "hr" | "hrs" | "hour" | "hours" => AgeUnit::Hours,
            "d" | "day" | "days" => AgeUnit::Days,
            "w" | "wk" | "wks" | "week" | "weeks" => AgeUnit::Weeks,
            "mo" | "mon" | "month" | "months" => AgeUnit::Months,
            "y" | "yr" | "yrs" | "year" | "years" => AgeUnit::Years,
            _ => return None,
        })
    }

    fn singular(self) -> &'static str {
        match self {
            AgeUnit::Minutes => "minute",
            AgeUnit::Hours => "hour",
            AgeUnit::Days => "day",
            AgeUnit::Weeks => "week",
            AgeUnit::Months => "month",
            AgeUnit::Years => "year",
        }
    }

    /// Length in seconds of the fixed-length units.
    fn seconds(self) -> Option<i64> {
        match self {
            AgeUnit::Minutes => Some(60),
            AgeUnit::Hours => Some(3600),
            AgeUnit::Days => Some(86_400),
            AgeUnit::Weeks => Some(7 * 86_400),
            AgeUnit::Months | AgeUnit::Years => None,
        }
    }
}

impl Age {
    /// The instant this span before `now_ns` (nanoseconds since the Unix epoch).
    ///
    /// Minutes to weeks are fixed lengths. Months and years step back on the calendar in
    /// local time (`2024-03-31 12:00` minus one month is `2024-02-29 12:00`); a local time
    /// that falls in a daylight-saving gap keeps the offset of `now`. Instants before the
    /// representable range give `i64::MIN`.
    pub fn cutoff_ns(self, now_ns: i64) -> i64 {
        if let Some(seconds) = self.unit.seconds() {
            let span = i128::from(self.amount) * i128::from(seconds) * 1_000_000_000;
            let cutoff = i128::from(now_ns) - span;
            return i64::try_from(cutoff).unwrap_or(i64::MIN);
        }
        let months = match self.unit {
            AgeUnit::Years => self.amount.checked_mul(12),
            _ => Some(self.amount),
        };
        let now = Local.timestamp_nanos(now_ns);
        months
            .and_then(|m| now.naive_local().checked_sub_months(Months::new(m)))
            .and_then(|local| {
                Local
                    .from_local_datetime(&local)
                    .earliest()
                    .map(|t| t.fixed_offset())
                    .or_else(|| now.offset().fix().from_local_datetime(&local).single())
            })
            .and_then(|t| t.timestamp_nanos_opt())
            .unwrap_or(i64::MIN)
    }
}

impl FromStr for Age {
    type Err = Error;

    /// Parses `"3 days"`, `"1 week"`, `"6mo"`, `"30m"`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a missing amount or
    /// unit, an unknown unit, or an amount beyond `u32`.
    fn from_str(text: &str) -> Result<Age> {
        let invalid = |why: &str| Error::invalid(format!("invalid age {text:?}: {why}"));
        let s = text.trim();
        let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (amount, unit) = (&s[..digits], s[digits..].trim());
        if amount.is_empty() {
            return Err(invalid(
                "expected a whole number and a unit such as \"3 days\"",
            ));
        }
        let amount = amount
            .parse()
            .map_err(|_| invalid("amount larger than 4294967295"))?;
        if unit.starts_with(['.', ',']) {
            return Err(invalid("the amount must be a whole number"));
        }
        if unit.is_empty() {
            return Err(invalid(
                "missing unit (minutes, hours, days, weeks, months or years)",
            ));
        }
        let unit = AgeUnit::parse(unit).ok_or_else(|| {
            invalid(&format!(
                "unknown unit {unit:?} (expected minutes, hours, days, weeks, months or years)"
            ))
        })?;
        Ok(Age { amount, unit })
    }
}

impl fmt::Display for Age {
    /// `1 day`, `3 days`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = if self.amount == 1 { "" } else { "s" };
        write!(f, "{} {}{plural}", self.amount, self.unit.singular())
    }
}

impl Serialize for Age {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Age {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct AgeVisitor;

        impl Visitor<'_> for AgeVisitor {
            type Value = Age;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an age such as \"3 days\"")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Age, E> {
                v.parse().map_err(E::custom)
            }
        }

        d.deserialize_str(AgeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! parses {
        ($($name:ident: $text:expr => $amount:expr, $unit:ident, $shown:expr;)*) => {$(
            #[test]
            fn $name() {
                let age: Age = $text.parse().unwrap();
                assert_eq!(age, Age { amount: $amount, unit: AgeUnit::$unit });
                assert_eq!(age.to_string(), $shown);
                let json = serde_json::to_string(&age).unwrap();
                assert_eq!(json, format!("\"{}\"", $shown));
                assert_eq!(serde_json::from_str::<Age>(&json).unwrap(), age);
            }
        )*};
    }

    parses! {
        minutes_long: "30 minutes" => 30, Minutes, "30 minutes";
        minutes_short: "30m" => 30, Minutes, "30 minutes";
        one_minute: "1 minute" => 1, Minutes, "1 minute";
        hours_long: "2 hours" => 2, Hours, "2 hours";
        hours_short: "2h" => 2, Hours, "2 hours";
        days_long: "3 days" => 3, Days, "3 days";
        days_short: "3d" => 3, Days, "3 days";
        one_day: "1 day" => 1, Days, "1 day";
        week_long: "1 week" => 1, Weeks, "1 week";
        weeks_short: "2w" => 2, Weeks, "2 weeks";
        months_long: "6 months" => 6, Months, "6 months";
        months_short: "6mo" => 6, Months, "6 months";
        year_long: "1 year" => 1, Years, "1 year";
        years_short: "10y" => 10, Years, "10 years";
        uppercase_unit: "3 DAYS" => 3, Days, "3 days";
        spaces_around: "  4  hours " => 4, Hours, "4 hours";
        zero: "0 days" => 0, Days, "0 days";
    }

    macro_rules! rejects {
        ($($name:ident: $text:expr => $message:expr;)*) => {$(
            #[test]
            fn $name() {
                let err = $text.parse::<Age>().unwrap_err();
                assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
                assert_eq!(err.to_string(), $message);
            }
        )*};
    }

    rejects! {
        rejects_empty: "" => "invalid age \"\": expected a whole number and a unit such as \"3 days\"";
        rejects_unit_only: "days" => "invalid age \"days\": expected a whole number and a unit such as \"3 days\"";
        rejects_missing_unit: "3" => "invalid age \"3\": missing unit (minutes, hours, days, weeks, months or years)";
        rejects_unknown_unit: "3 fortnights" => "invalid age \"3 fortnights\": unknown unit \"fortnights\" (expected minutes, hours, days, weeks, months or years)";
        rejects_fraction: "1.5 days" => "invalid age \"1.5 days\": the amount must be a whole number";
        rejects_negative: "-3 days" => "invalid age \"-3 days\": expected a whole number and a unit such as \"3 days\"";
        rejects_overflow: "4294967296 days" => "invalid age \"4294967296 days\": amount larger than 4294967295";
    }

    #[test]
    fn json_rejects_numbers() {
        let err = serde_json::from_str::<Age>("3").unwrap_err();
        assert!(
            err.to_string()
                .contains("expected an age such as \"3 days\""),
            "{err}"
        );
    }

    const SECOND: i64 = 1_000_000_000;

    fn local_ns(y: i32, mo: u32, d: u32, h: u32) -> i64 {
        Local
            .with_ymd_and_hms(y, mo, d, h, 0, 0)
            .earliest()
            .unwrap()
            .timestamp_nanos_opt()
            .unwrap()
    }

    macro_rules! cutoffs {
        ($($name:ident: $age:expr, $now:expr => $cutoff:expr;)*) => {$(
            #[test]
            fn $name() {
                let age: Age = $age.parse().unwrap();
                assert_eq!(age.cutoff_ns($now), $cutoff);
            }
        )*};
    }

    cutoffs! {
        cutoff_minutes: "30m", 10_000 * SECOND => (10_000 - 1800) * SECOND;
        cutoff_hours: "2 hours", 10_000 * SECOND => (10_000 - 7200) * SECOND;
        cutoff_days_are_24_hours: "3 days", 1_000_000 * SECOND => (1_000_000 - 3 * 86_400) * SECOND;
        cutoff_weeks: "1w", 1_000_000 * SECOND => (1_000_000 - 604_800) * SECOND;
        cutoff_month_clamps_to_month_end: "1 month", local_ns(2024, 3, 31, 12) => local_ns(2024, 2, 29, 12);
        cutoff_months_cross_year: "6 months", local_ns(2024, 3, 15, 12) => local_ns(2023, 9, 15, 12);
        cutoff_year_from_leap_day: "1 year", local_ns(2024, 2, 29, 12) => local_ns(2023, 2, 28, 12);
        cutoff_years: "10 years", local_ns(2024, 7, 1, 12) => local_ns(2014, 7, 1, 12);
        cutoff_fixed_saturates: "4294967295 weeks", 0 => i64::MIN;
        cutoff_calendar_saturates: "4294967295 years", 0 => i64::MIN;
    }
}
