//! An in-memory wire between two stacks in one process.
