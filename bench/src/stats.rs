//! Medians, spreads and the number formats the report uses.

/// A set of measurements of one quantity.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    values: Vec<f64>,
}

impl Sample {
    /// An empty sample.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one measurement; non-finite values (a failed run) are skipped so
    /// that they cannot poison the median.
    pub fn push(&mut self, value: f64) {
        if value.is_finite() {
            self.values.push(value);
        }
    }

    /// How many measurements there are.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    fn sorted(&self) -> Vec<f64> {
        let mut sorted = self.values.clone();
        sorted.sort_by(f64::total_cmp);
        sorted
    }

    /// The median (mean of the two middle values for an even count).
    pub fn median(&self) -> Option<f64> {
        let sorted = self.sorted();
        let n = sorted.len();
        match n {
            0 => None,
            _ if n % 2 == 1 => Some(sorted[n / 2]),
            _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
        }
    }

    /// The value below which a share `q` (0–1) of the measurements lie
    /// (nearest rank).
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let sorted = self.sorted();
        let last = sorted.len().checked_sub(1)?;
        let rank = (q.clamp(0.0, 1.0) * last as f64).round() as usize;
        sorted.get(rank).copied()
    }

    /// The measurements, in the order taken.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Smallest and largest values.
    pub fn min_max(&self) -> Option<(f64, f64)> {
        let sorted = self.sorted();
        Some((*sorted.first()?, *sorted.last()?))
    }
}

/// `1234567.8` as `1.23M`, `12345` as `12.3k`: throughput columns stay
/// narrow and readable.
pub fn si(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1e6 {
        format!("{:.2}M", value / 1e6)
    } else if magnitude >= 1e4 {
        format!("{:.1}k", value / 1e3)
    } else if magnitude >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

/// A duration in seconds, in the unit that keeps three significant digits.
pub fn time(seconds: f64) -> String {
    let magnitude = seconds.abs();
    if magnitude >= 1.0 {
        format!("{seconds:.2} s")
    } else if magnitude >= 1e-3 {
        format!("{:.1} ms", seconds * 1e3)
    } else if magnitude >= 1e-6 {
        format!("{:.2} µs", seconds * 1e6)
    } else {
        format!("{:.0} ns", seconds * 1e9)
    }
}

/// Bytes as MiB with one decimal.
pub fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / f64::from(1u32 << 20))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        let mut sample = Sample::new();
        for value in [3.0, 1.0, 2.0] {
            sample.push(value);
        }
        assert_eq!(sample.median(), Some(2.0));
        sample.push(10.0);
        assert_eq!(sample.median(), Some(2.5));
        assert_eq!(sample.min_max(), Some((1.0, 10.0)));
        assert_eq!(sample.quantile(0.0), Some(1.0));
        assert_eq!(sample.quantile(1.0), Some(10.0));
        assert_eq!(sample.values(), [3.0, 1.0, 2.0, 10.0]);
    }

    #[test]
    fn non_finite_values_are_skipped() {
        let mut sample = Sample::new();
        sample.push(f64::NAN);
        assert_eq!(sample.len(), 0);
        assert_eq!(sample.median(), None);
    }

    #[test]
    fn units_keep_three_digits() {
        assert_eq!(si(1_234_567.0), "1.23M");
        assert_eq!(si(12_345.0), "12.3k");
        assert_eq!(time(0.000_012_3), "12.30 µs");
        assert_eq!(time(0.0123), "12.3 ms");
    }
}
