//! effpath-ir
