//! The field's standard adversarial-example detectors, computed on the same images as the
//! path detectors so that the report can set them side by side: their per-image feature rows
//! go to the same detectors, splits and ROC code.
//!
//! | module | baseline | feature row of an image |
//! | --- | --- | --- |
//! | [`mahalanobis`] | Lee et al. 2018 | per layer, the largest negative Mahalanobis distance to a class mean |
//! | [`lid`] | Ma et al. 2018 | per layer, the local intrinsic dimensionality among normal images |
//! | [`squeeze`] | Xu et al. 2018 | one score, the largest softmax L1 change under squeezing |

pub mod lid;
mod linalg;
pub mod mahalanobis;
pub mod squeeze;

pub use lid::{LID_DEGENERATE, Lid};
pub use mahalanobis::Mahalanobis;
pub use squeeze::{Squeezer, squeeze_scores};
