//! The selection primitive of effective paths (spec §1.3): the smallest prefix of the
//! descending ranking of signed contributions whose sum reaches θ × (sum of all contributions).

use crate::kernels::{gather_at_least, sum_and_max};

/// Where the cumulative threshold is taken from (spec §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ThresholdBase {
    /// θ × (sum of all signed products, bias excluded) — the original implementation's rule.
    #[default]
    ProductSum,
    /// θ × (the neuron's sign-adjusted output, bias included) — the paper's prose.
    Output,
}

/// How the candidates of one neuron are laid out, which fixes their canonical index — the
/// tie-breaker of the ranking (spec §1.3: ties are ranked by index ascending).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Position `p` is canonical index `p`.
    Canonical,
    /// Candidates stored window position by window position (a run of `channels` input
    /// channels per position, as a channels-last input reads them) for a canonical order
    /// of channel by channel: position `q · channels + c` is canonical index `c · positions + q`.
    PositionMajor { channels: u32, positions: u32 },
}

impl Layout {
    /// The canonical index of storage position `p`.
    pub(crate) fn canonical(self, p: u32) -> u32 {
        match self {
            Layout::Canonical => p,
            Layout::PositionMajor {
                channels,
                positions,
            } => (p % channels) * positions + p / channels,
        }
    }

    /// The position of the first maximum `max` of `v` in canonical order.
    fn first_max(self, v: &[f64], max: f64) -> u32 {
        let found = match self {
            Layout::Canonical => v.iter().position(|&x| x == max),
            Layout::PositionMajor {
                channels,
                positions,
            } => {
                let (c, q) = (channels as usize, positions as usize);
                (0..c)
                    .flat_map(|ic| (0..q).map(move |p| p * c + ic))
                    .find(|&i| v[i] == max)
            }
        };
        found.map_or(0, |i| i as u32)
    }
}

/// One neuron's candidates (already sign-adjusted), their layout, sum and maximum.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Candidates<'a> {
    values: &'a [f64],
    layout: Layout,
    /// `(sum, max)` if accumulated as the values were written.
    stats: Option<(f64, f64)>,
}

impl<'a> Candidates<'a> {
    /// Candidates in `layout`, summed when the selection needs it.
    pub(crate) fn new(values: &'a [f64], layout: Layout) -> Self {
        Candidates {
            values,
            layout,
            stats: None,
        }
    }

    /// Candidates whose `(sum, max)` was accumulated as they were written (in
    /// [`crate::kernels::SumMax`]'s order, the order of [`sum_and_max`]).
    pub(crate) fn summed(values: &'a [f64], layout: Layout, stats: (f64, f64)) -> Self {
        Candidates {
            values,
            layout,
            stats: Some(stats),
        }
    }
}

/// Reused buffers of [`arg_approx`]: the gathered hits and their ranking keys.
#[derive(Default)]
pub(crate) struct Ranking {
    hits: Vec<u32>,
    keys: Vec<u128>,
}

/// The ranking key of value `x` at storage position `pos` with canonical index `canonical`:
/// ascending keys are `x` descending in `f64::total_cmp`'s order, then `canonical` ascending;
/// the low 32 bits are `pos`.
fn rank_key(x: f64, canonical: u32, pos: u32) -> u128 {
    let bits = x.to_bits();
    // total_cmp's order as unsigned integers: negative values flip all bits, the others the sign.
    let ascending = if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    };
    (u128::from(!ascending) << 64) | (u128::from(canonical) << 32) | u128::from(pos)
}

/// Selects indices of `v` (already sign-adjusted) for cumulative threshold `theta`.
///
/// Rules, in order (spec §1.3): if `1/len ≥ θ`, or the base (sum of `v`, or `output` for
/// [`ThresholdBase::Output`]) is ≤ 0, only the argmax; otherwise the `p + 1` largest values,
/// where `p` is the first position at which the descending running sum reaches `θ·base`; if it
/// never does (rounding at θ = 1, or a bias-dominated output for [`ThresholdBase::Output`])
/// every positive value — or the argmax if there is none. Ties (and the argmax) are ranked by
/// canonical index ascending (`layout`) and the prefix is never extended to further ties. Sums
/// are accumulated in `f64`.
///
/// Appends the selected storage positions to `out` (as a set, in no particular order) and
/// returns how many, and the maximum of `v`. An effective path keeps a handful of a neuron's
/// thousands of inputs, so the prefix is found without ranking everything: a cut-off `c` is
/// lowered from half the maximum (÷4 per pass) until the values `≥ c` sum to the target; only
/// those are sorted, and the running sum is taken over them from the largest down, exactly as
/// the definition says. Each pass is one vectorised sweep over `v`; typical selections need one.
pub(crate) fn arg_approx(
    cand: Candidates,
    theta: f64,
    base: ThresholdBase,
    output: f64,
    rank: &mut Ranking,
    out: &mut Vec<u32>,
) -> (usize, f64) {
    let Candidates {
        values: v,
        layout,
        stats,
    } = cand;
    let n = v.len();
    if n == 0 {
        return (0, f64::NEG_INFINITY);
    }
    // Rule 1 needs no sum (the common case of a two-input skip connection at θ ≤ ½).
    if 1.0 / n as f64 >= theta {
        let max = stats.map_or_else(
            || {
                v.iter()
                    .fold(f64::NEG_INFINITY, |m, &x| if x > m { x } else { m })
            },
            |(_, max)| max,
        );
        out.push(layout.first_max(v, max));
        return (1, max);
    }
    let (total, max) = stats.unwrap_or_else(|| sum_and_max(v));
    let total = match base {
        ThresholdBase::ProductSum => total,
        ThresholdBase::Output => output,
    };
    let target = theta * total;
    // Only the argmax: the base is not positive (rule 2), or the largest contribution alone
    // reaches the target.
    if total <= 0.0 || max >= target {
        out.push(layout.first_max(v, max));
        return (1, max);
    }
    let mut cut = max * 0.5;
    loop {
        let (k, sum) = gather_at_least(v, cut, &mut rank.hits);
        if sum >= target || cut <= 0.0 {
            // The ranking order: value descending, then canonical index ascending (a strict
            // order), as one integer key per hit, so the sort compares without indirection.
            rank.keys.clear();
            rank.keys.extend(
                rank.hits[..k]
                    .iter()
                    .map(|&i| rank_key(v[i as usize], layout.canonical(i), i)),
            );
            rank.keys.sort_unstable();
            let mut running = 0.0f64;
            for (p, &key) in rank.keys.iter().enumerate() {
                running += v[key as u32 as usize];
                if running >= target {
                    out.extend(rank.keys[..=p].iter().map(|&key| key as u32));
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
        out.push(layout.first_max(v, max));
    }
    (out.len() - before_len, max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Just;

    fn sel(v: &[f64], theta: f64) -> Vec<u32> {
        let mut out = Vec::new();
        arg_approx(
            Candidates::new(v, Layout::Canonical),
            theta,
            ThresholdBase::ProductSum,
            0.0,
            &mut Ranking::default(),
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
                Candidates::new(&v, Layout::Canonical),
                theta,
                ThresholdBase::Output,
                1.0,
                &mut Ranking::default(),
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
        let total = sum_and_max(v).0;
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

    fn any_f64() -> impl proptest::strategy::Strategy<Value = f64> {
        proptest::prop_oneof![
            proptest::num::f64::ANY,
            Just(0.0),
            Just(-0.0),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            -3.0f64..3.0,
        ]
    }

    proptest::proptest! {
        /// The integer ranking key orders as the comparator it replaces: value descending by
        /// `total_cmp` (−0 below +0, NaN at the ends), then canonical index ascending.
        #[test]
        fn rank_keys_order_as_total_cmp_then_index(
            a in any_f64(), b in any_f64(), ca in 0u32..4, cb in 0u32..4,
        ) {
            let by_cmp = b.total_cmp(&a).then(ca.cmp(&cb));
            let by_key = rank_key(a, ca, 7).cmp(&rank_key(b, cb, 9));
            if by_cmp != std::cmp::Ordering::Equal {
                proptest::prop_assert_eq!(by_key, by_cmp);
            }
            proptest::prop_assert_eq!(rank_key(a, ca, 7) as u32, 7);
        }
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
        /// Candidates stored position-major select the same canonical indices as the same
        /// values stored channel by channel: ties and the argmax follow the canonical index.
        #[test]
        fn position_major_storage_ranks_ties_by_canonical_index(
            channels in 1u32..9,
            positions in 1u32..10,
            seed in proptest::collection::vec(-3i32..4, 90),
            theta in 0.01f64..=1.0,
        ) {
            let n = (channels * positions) as usize;
            let canonical: Vec<f64> = seed[..n].iter().map(|&x| f64::from(x)).collect();
            let layout = Layout::PositionMajor { channels, positions };
            let mut stored = vec![0.0; n];
            for p in 0..n as u32 {
                stored[p as usize] = canonical[layout.canonical(p) as usize];
            }
            let mut out = Vec::new();
            arg_approx(Candidates::new(&stored, layout), theta, ThresholdBase::ProductSum, 0.0, &mut Ranking::default(), &mut out);
            let mut got: Vec<u32> = out.iter().map(|&p| layout.canonical(p)).collect();
            got.sort_unstable();
            proptest::prop_assert_eq!(got, naive(&canonical, theta));
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
            Candidates::new(&[3., 2., 1.], Layout::Canonical),
            0.5,
            ThresholdBase::Output,
            10.0,
            &mut Ranking::default(),
            &mut out,
        );
        out.sort_unstable();
        assert_eq!(out, vec![0, 1]); // target 5: 3 + 2
        out.clear();
        arg_approx(
            Candidates::new(&[3., 2., 1.], Layout::Canonical),
            0.5,
            ThresholdBase::Output,
            -1.0,
            &mut Ranking::default(),
            &mut out,
        );
        assert_eq!(out, vec![0]);
    }
}
