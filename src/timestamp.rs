//! Instants as the API shows them and the database stores them.
//!
//! Stored as integer milliseconds since the Unix epoch; shown as RFC 3339 in
//! UTC with a `Z` suffix, with milliseconds only when there are any. Input may
//! carry any offset and is normalised to UTC; precision finer than a
//! millisecond is dropped.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

/// A UTC instant with millisecond precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

const MS_PER_DAY: i64 = 86_400_000;

impl Timestamp {
    pub fn now() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc())
    }

    pub fn from_millis(ms: i64) -> Self {
        Timestamp(ms)
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    /// Parses RFC 3339 with any offset.
    pub fn parse(text: &str) -> Result<Self, String> {
        OffsetDateTime::parse(text, &Rfc3339)
            .map(Self::from_datetime)
            .map_err(|_| format!("not an RFC 3339 timestamp: {text:?}"))
    }

    fn from_datetime(at: OffsetDateTime) -> Self {
        Timestamp((at.unix_timestamp_nanos() / 1_000_000) as i64)
    }

    /// This instant moved back by whole days.
    pub fn days_before(self, days: u32) -> Self {
        Timestamp(self.0 - i64::from(days) * MS_PER_DAY)
    }

    /// Whole days from `self` to `later`, rounded down.
    pub fn whole_days_until(self, later: Timestamp) -> i64 {
        (later.0 - self.0).div_euclid(MS_PER_DAY)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .map_err(|_| fmt::Error)?;
        let text = if self.0.rem_euclid(1000) == 0 {
            at.format(format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
            ))
        } else {
            at.format(format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
            ))
        };
        f.write_str(&text.map_err(|_| fmt::Error)?)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl rusqlite::ToSql for Timestamp {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.0.into())
    }
}

impl rusqlite::types::FromSql for Timestamp {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        value.as_i64().map(Timestamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_offsets_to_utc() {
        let at = Timestamp::parse("2026-11-02T12:15:00+02:00").unwrap();
        assert_eq!(at.to_string(), "2026-11-02T10:15:00Z");
    }

    #[test]
    fn keeps_milliseconds_and_drops_finer_precision() {
        let at = Timestamp::parse("2026-11-02T10:15:00.123456Z").unwrap();
        assert_eq!(at.to_string(), "2026-11-02T10:15:00.123Z");
    }

    #[test]
    fn refuses_what_is_not_rfc3339() {
        assert!(Timestamp::parse("2026-11-02 10:15").is_err());
        assert!(Timestamp::parse("yesterday").is_err());
    }

    #[test]
    fn counts_whole_days_rounding_down() {
        let now = Timestamp::parse("2026-12-04T12:00:00Z").unwrap();
        let earlier = Timestamp::parse("2026-11-20T12:00:01Z").unwrap();
        assert_eq!(earlier.whole_days_until(now), 13);
        assert_eq!(now.days_before(14).whole_days_until(now), 14);
    }
}
