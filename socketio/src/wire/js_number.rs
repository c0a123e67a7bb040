//! Formats an `f64` exactly as JavaScript's `Number#toString` does
//! (ECMA-262 `Number::toString`, radix 10), which is what `JSON.stringify`
//! writes for numbers.
//!
//! Rust and JS agree on the shortest round-trip digits except when two
//! candidates are equally close; JS then takes the even one, Rust does not
//! promise to. The layout differs too: JS writes `1e+21` where Rust
//! writes `1e21`, and `1` for the float `1.0`.

use super::json::push_display;

/// Integers below this magnitude print exactly in JS; above it JS prints the
/// shortest round-trip digits padded with zeros.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_992.0;

/// Appends the JS rendering of `f`; non-finite values become `null`, as in
/// `JSON.stringify`.
pub(crate) fn write_f64(out: &mut String, f: f64) {
    if !f.is_finite() {
        out.push_str("null");
        return;
    }
    if f.fract() == 0.0 && f.abs() < MAX_SAFE_INTEGER {
        // Exact in i64; also turns -0 into "0" as JS does.
        push_display(out, f as i64);
        return;
    }
    if f < 0.0 {
        out.push('-');
    }
    let Shortest { digits, point } = shortest(f.abs());
    let digits = digits.to_string();
    let k = digits.len() as i64;
    let n = point;
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(n as usize);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', n.unsigned_abs() as usize));
        out.push_str(&digits);
    } else {
        let (first, rest) = digits.split_at(digits.len().min(1));
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('e');
        out.push(if n > 0 { '+' } else { '-' });
        push_display(out, (n - 1).unsigned_abs());
    }
}

/// `digits × 10^(point − len(digits))`: the spec's `s` and `n`.
#[derive(Debug, PartialEq)]
struct Shortest {
    digits: u64,
    point: i64,
}

/// Shortest round-trip digits of a positive finite `f`, ties to even.
fn shortest(f: f64) -> Shortest {
    let rust = format!("{f:e}");
    let (mantissa, exponent) = rust.split_once('e').unwrap_or((&rust, "0"));
    let mut digits = 0u64;
    let mut len = 0i64;
    for d in mantissa.bytes().filter(u8::is_ascii_digit) {
        digits = digits * 10 + u64::from(d - b'0');
        len += 1;
    }
    let point = exponent.parse::<i64>().unwrap_or(0) + 1;
    let scale = point - len;
    if digits % 2 == 1 {
        // Rust may have rounded a tie away from the even neighbour.
        for (alt, midpoint) in [(digits - 1, digits * 10 - 5), (digits + 1, digits * 10 + 5)] {
            if is_exactly(f, midpoint, scale - 1) && format!("{alt}e{scale}").parse() == Ok(f) {
                return Shortest { digits: alt, point };
            }
        }
    }
    Shortest { digits, point }
}

/// Whether `f` equals `n × 10^p` exactly, in integer arithmetic:
/// `f = m × 2^e` with `m` odd, so both sides must have the same power of two
/// and the same odd part.
fn is_exactly(f: f64, n: u64, p: i64) -> bool {
    let bits = f.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let fraction = bits & ((1 << 52) - 1);
    let (mantissa, exponent) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1 << 52), biased - 1075)
    };
    if mantissa == 0 || n == 0 {
        return false;
    }
    let (m, e) = (
        mantissa >> mantissa.trailing_zeros(),
        exponent + i64::from(mantissa.trailing_zeros()),
    );
    let (n, twos) = (n >> n.trailing_zeros(), i64::from(n.trailing_zeros()));
    if e != p + twos {
        return false;
    }
    let pow5 = |k: i64| u32::try_from(k).ok().and_then(|k| 5u128.checked_pow(k));
    if p >= 0 {
        pow5(p).and_then(|f5| f5.checked_mul(u128::from(n))) == Some(u128::from(m))
    } else {
        pow5(-p).and_then(|f5| f5.checked_mul(u128::from(m))) == Some(u128::from(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn js(f: f64) -> String {
        let mut out = String::new();
        write_f64(&mut out, f);
        out
    }

    #[test]
    fn layout_matches_js() {
        // Expected strings are what node's `String(x)` prints.
        let cases: [(f64, &str); 20] = [
            (1.0, "1"),
            (-0.0, "0"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (123.456, "123.456"),
            (0.000001, "0.000001"),
            (0.000123, "0.000123"),
            (1e-7, "1e-7"),
            (-1.5e-7, "-1.5e-7"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (2f64.powi(60), "1152921504606847000"),
            (1.2345678901234568e20, "123456789012345680000"),
            (9007199254740992.0, "9007199254740992"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (0.30000000000000004, "0.30000000000000004"),
            (1.5e300, "1.5e+300"),
            (123456.789e3, "123456789"),
            (4.35, "4.35"),
        ];
        for (f, expected) in cases {
            assert_eq!(js(f), expected, "{f:e}");
        }
        assert_eq!(js(f64::NAN), "null");
        assert_eq!(js(f64::NEG_INFINITY), "null");
    }

    /// 947278022766113.25, written so that its exactness is visible.
    const TIE: f64 = 947_278_022_766_113.0 + 0.25;

    #[test]
    fn ties_go_to_the_even_digit() {
        // TIE is a double; .2 and .3 both round-trip and are equally close;
        // node prints .2.
        assert_eq!(js(-TIE), "-947278022766113.2");
        assert_eq!(js(TIE), "947278022766113.2");
        // Not a tie: only one candidate is closest.
        assert_eq!(js(TIE + 0.125), "947278022766113.4");
    }

    #[test]
    fn exactness_check() {
        assert!(is_exactly(0.5, 5, -1));
        assert!(is_exactly(1536.0, 1536, 0));
        assert!(is_exactly(1.5e3, 15, 2));
        assert!(!is_exactly(0.1, 1, -1));
        assert!(is_exactly(TIE, 94727802276611325, -2));
        assert!(!is_exactly(TIE, 9472780227661132, -1));
        assert!(!is_exactly(5e-324, 0, 0));
    }
}
