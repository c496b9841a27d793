//! Unit tests of the CART builder.

use ndarray::{Array2, array};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;

fn params(criterion: Criterion, max_depth: Option<usize>) -> TreeParams {
    TreeParams {
        criterion,
        max_depth,
        max_features: usize::MAX,
    }
}

fn fit(x: &Array2<f64>, y: &[f64], w: &[f64], p: TreeParams) -> Tree {
    Tree::fit(&Columns::new(x), y, w, p, &mut ChaCha8Rng::seed_from_u64(0))
}

fn predict_row(tree: &Tree, x: &Array2<f64>, i: usize) -> f64 {
    tree.predict(|f| x[[i, f]])
}

#[test]
fn midpoint_separates_neighbours() {
    assert_eq!(midpoint(1.0, 2.0), 1.5);
    let a = 1.0_f64;
    let b = f64::from_bits(a.to_bits() + 1);
    assert_eq!(midpoint(a, b), a); // no double strictly between: a goes left, b right
    assert_eq!(
        midpoint(f64::MAX / 2.0, f64::MAX),
        f64::MAX / 2.0 + f64::MAX / 4.0
    );
    assert_eq!(midpoint(-f64::MAX, f64::MAX), 0.0);
}

#[test]
fn gini_stump_finds_the_threshold() {
    let x = array![[0.0, 5.0], [1.0, 3.0], [2.0, 4.0], [3.0, 1.0]];
    let y = [0.0, 0.0, 1.0, 1.0];
    let tree = fit(&x, &y, &[1.0; 4], params(Criterion::Gini, Some(1)));
    assert_eq!(
        tree.nodes[0],
        Node::Split {
            feature: 0,
            threshold: 1.5,
            left: 1,
            right: 2
        }
    );
    assert_eq!(tree.depth(), 1);
    for (i, &target) in y.iter().enumerate() {
        assert_eq!(predict_row(&tree, &x, i), target);
    }
}

#[test]
fn sample_weights_decide_the_leaf_value_and_zero_weight_rows_are_ignored() {
    // One feature, constant: no split. Leaf = weighted class-1 fraction.
    let x = array![[1.0], [1.0], [1.0]];
    let tree = fit(
        &x,
        &[1.0, 0.0, 1.0],
        &[3.0, 1.0, 0.0],
        params(Criterion::Gini, None),
    );
    assert_eq!(tree.nodes, vec![Node::Leaf { value: 0.75 }]);
    // The only impure row has weight 0: the node is pure and is not split.
    let x = array![[0.0], [1.0], [2.0]];
    let tree = fit(
        &x,
        &[1.0, 1.0, 0.0],
        &[1.0, 1.0, 0.0],
        params(Criterion::Gini, None),
    );
    assert_eq!(tree.nodes, vec![Node::Leaf { value: 1.0 }]);
}

#[test]
fn regression_tree_of_depth_two_gives_group_means() {
    let x = array![[0.0], [1.0], [2.0], [3.0], [4.0], [5.0], [6.0], [7.0]];
    let y = [1.0, 1.0, 2.0, 2.0, 10.0, 10.0, 12.0, 12.0];
    let tree = fit(&x, &y, &[1.0; 8], params(Criterion::SquaredError, Some(2)));
    assert_eq!(tree.depth(), 2);
    for (i, &target) in y.iter().enumerate() {
        assert_eq!(predict_row(&tree, &x, i), target);
    }
    // Depth 1: the largest variance reduction separates {1, 1, 2, 2} from {10, 10, 12, 12}.
    let stump = fit(&x, &y, &[1.0; 8], params(Criterion::SquaredError, Some(1)));
    assert_eq!(predict_row(&stump, &x, 0), 1.5);
    assert_eq!(predict_row(&stump, &x, 7), 11.0);
}

#[test]
fn zero_improvement_splits_are_taken_so_xor_is_learned() {
    // No single split lowers the Gini impurity of XOR, but the tree still splits.
    let x = array![[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let y = [0.0, 1.0, 1.0, 0.0];
    let tree = fit(&x, &y, &[1.0; 4], params(Criterion::Gini, None));
    assert_eq!(tree.depth(), 2);
    for (i, &target) in y.iter().enumerate() {
        assert_eq!(predict_row(&tree, &x, i), target);
    }
}

#[test]
fn validation_rejects_bad_links() {
    let ok = Tree {
        nodes: vec![
            Node::Split {
                feature: 0,
                threshold: 0.5,
                left: 1,
                right: 2,
            },
            Node::Leaf { value: 0.0 },
            Node::Leaf { value: 1.0 },
        ],
    };
    assert!(ok.validate(1).is_ok());
    assert!(ok.validate(0).is_err());
    let mut cyclic = ok.clone();
    cyclic.nodes[0] = Node::Split {
        feature: 0,
        threshold: 0.5,
        left: 0,
        right: 2,
    };
    assert!(cyclic.validate(1).is_err());
    let mut dangling = ok.clone();
    dangling.nodes[0] = Node::Split {
        feature: 0,
        threshold: 0.5,
        left: 1,
        right: 3,
    };
    assert!(dangling.validate(1).is_err());
    assert!(Tree { nodes: vec![] }.validate(1).is_err());
}

proptest! {
    #[test]
    fn unlimited_gini_tree_fits_distinct_rows_exactly(
        rows in prop::collection::vec((0u16..500, 0u16..500, any::<bool>()), 1..60),
        seed in any::<u64>(),
    ) {
        let mut rows = rows;
        rows.sort_by_key(|&(a, b, _)| (a, b));
        rows.dedup_by_key(|&mut (a, b, _)| (a, b));
        let n = rows.len();
        let x = Array2::from_shape_fn((n, 2), |(i, j)| {
            f64::from(if j == 0 { rows[i].0 } else { rows[i].1 })
        });
        let y: Vec<f64> = rows.iter().map(|r| f64::from(u8::from(r.2))).collect();
        let p = TreeParams { criterion: Criterion::Gini, max_depth: None, max_features: 1 };
        let tree = Tree::fit(&Columns::new(&x), &y, &vec![1.0; n], p, &mut ChaCha8Rng::seed_from_u64(seed));
        prop_assert!(tree.validate(2).is_ok());
        for (i, &target) in y.iter().enumerate() {
            prop_assert_eq!(predict_row(&tree, &x, i), target);
        }
    }
}
