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
    Arch::new().dispatch(|| {
        for ((o, &w), &x) in out.iter_mut().zip(w).zip(x) {
            *o = f64::from(w) * f64::from(x) * sgn;
        }
    });
}

/// Summation lanes of [`sum_and_max`]: four AVX2 registers of independent additions, so the
/// sum runs at the adder's throughput rather than its latency.
const LANES: usize = 16;

/// The `f64` sum of `v` and its maximum. The sum runs in [`LANES`] interleaved lanes (element
/// `i` goes to lane `i mod LANES`), which are then added pairwise (lane `l` with `l + 8`, then
/// `l + 4`, …) — an order fixed by `v` alone.
pub(crate) fn sum_and_max(v: &[f64]) -> (f64, f64) {
    Arch::new().dispatch(|| {
        let mut sum = [0.0f64; LANES];
        let mut max = [f64::NEG_INFINITY; LANES];
        let mut chunks = v.chunks_exact(LANES);
        for c in &mut chunks {
            for l in 0..LANES {
                sum[l] += c[l];
                max[l] = if c[l] > max[l] { c[l] } else { max[l] };
            }
        }
        for (l, &x) in chunks.remainder().iter().enumerate() {
            sum[l] += x;
            max[l] = if x > max[l] { x } else { max[l] };
        }
        let mut half = LANES / 2;
        while half > 0 {
            for l in 0..half {
                sum[l] += sum[l + half];
                max[l] = if max[l + half] > max[l] {
                    max[l + half]
                } else {
                    max[l]
                };
            }
            half /= 2;
        }
        (sum[0], max[0])
    })
}

/// Values per block of [`gather_at_least`]'s scan: a block without a hit costs one vector
/// comparison.
const BLOCK: usize = 16;

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
        let mut take = |i: usize, x: f64| {
            if x >= cut {
                order[n] = i as u32;
                n += 1;
                sum += x;
            }
        };
        let mut blocks = v.chunks_exact(BLOCK);
        for (b, block) in (&mut blocks).enumerate() {
            if block.iter().fold(false, |hit, &x| hit | (x >= cut)) {
                for (l, &x) in block.iter().enumerate() {
                    take(b * BLOCK + l, x);
                }
            }
        }
        let base = v.len() - blocks.remainder().len();
        for (l, &x) in blocks.remainder().iter().enumerate() {
            take(base + l, x);
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
        let mut lanes = vec![0.0f64; LANES];
        for (i, &x) in v.iter().enumerate() {
            lanes[i % LANES] += x;
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
