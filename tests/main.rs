//! End-to-end tests of ferrysync on real directories.
//!
//! One binary (`autotests = false`); each module is one capability, helpers live in `tree`.

mod tree;

mod e2e;
