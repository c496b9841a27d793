//! Forward kernel of the broadcasting binary ops ([`Binary`]).

use ndarray::{ArrayD, IxDyn, Zip};

use crate::op::Binary;

/// `a ∘ b` with NumPy broadcasting to the batched output shape `out`.
pub(crate) fn binary(op: Binary, a: &ArrayD<f32>, b: &ArrayD<f32>, out: &[usize]) -> ArrayD<f32> {
    let dim = IxDyn(out);
    let a = a.broadcast(dim.clone()).expect("shapes were validated");
    let b = b.broadcast(dim).expect("shapes were validated");
    let f: fn(f32, f32) -> f32 = match op {
        Binary::Add => |x, y| x + y,
        Binary::Sub => |x, y| x - y,
        Binary::Mul => |x, y| x * y,
        Binary::Div => |x, y| x / y,
    };
    Zip::from(&a)
        .and(&b)
        .map_collect(|&x, &y| f(x, y))
        .as_standard_layout()
        .into_owned()
}
