//! Algebraic laws of the path algebra, checked under proptest against a naive reference
//! model: one `BTreeSet<usize>` per layer and element kind.

mod v1_writer;

use std::collections::BTreeSet;
use std::io::Cursor;
use std::sync::Arc;

use effpath_algebra::bits::{self, Bits};
use effpath_algebra::strategies::{path_space, subset};
use effpath_algebra::{
    AlgebraError, ElementKind, LayerSelection, Path, PathCounts, PathSet, PathSetReader, PathSpace,
    Representation,
};
use proptest::prelude::*;

/// Reference model of a path: per layer, the kept indices of neurons, synapses, weights.
type Model = Vec<[BTreeSet<usize>; 3]>;

const SELECTIONS: [LayerSelection; 2] = [LayerSelection::All, LayerSelection::Weighted];

fn arb_model(space: &PathSpace) -> BoxedStrategy<Model> {
    space
        .layers()
        .iter()
        .map(|l| {
            (
                subset(l.neurons()),
                subset(l.synapses()),
                subset(l.weights()),
            )
                .prop_map(|(a, b, c)| [a, b, c])
        })
        .collect::<Vec<_>>()
        .boxed()
}

/// A space and three models over it.
fn arb_case() -> impl Strategy<Value = (Arc<PathSpace>, Model, Model, Model)> {
    path_space().prop_flat_map(|s| {
        let m = arb_model(&s);
        (Just(s), m.clone(), m.clone(), m)
    })
}

fn to_path(space: &Arc<PathSpace>, m: &Model) -> Path {
    let mut p = Path::empty(space);
    for (l, sets) in m.iter().enumerate() {
        for k in ElementKind::ALL {
            let idx: Vec<usize> = sets[k.index()].iter().copied().collect();
            p.insert_many(l, k, &idx).expect("indices in range");
        }
    }
    p
}

/// The representations of the three operands of a law: dense×dense, sparse×sparse and both
/// mixes (every law is checked on each).
fn arb_mix() -> impl Strategy<Value = [Representation; 3]> {
    use Representation::{Dense as D, Sparse as S};
    prop_oneof![
        Just([D, D, D]),
        Just([S, S, S]),
        Just([D, S, D]),
        Just([S, D, S])
    ]
}

fn to_path_as(space: &Arc<PathSpace>, m: &Model, r: Representation) -> Path {
    let p = to_path(space, m).with_representation(r);
    for l in p.layers() {
        for k in ElementKind::ALL {
            assert_eq!(l.set(k).representation(), r, "forced representation");
        }
    }
    p
}

fn to_model(p: &Path) -> Model {
    p.layers()
        .iter()
        .map(|l| ElementKind::ALL.map(|k| l.iter_ones(k).collect()))
        .collect()
}

fn zip_model(
    a: &Model,
    b: &Model,
    f: impl Fn(&BTreeSet<usize>, &BTreeSet<usize>) -> BTreeSet<usize>,
) -> Model {
    a.iter()
        .zip(b)
        .map(|(x, y)| [f(&x[0], &y[0]), f(&x[1], &y[1]), f(&x[2], &y[2])])
        .collect()
}

fn naive_sum(space: &PathSpace, sel: LayerSelection, f: impl Fn(usize) -> usize) -> usize {
    space.selected(sel).map(f).sum()
}

proptest! {
    #[test]
    fn operations_match_the_reference_model((s, ma, mb, _) in arb_case(), mix in arb_mix()) {
        let (a, b) = (to_path_as(&s, &ma, mix[0]), to_path_as(&s, &mb, mix[1]));
        prop_assert_eq!(to_model(&a), ma.clone());
        prop_assert_eq!(to_model(&a.union(&b)?), zip_model(&ma, &mb, |x, y| x | y));
        prop_assert_eq!(to_model(&a.intersection(&b)?), zip_model(&ma, &mb, |x, y| x & y));
        prop_assert_eq!(to_model(&a.difference(&b)?), zip_model(&ma, &mb, |x, y| x - y));
        prop_assert_eq!(to_model(&a.symmetric_difference(&b)?), zip_model(&ma, &mb, |x, y| x ^ y));
        for k in ElementKind::ALL {
            for sel in SELECTIONS {
                let count = naive_sum(&s, sel, |l| ma[l][k.index()].len());
                prop_assert_eq!(a.count(k, sel), count);
                let o = a.overlap(&b, k, sel)?;
                prop_assert_eq!(o.intersection, naive_sum(&s, sel, |l| ma[l][k.index()].intersection(&mb[l][k.index()]).count()));
                prop_assert_eq!(o.union(), naive_sum(&s, sel, |l| ma[l][k.index()].union(&mb[l][k.index()]).count()));
                prop_assert_eq!(o.left, count);
            }
        }
        let subset = ma.iter().zip(&mb).all(|(x, y)| (0..3).all(|k| x[k].is_subset(&y[k])));
        prop_assert_eq!(a.is_subset(&b)?, subset);
    }

    #[test]
    fn union_and_intersection_are_commutative_associative_idempotent((s, ma, mb, mc) in arb_case(), mix in arb_mix()) {
        let (a, b, c) = (to_path_as(&s, &ma, mix[0]), to_path_as(&s, &mb, mix[1]), to_path_as(&s, &mc, mix[2]));
        prop_assert_eq!(a.union(&b)?, b.union(&a)?);
        prop_assert_eq!(a.intersection(&b)?, b.intersection(&a)?);
        prop_assert_eq!(a.union(&b)?.union(&c)?, a.union(&b.union(&c)?)?);
        prop_assert_eq!(a.intersection(&b)?.intersection(&c)?, a.intersection(&b.intersection(&c)?)?);
        prop_assert_eq!(&a.union(&a)?, &a);
        prop_assert_eq!(&a.intersection(&a)?, &a);
        // distributivity, for good measure
        prop_assert_eq!(a.intersection(&b.union(&c)?)?, a.intersection(&b)?.union(&a.intersection(&c)?)?);
    }

    #[test]
    fn absorption_and_difference_laws((s, ma, mb, _) in arb_case(), mix in arb_mix()) {
        let (a, b) = (to_path_as(&s, &ma, mix[0]), to_path_as(&s, &mb, mix[1]));
        prop_assert_eq!(&a.union(&a.intersection(&b)?)?, &a);
        prop_assert_eq!(&a.intersection(&a.union(&b)?)?, &a);
        let complement_b = Path::full(&s).difference(&b)?;
        prop_assert_eq!(a.difference(&b)?, a.intersection(&complement_b)?);
        prop_assert_eq!(&a.difference(&b)?.union(&a.intersection(&b)?)?, &a);
        prop_assert!(a.difference(&b)?.intersection(&b)?.is_empty());
        prop_assert_eq!(a.symmetric_difference(&b)?, a.union(&b)?.difference(&a.intersection(&b)?)?);
        let mut in_place = a.clone();
        in_place.difference_with(&b)?;
        prop_assert_eq!(in_place, a.difference(&b)?);
    }

    #[test]
    fn jaccard_is_symmetric_bounded_and_one_on_equal_paths((s, ma, mb, _) in arb_case(), mix in arb_mix()) {
        let (a, b) = (to_path_as(&s, &ma, mix[0]), to_path_as(&s, &mb, mix[1]));
        for k in ElementKind::ALL {
            for sel in SELECTIONS {
                let j = a.jaccard(&b, k, sel)?;
                prop_assert_eq!(j, b.jaccard(&a, k, sel)?);
                if let Some(j) = j {
                    prop_assert!((0.0..=1.0).contains(&j));
                }
                let inter = naive_sum(&s, sel, |l| ma[l][k.index()].intersection(&mb[l][k.index()]).count());
                let uni = naive_sum(&s, sel, |l| ma[l][k.index()].union(&mb[l][k.index()]).count());
                prop_assert_eq!(j, (uni > 0).then(|| inter as f64 / uni as f64));
                let self_j = a.jaccard(&a, k, sel)?;
                prop_assert_eq!(self_j, (a.count(k, sel) > 0).then_some(1.0));
            }
            for l in 0..s.len() {
                let j = a.jaccard_layer(&b, l, k)?;
                prop_assert_eq!(j, b.jaccard_layer(&a, l, k)?);
                prop_assert!(j.is_none_or(|j| (0.0..=1.0).contains(&j)));
                prop_assert_eq!(j.is_none(), ma[l][k.index()].is_empty() && mb[l][k.index()].is_empty());
            }
        }
    }

    #[test]
    fn density_is_monotone_under_union((s, ma, mb, _) in arb_case(), mix in arb_mix()) {
        let (a, b) = (to_path_as(&s, &ma, mix[0]), to_path_as(&s, &mb, mix[1]));
        let u = a.union(&b)?;
        for k in ElementKind::ALL {
            for sel in SELECTIONS {
                let (da, du) = (a.density(k, sel), u.density(k, sel));
                prop_assert_eq!(da.is_some(), s.total(k, sel) > 0);
                if let (Some(da), Some(du)) = (da, du) {
                    prop_assert!(du >= da && du <= 1.0);
                    prop_assert_eq!(da, naive_sum(&s, sel, |l| ma[l][k.index()].len()) as f64 / s.total(k, sel) as f64);
                }
                for ((_, x), (_, y)) in a.density_per_layer(k, sel).into_iter().zip(u.density_per_layer(k, sel)) {
                    prop_assert!(x <= y);
                }
            }
        }
    }

    #[test]
    fn similarity_is_one_for_subsets((s, ma, mb, _) in arb_case(), mix in arb_mix()) {
        let (img, other) = (to_path_as(&s, &ma, mix[0]), to_path_as(&s, &mb, mix[1]));
        let class = img.union(&other)?;
        for k in ElementKind::ALL {
            for sel in SELECTIONS {
                let sim = img.similarity(&class, k, sel)?;
                prop_assert_eq!(sim, (img.count(k, sel) > 0).then_some(1.0));
                let general = img.similarity(&other, k, sel)?;
                prop_assert!(general.is_none_or(|x| (0.0..=1.0).contains(&x)));
            }
            for (l, v) in img.similarity_per_layer(&class, k, LayerSelection::All)? {
                prop_assert_eq!(v, (!ma[l][k.index()].is_empty()).then_some(1.0));
            }
        }
    }

    #[test]
    fn union_all_and_counts_match_the_model((s, ma, mb, mc) in arb_case(), mix in arb_mix()) {
        let paths = [to_path_as(&s, &ma, mix[0]), to_path_as(&s, &mb, mix[1]), to_path_as(&s, &mc, mix[2])];
        let all = zip_model(&zip_model(&ma, &mb, |x, y| x | y), &mc, |x, y| x | y);
        prop_assert_eq!(to_model(&Path::union_all(&s, &paths)?), all);
        let set = PathSet::from_paths(&s, paths.iter().cloned().enumerate().map(|(i, p)| (i as u32 * 3, p)))?;
        prop_assert_eq!(set.union_all(), Path::union_all(&s, &paths)?);
        let mut counts = PathCounts::new(&s);
        for p in &paths {
            counts.add(p)?;
        }
        prop_assert_eq!(counts.at_least(1), Path::union_all(&s, &paths)?);
        prop_assert_eq!(counts.at_least(3), Path::intersection_all(&s, &paths)?);
        for (l, layer) in s.layers().iter().enumerate() {
            for k in ElementKind::ALL {
                let c = counts.counts(l, k)?;
                prop_assert_eq!(c.len(), layer.size(k));
                for (i, &n) in c.iter().enumerate() {
                    let naive = [&ma, &mb, &mc].iter().filter(|m| m[l][k.index()].contains(&i)).count();
                    prop_assert_eq!(n as usize, naive);
                }
            }
        }
    }

    /// Word-level popcounts equal the naive count for any length, any alignment, and bitsets
    /// whose storage beyond their length is dirty.
    #[test]
    fn popcounts_equal_naive_counts(
        a in prop::collection::vec(any::<bool>(), 0..700),
        b in prop::collection::vec(any::<bool>(), 0..700),
        off_a in 0..70usize,
        off_b in 0..70usize,
        cut in 0..64usize,
    ) {
        let len = a.len().min(b.len()).saturating_sub(off_a.max(off_b));
        let (va, vb): (Bits, Bits) = (a.iter().copied().collect(), b.iter().copied().collect());
        let (sa, sb) = (&va[off_a.min(va.len())..], &vb[off_b.min(vb.len())..]);
        let (sa, sb) = (&sa[..len], &sb[..len]);
        let naive = |f: fn(bool, bool) -> bool| sa.iter().zip(sb.iter()).filter(|(x, y)| f(**x, **y)).count();
        prop_assert_eq!(bits::intersection_count(sa, sb)?, naive(|x, y| x & y));
        prop_assert_eq!(bits::union_count(sa, sb)?, naive(|x, y| x | y));
        prop_assert_eq!(bits::difference_count(sa, sb)?, naive(|x, y| x & !y));
        prop_assert_eq!(bits::symmetric_difference_count(sa, sb)?, naive(|x, y| x ^ y));
        prop_assert_eq!(bits::count_ones(sa), sa.iter().filter(|x| **x).count());
        let both = (bits::count_ones(sa), bits::count_ones(sb), naive(|x, y| x & y));
        prop_assert_eq!(bits::overlap_counts(sa, sb)?, both);
        // Owned copies: from a sliced view (head offset kept by bitvec), and truncated ones.
        let mut owned_a = Bits::from_bitslice(sa);
        let mut full_b: Bits = vb.clone();
        full_b.truncate(len.min(full_b.len()));
        full_b.resize(len, false);
        prop_assert_eq!(bits::intersection_count(&owned_a, &full_b)?, naive_owned(&owned_a, &full_b));
        owned_a.force_align(); // leaves the old bits in the padding
        prop_assert_eq!(bits::intersection_count(&owned_a, &full_b)?, naive_owned(&owned_a, &full_b));
        let ones = Bits::repeat(true, len + cut);
        let mut dirty = ones.clone();
        dirty.truncate(len); // every padding bit set
        prop_assert_eq!(bits::intersection_count(&dirty, sb)?, sb.iter().filter(|x| **x).count());
        prop_assert_eq!(bits::count_ones(&dirty), len);
        if len > 0 {
            let mismatch = matches!(bits::intersection_count(&dirty[1..], sb), Err(AlgebraError::LengthMismatch { .. }));
            prop_assert!(mismatch);
        }
    }

    /// Dirty bitsets handed to a path are normalized: counts and operations stay exact.
    #[test]
    fn set_bits_with_dirty_bitsets((s, ma, mb, _) in arb_case(), shift in 1..64usize, mix in arb_mix()) {
        let b = to_path_as(&s, &mb, mix[1]);
        let mut a = Path::empty(&s);
        for (l, layer) in s.layers().iter().enumerate() {
            for k in ElementKind::ALL {
                let n = layer.size(k);
                // Build the bits at an offset, with every other storage bit set, then slice.
                let mut wide = Bits::repeat(true, n + shift + 64);
                wide[shift..shift + n].fill(false);
                for &i in &ma[l][k.index()] {
                    wide.set(shift + i, true);
                }
                let mut v = Bits::from_bitslice(&wide[shift..shift + n + 7]);
                v.truncate(n);
                a.set_bits(l, k, v)?;
            }
        }
        prop_assert_eq!(to_model(&a), ma.clone());
        prop_assert_eq!(to_model(&a.union(&b)?), zip_model(&ma, &mb, |x, y| x | y));
        for k in ElementKind::ALL {
            prop_assert_eq!(a.count(k, LayerSelection::All), naive_sum(&s, LayerSelection::All, |l| ma[l][k.index()].len()));
        }
    }
}

fn naive_owned(a: &Bits, b: &Bits) -> usize {
    a.iter().zip(b.iter()).filter(|(x, y)| **x && **y).count()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn serialization_round_trips((s, ma, mb, mc) in arb_case(), mix in arb_mix()) {
        let a = to_path_as(&s, &ma, mix[0]);
        let bytes = a.to_bytes();
        prop_assert_eq!(&Path::from_bytes(&bytes)?, &a);
        prop_assert_eq!(&Path::read_from(&bytes[..])?, &a);
        prop_assert_eq!(&Path::load_checked(&bytes, [1; 32])?, &a);
        let loaded = Path::load_in_space(&bytes, &s)?;
        prop_assert!(Arc::ptr_eq(loaded.space(), &s));
        let set = PathSet::from_paths(&s, [(9, a), (2, to_path_as(&s, &mb, mix[1])), (4_000_000_000, to_path_as(&s, &mc, mix[2]))])?;
        let bytes = set.to_bytes();
        prop_assert_eq!(&PathSet::from_bytes(&bytes)?, &set);
        prop_assert_eq!(&PathSet::read_from(&bytes[..])?, &set);
        prop_assert_eq!(&PathSet::from_bytes(&PathSet::from_bytes(&bytes)?.to_bytes())?.to_bytes(), &bytes);
        // Sets load in the representation they were written in.
        for ((_, p), (_, q)) in PathSet::from_bytes(&bytes)?.iter().zip(set.iter()) {
            for (a, b) in p.layers().iter().zip(q.layers()) {
                for k in ElementKind::ALL {
                    prop_assert_eq!(a.set(k).representation(), b.set(k).representation());
                }
            }
        }
        // One label at a time.
        let mut reader = PathSetReader::open(Cursor::new(&bytes))?;
        prop_assert_eq!(reader.labels().collect::<Vec<_>>(), vec![2, 9, 4_000_000_000]);
        for (label, p) in set.iter() {
            let read = reader.read(label)?;
            prop_assert_eq!(read.as_ref(), Some(p));
        }
        prop_assert_eq!(reader.read(3)?, None);
        // Legacy v1 files of the same paths load to the same paths.
        let v1 = v1_writer::encode_v1(&s, 2, set.iter());
        prop_assert_eq!(&PathSet::from_bytes(&v1)?, &set);
        prop_assert_eq!(&PathSet::read_from(&v1[..])?, &set);
        prop_assert_eq!(&PathSetReader::open(Cursor::new(&v1))?.read_all()?, &set);
    }

    /// The results of operations on every mix of representations serialize and load back.
    #[test]
    fn operation_results_round_trip((s, ma, mb, _) in arb_case(), mix in arb_mix()) {
        let a = to_path_as(&s, &ma, mix[0]);
        let b = to_path_as(&s, &mb, mix[1]);
        for p in [a.union(&b)?, a.intersection(&b)?, a.difference(&b)?, a.symmetric_difference(&b)?] {
            let bytes = p.to_bytes();
            prop_assert_eq!(&Path::from_bytes(&bytes)?, &p);
            prop_assert_eq!(Path::from_bytes(&bytes)?.to_bytes(), bytes);
        }
    }

    /// Any corruption or truncation is an error, never a panic (and never a silent success).
    #[test]
    fn corrupted_or_truncated_files_are_rejected(
        (s, ma, mb, _) in arb_case(),
        mix in arb_mix(),
        pos in any::<prop::sample::Index>(),
        cut in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        junk in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let set = PathSet::from_paths(&s, [(0, to_path_as(&s, &ma, mix[0])), (1, to_path_as(&s, &mb, mix[1]))])?;
        let bytes = set.to_bytes();
        let mut bad = bytes.clone();
        let i = pos.index(bad.len());
        bad[i] ^= byte.max(1);
        prop_assert!(PathSet::from_bytes(&bad).is_err());
        prop_assert!(PathSet::read_from(&bad[..]).is_err());
        // One label at a time: opening fails (header, index) or reading some label does.
        let read_all = PathSetReader::open(Cursor::new(&bad)).and_then(|mut r| r.read_all());
        prop_assert!(read_all.is_err());
        let short = &bytes[..cut.index(bytes.len())];
        prop_assert!(PathSet::from_bytes(short).is_err());
        prop_assert!(PathSet::read_from(short).is_err());
        let mut long = bytes.clone();
        long.extend_from_slice(&junk);
        prop_assert_eq!(PathSet::from_bytes(&long).is_ok(), junk.is_empty());
        prop_assert_eq!(&PathSet::read_from(&long[..])?, &set); // a stream stops at the checksum
        prop_assert!(PathSet::from_bytes(&junk).is_err());
        prop_assert!(Path::from_bytes(&bytes).is_err()); // wrong content kind
    }
}
