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
