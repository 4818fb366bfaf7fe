//! What a check found wrong, and the cap on how many it lists.

use std::fmt;

/// Most problems a report lists; the rest are counted
/// ([`Report::more_problems`](crate::Report::more_problems)), so that a file
/// wrong on every row costs no more memory than one wrong once.
pub const MAX_PROBLEMS: usize = 100;

/// One thing in the file that Cognito would refuse.
///
/// A description never repeats a value from the file: values are users'
/// personal data, and a report may be logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The physical line (1-based, the header's is 1) where the problem is:
    /// a value's first line, a row's first line, or, for the file as a whole,
    /// where it was found.
    pub line: u64,
    /// The column's name, when the problem is in one.
    pub column: Option<String>,
    pub description: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(column) => write!(f, "line {}, {column}: {}", self.line, self.description),
            None => write!(f, "line {}: {}", self.line, self.description),
        }
    }
}

/// The problems found so far: the first [`MAX_PROBLEMS`], and a count of the
/// rest.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    pub listed: Vec<Problem>,
    pub more: u64,
}

impl Problems {
    /// Takes the description as `Display`, so that a problem past the cap
    /// costs a count and no allocation.
    pub fn push(&mut self, line: u64, column: Option<&str>, description: impl fmt::Display) {
        if self.listed.len() < MAX_PROBLEMS {
            self.listed.push(Problem {
                line,
                column: column.map(str::to_owned),
                description: description.to_string(),
            });
        } else {
            self.more += 1;
        }
    }

    /// Every problem found so far, listed or counted.
    pub fn total(&self) -> u64 {
        self.listed.len() as u64 + self.more
    }
}
