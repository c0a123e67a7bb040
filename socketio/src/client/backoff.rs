//! The reconnection delay: a port of socket.io-client's `backo2`, number for
//! number. Sans-IO: the random number is passed in.

use std::time::Duration;

/// Exponential backoff with jitter, as the reference computes it.
#[derive(Debug, Clone)]
pub struct Backoff {
    ms: f64,
    max: f64,
    factor: f64,
    jitter: f64,
    attempts: u32,
}

impl Backoff {
    /// Delays start at `min`, double at each attempt up to `max`, and vary
    /// by up to `jitter` (0 to 1) of their value either way.
    pub fn new(min: Duration, max: Duration, jitter: f64) -> Backoff {
        Backoff {
            ms: min.as_millis() as f64,
            max: max.as_millis() as f64,
            factor: 2.0,
            jitter: if jitter > 0.0 && jitter <= 1.0 {
                jitter
            } else {
                0.0
            },
            attempts: 0,
        }
    }

    /// Changes the first delay (backo2's `setMin`).
    pub fn set_min(&mut self, min: Duration) {
        self.ms = min.as_millis() as f64;
    }

    /// Changes the longest delay (backo2's `setMax`).
    pub fn set_max(&mut self, max: Duration) {
        self.max = max.as_millis() as f64;
    }

    /// Changes the jitter, 0 to 1 (backo2's `setJitter`).
    pub fn set_jitter(&mut self, jitter: f64) {
        self.jitter = if jitter > 0.0 && jitter <= 1.0 {
            jitter
        } else {
            0.0
        };
    }

    /// Attempts made since the last reset.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The next delay, given a uniform random number in `[0, 1)`; counts an
    /// attempt.
    pub fn duration_with(&mut self, rand: f64) -> Duration {
        let mut ms = self.ms * self.factor.powf(f64::from(self.attempts));
        self.attempts = self.attempts.saturating_add(1);
        if self.jitter > 0.0 {
            let deviation = (rand * self.jitter * ms).floor();
            ms = if ((rand * 10.0).floor() as i64) & 1 == 0 {
                ms - deviation
            } else {
                ms + deviation
            };
        }
        // `| 0` in the reference: truncation to an integer.
        let ms = ms.min(self.max).max(0.0).trunc();
        Duration::from_millis(ms as u64)
    }

    /// The next delay with a random jitter; counts an attempt.
    pub fn duration(&mut self) -> Duration {
        self.duration_with(rand::random::<f64>())
    }

    /// Starts over from `min`.
    pub fn reset(&mut self) {
        self.attempts = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(d: Duration) -> u128 {
        d.as_millis()
    }

    #[test]
    fn matches_the_reference_without_jitter() {
        let mut b = Backoff::new(
            Duration::from_millis(1000),
            Duration::from_millis(5000),
            0.0,
        );
        let got: Vec<u128> = (0..5).map(|_| ms(b.duration_with(0.3))).collect();
        assert_eq!(got, [1000, 2000, 4000, 5000, 5000]);
        assert_eq!(b.attempts(), 5);
        b.reset();
        assert_eq!(ms(b.duration_with(0.3)), 1000);
    }

    #[test]
    fn matches_the_reference_with_jitter() {
        // Values computed with backo2 for the same random numbers.
        let mut b = Backoff::new(
            Duration::from_millis(1000),
            Duration::from_millis(5000),
            0.5,
        );
        // rand 0.25: deviation floor(0.25*0.5*1000) = 125; floor(2.5) = 2 even: minus.
        assert_eq!(ms(b.duration_with(0.25)), 875);
        // rand 0.35: deviation floor(0.35*0.5*2000) = 350; floor(3.5) = 3 odd: plus.
        assert_eq!(ms(b.duration_with(0.35)), 2350);
        // rand 0.99 at 4000: deviation 1980, floor(9.9) = 9 odd: 5980, capped at 5000.
        assert_eq!(ms(b.duration_with(0.99)), 5000);
        // Far attempts stay at the cap and never overflow.
        for _ in 0..2000 {
            assert!(ms(b.duration_with(0.1)) <= 5000);
        }
    }

    #[test]
    fn out_of_range_jitter_is_ignored() {
        let mut b = Backoff::new(
            Duration::from_millis(100),
            Duration::from_millis(10000),
            1.5,
        );
        assert_eq!(ms(b.duration_with(0.99)), 100);
    }
}
