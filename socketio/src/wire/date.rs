//! The two renderings of a JS `Date` peers may need: `toISOString()` (what
//! `JSON.stringify` writes, so what a msgpack `Date` becomes in a [`Value`])
//! and `toString()` (Node's `handshake.time`), both in UTC.

use crate::proto::Value;

/// The range of valid JS `Date`s, in milliseconds either side of the epoch.
const MAX_DATE_MS: i64 = 8_640_000_000_000_000;

/// `new Date(ms).toISOString()`, or `null` (what `JSON.stringify` gives an
/// invalid date) out of range.
pub(crate) fn iso_from_millis(ms: i64) -> Value {
    if !(-MAX_DATE_MS..=MAX_DATE_MS).contains(&ms) {
        return Value::Null;
    }
    let (year, month, day) = civil_from_days(ms.div_euclid(86_400_000));
    let ms_of_day = ms.rem_euclid(86_400_000);
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else if year < 0 {
        format!("-{:06}", -year)
    } else {
        format!("+{year:06}")
    };
    Value::String(format!(
        "{year}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        ms_of_day / 3_600_000,
        ms_of_day / 60_000 % 60,
        ms_of_day / 1000 % 60,
        ms_of_day % 1000,
    ))
}

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `new Date(ms).toString()` on a Node process running in UTC, e.g.
/// `Sun Nov 22 2026 02:51:03 GMT+0000 (Coordinated Universal Time)`;
/// `Invalid Date` out of range.
pub(crate) fn node_date(ms: i64) -> String {
    if !(-MAX_DATE_MS..=MAX_DATE_MS).contains(&ms) {
        return "Invalid Date".to_owned();
    }
    let days = ms.div_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let ms_of_day = ms.rem_euclid(86_400_000);
    let weekday = DAYS[days.rem_euclid(7) as usize];
    let month = MONTHS[(month - 1).clamp(0, 11) as usize];
    // One buffer, written once: every socket's description in a
    // `fetchSockets` answer carries this string.
    use std::fmt::Write;
    let mut out = String::with_capacity(64);
    let _ = write!(out, "{weekday} {month} {day:02} ");
    let _ = if year < 0 {
        write!(out, "-{:06}", -year)
    } else {
        write!(out, "{year:04}")
    };
    let _ = write!(
        out,
        " {:02}:{:02}:{:02} GMT+0000 (Coordinated Universal Time)",
        ms_of_day / 3_600_000,
        ms_of_day / 60_000 % 60,
        ms_of_day / 1000 % 60,
    );
    out
}

/// Proleptic Gregorian (year, month, day) of a day count from 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_strings_match_js() {
        assert_eq!(iso_from_millis(0), Value::from("1970-01-01T00:00:00.000Z"));
        assert_eq!(iso_from_millis(-1), Value::from("1969-12-31T23:59:59.999Z"));
        assert_eq!(
            iso_from_millis(253_402_300_800_000),
            Value::from("+010000-01-01T00:00:00.000Z")
        );
        assert_eq!(iso_from_millis(MAX_DATE_MS + 1), Value::Null);
    }

    #[test]
    fn dates_format_like_js() {
        // new Date(ms).toISOString() in node.
        let cases = [
            (0, "1970-01-01T00:00:00.000Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
            (1_709_210_096_789, "2024-02-29T12:34:56.789Z"),
            (MAX_DATE_MS, "+275760-09-13T00:00:00.000Z"),
            (-MAX_DATE_MS, "-271821-04-20T00:00:00.000Z"),
            (-62_198_755_200_000, "-000001-01-01T00:00:00.000Z"),
            (-62_167_219_200_000, "0000-01-01T00:00:00.000Z"),
            (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
            (253_402_300_800_000, "+010000-01-01T00:00:00.000Z"),
        ];
        for (ms, iso) in cases {
            assert_eq!(iso_from_millis(ms), Value::from(iso), "{ms}");
        }
        assert_eq!(iso_from_millis(MAX_DATE_MS + 1), Value::Null);
        assert_eq!(iso_from_millis(i64::MIN), Value::Null);
    }

    #[test]
    fn to_string_matches_node_in_utc() {
        // From the captured handshakes: issued 1795315863231.
        assert_eq!(
            node_date(1_795_315_863_231),
            "Sun Nov 22 2026 02:51:03 GMT+0000 (Coordinated Universal Time)"
        );
        assert_eq!(
            node_date(0),
            "Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
        assert_eq!(node_date(i64::MAX), "Invalid Date");
    }
}
