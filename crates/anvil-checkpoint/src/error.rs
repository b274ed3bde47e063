//! The one error type of checkpoint reading and writing: what failed and on which file.

use std::fmt;

#[derive(Debug)]
pub struct CheckpointError(pub String);

impl CheckpointError {
    pub fn new(msg: impl Into<String>) -> Self {
        CheckpointError(msg.into())
    }
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CheckpointError {}
