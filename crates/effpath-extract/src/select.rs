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
/// many. The crossing is found by repeated partitioning (expected linear time); sums over a
/// block are added in block order, so at an exact tie between the running sum and the target
/// the result may differ from a strictly sequential prefix sum by rounding (documented in
/// docs/decisions.md).
pub(crate) fn arg_approx(
    v: &[f64],
    theta: f64,
    base: ThresholdBase,
    output: f64,
    order: &mut Vec<u32>,
    out: &mut Vec<u32>,
) -> usize {
    let n = v.len();
    if n == 0 {
        return 0;
    }
    let argmax = || {
        let mut best = 0;
        for (i, &x) in v.iter().enumerate() {
            if x > v[best] {
                best = i;
            }
        }
        best as u32
    };
    let total = match base {
        ThresholdBase::ProductSum => v.iter().sum::<f64>(),
        ThresholdBase::Output => output,
    };
    if 1.0 / n as f64 >= theta || total <= 0.0 {
        out.push(argmax());
        return 1;
    }
    let target = theta * total;
    // Fast path: the largest contribution alone reaches the target.
    let best = argmax();
    if v[best as usize] >= target {
        out.push(best);
        return 1;
    }
    order.clear();
    order.extend(0..n as u32);
    // The ranking order: value descending, then index ascending (a strict total order).
    let desc = |a: &u32, b: &u32| v[*b as usize].total_cmp(&v[*a as usize]).then(a.cmp(b));
    // Narrow [lo, hi) to the block holding the crossing: each round partitions the block
    // around its middle rank (expected linear time), so the whole search is O(n) instead
    // of a full sort; only the last small block is sorted.
    let (mut lo, mut hi, mut before) = (0usize, n, 0.0f64);
    while hi - lo > 64 {
        let mid = lo + (hi - lo) / 2;
        order[lo..hi].select_nth_unstable_by(mid - lo, desc);
        let top: f64 = order[lo..mid].iter().map(|&i| v[i as usize]).sum();
        if before + top >= target {
            hi = mid;
        } else {
            before += top;
            lo = mid;
        }
    }
    order[lo..hi].sort_unstable_by(desc);
    let mut running = before;
    for p in lo..hi {
        running += v[order[p] as usize];
        if running >= target {
            out.extend_from_slice(&order[..=p]);
            return p + 1;
        }
    }
    let before_len = out.len();
    out.extend((0..n as u32).filter(|&i| v[i as usize] > 0.0));
    if out.len() == before_len {
        // No positive value: only reachable with `ThresholdBase::Output` when the bias makes
        // the output positive while every contribution is ≤ 0. Keep the argmax, as rules 1 and
        // 2 do, so that a kept neuron always keeps an input and a larger θ never keeps less.
        out.push(argmax());
    }
    out.len() - before_len
}

#[cfg(test)]
mod tests {
    use super::*;

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
            assert_eq!((n, out), (1, vec![1]), "θ = {theta}");
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
        let total: f64 = v.iter().sum();
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
