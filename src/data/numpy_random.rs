//! NumPy's legacy global generator (`numpy.random.seed`, `shuffle`,
//! `permutation`), reproduced bit for bit so that the book's chapter-7 split
//! and a run's epoch order are the book's.
//!
//! `numpy.random.seed(s)` with an integer seeds MT19937 with `init_genrand(s)`
//! (the `rand_mt` crate's `Mt::new`). `shuffle` is Fisher-Yates from the
//! last element down, where the swap partner of element `i` is NumPy's
//! legacy bounded draw in `[0, i]` (`random_interval` in NumPy's
//! `distributions.c`): 32-bit outputs masked to the smallest `2^k − 1 ≥ i`,
//! drawn again until one is at most `i`. `permutation(n)` shuffles
//! `arange(n)`.

use rand_mt::Mt;

/// The generator `numpy.random.seed(seed)` leaves behind.
pub struct LegacyRandom {
    mt: Mt,
}

impl LegacyRandom {
    /// `numpy.random.seed(seed)`.
    pub fn seed(seed: u32) -> Self {
        LegacyRandom { mt: Mt::new(seed) }
    }

    /// A draw in `[0, max]`, NumPy's legacy `random_interval(max)`.
    pub fn interval(&mut self, max: u32) -> u32 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        mask |= mask >> 1;
        mask |= mask >> 2;
        mask |= mask >> 4;
        mask |= mask >> 8;
        mask |= mask >> 16;
        loop {
            let value = self.mt.next_u32() & mask;
            if value <= max {
                return value;
            }
        }
    }

    /// `numpy.random.shuffle(items)` on a one-dimensional array.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.interval(i as u32) as usize;
            items.swap(i, j);
        }
    }

    /// `numpy.random.permutation(n)`.
    pub fn permutation(&mut self, n: usize) -> Vec<u32> {
        let mut indices: Vec<u32> = (0..n as u32).collect();
        self.shuffle(&mut indices);
        indices
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `numpy.random.seed(0); numpy.random.permutation(10)` and the two
    /// permutations after it, as NumPy 2.4 prints them.
    #[test]
    fn permutations_are_numpys() {
        let mut rng = LegacyRandom::seed(0);
        assert_eq!(rng.permutation(10), [2, 8, 4, 9, 1, 6, 7, 3, 0, 5]);
        assert_eq!(rng.permutation(10), [3, 5, 1, 2, 9, 8, 0, 6, 7, 4]);
        assert_eq!(rng.permutation(3), [1, 0, 2]);
    }
}
