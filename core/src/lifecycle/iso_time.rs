//! ISO-8601 text timestamps as the existing platform stores them (`2026-01-01T10:00:00+00:00`,
//! with or without `T`, fractional seconds, `Z` or an offset; none means UTC) to integer
//! milliseconds since the epoch. Hand-written: no date library on this path.

use crate::error::{Error, ErrorCode};

fn bad(text: &str) -> Error {
    Error::with_detail(
        ErrorCode::ValidationError,
        format!(
            "not an ISO-8601 timestamp: {:?}",
            text.chars().take(40).collect::<String>()
        ),
    )
}

fn digits(s: &str, text: &str) -> Result<i64, Error> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(text));
    }
    s.parse().map_err(|_| bad(text))
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses an ISO-8601 timestamp to ms since the epoch.
pub fn parse_iso8601_ms(text: &str) -> Result<i64, Error> {
    let t = text.trim();
    if t.len() < 19 || !t.is_ascii() {
        return Err(bad(text));
    }
    let (date, rest) = t.split_at(10);
    let sep = rest.as_bytes()[0];
    if sep != b'T' && sep != b't' && sep != b' ' {
        return Err(bad(text));
    }
    let rest = &rest[1..];
    let dp: Vec<&str> = date.split('-').collect();
    if dp.len() != 3 || dp[0].len() != 4 || dp[1].len() != 2 || dp[2].len() != 2 {
        return Err(bad(text));
    }
    let (y, mo, d) = (
        digits(dp[0], text)?,
        digits(dp[1], text)?,
        digits(dp[2], text)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return Err(bad(text));
    }
    let (clock, offset) = match rest.find(['Z', 'z', '+', '-']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (hms, frac) = match clock.split_once('.') {
        Some((a, b)) => (a, b),
        None => (clock, ""),
    };
    let tp: Vec<&str> = hms.split(':').collect();
    if tp.len() != 3 || tp.iter().any(|p| p.len() != 2) {
        return Err(bad(text));
    }
    let (h, mi, s) = (
        digits(tp[0], text)?,
        digits(tp[1], text)?,
        digits(tp[2], text)?,
    );
    if h > 23 || mi > 59 || s > 60 {
        return Err(bad(text));
    }
    let ms = if frac.is_empty() {
        0
    } else {
        let f = &frac[..frac.len().min(3)];
        digits(f, text)? * 10_i64.pow(3 - f.len() as u32)
    };
    let offset_min = match offset {
        "" | "Z" | "z" => 0,
        o => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let body = &o[1..];
            let (oh, om) = match body.split_once(':') {
                Some((a, b)) => (a, b),
                None if body.len() == 4 => body.split_at(2),
                None if body.len() == 2 => (body, "00"),
                None => return Err(bad(text)),
            };
            let (oh, om) = (digits(oh, text)?, digits(om, text)?);
            if oh > 23 || om > 59 {
                return Err(bad(text));
            }
            sign * (oh * 60 + om)
        }
    };
    let days = days_from_civil(y, mo, d);
    Ok(((days * 86_400 + h * 3600 + mi * 60 + s) - offset_min * 60) * 1000 + ms)
}
