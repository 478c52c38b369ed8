//! The seeded random source of the crate's randomised tests (fastrand's,
//! with the few helpers they use), so every run draws the same inputs.

/// A seeded generator.
pub(crate) struct Rng(fastrand::Rng);

impl Rng {
    /// A generator that always draws the same sequence for `seed`.
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(fastrand::Rng::with_seed(seed))
    }

    /// Any `u64`.
    pub(crate) fn next(&mut self) -> u64 {
        self.0.u64(..)
    }

    /// Any byte.
    pub(crate) fn byte(&mut self) -> u8 {
        self.0.u8(..)
    }

    /// Below `n`; 0 when `n` is 0.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            self.0.usize(..n)
        }
    }

    /// True `percent` times in a hundred.
    pub(crate) fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// One of `items` (not empty).
    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}
