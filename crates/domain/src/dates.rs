//! Dates as users write them (dd/mm/yyyy) and as stored (ISO yyyy-mm-dd, which sorts as text).
//! Instants are stored as UTC seconds and shown in Asia/Ho_Chi_Minh.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Asia::Ho_Chi_Minh;

/// Parse a date typed by a user: dd/mm/yyyy (also d/m/yyyy) or ISO yyyy-mm-dd.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    NaiveDate::parse_from_str(s, "%d/%m/%Y")
        .or_else(|_| NaiveDate::parse_from_str(s, "%Y-%m-%d"))
        .ok()
        .filter(|d| (1900..=2200).contains(&chrono::Datelike::year(d)))
}

/// The earliest birth year taken as plausible for a teacher or manager on the roster.
pub const BIRTH_EARLIEST_YEAR: i32 = 1940;
/// The youngest age taken as plausible for a teacher or manager on the roster.
pub const MIN_AGE_YEARS: u32 = 18;

/// A birth date cell: empty (`None`), a plausible date, or the code of what is wrong with it:
/// `invalid_date`, `year_only` (a bare year such as "1990", never read as an Excel serial
/// day), `birth_in_future`, or `birth_implausible` (before [`BIRTH_EARLIEST_YEAR`] or younger
/// than [`MIN_AGE_YEARS`]: an Excel serial number such as 45000 gives such a date).
pub fn parse_birth_date(s: &str, today: NaiveDate) -> Result<Option<NaiveDate>, &'static str> {
    use chrono::Datelike;
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s.len() == 4
        && s.bytes().all(|b| b.is_ascii_digit())
        && (1900..=today.year()).contains(&s.parse::<i32>().unwrap_or(0))
    {
        return Err("year_only");
    }
    let d = parse_flexible_date(s, today).ok_or("invalid_date")?;
    if d >= today {
        return Err("birth_in_future");
    }
    let earliest = NaiveDate::from_ymd_opt(BIRTH_EARLIEST_YEAR, 1, 1).expect("a date");
    let latest = today.checked_sub_months(chrono::Months::new(12 * MIN_AGE_YEARS)).unwrap_or(today);
    if d < earliest || d > latest {
        return Err("birth_implausible");
    }
    Ok(Some(d))
}

/// Dates as people write them: dd/mm/yyyy, d/m/yy, dd-mm-yyyy, dd.mm.yyyy, ISO (with or without
/// a time: "1990-03-05 00:00:00", "1990-03-05T00:00:00"), or an Excel serial number. Two-digit
/// years are read as the most recent past year. The one parser of the dates people type about a
/// person (the roster import, person forms, Mẫu số 4); whether a birth date is plausible is
/// [`parse_birth_date`]'s.
pub fn parse_flexible_date(s: &str, today: NaiveDate) -> Option<NaiveDate> {
    use chrono::Datelike;
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    // A time of day after the date ("12/03/1990 00:00:00", "1990-03-05T00:00:00.000Z").
    let s = match s.split_once([' ', 'T']) {
        Some((date, time))
            if !time.is_empty()
                && time.contains(':')
                && time.trim().chars().all(|c| c.is_ascii_digit() || matches!(c, ':' | '.' | 'Z' | '+' | '-')) =>
        {
            date
        }
        _ => s,
    };
    if s.chars().all(|c| c.is_ascii_digit()) && s.len() <= 5 {
        let n: i64 = s.parse().ok()?;
        if (1..=80_000).contains(&n) {
            // Excel's 1900 date system (with its phantom 29/02/1900): day 1 = 1900-01-01.
            let base = NaiveDate::from_ymd_opt(1899, 12, 30)?;
            return base.checked_add_signed(chrono::Duration::days(n));
        }
        return None;
    }
    // ISO needs its '-' (most cells are dd/mm/yyyy: no need to try).
    if s.contains('-')
        && let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d")
    {
        return Some(d);
    }
    let mut parts = s.split(['/', '-', '.']);
    let (Some(day), Some(month), Some(year), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    let d: u32 = day.parse().ok()?;
    let m: u32 = month.parse().ok()?;
    let y: i32 = match year.len() {
        4 => year.parse().ok()?,
        2 => {
            let yy: i32 = year.parse().ok()?;
            let century = today.year() / 100 * 100;
            if century + yy > today.year() { century - 100 + yy } else { century + yy }
        }
        _ => return None,
    };
    NaiveDate::from_ymd_opt(y, m, d).filter(|d| d.year() >= 1900)
}

/// yyyy-mm-dd. Written digit by digit: a national import formats a million birth dates, and
/// chrono's general formatter parses its pattern every time.
pub fn iso(d: NaiveDate) -> String {
    use chrono::Datelike;
    let (y, m, day) = (d.year(), d.month(), d.day());
    if !(0..=9999).contains(&y) {
        return d.format("%Y-%m-%d").to_string();
    }
    let digit = |n: u32| char::from(b'0' + n as u8);
    let y = y as u32;
    [digit(y / 1000), digit(y / 100 % 10), digit(y / 10 % 10), digit(y % 10), '-']
        .into_iter()
        .chain([digit(m / 10), digit(m % 10), '-', digit(day / 10), digit(day % 10)])
        .collect()
}

/// ISO text from the database → dd/mm/yyyy for display; passes through what it cannot parse.
pub fn show(iso_date: &str) -> String {
    match NaiveDate::parse_from_str(iso_date, "%Y-%m-%d") {
        Ok(d) => d.format("%d/%m/%Y").to_string(),
        Err(_) => iso_date.to_string(),
    }
}

/// Today's date in Vietnam.
pub fn today() -> NaiveDate {
    Utc::now().with_timezone(&Ho_Chi_Minh).date_naive()
}

/// Unix seconds → "dd/mm/yyyy HH:MM" in Asia/Ho_Chi_Minh.
pub fn show_instant(unix: i64) -> String {
    match DateTime::<Utc>::from_timestamp(unix, 0) {
        Some(t) => t.with_timezone(&Ho_Chi_Minh).format("%d/%m/%Y %H:%M").to_string(),
        None => String::new(),
    }
}

pub fn now_unix() -> i64 {
    Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    #[test]
    fn iso_is_chrono_s_format() {
        let mut d = NaiveDate::from_ymd_opt(-3, 1, 1).unwrap();
        let end = NaiveDate::from_ymd_opt(2300, 1, 1).unwrap();
        while d < end {
            assert_eq!(super::iso(d), d.format("%Y-%m-%d").to_string());
            d = d + chrono::Days::new(13);
        }
        for d in [NaiveDate::from_ymd_opt(9999, 12, 31).unwrap(), NaiveDate::from_ymd_opt(10000, 1, 1).unwrap()] {
            assert_eq!(super::iso(d), d.format("%Y-%m-%d").to_string());
        }
    }

    use super::*;

    #[test]
    fn parses_vietnamese_and_iso() {
        let d = NaiveDate::from_ymd_opt(2020, 12, 24).unwrap();
        assert_eq!(parse_date("24/12/2020"), Some(d));
        assert_eq!(parse_date("2020-12-24"), Some(d));
        assert_eq!(parse_date("31/02/2020"), None);
        assert_eq!(parse_date("hôm qua"), None);
        assert_eq!(show("2021-01-08"), "08/01/2021");
    }

    #[test]
    fn instants_in_vietnam_time() {
        // 2020-12-23T17:00:00Z is midnight on 24/12/2020 in Hanoi (UTC+7).
        assert_eq!(show_instant(1608742800), "24/12/2020 00:00");
    }
}
