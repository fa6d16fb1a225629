//! A least-squares line through a series, its slope's 95% confidence interval and R²: the
//! statistics behind growth probes (is this process leaking?) and the resource slopes of a run.

use serde::{Deserialize, Serialize};

/// The fewest points a slope is fitted from: with fewer, the interval is so wide (Student's t
/// with 1 or 2 degrees of freedom is 12.7 or 4.3) that a verdict would be a guess.
pub const MIN_POINTS: usize = 8;

/// A fitted line `y = intercept + slope·x`, with the slope's 95% confidence interval.
///
/// Units are those of the points: for a series of (seconds, bytes) the slope is bytes per second.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Fit {
    /// Points fitted.
    pub n: usize,
    /// Least-squares slope (units of y per unit of x).
    pub slope: f64,
    /// Half-width of the slope's two-sided 95% confidence interval: the interval is
    /// `slope ± half_width`.
    pub half_width: f64,
    /// Coefficient of determination, 0..1 (0 when the values do not vary at all).
    pub r2: f64,
}

impl Fit {
    /// The least-squares line through `points` (x, y).
    ///
    /// The slope is `b = Sxy / Sxx`; its standard error `se(b) = sqrt(s² / Sxx)` with
    /// `s² = SSE / (n − 2)`, `SSE = Syy − b·Sxy`; the 95% interval is `b ± t(0.975, n − 2)·se(b)`
    /// (Montgomery, Peck & Vining, *Introduction to Linear Regression Analysis*, 5th ed.,
    /// §2.4.1, eq. 2.43); `R² = 1 − SSE / Syy` (ibid., §2.9).
    ///
    /// Returns `None` with fewer than [`MIN_POINTS`] points, when every x is the same, or when a
    /// value is not finite.
    pub fn of(points: &[(f64, f64)]) -> Option<Fit> {
        let n = points.len();
        if n < MIN_POINTS || points.iter().any(|(x, y)| !x.is_finite() || !y.is_finite()) {
            return None;
        }
        let nf = n as f64;
        let x_mean = points.iter().map(|p| p.0).sum::<f64>() / nf;
        let y_mean = points.iter().map(|p| p.1).sum::<f64>() / nf;
        let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
        for (x, y) in points {
            let (dx, dy) = (x - x_mean, y - y_mean);
            sxx += dx * dx;
            sxy += dx * dy;
            syy += dy * dy;
        }
        if sxx <= 0.0 {
            return None;
        }
        let slope = sxy / sxx;
        let sse = (syy - slope * sxy).max(0.0);
        let se = (sse / (nf - 2.0) / sxx).sqrt();
        Some(Fit {
            n,
            slope,
            half_width: t_975(n - 2) * se,
            r2: if syy > 0.0 { 1.0 - sse / syy } else { 0.0 },
        })
    }

    /// The lower end of the 95% interval.
    pub fn low(&self) -> f64 {
        self.slope - self.half_width
    }

    /// The upper end of the 95% interval.
    pub fn high(&self) -> f64 {
        self.slope + self.half_width
    }
}

/// The 97.5th percentile of Student's t with `df` degrees of freedom (the factor of a two-sided
/// 95% interval): tabulated to three decimals for 1..=30, beyond that the Cornish–Fisher
/// expansion about the normal quantile (Abramowitz & Stegun, *Handbook of Mathematical
/// Functions*, 26.7.5), within 0.001 of the exact value there. `df = 0` gives infinity.
pub fn t_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => TABLE[df - 1],
        _ => {
            let z: f64 = 1.959_963_985;
            let v = df as f64;
            let g1 = (z.powi(3) + z) / 4.0;
            let g2 = (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / 96.0;
            let g3 = (3.0 * z.powi(7) + 19.0 * z.powi(5) + 17.0 * z.powi(3) - 15.0 * z) / 384.0;
            z + g1 / v + g2 / (v * v) + g3 / (v * v * v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    /// x = 0..8, y = 1 3 2 5 4 6 8 7, by hand: x̄ = 3.5, ȳ = 4.5, Sxx = 42, Sxy = 39, Syy = 42,
    /// b = 39/42 = 0.928571, SSE = 42 − b·39 = 5.785714, s² = SSE/6 = 0.964286,
    /// se = sqrt(s²/42) = 0.151523, t(0.975, 6) = 2.447, half-width = 0.370776,
    /// R² = 1 − SSE/42 = 0.862245.
    #[test]
    fn a_fit_matches_the_hand_computed_figures() {
        let ys = [1.0, 3.0, 2.0, 5.0, 4.0, 6.0, 8.0, 7.0];
        let points: Vec<(f64, f64)> = ys.iter().enumerate().map(|(i, y)| (i as f64, *y)).collect();
        let fit = Fit::of(&points).unwrap();
        assert_eq!(fit.n, 8);
        assert!(close(fit.slope, 0.928_571, 1e-6), "{fit:?}");
        assert!(close(fit.half_width, 0.370_776, 1e-5), "{fit:?}");
        assert!(close(fit.r2, 0.862_245, 1e-6), "{fit:?}");
        assert!(close(fit.low(), 0.557_795, 1e-5));
        assert!(close(fit.high(), 1.299_348, 1e-5));
    }

    #[test]
    fn an_exact_line_has_no_interval_and_r2_of_one() {
        let points: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 5.0 + 2.0 * i as f64)).collect();
        let fit = Fit::of(&points).unwrap();
        assert!(close(fit.slope, 2.0, 1e-12) && close(fit.half_width, 0.0, 1e-9));
        assert!(close(fit.r2, 1.0, 1e-12));
        let flat: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 7.0)).collect();
        let fit = Fit::of(&flat).unwrap();
        assert_eq!((fit.slope, fit.half_width, fit.r2), (0.0, 0.0, 0.0));
    }

    #[test]
    fn too_few_or_degenerate_points_give_no_fit() {
        let few: Vec<(f64, f64)> = (0..MIN_POINTS - 1).map(|i| (i as f64, 1.0)).collect();
        assert_eq!(Fit::of(&few), None);
        let same_x = vec![(1.0, 2.0); MIN_POINTS];
        assert_eq!(Fit::of(&same_x), None);
    }

    #[test]
    fn student_t_quantiles() {
        assert_eq!(t_975(1), 12.706);
        assert_eq!(t_975(30), 2.042);
        // Exact values: 2.0211 (40), 2.0086 (50), 1.9840 (100), 1.9600 (∞).
        assert!(close(t_975(40), 2.0211, 0.001), "{}", t_975(40));
        assert!(close(t_975(50), 2.0086, 0.001), "{}", t_975(50));
        assert!(close(t_975(100), 1.9840, 0.001), "{}", t_975(100));
        assert!(close(t_975(100_000), 1.96, 0.001));
        assert!(t_975(0).is_infinite());
    }
}
