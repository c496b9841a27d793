//! f32 GEMM for the forward and backward kernels: faer's single-threaded kernels (AVX2/FMA
//! chosen at run time) on fixed output tiles, the tiles spread over rayon's pool.
//!
//! Every output element belongs to one tile, whose shape depends only on the problem's
//! shape ([`TILE_ROWS`] × [`TILE_COLS`], narrower for thin products, smaller at the edges), and each tile is one
//! sequential faer call into a scratch buffer. So each element's summation order is fixed:
//! the result is bit-identical whatever the number of threads and whether the tiles run in
//! parallel or one after another. No GEMM spawns threads of its own.

use std::cell::Cell;
use std::ops::Range;
use std::thread::LocalKey;

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

/// Rows of an output tile.
pub(crate) const TILE_ROWS: usize = 64;
/// Columns of an output tile.
pub(crate) const TILE_COLS: usize = 256;
/// Columns of an output tile of a product with at most [`THIN_ROWS`] rows (a dense layer on
/// a small batch: matrix–vector products, bound by reading the weights, split finely).
const THIN_TILE_COLS: usize = 32;
/// See [`THIN_TILE_COLS`].
const THIN_ROWS: usize = 4;
/// Multiply-adds below which a GEMM runs its tiles on the calling thread.
const PAR_MIN_MACS: usize = 1 << 17;

/// A read-only f32 matrix over a slice, row-major (`col_stride == 1`) or column-major
/// (`row_stride == 1`): element `(i, j)` is `data[i·row_stride + j·col_stride]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mat<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> Mat<'a> {
    /// `rows × cols`, rows `stride` apart.
    pub(crate) fn row_major(data: &'a [f32], rows: usize, cols: usize, stride: usize) -> Self {
        Mat {
            data,
            rows,
            cols,
            row_stride: stride,
            col_stride: 1,
        }
    }

    /// The transpose (no copy).
    pub(crate) fn t(self) -> Self {
        Mat {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// The block `rows × cols` (both ranges inside the matrix).
    fn block(self, rows: Range<usize>, cols: Range<usize>) -> Self {
        let start = rows.start * self.row_stride + cols.start * self.col_stride;
        Mat {
            data: &self.data[start.min(self.data.len())..],
            rows: rows.len(),
            cols: cols.len(),
            ..self
        }
    }

    fn as_faer(&self) -> MatRef<'a, f32> {
        if self.col_stride == 1 {
            MatRef::from_row_major_slice_with_stride(
                self.data,
                self.rows,
                self.cols,
                self.row_stride,
            )
        } else {
            assert_eq!(self.row_stride, 1, "a Mat is row- or column-major");
            MatRef::from_column_major_slice_with_stride(
                self.data,
                self.rows,
                self.cols,
                self.col_stride,
            )
        }
    }
}

/// A bias added to the product: one value per output row or per output column.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Bias<'a> {
    /// No bias.
    None,
    /// `c[i][j] += bias[i]` (a convolution's channels).
    Rows(&'a [f32]),
    /// `c[i][j] += bias[j]` (features along columns; dense layers use their own
    /// batch-invariant dot products, see `conv::dense`).
    #[cfg_attr(not(test), allow(dead_code))]
    Cols(&'a [f32]),
}

/// Whether the product replaces the output or is added to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Beta {
    /// `c = a·b (+ bias)`.
    Replace,
    /// `c += a·b (+ bias)`.
    Add,
}

thread_local! {
    static TILE: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
    static COLS: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
}

/// Runs `f` on this thread's scratch buffer `key`, at least `len` long (not zeroed when
/// reused: `f` must overwrite what it reads). Re-entrant: a nested call (a rayon worker
/// that picked up another task while waiting) gets a buffer of its own.
fn with_scratch<R>(
    key: &'static LocalKey<Cell<Vec<f32>>>,
    len: usize,
    f: impl FnOnce(&mut [f32]) -> R,
) -> R {
    let mut buf = key.with(Cell::take);
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    let r = f(&mut buf[..len]);
    key.with(|cell| {
        let other = cell.take();
        cell.set(if other.len() > buf.len() { other } else { buf });
    });
    r
}

/// [`with_scratch`] on the im2col buffer.
pub(crate) fn with_cols<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    with_scratch(&COLS, len, f)
}

/// `c = a·b + bias` (or `c += …` with [`Beta::Add`]), `c` row-major `a.rows() × b.cols()`
/// with rows `b.cols()` apart. Tiles run on rayon's pool when `parallel` and the product is
/// big enough; the result is the same either way.
pub(crate) fn gemm(c: &mut [f32], a: Mat, b: Mat, beta: Beta, bias: Bias, parallel: bool) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "inner dimensions agree");
    assert_eq!(c.len(), m * n, "output is m × n");
    if m == 0 || n == 0 {
        return;
    }
    let tile_cols = if m <= THIN_ROWS {
        THIN_TILE_COLS
    } else {
        TILE_COLS
    };
    let col_tiles = n.div_ceil(tile_cols);
    // Each tile's rows, split at the column-tile boundaries.
    let mut tiles: Vec<(usize, usize, Vec<&mut [f32]>)> = Vec::new();
    for (r, row) in c.chunks_mut(n).enumerate() {
        for (ct, piece) in row.chunks_mut(tile_cols).enumerate() {
            if r % TILE_ROWS == 0 {
                tiles.push((r, ct * tile_cols, Vec::with_capacity(TILE_ROWS)));
            }
            let index = (r / TILE_ROWS) * col_tiles + ct;
            tiles[index].2.push(piece);
        }
    }
    let run = |(r0, c0, rows): (usize, usize, Vec<&mut [f32]>)| {
        let (mt, nt) = (rows.len(), rows[0].len());
        with_scratch(&TILE, mt * nt, |tile| {
            let dst = MatMut::from_row_major_slice_mut(tile, mt, nt);
            let lhs = a.block(r0..r0 + mt, 0..k).as_faer();
            let rhs = b.block(0..k, c0..c0 + nt).as_faer();
            matmul(dst, Accum::Replace, lhs, rhs, 1.0, Par::Seq);
            for (i, (out, src)) in rows.into_iter().zip(tile.chunks(nt)).enumerate() {
                store(out, src, beta, bias, r0 + i, c0);
            }
        });
    };
    if parallel && tiles.len() > 1 && m * n * k >= PAR_MIN_MACS {
        tiles.into_par_iter().for_each(run);
    } else {
        tiles.into_iter().for_each(run);
    }
}

/// Writes one row of a tile (`src`, output row `row`, from column `c0`) into the output.
fn store(out: &mut [f32], src: &[f32], beta: Beta, bias: Bias, row: usize, c0: usize) {
    match (beta, bias) {
        (Beta::Replace, Bias::None) => out.copy_from_slice(src),
        (Beta::Replace, Bias::Rows(b)) => {
            let bv = b[row];
            out.iter_mut().zip(src).for_each(|(o, &s)| *o = s + bv);
        }
        (Beta::Replace, Bias::Cols(b)) => {
            let b = &b[c0..c0 + out.len()];
            out.iter_mut()
                .zip(src)
                .zip(b)
                .for_each(|((o, &s), &bv)| *o = s + bv);
        }
        (Beta::Add, Bias::None) => out.iter_mut().zip(src).for_each(|(o, &s)| *o += s),
        (Beta::Add, Bias::Rows(b)) => {
            let bv = b[row];
            out.iter_mut().zip(src).for_each(|(o, &s)| *o += s + bv);
        }
        (Beta::Add, Bias::Cols(b)) => {
            let b = &b[c0..c0 + out.len()];
            out.iter_mut()
                .zip(src)
                .zip(b)
                .for_each(|((o, &s), &bv)| *o += s + bv);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: Mat, b: Mat) -> Vec<f32> {
        let at = |m: &Mat, i: usize, j: usize| m.data[i * m.row_stride + j * m.col_stride];
        let mut c = vec![0f32; a.rows * b.cols];
        for i in 0..a.rows {
            for j in 0..b.cols {
                c[i * b.cols + j] = (0..a.cols)
                    .map(|p| at(&a, i, p) as f64 * at(&b, p, j) as f64)
                    .sum::<f64>() as f32;
            }
        }
        c
    }

    #[test]
    fn tiled_gemm_matches_naive_in_every_layout() {
        for &(m, k, n) in &[
            (1, 7, 1),
            (3, 5, 300),
            (70, 33, 9),
            (130, 17, 520),
            (1, 600, 70),
        ] {
            let av: Vec<f32> = (0..m * k).map(|i| ((i * 7) % 13) as f32 - 6.0).collect();
            let bv: Vec<f32> = (0..k * n).map(|i| ((i * 5) % 11) as f32 - 5.0).collect();
            let bias: Vec<f32> = (0..m.max(n)).map(|i| i as f32 * 0.5).collect();
            for (a, b) in [
                (Mat::row_major(&av, m, k, k), Mat::row_major(&bv, k, n, n)),
                (
                    Mat::row_major(&av, k, m, m).t(),
                    Mat::row_major(&bv, n, k, k).t(),
                ),
            ] {
                let want = naive(a, b);
                for parallel in [false, true] {
                    let mut c = vec![f32::NAN; m * n];
                    gemm(&mut c, a, b, Beta::Replace, Bias::None, parallel);
                    assert_eq!(c, want, "{m}×{k}×{n}");
                    gemm(&mut c, a, b, Beta::Add, Bias::Rows(&bias), parallel);
                    let twice: Vec<f32> = (0..m * n).map(|i| 2.0 * want[i] + bias[i / n]).collect();
                    assert_eq!(c, twice, "{m}×{k}×{n} accumulated");
                    gemm(&mut c, a, b, Beta::Replace, Bias::Cols(&bias), parallel);
                    let cols: Vec<f32> = (0..m * n).map(|i| want[i] + bias[i % n]).collect();
                    assert_eq!(c, cols, "{m}×{k}×{n} column bias");
                }
            }
        }
    }
}
