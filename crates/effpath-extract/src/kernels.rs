//! The vector kernels of candidate scoring: products, their sum and maximum, and the cut-off
//! gather. Each runs under `pulp`'s runtime dispatch (docs/decisions.md, "Candidate kernels"), so the same loop is
//! compiled for AVX2 where the CPU has it and for the baseline otherwise; the operations and
//! their order are the same on every path (no fused multiply-add, fixed summation lanes), so
//! the results are bit-identical whichever instruction set runs.

use pulp::Arch;

/// `out[i] = w[i] · x[i] · sgn` in `f64` — exact: the product of two `f32` fits the `f64`
/// mantissa, and `sgn` is ±1.
pub(crate) fn products(w: &[f32], x: &[f32], sgn: f64, out: &mut [f64]) {
    debug_assert!(w.len() == x.len() && x.len() == out.len());
    Arch::new().dispatch(move || {
        for ((o, &w), &x) in out.iter_mut().zip(w).zip(x) {
            *o = f64::from(w) * f64::from(x) * sgn;
        }
    });
}

/// The running `f64` sum and maximum of a neuron's candidates, in [`SumMax::LANES`] interleaved lanes:
/// element `i` of the candidates goes to lane `i mod LANES`; [`SumMax::finish`] adds the
/// lanes pairwise (lane `l` with `l + 8`, then `l + 4`, …) — an order fixed by the candidates
/// alone. Feeding the candidates in several pieces gives the same result as one piece as long
/// as every piece but the last is a multiple of [`SumMax::LANES`] long.
pub(crate) struct SumMax {
    sum: [f64; SumMax::LANES],
    max: [f64; SumMax::LANES],
}

impl SumMax {
    /// Summation lanes: four AVX2 registers of independent additions, so the sum runs at the
    /// adder's throughput rather than its latency.
    pub(crate) const LANES: usize = 16;

    pub(crate) fn new() -> Self {
        SumMax {
            sum: [0.0; SumMax::LANES],
            max: [f64::NEG_INFINITY; SumMax::LANES],
        }
    }

    /// Adds the values `v`.
    pub(crate) fn add(&mut self, v: &[f64]) {
        let mut a = Lanes {
            sum: self.sum,
            max: self.max,
        };
        // The lanes are moved into the dispatched loop and back, so that they live in
        // registers there rather than behind a reference.
        (self.sum, self.max) = Arch::new().dispatch(move || {
            let mut chunks = v.chunks_exact(SumMax::LANES);
            for c in &mut chunks {
                for (l, &x) in c.iter().enumerate() {
                    a.push(l, x);
                }
            }
            for (l, &x) in chunks.remainder().iter().enumerate() {
                a.push(l, x);
            }
            (a.sum, a.max)
        });
    }

    /// Writes `out[i] = w[i] · x[i] · sgn` (as [`products`]) and adds them, in one sweep.
    pub(crate) fn add_products(&mut self, w: &[f32], x: &[f32], sgn: f64, out: &mut [f64]) {
        debug_assert!(w.len() == x.len() && x.len() == out.len());
        let mut a = Lanes {
            sum: self.sum,
            max: self.max,
        };
        (self.sum, self.max) = Arch::new().dispatch(move || {
            let (mut o, mut wc, mut xc) = (
                out.chunks_exact_mut(SumMax::LANES),
                w.chunks_exact(SumMax::LANES),
                x.chunks_exact(SumMax::LANES),
            );
            for ((o, w), x) in (&mut o).zip(&mut wc).zip(&mut xc) {
                for l in 0..SumMax::LANES {
                    let p = f64::from(w[l]) * f64::from(x[l]) * sgn;
                    o[l] = p;
                    a.push(l, p);
                }
            }
            let tail = o
                .into_remainder()
                .iter_mut()
                .zip(wc.remainder())
                .zip(xc.remainder());
            for (l, ((o, &w), &x)) in tail.enumerate() {
                *o = f64::from(w) * f64::from(x) * sgn;
                a.push(l, *o);
            }
            (a.sum, a.max)
        });
    }

    /// The sum and the maximum.
    pub(crate) fn finish(mut self) -> (f64, f64) {
        let mut half = SumMax::LANES / 2;
        while half > 0 {
            for l in 0..half {
                self.sum[l] += self.sum[l + half];
                let m = self.max[l + half];
                self.max[l] = if m > self.max[l] { m } else { self.max[l] };
            }
            half /= 2;
        }
        (self.sum[0], self.max[0])
    }
}

/// [`SumMax`]'s lanes while a kernel runs.
#[derive(Clone, Copy)]
struct Lanes {
    sum: [f64; SumMax::LANES],
    max: [f64; SumMax::LANES],
}

impl Lanes {
    #[inline(always)]
    fn push(&mut self, l: usize, x: f64) {
        self.sum[l] += x;
        self.max[l] = if x > self.max[l] { x } else { self.max[l] };
    }
}

/// The `f64` sum of `v` (in [`SumMax`]'s lane order) and its maximum.
pub(crate) fn sum_and_max(v: &[f64]) -> (f64, f64) {
    let mut acc = SumMax::new();
    acc.add(v);
    acc.finish()
}

/// The index of the first non-finite value of `v`, if any — a vectorised sweep of whole blocks
/// (the check of every activation before extraction).
pub(crate) fn first_non_finite(v: &[f32]) -> Option<usize> {
    let bad_block = Arch::new().dispatch(move || {
        v.chunks(1024)
            .position(|c| !c.iter().fold(true, |ok, x| ok & x.is_finite()))
    })?;
    let start = bad_block * 1024;
    v[start..]
        .iter()
        .position(|x| !x.is_finite())
        .map(|i| start + i)
}

/// Values per block of [`gather_at_least`]'s scan: a block costs one vector comparison and
/// one mask; only its hits cost more.
const BLOCK: usize = 16;

/// The hits `≥ cut` of one block (up to [`BLOCK`] values) as a bit mask, bit `l` for value `l`.
#[inline(always)]
fn hit_mask(block: &[f64], cut: f64) -> u32 {
    block
        .iter()
        .enumerate()
        .fold(0u32, |m, (l, &x)| m | (u32::from(x >= cut) << l))
}

/// Writes into `order[..k]` the indices of the values `≥ cut`, in index order, and returns
/// `k` and their sum (taken in index order). `order` grows to `v.len()` and is never shrunk,
/// so a reused buffer is not cleared or refilled per call.
pub(crate) fn gather_at_least(v: &[f64], cut: f64, order: &mut Vec<u32>) -> (usize, f64) {
    if order.len() < v.len() {
        order.resize(v.len(), 0);
    }
    let order = &mut order[..v.len()];
    Arch::new().dispatch(|| {
        let (mut n, mut sum) = (0usize, 0.0f64);
        // A block's hits are its mask's set bits, taken lowest first (index order); an
        // effective path keeps a few of a neuron's inputs, so most blocks have none.
        for (b, block) in v.chunks(BLOCK).enumerate() {
            let mut mask = hit_mask(block, cut);
            while mask != 0 {
                let l = mask.trailing_zeros() as usize;
                order[n] = (b * BLOCK + l) as u32;
                sum += block[l];
                n += 1;
                mask &= mask - 1;
            }
        }
        (n, sum)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_are_exact_and_signed() {
        let w = [0.5f32, -3.0, 1e-20, f32::MAX];
        let x = [2.0f32, 0.25, 1e-20, 2.0];
        let mut out = [0.0; 4];
        products(&w, &x, -1.0, &mut out);
        assert_eq!(
            out,
            [
                -1.0,
                0.75,
                -(1e-20f32 as f64 * 1e-20f32 as f64),
                -(f32::MAX as f64) * 2.0
            ]
        );
    }

    /// The documented order: lanes `i mod 16`, then pairwise halving.
    fn reference_sum(v: &[f64]) -> f64 {
        let mut lanes = vec![0.0f64; SumMax::LANES];
        for (i, &x) in v.iter().enumerate() {
            lanes[i % SumMax::LANES] += x;
        }
        while lanes.len() > 1 {
            let half = lanes.len() / 2;
            lanes = (0..half).map(|l| lanes[l] + lanes[l + half]).collect();
        }
        lanes[0]
    }

    #[test]
    fn sum_lanes_and_max() {
        // Values whose sum rounds differently in other orders: the lane rule fixes it.
        let v: Vec<f64> = (0..70)
            .map(|i| if i % 17 == 0 { 1e16 } else { 1.0 + i as f64 * 0.25 } * if i % 3 == 0 { -1.0 } else { 1.0 })
            .collect();
        let (s, m) = sum_and_max(&v);
        assert_eq!(s.to_bits(), reference_sum(&v).to_bits());
        assert_eq!(m, 1e16);
        let sequential: f64 = v.iter().sum();
        assert_ne!(s, sequential, "the example should be order-sensitive");
        assert_eq!(sum_and_max(&[]), (0.0, f64::NEG_INFINITY));
        assert_eq!(sum_and_max(&[-1.0, -3.0]).1, -1.0);
    }

    #[test]
    fn pieces_of_lane_multiples_sum_as_one() {
        let w: Vec<f32> = (0..83).map(|i| (i as f32 * 0.37).sin() * 1e3).collect();
        let x: Vec<f32> = (0..83).map(|i| (i as f32 * 1.3).cos()).collect();
        let mut whole = vec![0.0; 83];
        products(&w, &x, -1.0, &mut whole);
        let mut acc = SumMax::new();
        let mut out = vec![0.0; 83];
        for (a, b) in [(0, 32), (32, 48), (48, 83)] {
            acc.add_products(&w[a..b], &x[a..b], -1.0, &mut out[a..b]);
        }
        assert_eq!(out, whole);
        let (s, m) = acc.finish();
        assert_eq!(
            (s.to_bits(), m),
            (reference_sum(&whole).to_bits(), sum_and_max(&whole).1)
        );
    }

    #[test]
    fn first_non_finite_value() {
        let mut v = vec![1.0f32; 5000];
        assert_eq!(first_non_finite(&v), None);
        v[4097] = f32::NAN;
        v[4999] = f32::INFINITY;
        assert_eq!(first_non_finite(&v), Some(4097));
        v[3] = f32::NEG_INFINITY;
        assert_eq!(first_non_finite(&v), Some(3));
        assert_eq!(first_non_finite(&[]), None);
    }

    #[test]
    fn gather_keeps_index_order_and_reuses_the_buffer() {
        let v: Vec<f64> = (0..37).map(|i| ((i * 7) % 11) as f64).collect();
        let mut order = vec![99; 3];
        let (k, s) = gather_at_least(&v, 8.0, &mut order);
        let want: Vec<u32> = (0..37).filter(|&i| v[i as usize] >= 8.0).collect();
        assert_eq!(&order[..k], &want[..]);
        assert_eq!(s, want.iter().map(|&i| v[i as usize]).sum::<f64>());
        assert_eq!(order.len(), 37);
        let (k, _) = gather_at_least(&v[..5], 100.0, &mut order);
        assert_eq!((k, order.len()), (0, 37));
    }
}
