//! Sequence numbers as RFC 9293 §3.4 defines them: 32-bit values compared modulo 2^32.
//!
//! `SeqNum` deliberately has no `Ord`: "before" only means something for numbers less than
//! 2^31 apart, so comparisons go through `PartialOrd` on the signed difference (as smoltcp's
//! `SeqNumber` does) and never through a total order that would break at wraparound.

use std::cmp::Ordering;
use std::fmt;
use std::ops::{Add, Sub};

#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
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
