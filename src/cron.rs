//! Cron expressions as Cloudflare's Cron Triggers accept them, and their next
//! fire times.
//!
//! The grammar follows production's parser, Cloudflare's `saffron` crate.
//! An expression has five fields separated by spaces: minute, hour, day of
//! month, month and day of week. Every field takes `*`, lists, ranges and
//! steps, and the names `JAN`-`DEC` and `SUN`-`SAT` in any case. The day of
//! month also takes `L`, `LW`, `L-<n>`, `L-<n>W` and `<n>W`, and the day of
//! week takes `L`, `<day>L` and `<day>#<n>`. Days of the week
//! run from 1 (Sunday) to 7 (Saturday), unlike Unix cron's 0-6. When both day
//! fields are restricted, a day matches if either matches. All times are UTC.

use crate::errors::ErrorCode;
use crate::scheduler::{self, ItemKind};
use napi_derive::napi;
use std::fmt::{self, Display};
use std::sync::atomic::{AtomicU64, Ordering};

/// Milliseconds in one minute, the resolution of a cron schedule.
const MINUTE_MS: i64 = 60_000;

/// Milliseconds in one day.
const DAY_MS: i64 = 86_400_000;

/// How many days ahead `next_after` searches. A schedule such as `0 0 29 2 *`
/// fires once in up to eight years (1900-style century gaps included), so
/// nine years covers every satisfiable expression.
const SEARCH_DAYS: i64 = 9 * 366;

const MONTH_NAMES: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// An expression that is not a valid Cron Trigger, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronError {
    pub expression: String,
    pub reason: String,
}

impl Display for CronError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid cron expression {:?}: {}",
            self.expression, self.reason
        )
    }
}

impl ErrorCode for CronError {
    fn code(&self) -> &'static str {
        "CRON_INVALID"
    }
}

/// The day-of-month field.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DaysOfMonth {
    All,
    /// Bit `d` set for each day `d` (1-31).
    Set(u32),
    /// `L` (offset 0) or `L-<offset>`, optionally with `W`: the weekday nearest that day.
    Last {
        offset: u32,
        weekday: bool,
    },
    /// `<day>W`: the weekday nearest `day` within the same month.
    NearestWeekday(u32),
}

/// The day-of-week field, with days counted from Sunday = 0 internally.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DaysOfWeek {
    All,
    /// Bit `d` set for each weekday `d` (0 = Sunday).
    Set(u8),
    /// `<day>L`: the last such weekday of the month.
    Last(u32),
    /// `<day>#<n>`: the n-th such weekday of the month.
    Nth(u32, u32),
}

/// A parsed cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u32,
    days_of_month: DaysOfMonth,
    /// Bit `m` set for each month `m` (1-12).
    months: u16,
    days_of_week: DaysOfWeek,
}

/// The bounds and names of one numeric field.
struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MINUTE: Field = Field {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: Field = Field {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
};
const DAY_OF_MONTH: Field = Field {
    name: "day of month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: Field = Field {
    name: "month",
    min: 1,
    max: 12,
    names: &MONTH_NAMES,
};
const DAY_OF_WEEK: Field = Field {
    name: "day of week",
    min: 1,
    max: 7,
    names: &DAY_NAMES,
};

impl Field {
    /// Parses one value: a number in range, or a three-letter name in any case.
    fn value(&self, text: &str) -> Result<u32, String> {
        if let Some(index) = self
            .names
            .iter()
            .position(|name| name.eq_ignore_ascii_case(text))
        {
            return Ok(index as u32 + self.min);
        }
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "{} value {:?} is not a number{}",
                self.name,
                text,
                self.name_hint()
            ));
        }
        let value: u32 = text
            .parse()
            .map_err(|_| format!("{} value {text} is out of range", self.name))?;
        if value < self.min || value > self.max {
            let extra = if self.name == "day of week" && value == 0 {
                " (days of the week run from 1 = Sunday to 7 = Saturday)"
            } else {
                ""
            };
            return Err(format!(
                "{} value {value} is outside {}-{}{extra}",
                self.name, self.min, self.max
            ));
        }
        Ok(value)
    }

    fn name_hint(&self) -> String {
        match self.names.first() {
            Some(first) => format!(" or a name such as {first}"),
            None => String::new(),
        }
    }

    /// Parses a comma-separated list of values, ranges and steps into a bit set.
    fn list(&self, text: &str) -> Result<u64, String> {
        let mut bits = 0u64;
        for part in text.split(',') {
            bits |= self.part(part)?;
        }
        Ok(bits)
    }

    /// Parses `*`, `*/s`, `v`, `v/s`, `a-b` or `a-b/s`.
    fn part(&self, text: &str) -> Result<u64, String> {
        let (range, step) = match text.split_once('/') {
            Some((range, step)) => (range, Some(step)),
            None => (text, None),
        };

        let (start, end) = if range == "*" {
            (self.min, self.max)
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (self.value(a)?, self.value(b)?);
            if a > b {
                return Err(format!("{} range {range} starts after it ends", self.name));
            }
            (a, b)
        } else {
            let value = self.value(range)?;
            // `v/s` runs from v to the field's maximum, as in production.
            (value, if step.is_some() { self.max } else { value })
        };

        let step = match step {
            None => 1,
            Some(step) => {
                let max_step = self.max - self.min;
                match step.parse::<u32>() {
                    Ok(s)
                        if s >= 1 && s <= max_step && step.bytes().all(|b| b.is_ascii_digit()) =>
                    {
                        s
                    }
                    _ => {
                        return Err(format!(
                            "{} step {step:?} must be a number from 1 to {max_step}",
                            self.name
                        ))
                    }
                }
            }
        };

        let mut bits = 0u64;
        let mut value = start;
        while value <= end {
            bits |= 1 << value;
            value += step;
        }
        Ok(bits)
    }
}

/// Parses a Cron Trigger expression.
pub fn parse(expression: &str) -> Result<Cron, CronError> {
    parse_fields(expression).map_err(|reason| CronError {
        expression: expression.to_string(),
        reason,
    })
}

fn parse_fields(expression: &str) -> Result<Cron, String> {
    if expression.starts_with(char::is_whitespace) || expression.ends_with(char::is_whitespace) {
        return Err("leading or trailing whitespace".into());
    }
    let fields: Vec<&str> = expression
        .split([' ', '\t'])
        .filter(|f| !f.is_empty())
        .collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected 5 fields (minute hour day-of-month month day-of-week), found {}",
            fields.len()
        ));
    }

    Ok(Cron {
        minutes: MINUTE.list(fields[0])?,
        hours: HOUR.list(fields[1])? as u32,
        days_of_month: days_of_month(fields[2])?,
        months: MONTH.list(fields[3])? as u16,
        days_of_week: days_of_week(fields[4])?,
    })
}

fn days_of_month(text: &str) -> Result<DaysOfMonth, String> {
    if text == "*" {
        return Ok(DaysOfMonth::All);
    }
    if let Some(rest) = text.strip_prefix('L') {
        return match rest {
            "" => Ok(DaysOfMonth::Last {
                offset: 0,
                weekday: false,
            }),
            "W" => Ok(DaysOfMonth::Last {
                offset: 0,
                weekday: true,
            }),
            _ => {
                let offset_text = rest.strip_prefix('-').ok_or_else(|| {
                    format!("day of month {text:?} is not L, LW, L-<n> or L-<n>W")
                })?;
                let (digits, weekday) = match offset_text.strip_suffix('W') {
                    Some(digits) => (digits, true),
                    None => (offset_text, false),
                };
                match digits.parse::<u32>() {
                    Ok(offset)
                        if (1..=30).contains(&offset)
                            && digits.bytes().all(|b| b.is_ascii_digit()) =>
                    {
                        Ok(DaysOfMonth::Last { offset, weekday })
                    }
                    _ => Err(format!(
                        "day of month offset in {text:?} must be a number from 1 to 30"
                    )),
                }
            }
        };
    }
    if let Some(day) = text.strip_suffix('W') {
        return Ok(DaysOfMonth::NearestWeekday(DAY_OF_MONTH.value(day)?));
    }
    Ok(DaysOfMonth::Set(DAY_OF_MONTH.list(text)? as u32))
}

fn days_of_week(text: &str) -> Result<DaysOfWeek, String> {
    if text == "*" {
        return Ok(DaysOfWeek::All);
    }
    // A lone `L` is the last day of the week, Saturday.
    if text == "L" {
        return Ok(DaysOfWeek::Set(1 << 6));
    }
    if let Some(day) = text.strip_suffix('L') {
        return Ok(DaysOfWeek::Last(DAY_OF_WEEK.value(day)? - 1));
    }
    if let Some((day, nth)) = text.split_once('#') {
        let day = DAY_OF_WEEK.value(day)? - 1;
        return match nth.parse::<u32>() {
            Ok(n) if (1..=5).contains(&n) && nth.bytes().all(|b| b.is_ascii_digit()) => {
                Ok(DaysOfWeek::Nth(day, n))
            }
            _ => Err(format!(
                "day of week occurrence in {text:?} must be a number from 1 to 5"
            )),
        };
    }
    // Stored with Sunday = bit 0, so shift production's 1-7 down by one.
    Ok(DaysOfWeek::Set((DAY_OF_WEEK.list(text)? >> 1) as u8))
}

/// A UTC calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Date {
    year: i64,
    month: u32,
    day: u32,
}

/// Converts days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn date_from_days(days: i64) -> Date {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Date { year, month, day }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Returns the weekday (0 = Sunday) of `day` in the month whose first day falls on `first_weekday`.
fn weekday_of(first_weekday: u32, day: u32) -> u32 {
    (first_weekday + day - 1) % 7
}

/// Returns the weekday nearest `day` without leaving the month, as `W` defines it.
fn nearest_weekday(first_weekday: u32, day: u32, month_days: u32) -> u32 {
    match weekday_of(first_weekday, day) {
        6 if day == 1 => 3,
        6 => day - 1,
        0 if day == month_days => day - 2,
        0 => day + 1,
        _ => day,
    }
}

impl Cron {
    fn day_of_month_matches(&self, date: Date, first_weekday: u32) -> bool {
        let month_days = days_in_month(date.year, date.month);
        match self.days_of_month {
            DaysOfMonth::All => true,
            DaysOfMonth::Set(bits) => bits & (1 << date.day) != 0,
            DaysOfMonth::Last { offset, weekday } => {
                if offset >= month_days {
                    return false;
                }
                let target = month_days - offset;
                let target = if weekday {
                    nearest_weekday(first_weekday, target, month_days)
                } else {
                    target
                };
                date.day == target
            }
            DaysOfMonth::NearestWeekday(day) => {
                day <= month_days && date.day == nearest_weekday(first_weekday, day, month_days)
            }
        }
    }

    fn day_of_week_matches(&self, date: Date, first_weekday: u32) -> bool {
        let weekday = weekday_of(first_weekday, date.day);
        match self.days_of_week {
            DaysOfWeek::All => true,
            DaysOfWeek::Set(bits) => bits & (1 << weekday) != 0,
            DaysOfWeek::Last(target) => {
                weekday == target && date.day + 7 > days_in_month(date.year, date.month)
            }
            DaysOfWeek::Nth(target, n) => weekday == target && (date.day - 1) / 7 + 1 == n,
        }
    }

    fn day_matches(&self, days: i64) -> bool {
        let date = date_from_days(days);
        if self.months & (1 << date.month) == 0 {
            return false;
        }
        // 1970-01-01 was a Thursday (weekday 4).
        let first_weekday = (days - i64::from(date.day) + 1 + 4).rem_euclid(7) as u32;
        let dom = self.day_of_month_matches(date, first_weekday);
        let dow = self.day_of_week_matches(date, first_weekday);
        match (&self.days_of_month, &self.days_of_week) {
            (DaysOfMonth::All, DaysOfWeek::All) => true,
            (DaysOfMonth::All, _) => dow,
            (_, DaysOfWeek::All) => dom,
            _ => dom || dow,
        }
    }

    /// Returns the first fire time strictly after `after_ms` (milliseconds
    /// since the epoch, UTC), or `None` when no date in the next nine years matches.
    pub fn next_after(&self, after_ms: i64) -> Option<i64> {
        let start_minute = after_ms.div_euclid(MINUTE_MS) + 1;
        let first_day = (start_minute * MINUTE_MS).div_euclid(DAY_MS);
        let mut first_minute_of_day = (start_minute * MINUTE_MS - first_day * DAY_MS) / MINUTE_MS;

        for day in first_day..first_day + SEARCH_DAYS {
            if self.day_matches(day) {
                for minute_of_day in first_minute_of_day..1440 {
                    let (hour, minute) = (minute_of_day / 60, minute_of_day % 60);
                    if self.hours & (1 << hour) != 0 && self.minutes & (1 << minute) != 0 {
                        return Some(day * DAY_MS + minute_of_day * MINUTE_MS);
                    }
                }
            }
            first_minute_of_day = 0;
        }
        None
    }
}

/// Returns why production would reject a cron expression, or null when it is valid.
#[napi]
pub fn validate_cron(expression: String) -> Option<String> {
    parse(&expression).err().map(|error| error.reason)
}

/// Returns the next fire time of `expression` strictly after `after_ms`, or null if it never fires.
#[napi]
pub fn next_cron_time(expression: String, after_ms: f64) -> napi::Result<Option<f64>> {
    let cron = parse(&expression).map_err(crate::errors::to_napi)?;
    Ok(cron.next_after(after_ms as i64).map(|t| t as f64))
}

/// Distinguishes the triggers of Workers started in the same process.
static NEXT_OWNER: AtomicU64 = AtomicU64::new(1);

/// One Worker's `triggers.crons`, each scheduled on the native scheduler as
/// an item of kind `cron` with the key `<owner>:<index>`.
#[napi]
pub struct CronTriggers {
    owner: u64,
    crons: Vec<Cron>,
    expressions: Vec<String>,
}

#[napi]
impl CronTriggers {
    /// Parses every expression; the first invalid one throws `CRON_INVALID`.
    #[napi(constructor)]
    pub fn new(expressions: Vec<String>) -> napi::Result<CronTriggers> {
        let crons = expressions
            .iter()
            .map(|e| parse(e))
            .collect::<Result<Vec<_>, _>>()
            .map_err(crate::errors::to_napi)?;
        Ok(CronTriggers {
            owner: NEXT_OWNER.fetch_add(1, Ordering::Relaxed),
            crons,
            expressions,
        })
    }

    /// Returns the scheduler key prefix of these triggers (`<owner>:`).
    #[napi(getter)]
    pub fn owner(&self) -> String {
        format!("{}:", self.owner)
    }

    /// Schedules the next fire time of every expression after the clock's now.
    #[napi]
    pub fn start(&self) {
        let now = crate::clock::now_ms();
        for index in 0..self.crons.len() {
            self.schedule_after(index, now);
        }
    }

    /// Schedules the next fire of the expression at `index` after both
    /// `due_ms` and now, and returns the expression for `scheduled()`. Fires
    /// missed while the clock jumped or the process slept are skipped, as
    /// production skips them.
    #[napi]
    pub fn fired(&self, index: u32, due_ms: f64) -> Option<String> {
        let index = index as usize;
        if index >= self.crons.len() {
            return None;
        }
        self.schedule_after(index, (due_ms as i64).max(crate::clock::now_ms()));
        Some(self.expressions[index].clone())
    }

    /// Removes every pending fire of these triggers from the scheduler.
    #[napi]
    pub fn stop(&self) {
        for index in 0..self.crons.len() {
            scheduler::cancel(ItemKind::Cron, &format!("{}:{index}", self.owner));
        }
    }

    fn schedule_after(&self, index: usize, after_ms: i64) {
        if let Some(next) = self.crons[index].next_after(after_ms) {
            scheduler::schedule(ItemKind::Cron, format!("{}:{index}", self.owner), next);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Milliseconds since the epoch for a UTC date and time.
    fn utc(year: i64, month: u32, day: u32, hour: i64, minute: i64) -> i64 {
        let mut days = 0i64;
        for y in 1970..year {
            days += if is_leap(y) { 366 } else { 365 };
        }
        for m in 1..month {
            days += i64::from(days_in_month(year, m));
        }
        days += i64::from(day) - 1;
        days * DAY_MS + hour * 3_600_000 + minute * MINUTE_MS
    }

    fn next(expression: &str, after: i64) -> i64 {
        parse(expression).unwrap().next_after(after).unwrap()
    }

    #[test]
    fn date_conversion_round_trips() {
        for days in [0, 59, 365, 10_957, 19_782, 20_000] {
            let date = date_from_days(days);
            assert_eq!(
                utc(date.year, date.month, date.day, 0, 0) / DAY_MS,
                days,
                "{days}"
            );
        }
    }

    // The expressions in Cloudflare's Cron Triggers documentation, with the
    // times they describe. 2026-03-04 is a Wednesday.
    #[test]
    fn documented_examples_fire_when_described() {
        let start = utc(2026, 3, 4, 10, 7);
        let table: &[(&str, i64)] = &[
            ("* * * * *", utc(2026, 3, 4, 10, 8)),
            ("*/30 * * * *", utc(2026, 3, 4, 10, 30)),
            ("45 * * * *", utc(2026, 3, 4, 10, 45)),
            ("0 17 * * sun", utc(2026, 3, 8, 17, 0)),
            ("0 17 * * 1", utc(2026, 3, 8, 17, 0)),
            ("10 7 * * mon-fri", utc(2026, 3, 5, 7, 10)),
            ("10 7 * * 2-6", utc(2026, 3, 5, 7, 10)),
            ("0 15 1 * *", utc(2026, 4, 1, 15, 0)),
            ("0 18 * * 6L", utc(2026, 3, 27, 18, 0)),
            ("0 18 * * friL", utc(2026, 3, 27, 18, 0)),
            ("59 23 LW * *", utc(2026, 3, 31, 23, 59)),
            ("*/3 * * * *", utc(2026, 3, 4, 10, 9)),
            ("0 15 1 * *", utc(2026, 4, 1, 15, 0)),
        ];
        for (expression, expected) in table {
            assert_eq!(next(expression, start), *expected, "{expression}");
        }
    }

    #[test]
    fn special_days_of_month() {
        let start = utc(2026, 1, 1, 0, 0);
        // 2026-01-31 is a Saturday, so the last weekday is Friday the 30th.
        assert_eq!(next("0 0 LW 1 *", start), utc(2026, 1, 30, 0, 0));
        assert_eq!(next("0 0 L 2 *", start), utc(2026, 2, 28, 0, 0));
        assert_eq!(next("0 0 L-2 2 *", start), utc(2026, 2, 26, 0, 0));
        // 2026-02-01 is a Sunday: 1W moves forward to Monday the 2nd.
        assert_eq!(next("0 0 1W 2 *", start), utc(2026, 2, 2, 0, 0));
        // 2026-02-14 is a Saturday: 14W moves back to Friday the 13th.
        assert_eq!(next("0 0 14W 2 *", start), utc(2026, 2, 13, 0, 0));
        assert_eq!(next("0 0 29 2 *", start), utc(2028, 2, 29, 0, 0));
        assert_eq!(
            next("0 0 31 * *", utc(2026, 4, 1, 0, 0)),
            utc(2026, 5, 31, 0, 0)
        );
    }

    #[test]
    fn special_days_of_week() {
        let start = utc(2026, 3, 1, 0, 0);
        // The second Monday of March 2026 is the 9th.
        assert_eq!(next("0 9 * * MON#2", start), utc(2026, 3, 9, 9, 0));
        assert_eq!(next("0 9 * * 2#5", start), utc(2026, 3, 30, 9, 0));
        // A lone L is Saturday; 2026-03-07 is the first one.
        assert_eq!(next("0 0 * * L", start), utc(2026, 3, 7, 0, 0));
        assert_eq!(next("0 0 * * 7", start), utc(2026, 3, 7, 0, 0));
        assert_eq!(
            next("0 0 * * SUN,sat", utc(2026, 3, 2, 0, 0)),
            utc(2026, 3, 7, 0, 0)
        );
    }

    #[test]
    fn both_day_fields_match_either() {
        // The 15th or any Monday: Monday 2026-03-09 comes first.
        assert_eq!(
            next("0 0 15 * MON", utc(2026, 3, 4, 0, 0)),
            utc(2026, 3, 9, 0, 0)
        );
    }

    #[test]
    fn steps_ranges_and_names() {
        let start = utc(2026, 3, 4, 10, 7);
        assert_eq!(next("5/20 * * * *", start), utc(2026, 3, 4, 10, 25));
        assert_eq!(next("0 1-5/2 * * *", start), utc(2026, 3, 5, 1, 0));
        assert_eq!(next("0 0 1 jun-aug *", start), utc(2026, 6, 1, 0, 0));
        assert_eq!(next("0 0 1 */4 *", start), utc(2026, 5, 1, 0, 0));
        assert_eq!(next("0,30 10 * * *", start), utc(2026, 3, 4, 10, 30));
    }

    #[test]
    fn next_is_strictly_after() {
        let at = utc(2026, 3, 4, 10, 30);
        assert_eq!(next("30 10 * * *", at), utc(2026, 3, 5, 10, 30));
        assert_eq!(next("30 10 * * *", at - 1), at);
    }

    #[test]
    fn invalid_expressions_name_the_reason() {
        let cases: &[(&str, &str)] = &[
            ("* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), found 4"),
            ("* * * * * *", "expected 5 fields (minute hour day-of-month month day-of-week), found 6"),
            ("60 * * * *", "minute value 60 is outside 0-59"),
            ("* 24 * * *", "hour value 24 is outside 0-23"),
            ("* * 0 * *", "day of month value 0 is outside 1-31"),
            ("* * * 13 *", "month value 13 is outside 1-12"),
            ("* * * * 0", "day of week value 0 is outside 1-7 (days of the week run from 1 = Sunday to 7 = Saturday)"),
            ("* * * * funday", "day of week value \"funday\" is not a number or a name such as SUN"),
            ("*/0 * * * *", "minute step \"0\" must be a number from 1 to 59"),
            ("10-5 * * * *", "minute range 10-5 starts after it ends"),
            ("* * L-31 * *", "day of month offset in \"L-31\" must be a number from 1 to 30"),
            ("* * * * MON#6", "day of week occurrence in \"MON#6\" must be a number from 1 to 5"),
            (" * * * * *", "leading or trailing whitespace"),
        ];
        for (expression, reason) in cases {
            let error = parse(expression).expect_err(expression);
            assert_eq!(error.reason, *reason, "{expression}");
        }
    }
}
