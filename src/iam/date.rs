//! Dates of the `Date…` condition operators, as milliseconds since the Unix epoch (UTC).
//!
//! Accepted, as IAM accepts them: epoch seconds (`1700000000`, `1700000000.250`, also as a JSON
//! number), and the ISO 8601 / W3C forms `YYYY-MM-DD`, `YYYY-MM-DDThh:mm`,
//! `YYYY-MM-DDThh:mm:ss` and `YYYY-MM-DDThh:mm:ss.fff`, each time followed by `Z`, `±hh:mm` or
//! nothing (UTC). A bare year (`2024`) reads as epoch seconds, not as a year. Fractions finer
//! than a millisecond are dropped. Written here (a page of arithmetic) rather than pulling a
//! date crate into a crate that otherwise needs none.

/// Parses a date; `None` when it is none of the accepted forms or out of range.
pub fn parse(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.starts_with(|c: char| c.is_ascii_digit() || c == '-')
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
        && !text[1..].contains('-')
    {
        return epoch(text);
    }
    iso(text)
}

/// `seconds[.fraction]` since the epoch.
fn epoch(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() || (digits.contains('.') && fraction.is_empty()) {
        return None;
    }
    let millis = whole
        .parse::<i64>()
        .ok()?
        .checked_mul(1000)?
        .checked_add(fraction_millis(fraction)?)?;
    Some(if negative { -millis } else { millis })
}

/// The milliseconds of a decimal fraction's digits (`"25"` → 250).
fn fraction_millis(fraction: &str) -> Option<i64> {
    if !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut ms = 0;
    for (i, c) in fraction.chars().take(3).enumerate() {
        ms += i64::from(c.to_digit(10)?) * [100, 10, 1][i];
    }
    Some(ms)
}

/// `YYYY-MM-DD[Thh:mm[:ss[.fff]][Z|±hh:mm]]`.
fn iso(text: &str) -> Option<i64> {
    let (date, time) = match text.split_once(['T', 't']) {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let days = civil_days(date)?;
    let time_ms = match time {
        Some(t) => time_of_day(t)?,
        None => 0,
    };
    days.checked_mul(86_400_000)?.checked_add(time_ms)
}

/// Days since 1970-01-01 of `YYYY-MM-DD`.
fn civil_days(date: &str) -> Option<i64> {
    let mut parts = date.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d) = (number(y)?, number(m)?, number(d)?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// Milliseconds of `hh:mm[:ss[.fff]]` followed by an optional zone, shifted to UTC.
fn time_of_day(t: &str) -> Option<i64> {
    let (clock, offset_minutes) = split_zone(t)?;
    let mut parts = clock.split(':');
    let (h, m) = (parts.next()?, parts.next()?);
    let s = parts.next();
    if parts.next().is_some() || h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m) = (number(h)?, number(m)?);
    let (sec, frac) = match s {
        Some(s) => {
            let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
            if whole.len() != 2 || (s.contains('.') && frac.is_empty()) {
                return None;
            }
            (number(whole)?, fraction_millis(frac)?)
        }
        None => (0, 0),
    };
    if h > 23 || m > 59 || sec > 60 {
        return None;
    }
    Some(((h * 60 + m - offset_minutes) * 60 + sec) * 1000 + frac)
}

/// Splits `clock` from its zone (`Z`, `±hh:mm`, `±hhmm` or none); the zone as minutes east.
fn split_zone(t: &str) -> Option<(&str, i64)> {
    if let Some(clock) = t.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    let Some(at) = t.rfind(['+', '-']) else {
        return Some((t, 0));
    };
    let (clock, zone) = t.split_at(at);
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || zone[1..].len() > 5 {
        return None;
    }
    let (h, m) = (number(&digits[..2])?, number(&digits[2..])?);
    if h > 23 || m > 59 {
        return None;
    }
    Some((clock, sign * (h * 60 + m)))
}

fn number(digits: &str) -> Option<i64> {
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar: count whole 400-year
/// eras (146,097 days each) from 0000-03-01, then the day of the era, with the year starting in
/// March so that February's leap day falls last.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (m + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + d - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// `2026-12-07T06:27:22Z`: unix seconds as RFC 3339 (UTC), as S3, STS and the admin API
/// write times.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day): Howard Hinnant's civil-from-days.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_writes_what_parse_reads() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_624_842), "2026-12-07T06:27:22Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        for secs in [0u64, 951_782_400, 1_796_624_842, 4_102_444_799] {
            assert_eq!(parse(&rfc3339(secs)), Some(secs as i64 * 1000));
        }
    }

    #[test]
    fn dates_parse_to_epoch_milliseconds() {
        let cases: &[(&str, Option<i64>)] = &[
            ("1970-01-01", Some(0)),
            ("1970-01-01T00:00:00Z", Some(0)),
            ("0", Some(0)),
            ("1700000000", Some(1_700_000_000_000)),
            ("1700000000.25", Some(1_700_000_000_250)),
            ("-86400", Some(-86_400_000)),
            ("2023-11-14T22:13:20Z", Some(1_700_000_000_000)),
            ("2023-11-14T22:13:20.5Z", Some(1_700_000_000_500)),
            ("2023-11-14T22:13:20.123456Z", Some(1_700_000_000_123)),
            ("2023-11-14T22:13:20", Some(1_700_000_000_000)),
            ("2023-11-14T23:13:20+01:00", Some(1_700_000_000_000)),
            ("2023-11-14T21:13:20-0100", Some(1_700_000_000_000)),
            ("2023-11-14T22:13Z", Some(1_699_999_980_000)),
            ("2000-02-29", Some(951_782_400_000)),
            ("1969-12-31", Some(-86_400_000)),
            ("2024-03-01", Some(1_709_251_200_000)),
            ("2023-02-29", None),
            ("2023-13-01", None),
            ("2023-1-01", None),
            ("2023-11-14T24:00:00Z", None),
            ("2023-11-14T22:13:20+25:00", None),
            ("yesterday", None),
            ("", None),
            ("1700000000.", None),
            ("17-00", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), *want, "{text:?}");
        }
    }
}
