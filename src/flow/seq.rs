//! Sequence numbers as RFC 9293 §3.4 defines them: 32-bit values compared modulo 2^32.
//!
//! `SeqNum` deliberately has no `Ord`: "before" only means something for numbers less than
//! 2^31 apart, so comparisons go through `PartialOrd` on the signed difference (as smoltcp's
//! `SeqNumber` does) and never through a total order that would break at wraparound.

use std::cmp::Ordering;
use std::fmt;
use std::ops::{Add, Sub};

#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct SeqNum(pub u32);

impl SeqNum {
    /// Signed distance `self - other` in sequence space.
    pub fn diff(self, other: SeqNum) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }

    /// Offset of `self` from a base (e.g. the ISN): the relative number Wireshark shows.
    pub fn relative_to(self, base: SeqNum) -> u32 {
        self.0.wrapping_sub(base.0)
    }
}

impl Add<u32> for SeqNum {
    type Output = SeqNum;
    fn add(self, rhs: u32) -> SeqNum {
        SeqNum(self.0.wrapping_add(rhs))
    }
}

impl Sub<u32> for SeqNum {
    type Output = SeqNum;
    fn sub(self, rhs: u32) -> SeqNum {
        SeqNum(self.0.wrapping_sub(rhs))
    }
}

impl PartialOrd for SeqNum {
    fn partial_cmp(&self, other: &SeqNum) -> Option<Ordering> {
        Some(self.diff(*other).cmp(&0))
    }
}

/// A capture time or duration in ns, kept in connection state as two 8-byte words: an i128
/// field is 16-byte aligned, and the padding it forced made every connection ~100 bytes
/// larger (connection state is what memory grows with, issue 6). Exact: no value is lost.
///
/// Encoded (only a packed connection's state is, flow/mod.rs `Packed`) relative to the base
/// [`relative_to`] sets: a connection's times lie near its last segment's, and as differences
/// they take a byte or three where epoch nanoseconds take nine. Zero (a time not set) is one
/// byte. Lossless for every value: the difference wraps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Nanos([u64; 2]);

thread_local! {
    /// The time [`Nanos`] are encoded relative to; 0 (as they are) outside [`relative_to`].
    static BASE: std::cell::Cell<i128> = const { std::cell::Cell::new(0) };
}

/// Runs `f` (an encoding or decoding of connection state) with times relative to `base`.
pub fn relative_to<T>(base: i128, f: impl FnOnce() -> T) -> T {
    let outer = BASE.replace(base);
    let out = f();
    BASE.set(outer);
    out
}

impl serde::Serialize for Nanos {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.get();
        // Zigzag: small differences either way are small unsigned numbers (varints).
        let zigzag = |d: i128| ((d << 1) ^ (d >> 127)) as u128;
        let rel = (t != 0).then(|| zigzag(t.wrapping_sub(BASE.get())));
        rel.serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Nanos {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Nanos, D::Error> {
        let rel = Option::<u128>::deserialize(d)?;
        let unzigzag = |z: u128| (z >> 1) as i128 ^ -((z & 1) as i128);
        let t = rel.map_or(0, |z| BASE.get().wrapping_add(unzigzag(z)));
        Ok(Nanos::from(t))
    }
}

impl Nanos {
    pub fn get(self) -> i128 {
        ((self.0[1] as u128) << 64 | self.0[0] as u128) as i128
    }
}

impl From<i128> for Nanos {
    fn from(n: i128) -> Nanos {
        Nanos([n as u128 as u64, (n as u128 >> 64) as u64])
    }
}

impl fmt::Debug for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SeqNum({})", self.0)
    }
}

impl fmt::Display for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nanos_round_trip_every_i128() {
        for n in [0i128, 1, -1, i128::MAX, i128::MIN, 1 << 64, -(1 << 70) + 5] {
            assert_eq!(Nanos::from(n).get(), n);
        }
    }

    #[test]
    fn nanos_encoded_relative_to_a_base_come_back_exactly_and_near_ones_are_short() {
        let epoch = 1_700_000_000_123_456_789i128;
        let extremes = [
            0,
            1,
            -1,
            i128::MAX,
            i128::MIN,
            epoch,
            epoch - 5,
            epoch + 1_000_000,
        ];
        for base in [0, epoch, i128::MIN, i128::MAX] {
            for t in extremes {
                let bytes = relative_to(base, || postcard::to_allocvec(&Nanos::from(t)));
                let bytes = bytes.expect("encodes");
                let back: Nanos =
                    relative_to(base, || postcard::from_bytes(&bytes)).expect("decodes");
                assert_eq!(back.get(), t, "base {base}");
            }
        }
        let len = |t: i128| {
            relative_to(epoch, || postcard::to_allocvec(&Nanos::from(t)))
                .unwrap()
                .len()
        };
        assert_eq!(len(0), 1, "unset");
        assert_eq!(len(epoch), 2, "the base itself");
        // The Option's tag, then a varint of 22 bits (zigzag of -2,000,000).
        assert_eq!(len(epoch - 2_000_000), 5, "2 ms before");
        assert!(
            relative_to(0, || postcard::to_allocvec(&Nanos::from(epoch)))
                .unwrap()
                .len()
                >= 9
        );
    }

    #[test]
    fn add_wraps_past_u32_max() {
        assert_eq!(SeqNum(u32::MAX - 1) + 3, SeqNum(1));
    }

    #[test]
    fn sub_wraps_below_zero() {
        assert_eq!(SeqNum(1) - 3, SeqNum(u32::MAX - 1));
    }

    #[test]
    fn number_after_wrap_compares_greater() {
        let isn = SeqNum(u32::MAX - 10);
        let later = isn + 100;
        assert!(later > isn);
        assert!(isn < later);
        assert_eq!(later.diff(isn), 100);
    }

    #[test]
    fn relative_number_counts_across_wrap() {
        let isn = SeqNum(0xffff_fff0);
        assert_eq!((isn + 0x20).relative_to(isn), 0x20);
        assert_eq!(SeqNum(0x10).relative_to(isn), 0x20);
    }

    #[test]
    fn equal_numbers_are_neither_before_nor_after() {
        let a = SeqNum(7);
        assert_eq!(a.partial_cmp(&SeqNum(7)), Some(Ordering::Equal));
        assert_eq!(a.diff(SeqNum(7)), 0);
    }
}
