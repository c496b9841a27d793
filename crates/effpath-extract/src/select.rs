//! The selection primitive of effective paths (spec §1.3): the smallest prefix of the
//! descending ranking of signed contributions whose sum reaches θ × (sum of all contributions).

/// Where the cumulative threshold is taken from (spec §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ThresholdBase {
    /// θ × (sum of all signed products, bias excluded) — the original implementation's rule.
    #[default]
    ProductSum,
    /// θ × (the neuron's sign-adjusted output, bias included) — the paper's prose.
    Output,
}

/// Selects indices of `v` (already sign-adjusted) for cumulative threshold `theta`.
///
/// Rules, in order (spec §1.3): if `1/len ≥ θ`, or the base (sum of `v`, or `output` for
/// [`ThresholdBase::Output`]) is ≤ 0, only the argmax; otherwise the `p + 1` largest values,
/// where `p` is the first position at which the descending running sum reaches `θ·base`; if it
/// never does (rounding at θ = 1, or a bias-dominated output for [`ThresholdBase::Output`])
/// every positive value — or the argmax if there is none. Ties are ranked by index ascending and
/// the prefix is never extended to further ties. Sums are accumulated in `f64`.
///
/// Appends the selected indices to `out` (as a set, in no particular order) and returns how
/// many, and the maximum of `v`. An effective path keeps a handful of a neuron's thousands of inputs, so the prefix is
/// found without ranking everything: a cut-off `c` is lowered from half the maximum (÷4 per
/// pass) until the values `≥ c` sum to the target; only those are sorted, and the running sum
/// is taken over them from the largest down, exactly as the definition says. Each pass is one
/// branch-free sweep over `v`; typical selections need one to three.
pub(crate) fn arg_approx(
    v: &[f64],
    theta: f64,
    base: ThresholdBase,
    output: f64,
    order: &mut Vec<u32>,
    out: &mut Vec<u32>,
) -> (usize, f64) {
    let n = v.len();
    if n == 0 {
        return (0, f64::NEG_INFINITY);
    }
    let (total, best) = sum_and_argmax(v);
    let total = match base {
        ThresholdBase::ProductSum => total,
        ThresholdBase::Output => output,
    };
    let max = v[best as usize];
    if 1.0 / n as f64 >= theta || total <= 0.0 {
        out.push(best);
        return (1, max);
    }
    let target = theta * total;
    // Fast path: the largest contribution alone reaches the target.
    if max >= target {
        out.push(best);
        return (1, max);
    }
    // The ranking order: value descending, then index ascending (a strict total order).
    let desc = |a: &u32, b: &u32| v[*b as usize].total_cmp(&v[*a as usize]).then(a.cmp(b));
    let mut cut = max * 0.5;
    loop {
        if gather_at_least(v, cut, order) >= target || cut <= 0.0 {
            order.sort_unstable_by(desc);
            let mut running = 0.0f64;
            for (p, &i) in order.iter().enumerate() {
                running += v[i as usize];
                if running >= target {
                    out.extend_from_slice(&order[..=p]);
                    return (p + 1, max);
                }
            }
            if cut <= 0.0 {
                break;
            }
        }
        // Lower the cut-off; below 10⁻¹² of the maximum, take every non-negative value.
        cut = if cut > max * 1e-12 { cut * 0.25 } else { 0.0 };
    }
    let before_len = out.len();
    out.extend((0..n as u32).filter(|&i| v[i as usize] > 0.0));
    if out.len() == before_len {
        // No positive value: only reachable with `ThresholdBase::Output` when the bias makes
        // the output positive while every contribution is ≤ 0. Keep the argmax, as rules 1 and
        // 2 do, so that a kept neuron always keeps an input and a larger θ never keeps less.
        out.push(best);
    }
    (out.len() - before_len, max)
}

/// The `f64` sum of `v` (in four interleaved lanes: element `i` goes to lane `i mod 4`, and
/// the lanes are added pairwise — fixed by the order of `v` alone) and the index of its first
/// maximum, in one sweep that vectorises instead of one chain of dependent additions.
fn sum_and_argmax(v: &[f64]) -> (f64, u32) {
    let mut sum = [0.0f64; 4];
    let mut max = [f64::NEG_INFINITY; 4];
    let mut at = [0usize; 4];
    let mut chunks = v.chunks_exact(4);
    for (k, c) in (&mut chunks).enumerate() {
        for l in 0..4 {
            sum[l] += c[l];
            if c[l] > max[l] {
                max[l] = c[l];
                at[l] = 4 * k + l;
            }
        }
    }
    let base = v.len() - chunks.remainder().len();
    for (l, &x) in chunks.remainder().iter().enumerate() {
        sum[l] += x;
        if x > max[l] {
            max[l] = x;
            at[l] = base + l;
        }
    }
    let total = (sum[0] + sum[1]) + (sum[2] + sum[3]);
    // The first maximum: the largest lane maximum, the smallest index among equal ones.
    let mut best = (f64::NEG_INFINITY, usize::MAX);
    for l in 0..4.min(v.len()) {
        if max[l] > best.0 || (max[l] == best.0 && at[l] < best.1) {
            best = (max[l], at[l]);
        }
    }
    (total, best.1 as u32)
}

/// Collects into `order` the indices of the values `≥ cut` and returns their sum — one
/// branch-free sweep (every index is written; the count advances only on a hit).
fn gather_at_least(v: &[f64], cut: f64, order: &mut Vec<u32>) -> f64 {
    order.clear();
    order.resize(v.len() + 1, 0);
    let (mut n, mut s0, mut s1) = (0usize, 0.0f64, 0.0f64);
    let mut pairs = v.chunks_exact(2);
    for (k, p) in (&mut pairs).enumerate() {
        let (a, b) = (p[0] >= cut, p[1] >= cut);
        order[n] = 2 * k as u32;
        n += usize::from(a);
        order[n] = 2 * k as u32 + 1;
        n += usize::from(b);
        s0 += if a { p[0] } else { 0.0 };
        s1 += if b { p[1] } else { 0.0 };
    }
    if let [x] = pairs.remainder() {
        order[n] = v.len() as u32 - 1;
        if *x >= cut {
            n += 1;
            s0 += x;
        }
    }
    order.truncate(n);
    s0 + s1
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Just;

    fn sel(v: &[f64], theta: f64) -> Vec<u32> {
        let mut out = Vec::new();
        arg_approx(
            v,
            theta,
            ThresholdBase::ProductSum,
            0.0,
            &mut Vec::new(),
            &mut out,
        );
        out.sort_unstable();
        out
    }

    #[test]
    fn spec_worked_examples() {
        assert_eq!(sel(&[4., 3., 2., -1., 0.], 0.5), vec![0]);
        assert_eq!(sel(&[5., 3., 2., 1., -1.], 0.9), vec![0, 1, 2]);
        assert_eq!(sel(&[1., 2., 3., -4.], 1.0), vec![2]);
        assert_eq!(sel(&[-1., -2.], 0.5), vec![0]);
        assert_eq!(sel(&[2., 5.], 0.5), vec![1]);
    }

    #[test]
    fn degenerate_cases() {
        // 1/len ≥ θ: argmax only, even when the sum would need more.
        assert_eq!(sel(&[1., 1., 1., 1.], 0.25), vec![0]);
        // Sum ≤ 0: argmax (the least negative; first on ties).
        assert_eq!(sel(&[-3., 0., 0., -1.], 0.5), vec![1]);
        // Never reached (θ = 1 and negative products cancel nothing here): all positives.
        let v = [0.1f64, 0.2, 0.3, 0.0];
        assert_eq!(sel(&v, 1.0), vec![0, 1, 2]);
    }

    #[test]
    fn output_base_without_positive_contributions_keeps_the_argmax() {
        // Output 1 (a positive bias), contributions all ≤ 0: the target θ·1 is never reached.
        let v = [-1.0f64, 0.0, -0.5];
        for theta in [0.5, 0.9, 1.0] {
            let mut out = Vec::new();
            let n = arg_approx(
                &v,
                theta,
                ThresholdBase::Output,
                1.0,
                &mut Vec::new(),
                &mut out,
            );
            assert_eq!((n.0, out), (1, vec![1]), "θ = {theta}");
        }
    }

    #[test]
    fn ties_are_ranked_by_index_and_not_extended() {
        // Sum 4, target 2 at θ = 0.5 → needs two of the four equal values: the first two.
        assert_eq!(sel(&[1., 1., 1., 1.], 0.5), vec![0, 1]);
        assert_eq!(sel(&[0., 2., 2., 2., 2.], 0.3), vec![1, 2]);
    }

    /// The definition: sort by (value desc, index asc), take the shortest reaching prefix.
    fn naive(v: &[f64], theta: f64) -> Vec<u32> {
        let n = v.len();
        let total = super::sum_and_argmax(v).0;
        let argmax = (0..n).fold(0, |b, i| if v[i] > v[b] { i } else { b }) as u32;
        if 1.0 / n as f64 >= theta || total <= 0.0 {
            return vec![argmax];
        }
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_by(|&a, &b| v[b as usize].total_cmp(&v[a as usize]).then(a.cmp(&b)));
        let mut running = 0.0;
        for (p, &i) in order.iter().enumerate() {
            running += v[i as usize];
            if running >= theta * total {
                let mut r = order[..=p].to_vec();
                r.sort_unstable();
                return r;
            }
        }
        (0..n as u32).filter(|&i| v[i as usize] > 0.0).collect()
    }

    proptest::proptest! {
        /// Integer-valued contributions (exact sums) with many ties: the linear-time search
        /// selects exactly the set of the definition.
        #[test]
        fn partitioned_search_equals_the_sorted_definition(
            v in proptest::collection::vec(-20i32..40, 1..400),
            theta in 0.01f64..=1.0,
        ) {
            let v: Vec<f64> = v.into_iter().map(f64::from).collect();
            proptest::prop_assert_eq!(sel(&v, theta), naive(&v, theta));
        }
    }

    proptest::proptest! {
        /// Real-valued contributions (products of f32 values, many exact zeros as after a
        /// ReLU): the cut-off search takes the running sum in the definition's order, so the
        /// selected sets are identical, not only up to rounding.
        #[test]
        fn cut_off_search_equals_the_definition_on_real_values(
            v in proptest::collection::vec(
                proptest::prop_oneof![Just(0.0f32), -1.0f32..1.0, 0.0f32..0.01],
                1..3000,
            ),
            w in proptest::collection::vec(-1.0f32..1.0, 3000),
            theta in 0.01f64..=1.0,
        ) {
            let v: Vec<f64> = v.iter().zip(&w).map(|(&x, &w)| x as f64 * w as f64).collect();
            proptest::prop_assert_eq!(sel(&v, theta), naive(&v, theta));
        }
    }

    #[test]
    fn output_base_uses_the_output() {
        let mut out = Vec::new();
        arg_approx(
            &[3., 2., 1.],
            0.5,
            ThresholdBase::Output,
            10.0,
            &mut Vec::new(),
            &mut out,
        );
        out.sort_unstable();
        assert_eq!(out, vec![0, 1]); // target 5: 3 + 2
        out.clear();
        arg_approx(
            &[3., 2., 1.],
            0.5,
            ThresholdBase::Output,
            -1.0,
            &mut Vec::new(),
            &mut out,
        );
        assert_eq!(out, vec![0]);
    }
}
