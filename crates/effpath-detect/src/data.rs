//! Input checks shared by every model, and a feature-major copy of the training matrix.

use ndarray::{Array2, Axis};

use crate::error::{DetectError, Result};

/// Checks a training set: as many labels as rows, at least one row and one column, finite
/// features, both classes present. Returns the labels as `0.0`/`1.0`.
pub(crate) fn check_training(x: &Array2<f64>, y: &[bool]) -> Result<Vec<f64>> {
    if x.nrows() != y.len() {
        return Err(DetectError::LabelCount {
            rows: x.nrows(),
            labels: y.len(),
        });
    }
    if y.is_empty() {
        return Err(DetectError::EmptyTrainingSet);
    }
    if x.ncols() == 0 {
        return Err(DetectError::NoFeatures);
    }
    check_finite(x)?;
    let positives = y.iter().filter(|&&label| label).count();
    if positives == 0 || positives == y.len() {
        return Err(DetectError::MissingClass {
            positives,
            negatives: y.len() - positives,
        });
    }
    Ok(y.iter().map(|&label| f64::from(u8::from(label))).collect())
}

/// Checks rows to score against the number of features the model was trained on.
pub(crate) fn check_scoring(x: &Array2<f64>, n_features: usize) -> Result<()> {
    if x.ncols() != n_features {
        return Err(DetectError::FeatureCount {
            expected: n_features,
            found: x.ncols(),
        });
    }
    check_finite(x)
}

fn check_finite(x: &Array2<f64>) -> Result<()> {
    for (row, values) in x.axis_iter(Axis(0)).enumerate() {
        if let Some((column, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(DetectError::NonFiniteFeature { row, column, value });
        }
    }
    Ok(())
}

/// The training matrix stored feature by feature (what the tree builders scan).
#[derive(Debug)]
pub(crate) struct Columns {
    columns: Vec<Vec<f64>>,
    n_rows: usize,
}

impl Columns {
    pub(crate) fn new(x: &Array2<f64>) -> Self {
        Columns {
            columns: x.axis_iter(Axis(1)).map(|c| c.to_vec()).collect(),
            n_rows: x.nrows(),
        }
    }

    pub(crate) fn n_rows(&self) -> usize {
        self.n_rows
    }

    pub(crate) fn n_features(&self) -> usize {
        self.columns.len()
    }

    /// Column `feature` (all rows).
    pub(crate) fn column(&self, feature: usize) -> &[f64] {
        &self.columns[feature]
    }

    /// Value of `feature` in `row`.
    pub(crate) fn get(&self, row: usize, feature: usize) -> f64 {
        self.columns[feature][row]
    }
}

/// The logistic function, computed without overflow for large |z|.
pub(crate) fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}
