//! Appending numbers, addresses and padded fields to a row buffer without `core::fmt`.
//!
//! Profiling `tcplens read` showed `core::fmt` (`write`, `pad_integral`, `Formatter::pad`) as
//! the largest cost per row: every `write!` goes through a `dyn Write` and parses its format
//! spec at run time. These helpers do the same job with plain byte pushes: integers through
//! `itoa` (the formatter serde_json uses), IPv4 addresses by hand, padding by counting. They
//! produce exactly what `{}`, `{:>N}` and `{:<N}` produce; the unit tests hold them to it.

use std::net::{IpAddr, Ipv4Addr};

use super::RelTime;

/// Any integer, as `{}` prints it.
#[inline]
pub fn int<I: itoa::Integer>(out: &mut String, n: I) {
    out.push_str(itoa::Buffer::new().format(n));
}

/// `{:>width$}` of a string (width counted in chars, as `fmt` counts).
#[inline]
pub fn right(out: &mut String, s: &str, width: usize) {
    pad(out, width.saturating_sub(char_count(s)));
    out.push_str(s);
}

/// `{:<width$}` of a string.
#[inline]
pub fn left(out: &mut String, s: &str, width: usize) {
    out.push_str(s);
    pad(out, width.saturating_sub(char_count(s)));
}

/// `{:>width$}` of an integer.
#[inline]
pub fn int_right<I: itoa::Integer>(out: &mut String, n: I, width: usize) {
    right(out, itoa::Buffer::new().format(n), width);
}

fn char_count(s: &str) -> usize {
    // Everything these helpers pad is ASCII except a rare IPv6 zone; count bytes then.
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

const SPACES: &str = "                                ";

fn pad(out: &mut String, n: usize) {
    let mut n = n;
    while n > 0 {
        let k = n.min(SPACES.len());
        out.push_str(&SPACES[..k]);
        n -= k;
    }
}

/// Runs `write` and right-aligns what it appended to `width` chars, for text whose length is
/// only known once written (times, IPv6 addresses). Only the just-written field moves.
fn right_with(out: &mut String, width: usize, write: impl FnOnce(&mut String)) {
    let start = out.len();
    write(out);
    let mut missing = width.saturating_sub(char_count(&out[start..]));
    while missing > 0 {
        let k = missing.min(SPACES.len());
        out.insert_str(start, &SPACES[..k]);
        missing -= k;
    }
}

/// An IPv4 address in dotted decimal, as `Ipv4Addr`'s `Display`. Written into a byte buffer
/// and pushed as chars: a `from_utf8` check of the buffer cost 88 instructions per address,
/// and an itoa string per octet a `memcpy` call each.
#[inline]
pub fn ipv4(out: &mut String, a: Ipv4Addr) {
    let mut buf = [0u8; 15];
    let n = ipv4_bytes(&mut buf, a);
    out.extend(buf[..n].iter().map(|&b| char::from(b)));
}

fn ipv4_bytes(buf: &mut [u8; 15], a: Ipv4Addr) -> usize {
    let mut n = 0;
    for (i, octet) in a.octets().into_iter().enumerate() {
        if i > 0 {
            buf[n] = b'.';
            n += 1;
        }
        if octet >= 100 {
            buf[n] = b'0' + octet / 100;
            n += 1;
        }
        if octet >= 10 {
            buf[n] = b'0' + octet / 10 % 10;
            n += 1;
        }
        buf[n] = b'0' + octet % 10;
        n += 1;
    }
    n
}

/// An address as its `Display` prints it. IPv6's shortest form (RFC 5952) has enough rules
/// that the standard formatter is kept for it, writing straight into the row (no String).
pub fn ip(out: &mut String, a: IpAddr) {
    match a {
        IpAddr::V4(v4) => ipv4(out, v4),
        IpAddr::V6(v6) => {
            use std::fmt::Write as _;
            let _ = write!(out, "{v6}");
        }
    }
}

/// `addr:port`, IPv6 as `[addr]:port`, as `Endpoint`'s `Display`.
pub fn endpoint(out: &mut String, e: crate::flow::Endpoint) {
    match e.addr {
        IpAddr::V4(v4) => ipv4(out, v4),
        IpAddr::V6(_) => {
            out.push('[');
            ip(out, e.addr);
            out.push(']');
        }
    }
    out.push(':');
    int(out, e.port);
}

/// `{:>width$}` of an address, nothing for `None`.
pub fn ip_right(out: &mut String, a: Option<IpAddr>, width: usize) {
    match a {
        Some(IpAddr::V4(v4)) => {
            let mut buf = [0u8; 15];
            let n = ipv4_bytes(&mut buf, v4);
            pad(out, width.saturating_sub(n));
            out.extend(buf[..n].iter().map(|&b| char::from(b)));
        }
        Some(a) => right_with(out, width, |out| ip(out, a)),
        None => pad(out, width),
    }
}

/// `{:<width$}` of an address, nothing for `None`.
pub fn ip_left(out: &mut String, a: Option<IpAddr>, width: usize) {
    let start = out.len();
    if let Some(a) = a {
        ip(out, a);
    }
    let written = char_count(&out[start..]);
    pad(out, width.saturating_sub(written));
}

/// A [`RelTime`] as its `Display` prints it: seconds, then `digits` decimals, truncated.
pub fn time(out: &mut String, t: RelTime) {
    if t.nanos < 0 {
        out.push('-');
    }
    let abs = t.nanos.unsigned_abs();
    // u128 division is a library call (~100 cycles, three per row); any time within 584
    // years fits u64 nanoseconds, where division by a constant is a multiplication.
    let sub = match u64::try_from(abs) {
        Ok(abs) => {
            int(out, abs / 1_000_000_000);
            (abs % 1_000_000_000) as u32
        }
        Err(_) => {
            int(out, abs / 1_000_000_000);
            (abs % 1_000_000_000) as u32
        }
    };
    let digits = t.digits.min(9) as u32;
    if digits == 0 {
        return;
    }
    let frac = sub / 10u32.pow(9 - digits);
    out.push('.');
    let mut buf = itoa::Buffer::new();
    let s = buf.format(frac);
    pad_zeros(out, (digits as usize).saturating_sub(s.len()));
    out.push_str(s);
}

fn pad_zeros(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push('0');
    }
}

/// `{:>width$}` of a [`RelTime`].
pub fn time_right(out: &mut String, t: RelTime, width: usize) {
    right_with(out, width, |out| time(out, t));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut String)) -> String {
        let mut out = String::from("x");
        f(&mut out);
        out
    }

    #[test]
    fn integers_and_padding_match_fmt() {
        for n in [0u64, 7, 42, 65535, 4_294_967_295, u64::MAX] {
            assert_eq!(s(|o| int(o, n)), format!("x{n}"));
            assert_eq!(s(|o| int_right(o, n, 5)), format!("x{n:>5}"));
        }
        assert_eq!(s(|o| right(o, "abc", 2)), "xabc");
        assert_eq!(s(|o| left(o, "abc", 40)), format!("x{:<40}", "abc"));
        assert_eq!(s(|o| right(o, "é", 3)), format!("x{:>3}", "é"));
    }

    #[test]
    fn addresses_match_display() {
        for a in [
            "0.0.0.0",
            "127.0.0.1",
            "255.255.255.255",
            "10.20.100.9",
            "::1",
            "fe80::1:2",
            "2001:db8::8a2e:370:7334",
            "::ffff:1.2.3.4",
        ] {
            let ip: IpAddr = a.parse().unwrap();
            assert_eq!(s(|o| super::ip(o, ip)), format!("x{ip}"));
            assert_eq!(s(|o| ip_right(o, Some(ip), 12)), format!("x{ip:>12}"));
            assert_eq!(s(|o| ip_left(o, Some(ip), 12)), format!("x{ip:<12}"));
        }
        assert_eq!(s(|o| ip_right(o, None, 12)), format!("x{:>12}", ""));
        for a in ["10.0.0.1", "::1", "fe80::2"] {
            let e = crate::flow::Endpoint {
                addr: a.parse().unwrap(),
                port: 443,
            };
            assert_eq!(s(|o| endpoint(o, e)), format!("x{e}"));
        }
        assert_eq!(s(|o| ip_left(o, None, 12)), format!("x{:<12}", ""));
    }

    #[test]
    fn times_match_display() {
        for (nanos, digits) in [
            (0i128, 6u8),
            (1_500_000_000, 6),
            (-1_500_000_001, 9),
            (123_456_789, 9),
            (12_000_000_000_000, 0),
            (999_999_999, 3),
            (i128::MAX, 9),
            (i128::MIN, 6),
            (u64::MAX as i128, 9),
            (u64::MAX as i128 + 1, 9),
            (-(u64::MAX as i128) - 1, 3),
        ] {
            let t = RelTime { nanos, digits };
            assert_eq!(s(|o| time(o, t)), format!("x{t}"));
            assert_eq!(s(|o| time_right(o, t, 10)), format!("x{t:>10}"));
        }
    }
}
