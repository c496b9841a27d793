//! effpath: effpath: effective-path extraction from deep neural networks and path-based adversarial detection (facade crate).
