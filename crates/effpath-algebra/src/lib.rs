//! effpath-algebra: Bitset path algebra for effpath: per-layer neuron/synapse/weight sets, union, intersection, density, Jaccard.
