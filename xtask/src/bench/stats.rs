//! Order statistics of a handful of paired runs.

/// The `q` quantile (0 ≤ q ≤ 1) by linear interpolation between order statistics; NaN if empty.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

pub fn median(values: &[f64]) -> f64 {
    quantile(values, 0.5)
}

/// Median, its 95 % confidence interval, quartiles and range of a sample.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Spread {
    pub median: f64,
    /// Distribution-free 95 % confidence interval of the median (NaN below 6 values).
    pub ci95: (f64, f64),
    pub q1: f64,
    pub q3: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(values: &[f64]) -> Self {
        Self {
            median: median(values),
            ci95: median_ci95(values),
            q1: quantile(values, 0.25),
            q3: quantile(values, 0.75),
            min: quantile(values, 0.0),
            max: quantile(values, 1.0),
        }
    }
}

/// A distribution-free confidence interval (at least 95 %) of the median: the order statistics
/// x(k) and x(n+1-k), with k the largest such that P(Binomial(n, 1/2) < k) <= 2.5 %.
pub fn median_ci95(values: &[f64]) -> (f64, f64) {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    // P(X <= j) for X ~ Binomial(n, 1/2), accumulated term by term.
    let (mut term, mut below, mut k) = (0.5f64.powi(n as i32), 0.0, 0);
    for j in 0..n {
        below += term;
        if below > 0.025 {
            break;
        }
        k = j + 1; // P(X < k) = P(X <= j) <= 2.5 %
        term *= (n - j) as f64 / (j + 1) as f64;
    }
    if k == 0 {
        return (f64::NAN, f64::NAN);
    }
    (v[k - 1], v[n - k])
}

/// Orders of `n` conditions, one per round in turn, in which every condition runs right after
/// every other one equally often (a Williams design). A plain rotation would always run the
/// same condition after auditd, and so charge whatever auditd leaves behind to it alone.
pub fn balanced_orders(n: usize) -> Vec<Vec<usize>> {
    // First row 0, 1, n-1, 2, n-2, …; row i adds i to each entry (mod n).
    let mut first = vec![0];
    let (mut lo, mut hi) = (1, n.saturating_sub(1));
    while first.len() < n {
        first.push(lo);
        lo += 1;
        if first.len() < n {
            first.push(hi);
            hi -= 1;
        }
    }
    let mut rows: Vec<Vec<usize>> = (0..n)
        .map(|i| first.iter().map(|c| (c + i) % n).collect())
        .collect();
    if n % 2 == 1 {
        // For an odd n the mirrored rows complete the balance.
        let mirrored: Vec<Vec<usize>> = rows
            .iter()
            .map(|r| r.iter().rev().copied().collect())
            .collect();
        rows.extend(mirrored);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::{balanced_orders, median, median_ci95, quantile};

    #[test]
    fn median_of_odd_and_even_samples() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.25), 2.0);
    }

    #[test]
    fn median_interval_uses_binomial_order_statistics() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        // n = 20: P(X <= 5) = 2.07 %, P(X <= 6) = 5.77 %, so k = 6: x(6) and x(15).
        assert_eq!(median_ci95(&v), (6.0, 15.0));
        let v: Vec<f64> = (1..=6).map(f64::from).collect();
        assert_eq!(median_ci95(&v), (1.0, 6.0)); // 1/64 = 1.6 %
        assert!(median_ci95(&[1.0, 2.0, 3.0, 4.0, 5.0]).0.is_nan());
    }

    #[test]
    fn every_condition_follows_every_other_equally_often() {
        for n in 2..=5 {
            let orders = balanced_orders(n);
            let mut follows = vec![vec![0; n]; n];
            for row in &orders {
                let mut sorted = row.clone();
                sorted.sort_unstable();
                assert_eq!(
                    sorted,
                    (0..n).collect::<Vec<_>>(),
                    "n={n}: {row:?} is not a permutation"
                );
                for pair in row.windows(2) {
                    follows[pair[0]][pair[1]] += 1;
                }
            }
            let counts: Vec<i32> = (0..n)
                .flat_map(|a| (0..n).filter(move |&b| b != a).map(move |b| (a, b)))
                .map(|(a, b)| follows[a][b])
                .collect();
            assert!(counts.iter().all(|&c| c == counts[0]), "n={n}: {orders:?}");
        }
    }
}
