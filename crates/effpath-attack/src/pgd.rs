//! The machinery of L2 PGD with a binary search on the budget, shared by the attacks that
//! know the detector ([`crate::ActivationMatching`], [`crate::WhiteBox`]): the search over
//! per-image budgets, the normalised step and the projection onto the budget and `[0, 1]`.

use ndarray::{Array3, Array4, ArrayView3, ArrayViewMut3, Axis, Zip};

use crate::error::Result;

/// The adversarial image at the smallest successful budget of each of `n` images: a first
/// run at `max_epsilon`, then `binary_steps` bisections for the images that succeeded there.
/// `run(alive, eps)` attacks images `alive` (indices into `0..n`) at budgets `eps` (one per
/// image) and returns one candidate per image, `None` where it failed.
pub(crate) fn budget_search(
    n: usize,
    max_epsilon: f32,
    binary_steps: usize,
    mut run: impl FnMut(&[usize], &[f32]) -> Result<Vec<Option<Array3<f32>>>>,
) -> Result<Vec<Option<Array3<f32>>>> {
    let mut lo = vec![0f32; n];
    let mut hi = vec![max_epsilon; n];
    let mut best: Vec<Option<Array3<f32>>> = vec![None; n];
    let mut alive: Vec<usize> = (0..n).collect();
    for round in 0..=binary_steps {
        if alive.is_empty() {
            break;
        }
        let eps: Vec<f32> = alive
            .iter()
            .map(|&i| {
                if round == 0 {
                    hi[i]
                } else {
                    0.5 * (lo[i] + hi[i])
                }
            })
            .collect();
        let found = run(&alive, &eps)?;
        for ((&i, f), &e) in alive.iter().zip(found).zip(&eps) {
            match f {
                Some(adv) => {
                    hi[i] = e;
                    best[i] = Some(adv);
                }
                None => lo[i] = e,
            }
        }
        // After the first run, only the images that succeeded at the largest budget.
        if round == 0 {
            alive.retain(|&i| best[i].is_some());
        }
    }
    Ok(best)
}

/// One descent step of every image of `x`: `alpha_i = 2.5·eps_i/steps` along the
/// L2-normalised `grad`, then the projection onto the ball of radius `eps_i` around `x0`
/// and onto `[0, 1]`. An image whose gradient is zero stays where it is.
pub(crate) fn descend(
    x: &mut Array4<f32>,
    x0: &Array4<f32>,
    grad: &Array4<f32>,
    eps: &[f32],
    steps: usize,
) {
    for (i, &e) in eps.iter().enumerate() {
        let alpha = 2.5 * e / steps as f32;
        let gi = grad.index_axis(Axis(0), i);
        let norm = gi.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt();
        if norm == 0.0 || !norm.is_finite() {
            continue;
        }
        let scale = (f64::from(alpha) / norm) as f32;
        let mut xi = x.index_axis_mut(Axis(0), i);
        Zip::from(&mut xi)
            .and(&gi)
            .for_each(|x, &g| *x -= scale * g);
        project(&mut xi, x0.index_axis(Axis(0), i), e);
    }
}

/// Moves `x` onto the L2 ball of radius `eps` around `x0`, then into `[0, 1]`.
pub(crate) fn project(x: &mut ArrayViewMut3<f32>, x0: ArrayView3<f32>, eps: f32) {
    let d2: f64 = Zip::from(&*x)
        .and(&x0)
        .fold(0.0, |acc, &a, &b| acc + f64::from(a - b).powi(2));
    let d = d2.sqrt();
    let shrink = if d > f64::from(eps) {
        (f64::from(eps) / d) as f32
    } else {
        1.0
    };
    Zip::from(x)
        .and(&x0)
        .for_each(|x, &b| *x = (b + (*x - b) * shrink).clamp(0.0, 1.0));
}

/// Each image of `g` scaled to unit L2 norm (zero images stay zero).
pub(crate) fn normalised(mut g: Array4<f32>) -> Array4<f32> {
    for mut gi in g.outer_iter_mut() {
        let norm = gi.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt();
        if norm > 0.0 && norm.is_finite() {
            let s = (1.0 / norm) as f32;
            gi.mapv_inplace(|v| v * s);
        }
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_keeps_the_budget_and_the_pixel_range() {
        let x0 = Array3::from_elem((1, 2, 2), 0.5f32);
        let mut x = Array3::from_shape_vec((1, 2, 2), vec![2.0, 0.5, 0.5, -1.0]).unwrap();
        project(&mut x.view_mut(), x0.view(), 0.3);
        let d: f32 = x
            .iter()
            .zip(&x0)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f32>()
            .sqrt();
        assert!(d <= 0.3 + 1e-6, "{d}");
        assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    /// With a success exactly at budgets ≥ 1 for image 0 and never for image 1, the search
    /// keeps image 0's candidate at the smallest successful bisection and gives up on image 1
    /// after the first run.
    #[test]
    fn the_search_bisects_towards_the_smallest_success() {
        let mut calls = Vec::new();
        let best = budget_search(2, 4.0, 3, |alive, eps| {
            calls.push((alive.to_vec(), eps.to_vec()));
            Ok(alive
                .iter()
                .zip(eps)
                .map(|(&i, &e)| (i == 0 && e >= 1.0).then(|| Array3::from_elem((1, 1, 1), e)))
                .collect())
        })
        .unwrap();
        assert_eq!(calls[0], (vec![0, 1], vec![4.0, 4.0]));
        assert!(calls[1..].iter().all(|(alive, _)| alive == &[0]));
        let eps: Vec<f32> = calls[1..].iter().map(|(_, e)| e[0]).collect();
        assert_eq!(eps, [2.0, 1.0, 0.5]);
        assert_eq!(best[0].as_ref().map(|a| a[[0, 0, 0]]), Some(1.0));
        assert!(best[1].is_none());
    }

    #[test]
    fn normalised_rows_have_unit_norm() {
        let g = Array4::from_shape_vec((2, 1, 1, 2), vec![3.0, 4.0, 0.0, 0.0]).unwrap();
        let n = normalised(g);
        assert_eq!(n.as_slice().unwrap(), &[0.6, 0.8, 0.0, 0.0]);
    }
}
