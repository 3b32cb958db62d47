//! The hub's history rings: the last hour of one target's samples, kept compact. A point is its
//! time and one `f32` per value (NaN when the value is missing), in two flat queues: 68 bytes a
//! fast point instead of the 248 of a `FastPoint`, 28 a slow point instead of 88. An hour of
//! 1 s samples is then ~270 KiB a target instead of ~980 KiB. An `f32` keeps 7 significant
//! digits, more than a chart draws; values come back rounded to three decimals, as the frames
//! carry them.

use std::collections::VecDeque;
use std::marker::PhantomData;

use super::series::{Values, round3};

#[derive(Debug)]
pub struct Ring<P> {
    at_ms: VecDeque<i64>,
    /// `P::N` values per point, in the order of `at_ms`.
    values: VecDeque<f32>,
    point: PhantomData<fn() -> P>,
}

impl<P> Default for Ring<P> {
    fn default() -> Self {
        Self {
            at_ms: VecDeque::new(),
            values: VecDeque::new(),
            point: PhantomData,
        }
    }
}

impl<P: Values> Ring<P> {
    pub fn push(&mut self, point: &P) {
        self.at_ms.push_back(point.at_ms());
        self.values.extend(
            point
                .values()
                .into_iter()
                .map(|v| v.map_or(f32::NAN, |v| v as f32)),
        );
    }

    /// Drops the points taken before `cutoff_ms`.
    pub fn trim_before(&mut self, cutoff_ms: i64) {
        let old = self.at_ms.partition_point(|at| *at < cutoff_ms);
        self.at_ms.drain(..old);
        self.values.drain(..old * P::N);
    }

    /// When the oldest point was taken.
    pub fn first_ms(&self) -> Option<i64> {
        self.at_ms.front().copied()
    }

    pub fn len(&self) -> usize {
        self.at_ms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.at_ms.is_empty()
    }

    /// The points taken in `from_ms..until_ms`, oldest first.
    pub fn between(&self, from_ms: i64, until_ms: i64) -> Vec<P> {
        let start = self.at_ms.partition_point(|at| *at < from_ms);
        let end = self.at_ms.partition_point(|at| *at < until_ms);
        (start..end.max(start)).map(|i| self.point(i)).collect()
    }

    fn point(&self, i: usize) -> P {
        let values: Vec<Option<f64>> = (0..P::N)
            .map(|k| {
                let v = self.values[i * P::N + k];
                (!v.is_nan()).then(|| round3(f64::from(v)))
            })
            .collect();
        P::from_values(self.at_ms[i], &values)
    }

    /// Bytes a point takes in the ring (its share of the two queues' contents).
    pub const fn point_bytes() -> usize {
        size_of::<i64>() + P::N * size_of::<f32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::live::model::{FastPoint, SlowPoint};

    fn fast(at_ms: i64, commits: Option<f64>, active: Option<f64>) -> FastPoint {
        FastPoint {
            at_ms,
            commits,
            active,
            ..FastPoint::default()
        }
    }

    #[test]
    fn points_come_back_as_they_went_in_to_seven_digits() {
        let mut ring = Ring::<FastPoint>::default();
        ring.push(&fast(1_000, Some(119.125), None));
        ring.push(&fast(2_000, Some(0.999), Some(42.0)));
        ring.push(&fast(3_000, Some(1_234_567.0), Some(0.0)));
        let back = ring.between(0, i64::MAX);
        assert_eq!(back.len(), 3);
        assert_eq!(back[0], fast(1_000, Some(119.125), None));
        // Missing stays missing, a zero stays a zero, three decimals as the frames carry them.
        assert_eq!(back[1], fast(2_000, Some(0.999), Some(42.0)));
        assert_eq!(back[2], fast(3_000, Some(1_234_567.0), Some(0.0)));
        // Eight digits lose the last one, not the magnitude.
        ring.push(&fast(4_000, Some(123_456_789.0), None));
        let big = ring.between(4_000, 4_001)[0].commits.unwrap_or_default();
        assert!((big - 123_456_789.0).abs() <= 8.0, "{big}");
    }

    #[test]
    fn ranges_and_trimming_follow_the_times() {
        let mut ring = Ring::<SlowPoint>::default();
        for i in 0..10 {
            ring.push(&SlowPoint {
                at_ms: i * 10_000,
                wal_bytes: Some(i as f64),
                ..SlowPoint::default()
            });
        }
        let mid = ring.between(20_000, 50_000);
        assert_eq!(
            mid.iter().map(|p| p.at_ms).collect::<Vec<_>>(),
            [20_000, 30_000, 40_000]
        );
        assert_eq!(mid[2].wal_bytes, Some(4.0));
        assert!(ring.between(50_000, 20_000).is_empty());
        ring.trim_before(65_000);
        assert_eq!(ring.len(), 3);
        assert_eq!(ring.first_ms(), Some(70_000));
        assert_eq!(ring.between(0, i64::MAX)[0].wal_bytes, Some(7.0));
        ring.trim_before(i64::MAX);
        assert!(ring.is_empty() && ring.first_ms().is_none());
    }

    #[test]
    fn a_point_takes_a_third_of_its_struct() {
        assert_eq!(Ring::<FastPoint>::point_bytes(), 68);
        assert_eq!(size_of::<FastPoint>(), 248);
        assert_eq!(Ring::<SlowPoint>::point_bytes(), 28);
        assert_eq!(size_of::<SlowPoint>(), 88);
    }
}
