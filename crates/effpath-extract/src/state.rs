//! Working state of one per-image extraction: the kept points of every value, in insertion
//! order, with the batch-norm flip signs they were reached with.

use effpath_ir::Network;

/// A set of flat indices with O(1) membership, kept in insertion order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Points {
    mark: Vec<u64>,
    pub(crate) list: Vec<u32>,
}

impl Points {
    fn new(n: usize) -> Self {
        Points {
            mark: vec![0; n.div_ceil(64)],
            list: Vec::new(),
        }
    }

    /// Inserts `i`; returns whether it was new.
    pub(crate) fn insert(&mut self, i: u32) -> bool {
        let (w, b) = (i as usize / 64, i % 64);
        let new = self.mark[w] & (1 << b) == 0;
        if new {
            self.mark[w] |= 1 << b;
            self.list.push(i);
        }
        new
    }
}

/// Working state of one per-image extraction: kept points and flip signs per value.
pub(crate) struct State {
    pub(crate) points: Vec<Option<Points>>,
    flips: Vec<Option<Vec<i8>>>,
    numel: Vec<usize>,
    /// Points that received contradicting flip signs from two readers (reset to +1).
    pub(crate) conflicts: usize,
}

impl State {
    pub(crate) fn new(net: &Network) -> Self {
        let numel: Vec<usize> = net.shapes().iter().map(|s| s.iter().product()).collect();
        let n = numel.len();
        State {
            points: vec![None; n],
            flips: vec![None; n],
            numel,
            conflicts: 0,
        }
    }

    /// Keeps point `i` of value `v` with flip sign `flip` (±1).
    pub(crate) fn add(&mut self, v: usize, i: u32, flip: i8) {
        let numel = self.numel[v];
        let new = self.points[v]
            .get_or_insert_with(|| Points::new(numel))
            .insert(i);
        if flip == 1 && self.flips[v].is_none() {
            return;
        }
        let f = self.flips[v].get_or_insert_with(|| vec![1; numel]);
        if new {
            f[i as usize] = flip;
        } else if f[i as usize] != flip {
            f[i as usize] = 1;
            self.conflicts += 1;
        }
    }

    /// Keeps `points` of value `v` with flips `flips` (`None`: all +1), as [`State::add`] of
    /// each point in list order would — but when nothing has reached `v` yet, by handing the
    /// set and the flips over whole (`v` must have as many elements as the value the points
    /// came from: an element-wise op's input).
    pub(crate) fn add_all(&mut self, v: usize, points: Points, flips: Option<Vec<i8>>) {
        debug_assert_eq!(points.mark.len(), self.numel[v].div_ceil(64));
        if self.points[v].is_none() && self.flips[v].is_none() {
            self.points[v] = Some(points);
            self.flips[v] = flips;
            return;
        }
        for &i in &points.list {
            let flip = flips.as_ref().map_or(1, |f| f[i as usize]);
            self.add(v, i, flip);
        }
    }

    /// Takes the final points and flips of value `v` (all its readers have been processed).
    pub(crate) fn take(&mut self, v: usize) -> Option<(Points, Option<Vec<i8>>)> {
        self.points[v].take().map(|p| (p, self.flips[v].take()))
    }
}
