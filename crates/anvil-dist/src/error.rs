//! The one error type of the collectives: a message naming the operation and what went wrong.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistError(pub String);

impl DistError {
    pub fn new(msg: impl Into<String>) -> Self {
        DistError(msg.into())
    }
}

impl fmt::Display for DistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DistError {}

impl From<std::io::Error> for DistError {
    fn from(e: std::io::Error) -> Self {
        DistError(e.to_string())
    }
}
