//! Property tests: random trees and random edits, then mirror.
