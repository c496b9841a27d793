//! The option checks the detectors share (counts of at least 1, finite positive rates), so
//! that each options struct's `validate` states its rules once, in the same words.

use crate::error::{DetectError, OptionIssue, Result};

/// `option` (a count: trees, stumps, depth, iterations) must be at least 1.
pub(crate) fn at_least_one(option: &'static str, value: usize) -> Result<()> {
    if value == 0 {
        return Err(DetectError::option(option, OptionIssue::Zero));
    }
    Ok(())
}

/// `option` (a learning rate, a regularisation constant) must be finite and `> 0`.
pub(crate) fn positive(option: &'static str, value: f64) -> Result<()> {
    if !(value.is_finite() && value > 0.0) {
        return Err(DetectError::option(
            option,
            OptionIssue::NotPositive { value },
        ));
    }
    Ok(())
}
