//! Placing classic syslog timestamps (`Nov 23 10:00:00`: no year, no zone) on the timeline.
//!
//! The year is inferred from a reference instant (a file's mtime when replaying, the current
//! time when tailing) and from the order of the lines: logs go forward, so a month lower than
//! the previous line's (December, then January) starts the next year. The zone is the writer's
//! local zone, given explicitly ([`ClassicZone`]).

use chrono::{
    DateTime, Datelike, FixedOffset, Local, LocalResult, NaiveDate, NaiveDateTime, NaiveTime,
    Offset, TimeDelta, TimeZone, Utc,
};
use thiserror::Error;

/// How far past the reference a line may lie before it is taken for last year's. A day covers
/// clock skew between the writer and the reader and a reference refreshed now and then.
const FUTURE_SLACK: TimeDelta = TimeDelta::days(1);

/// The zone classic timestamps were written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassicZone {
    /// The zone of this process (`TZ`, else `/etc/localtime`): right for the host's own logs.
    System,
    /// A fixed offset from UTC (replays of another host's logs, tests).
    Fixed(FixedOffset),
}

impl ClassicZone {
    /// UTC.
    pub fn utc() -> Self {
        Self::Fixed(Utc.fix())
    }

    /// The UTC instant of a local wall-clock time. An ambiguous time (the hour repeated when
    /// daylight saving time ends) takes its first occurrence; a time in the gap when it starts
    /// is read with the offset in force just before the gap.
    fn to_utc(self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        match self {
            Self::System => resolve(&Local, local),
            Self::Fixed(offset) => resolve(&offset, local),
        }
    }

    /// The local year of a UTC instant.
    fn year_of(self, instant: DateTime<Utc>) -> i32 {
        match self {
            Self::System => instant.with_timezone(&Local).year(),
            Self::Fixed(offset) => instant.with_timezone(&offset).year(),
        }
    }
}

fn resolve<Tz: TimeZone>(zone: &Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        LocalResult::None => {
            // In a DST gap: the offset an hour earlier is the one before the gap.
            let before = local.checked_sub_signed(TimeDelta::hours(1))?;
            let t = zone.from_local_datetime(&before).earliest()?;
            t.with_timezone(&Utc)
                .checked_add_signed(TimeDelta::hours(1))
        }
    }
}

/// Why a classic timestamp could not be placed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum YearError {
    /// `Feb 29` in an inferred year that is not a leap year, or a month/day out of range.
    #[error("{month:02}-{day:02} does not exist in the inferred year {year}")]
    NoSuchDay { year: i32, month: u32, day: u32 },
    /// The local time could not be converted (out of chrono's range).
    #[error("{0} cannot be converted to UTC")]
    OutOfRange(NaiveDateTime),
}

/// Infers the year of classic syslog timestamps, line after line.
///
/// - The first line gets the reference's year, or the year before if that would put the line
///   more than a day after the reference (a log written in December, read in January).
/// - Each later line keeps the current year and month, except that:
///   - a month one below the current one is a straggler (syslog daemons reorder lines by a
///     few seconds around midnight): same year, current month kept; December after January
///     is such a straggler from the previous year;
///   - any other month below the current one (December → January) starts the next year.
/// - A line still more than a day after the reference goes back a year.
///
/// When tailing a live log, refresh the reference with [`set_reference`](Self::set_reference).
#[derive(Debug, Clone)]
pub struct YearInference {
    reference: DateTime<Utc>,
    zone: ClassicZone,
    /// The year and month of the last line placed.
    current: Option<(i32, u32)>,
}

impl YearInference {
    /// `reference`: an instant no earlier than the lines (a file's mtime, or now).
    pub fn new(reference: DateTime<Utc>, zone: ClassicZone) -> Self {
        Self {
            reference,
            zone,
            current: None,
        }
    }

    /// Moves the reference (e.g. to the current time while tailing).
    pub fn set_reference(&mut self, reference: DateTime<Utc>) {
        self.reference = reference;
    }

    /// The zone classic timestamps are read in.
    pub fn zone(&self) -> ClassicZone {
        self.zone
    }

    /// Places `month`/`day` `time` (local, no year) and remembers it for the next line.
    pub fn resolve(
        &mut self,
        month: u32,
        day: u32,
        time: NaiveTime,
    ) -> Result<DateTime<Utc>, YearError> {
        let (mut year, remember) = match self.current {
            None => (self.zone.year_of(self.reference), true),
            Some((year, last)) if month + 1 == last => (year, false),
            Some((year, 1)) if month == 12 => (year - 1, false),
            Some((year, last)) if month < last => (year + 1, true),
            Some((year, _)) => (year, true),
        };
        let mut instant = self.place(year, month, day, time)?;
        let latest = self
            .reference
            .checked_add_signed(FUTURE_SLACK)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        if instant > latest {
            year -= 1;
            instant = self.place(year, month, day, time)?;
        }
        if remember {
            self.current = Some((year, month));
        }
        Ok(instant)
    }

    fn place(
        &self,
        year: i32,
        month: u32,
        day: u32,
        time: NaiveTime,
    ) -> Result<DateTime<Utc>, YearError> {
        let date = NaiveDate::from_ymd_opt(year, month, day).ok_or(YearError::NoSuchDay {
            year,
            month,
            day,
        })?;
        let local = date.and_time(time);
        self.zone.to_utc(local).ok_or(YearError::OutOfRange(local))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn t(h: u32, m: u32, s: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, s).unwrap_or_else(|| panic!("bad time {h}:{m}:{s}"))
    }

    #[test]
    fn replay_across_new_year() {
        // A file last written on 2026-01-02 holding the end of 2025 and the start of 2026.
        let mut years = YearInference::new(utc("2026-01-02T08:00:00Z"), ClassicZone::utc());
        let placed: Vec<_> = [(12, 30), (12, 31), (1, 1), (1, 2)]
            .into_iter()
            .map(|(m, d)| years.resolve(m, d, t(10, 0, 0)).map(|x| x.to_rfc3339()))
            .collect();
        assert_eq!(
            placed,
            [
                Ok("2025-12-30T10:00:00+00:00".to_owned()),
                Ok("2025-12-31T10:00:00+00:00".to_owned()),
                Ok("2026-01-01T10:00:00+00:00".to_owned()),
                Ok("2026-01-02T10:00:00+00:00".to_owned()),
            ]
        );
    }

    #[test]
    fn straggler_from_december_after_january_keeps_the_year() {
        let mut years = YearInference::new(utc("2026-01-05T00:00:00Z"), ClassicZone::utc());
        let a = years.resolve(12, 31, t(23, 59, 59));
        let b = years.resolve(1, 1, t(0, 0, 1));
        let c = years.resolve(12, 31, t(23, 59, 58));
        let d = years.resolve(1, 1, t(0, 0, 2));
        assert_eq!(a.map(|x| x.year()), Ok(2025));
        assert_eq!(b.map(|x| x.year()), Ok(2026));
        assert_eq!(c.map(|x| x.year()), Ok(2025));
        assert_eq!(d.map(|x| x.year()), Ok(2026));
    }

    #[test]
    fn future_line_belongs_to_previous_year() {
        // Reference in March: a November line cannot be from this year's November.
        let mut years = YearInference::new(utc("2026-03-01T00:00:00Z"), ClassicZone::utc());
        assert_eq!(
            years.resolve(11, 23, t(10, 0, 0)).map(|x| x.year()),
            Ok(2025)
        );
        // Within the day of slack it stays in the reference's year.
        let mut years = YearInference::new(utc("2026-03-01T00:00:00Z"), ClassicZone::utc());
        assert_eq!(years.resolve(3, 1, t(12, 0, 0)).map(|x| x.year()), Ok(2026));
    }

    #[test]
    fn live_tail_across_new_year_with_refreshed_reference() {
        let mut years = YearInference::new(utc("2025-12-31T23:59:00Z"), ClassicZone::utc());
        assert_eq!(
            years.resolve(12, 31, t(23, 59, 30)).map(|x| x.year()),
            Ok(2025)
        );
        years.set_reference(utc("2026-01-01T00:00:05Z"));
        assert_eq!(years.resolve(1, 1, t(0, 0, 2)).map(|x| x.year()), Ok(2026));
    }

    #[test]
    fn leap_day_outside_a_leap_year_is_an_error() {
        let mut years = YearInference::new(utc("2026-06-01T00:00:00Z"), ClassicZone::utc());
        assert_eq!(
            years.resolve(2, 29, t(0, 0, 0)),
            Err(YearError::NoSuchDay {
                year: 2026,
                month: 2,
                day: 29
            })
        );
        let mut years = YearInference::new(utc("2028-06-01T00:00:00Z"), ClassicZone::utc());
        assert!(years.resolve(2, 29, t(0, 0, 0)).is_ok());
    }

    #[test]
    fn month_boundary_straggler_and_forward_jumps() {
        let mut years = YearInference::new(utc("2027-04-01T00:00:00Z"), ClassicZone::utc());
        let year = |y: &mut YearInference, m, d| y.resolve(m, d, t(0, 0, 0)).map(|x| x.year());
        // July 2027 would be after the reference: 2026.
        assert_eq!(year(&mut years, 7, 1), Ok(2026));
        // One month back: a straggler from the end of June, same year.
        assert_eq!(year(&mut years, 6, 30), Ok(2026));
        // Forward by months stays in the year; going back by more than one starts the next.
        assert_eq!(year(&mut years, 9, 1), Ok(2026));
        assert_eq!(year(&mut years, 3, 1), Ok(2027));
    }

    #[test]
    fn extreme_references_do_not_panic() {
        for reference in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
            let mut years = YearInference::new(reference, ClassicZone::utc());
            for (m, d) in [(1, 1), (12, 31), (6, 15), (1, 1)] {
                let _ = years.resolve(m, d, t(23, 59, 59));
            }
        }
    }

    #[test]
    fn fixed_zone_is_applied_and_year_follows_local_date() {
        let plus_one = FixedOffset::east_opt(3600).map(ClassicZone::Fixed);
        let zone = plus_one.unwrap_or_else(ClassicZone::utc);
        // 2026-01-01T00:30 local (+01:00) is still 2025 in UTC; the reference's local year is
        // 2026, so January lines land in 2026.
        let mut years = YearInference::new(utc("2025-12-31T23:45:00Z"), zone);
        assert_eq!(
            years.resolve(1, 1, t(0, 30, 0)).map(|x| x.to_rfc3339()),
            Ok("2025-12-31T23:30:00+00:00".to_owned())
        );
    }
}
