//! Formatting of Kubernetes' special scalar types the way Go's `encoding/json`
//! renders them: `metav1.Time` (RFC 3339, seconds), `metav1.MicroTime` (RFC 3339,
//! microseconds), `metav1.Duration` (`time.Duration.String()`), bytes (base64).
//! Pure arithmetic: no clock, no time-zone database (Kubernetes renders UTC).

use base64::Engine as _;

/// Standard base64 with padding, as Go's `encoding/json` renders `[]byte`.
pub(crate) fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, valid for the whole i64 range we feed it).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let y = if m <= 2 { y + 1 } else { y };
    (
        y,
        u32::try_from(m).unwrap_or(0),
        u32::try_from(d).unwrap_or(0),
    )
}

/// RFC 3339 in UTC: `2017-06-27T16:35:34Z`, or with `micros` six fractional digits.
pub(crate) fn rfc3339(seconds: i64, nanos: i64, micros: bool) -> String {
    // Fold nanos outside [0, 1e9) into seconds, as Go's time.Unix does.
    let seconds = seconds.saturating_add(nanos.div_euclid(1_000_000_000));
    let nanos = nanos.rem_euclid(1_000_000_000);
    let days = seconds.div_euclid(86_400);
    let secs_of_day = seconds.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    let (h, mi, s) = (secs_of_day / 3600, secs_of_day / 60 % 60, secs_of_day % 60);
    if micros {
        format!(
            "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:06}Z",
            nanos / 1000
        )
    } else {
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }
}

/// `value / unit` with the remainder as trailing decimals, zeros trimmed (Go's `fmtFrac`).
fn with_fraction(value: u64, unit: u64, digits: usize) -> String {
    let whole = value / unit;
    let frac = value % unit;
    if frac == 0 {
        return whole.to_string();
    }
    let frac = format!("{frac:0digits$}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

/// Go's `time.Duration.String()`: `0s`, `1.5µs`, `300ms`, `1h2m3.5s`.
pub(crate) fn go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".to_string();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let u = nanos.unsigned_abs();
    let body = if u < 1_000 {
        format!("{u}ns")
    } else if u < 1_000_000 {
        format!("{}µs", with_fraction(u, 1_000, 3))
    } else if u < 1_000_000_000 {
        format!("{}ms", with_fraction(u, 1_000_000, 6))
    } else {
        let secs = u / 1_000_000_000;
        let (h, m) = (secs / 3600, secs / 60 % 60);
        let s = with_fraction(u % 60_000_000_000, 1_000_000_000, 9);
        if h > 0 {
            format!("{h}h{m}m{s}s")
        } else if m > 0 {
            format!("{m}m{s}s")
        } else {
            format!("{s}s")
        }
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_go() {
        assert_eq!(rfc3339(1_498_581_334, 0, false), "2017-06-27T16:35:34Z");
        assert_eq!(rfc3339(0, 0, false), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(951_782_400, 123_456_789, true),
            "2000-02-29T00:00:00.123456Z"
        );
        assert_eq!(rfc3339(-1, 0, false), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn durations_match_go() {
        let cases = [
            (0, "0s"),
            (1, "1ns"),
            (1_500, "1.5µs"),
            (300_000_000, "300ms"),
            (1_500_000_000, "1.5s"),
            (60_000_000_000, "1m0s"),
            (3_723_500_000_000, "1h2m3.5s"),
            (-5_000_000_000, "-5s"),
        ];
        for (n, s) in cases {
            assert_eq!(go_duration(n), s, "{n}");
        }
        assert_eq!(go_duration(i64::MIN), "-2562047h47m16.854775808s");
    }

    #[test]
    fn base64_is_standard_padded() {
        assert_eq!(base64(b"ab"), "YWI=");
    }
}
