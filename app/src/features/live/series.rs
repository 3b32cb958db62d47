//! Averaging samples into buckets of a fixed width: minute roll-ups for the store and the chart
//! resolution of each time range. A value missing in every sample of a bucket stays missing.

use super::model::{FastPoint, SlowPoint};

/// A point type whose values can be averaged field by field.
pub trait Values: Sized {
    const N: usize;
    fn at_ms(&self) -> i64;
    fn values(&self) -> Vec<Option<f64>>;
    fn from_values(at_ms: i64, values: &[Option<f64>]) -> Self;
}

macro_rules! values_impl {
    ($ty:ty, [$($field:ident),+ $(,)?]) => {
        impl Values for $ty {
            const N: usize = [$(stringify!($field)),+].len();
            fn at_ms(&self) -> i64 {
                self.at_ms
            }
            fn values(&self) -> Vec<Option<f64>> {
                vec![$(self.$field),+]
            }
            fn from_values(at_ms: i64, values: &[Option<f64>]) -> Self {
                let mut it = values.iter().copied();
                Self {
                    at_ms,
                    $($field: it.next().flatten(),)+
                }
            }
        }
    };
}

values_impl!(
    FastPoint,
    [
        commits,
        rollbacks,
        cache_hit,
        tup_returned,
        tup_fetched,
        tup_inserted,
        tup_updated,
        tup_deleted,
        temp_bytes,
        deadlocks,
        conflicts,
        active,
        idle,
        idle_in_tx,
        waiting,
    ]
);

values_impl!(
    SlowPoint,
    [
        wal_bytes,
        checkpoints_timed,
        checkpoints_req,
        repl_lag_bytes,
        repl_lag_ms,
    ]
);

/// Three decimals are plenty for a chart and keep the JSON short.
pub fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Averages `points` (sorted by time) into buckets of `step_ms`, stamped with the bucket start.
pub fn bucket<P: Values>(points: &[P], step_ms: i64) -> Vec<P> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < points.len() {
        let start = points[i].at_ms() - points[i].at_ms().rem_euclid(step_ms.max(1));
        let mut sums = vec![0.0; P::N];
        let mut counts = vec![0_u32; P::N];
        while i < points.len() && points[i].at_ms() < start + step_ms.max(1) {
            for (k, v) in points[i].values().into_iter().enumerate() {
                if let Some(v) = v {
                    sums[k] += v;
                    counts[k] += 1;
                }
            }
            i += 1;
        }
        let values: Vec<Option<f64>> = sums
            .iter()
            .zip(&counts)
            .map(|(s, c)| (*c > 0).then(|| round3(*s / f64::from(*c))))
            .collect();
        out.push(P::from_values(start, &values));
    }
    out
}

pub fn bucket_fast(points: &[FastPoint], step_ms: i64) -> Vec<FastPoint> {
    bucket(points, step_ms)
}

pub fn bucket_slow(points: &[SlowPoint], step_ms: i64) -> Vec<SlowPoint> {
    bucket(points, step_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_average_and_keep_gaps() {
        let p = |at_ms, commits: Option<f64>| FastPoint {
            at_ms,
            commits,
            ..FastPoint::default()
        };
        let points = vec![
            p(60_000, Some(10.0)),
            p(61_000, Some(20.0)),
            p(62_000, None),
            p(125_000, None),
        ];
        let b = bucket_fast(&points, 60_000);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].at_ms, 60_000);
        assert_eq!(b[0].commits, Some(15.0));
        assert_eq!(b[1].at_ms, 120_000);
        assert_eq!(b[1].commits, None);
    }
}
