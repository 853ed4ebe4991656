//! Deterministic pseudo-randomness for chaos faults and delivered codes.
//! SplitMix64 is tiny, fast and good enough for test scripting; a fixed seed
//! replays the same sequence, so a chaos run that fails can be re-run.

/// Sebastiano Vigna's SplitMix64.
#[derive(Debug, Clone)]
pub(super) struct SplitMix64(u64);

impl SplitMix64 {
    pub(super) fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// A seed derived from text (FNV-1a), so an order id always gives the
    /// same codes.
    pub(super) fn from_text(text: &str) -> Self {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in text.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        SplitMix64(hash)
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), from the top 53 bits.
    pub(super) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n) for n > 0 (the modulo bias is irrelevant here).
    pub(super) fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.next_u64() % n as u64) as usize
    }

    /// `groups` groups of four characters joined by '-', from an alphabet
    /// without look-alikes (no 0/O, 1/I).
    pub(super) fn code(&mut self, groups: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let mut out = String::with_capacity(groups * 5);
        for g in 0..groups {
            if g > 0 {
                out.push('-');
            }
            for _ in 0..4 {
                out.push(char::from(ALPHABET[self.below(ALPHABET.len())]));
            }
        }
        out
    }

    /// `len` decimal digits.
    pub(super) fn digits(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_sequence() {
        // Reference values of SplitMix64 seeded with 0.
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(rng.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(rng.next_u64(), 0x06c4_5d18_8009_454f);
    }

    #[test]
    fn floats_stay_in_the_unit_interval_and_codes_are_stable() {
        let mut rng = SplitMix64::new(42);
        for _ in 0..10_000 {
            let x = rng.next_f64();
            assert!((0.0..1.0).contains(&x));
        }
        let a = SplitMix64::from_text("order-1").code(3);
        let b = SplitMix64::from_text("order-1").code(3);
        let c = SplitMix64::from_text("order-2").code(3);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 14);
    }
}
