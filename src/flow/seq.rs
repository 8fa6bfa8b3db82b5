//! Sequence numbers as RFC 9293 §3.4 defines them: 32-bit values compared modulo 2^32.
//!
//! `SeqNum` deliberately has no `Ord`: "before" only means something for numbers less than
//! 2^31 apart, so comparisons go through `PartialOrd` on the signed difference (as smoltcp's
//! `SeqNumber` does) and never through a total order that would break at wraparound.

use std::cmp::Ordering;
use std::fmt;
use std::ops::{Add, Sub};

/// Encoded in a packed connection's state against the numbers before it ([`packed`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNum(pub u32);

impl serde::Serialize for SeqNum {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        packed::serialize(&self.0, s)
    }
}

impl<'de> serde::Deserialize<'de> for SeqNum {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<SeqNum, D::Error> {
        packed::deserialize(d).map(SeqNum)
    }
}

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
    /// The sequence numbers [`packed`] encodes against, within [`relative_to`]; None outside.
    static SEQS: std::cell::Cell<Option<Registers>> = const { std::cell::Cell::new(None) };
    /// The frame number [`frame`] encodes against, within [`relative_to`]; None outside.
    static FRAME: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` (an encoding or decoding of one connection's state) with times relative to
/// `base` and sequence numbers against the ones before them in the same state ([`packed`]).
pub fn relative_to<T>(base: i128, f: impl FnOnce() -> T) -> T {
    let outer = BASE.replace(base);
    let outer_seqs = SEQS.replace(Some(Registers::default()));
    let outer_frame = FRAME.replace(Some(0));
    let out = f();
    BASE.set(outer);
    SEQS.set(outer_seqs);
    FRAME.set(outer_frame);
    out
}

fn zigzag(d: i128) -> u128 {
    ((d << 1) ^ (d >> 127)) as u128
}

fn unzigzag(z: u128) -> i128 {
    (z >> 1) as i128 ^ -((z & 1) as i128)
}

/// A duration kept as [`Nanos`] (`tcp.analysis.initial_rtt`): encoded as itself, where a time
/// is encoded relative to the last segment's (a 3 µs RTT took 9 bytes as a difference to an
/// epoch time).
pub mod span {
    use super::{Nanos, unzigzag, zigzag};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Nanos>, s: S) -> Result<S::Ok, S::Error> {
        v.map(|n| zigzag(n.get())).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Nanos>, D::Error> {
        Ok(Option::<u128>::deserialize(d)?.map(|z| Nanos::from(unzigzag(z))))
    }
}

/// A frame number in a packed connection's state: within [`relative_to`], the zigzag
/// difference to the frame number before it (a connection's frames are near each other: a
/// byte where the number takes three in a capture of a million frames); outside, the number.
pub mod frame {
    use super::{FRAME, unzigzag, zigzag};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        let Some(last) = FRAME.get() else {
            return v.serialize(s);
        };
        FRAME.set(Some(*v));
        (zigzag(i128::from(v.wrapping_sub(last) as i64)) as u64).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let Some(last) = FRAME.get() else {
            return u64::deserialize(d);
        };
        let v = last.wrapping_add(unzigzag(u128::from(u64::deserialize(d)?)) as u64);
        FRAME.set(Some(v));
        Ok(v)
    }
}

/// The last two sequence numbers encoded or decoded, and which came last: a connection's
/// numbers lie near one of its two ISNs, so the first of each side costs the full 32 bits and
/// every later one a byte or two as a difference to the nearer register.
#[derive(Clone, Copy, Default)]
struct Registers {
    last: [u32; 2],
    newest: usize,
}

/// Differences at least this far are taken as another side's number: encoded against the
/// older register, which then holds it.
const FAR: u32 = 1 << 20;

impl Registers {
    /// The register to encode `v` against and the difference.
    fn choose(&self, v: u32) -> (usize, i32) {
        let d = self.last.map(|r| v.wrapping_sub(r) as i32);
        let near = if d[0].unsigned_abs() <= d[1].unsigned_abs() {
            0
        } else {
            1
        };
        let which = if d[near].unsigned_abs() < FAR {
            near
        } else {
            1 - self.newest
        };
        (which, d[which])
    }

    fn hold(&mut self, which: usize, v: u32) {
        self.last[which] = v;
        self.newest = which;
    }
}

/// A 32-bit sequence number in a packed connection's state (flow/mod.rs `Packed`): within
/// [`relative_to`], the zigzag difference to the nearer of the last two numbers, and which
/// one (1–2 bytes where the plain varint takes 5: a short connection holds ~20 of them);
/// outside, the number itself. Lossless for every value: the difference wraps, and the
/// decoder keeps the same registers in the same order.
pub mod packed {
    use super::SEQS;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &u32, s: S) -> Result<S::Ok, S::Error> {
        let Some(mut regs) = SEQS.get() else {
            return v.serialize(s);
        };
        let (which, d) = regs.choose(*v);
        regs.hold(which, *v);
        SEQS.set(Some(regs));
        let zigzag = ((d << 1) ^ (d >> 31)) as u32;
        (u64::from(zigzag) << 1 | which as u64).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        let Some(mut regs) = SEQS.get() else {
            return u32::deserialize(d);
        };
        let z = u64::deserialize(d)?;
        let which = (z & 1) as usize;
        let zigzag = (z >> 1) as u32;
        let diff = (zigzag >> 1) as i32 ^ -((zigzag & 1) as i32);
        let v = regs.last[which].wrapping_add(diff as u32);
        regs.hold(which, v);
        SEQS.set(Some(regs));
        Ok(v)
    }

    /// A sequence number unwrapped to 64 bits (Zeek's endpoints): the low 32 bits as above,
    /// then the high ones (mostly 0: one byte).
    pub mod wide {
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        pub fn serialize<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
            (super::Wide(*v as u32), (*v >> 32) as i32).serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
            let (low, high) = <(super::Wide, i32)>::deserialize(d)?;
            Ok(i64::from(high) << 32 | i64::from(low.0))
        }
    }

    #[derive(Serialize, Deserialize)]
    struct Wide(#[serde(with = "super::packed")] u32);
}

impl serde::Serialize for Nanos {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.get();
        // Zigzag: small differences either way are small unsigned numbers (varints).
        let rel = (t != 0).then(|| zigzag(t.wrapping_sub(BASE.get())));
        rel.serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Nanos {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Nanos, D::Error> {
        let rel = Option::<u128>::deserialize(d)?;
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

    /// A struct of sequence numbers as a connection holds them: two sides' numbers
    /// interleaved.
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Numbers(Vec<SeqNum>);

    #[test]
    fn sequence_numbers_packed_against_the_last_two_come_back_exactly_and_short() {
        let (a, b) = (3_433_430_490u32, 3_787_265_025u32);
        let sides = [a, b, a + 8, a + 8, b + 21, b + 21, b + 20, a + 7, a, b];
        let extremes = [
            0,
            1,
            u32::MAX,
            1 << 31,
            (1 << 31) - 1,
            FAR,
            FAR - 1,
            FAR + 1,
        ];
        for numbers in [&sides[..], &extremes[..], &[u32::MAX, 0, u32::MAX][..]] {
            let numbers = Numbers(numbers.iter().copied().map(SeqNum).collect());
            let bytes = relative_to(0, || postcard::to_allocvec(&numbers)).unwrap();
            let back: Numbers = relative_to(0, || postcard::from_bytes(&bytes)).unwrap();
            assert_eq!(back, numbers);
        }
        let packed = relative_to(0, || {
            postcard::to_allocvec(&Numbers(sides.map(SeqNum).into()))
        });
        // The length, each side's first number (5 bytes), then a byte for each other one.
        assert_eq!(packed.unwrap().len(), 1 + 2 * 5 + 8);
        // Outside a packing, the numbers themselves (the plain varint: 5 bytes for these).
        let plain = postcard::to_allocvec(&Numbers(sides.map(SeqNum).into())).unwrap();
        assert_eq!(plain.len(), 1 + 10 * 5);
        assert_eq!(
            postcard::from_bytes::<Numbers>(&plain).unwrap().0[9],
            SeqNum(b)
        );
    }

    #[test]
    fn wide_sequence_numbers_keep_their_high_bits() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct Wide(#[serde(with = "packed::wide")] i64);
        for v in [
            0,
            -1,
            i64::MIN,
            i64::MAX,
            1 << 32,
            (1 << 32) + 5,
            -(1 << 40) + 3,
        ] {
            let bytes = relative_to(0, || postcard::to_allocvec(&Wide(v))).unwrap();
            let back: Wide = relative_to(0, || postcard::from_bytes(&bytes)).unwrap();
            assert_eq!(back, Wide(v));
        }
    }

    #[test]
    fn frame_numbers_and_spans_come_back_exactly() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct State {
            #[serde(with = "frame")]
            a: u64,
            #[serde(with = "frame")]
            b: u64,
            #[serde(with = "span")]
            rtt: Option<Nanos>,
        }
        let states = [
            (484_892, 484_881, Some(3000)),
            (0, u64::MAX, Some(0)),
            (u64::MAX, 0, None),
            (1 << 63, 5, Some(i128::MIN)),
            (7, 7, Some(i128::MAX)),
        ];
        for (a, b, rtt) in states {
            let state = State {
                a,
                b,
                rtt: rtt.map(Nanos::from),
            };
            let epoch = 1_700_000_000_000_000_000;
            let bytes = relative_to(epoch, || postcard::to_allocvec(&state)).unwrap();
            let back: State = relative_to(epoch, || postcard::from_bytes(&bytes)).unwrap();
            assert_eq!(back, state);
        }
        let near = State {
            a: 484_892,
            b: 484_881,
            rtt: Some(Nanos::from(3000)),
        };
        // The first frame whole (3 bytes), the second as -11 (1), the RTT's tag and 2 bytes.
        let bytes = relative_to(1 << 60, || postcard::to_allocvec(&near)).unwrap();
        assert_eq!(bytes.len(), 3 + 1 + 3);
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
