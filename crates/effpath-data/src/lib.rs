//! effpath-data: Datasets for effpath: IDX (MNIST, Fashion-MNIST) and .npy input/output, normalisation presets.
