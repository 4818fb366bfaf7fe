//! A user import CSV checked against Cognito's rules as it streams through the
//! service to the job's pre-signed URL: fed one chunk at a time, read one row
//! at a time, so that a file of any size costs the same bounded memory, and a
//! file Cognito would refuse is found out before an import job is spent on
//! it. Pure: no I/O, no async.
//!
//! The rules are those of Cognito's developer guide ("Creating the user
//! import .csv file") unless said otherwise:
//! - the file is UTF-8 without a byte order mark; a BOM is a problem, and is
//!   then skipped, so that the rest of the report is about the header as
//!   written;
//! - the first row is the header: every column of the pool's (GetCSVHeader's
//!   answer), in any order, each once, and no other;
//! - every row has as many fields as the header; values may be empty;
//! - `cognito:username` is not empty, has no space or tab, and is unique in
//!   the file (unique in the pool is for Cognito to say);
//! - `cognito:mfa_enabled` is true or false, never empty; `email_verified` and
//!   `phone_number_verified` are true, false or empty (empty is not
//!   verified); letter case does not matter, the guide's own sample writes
//!   `TRUE`;
//! - each user has `email_verified` or `phone_number_verified` true, a
//!   non-empty `email` where `email_verified` is true, and a non-empty
//!   `phone_number` where `phone_number_verified` is;
//! - at most [`MAX_ROW_CHARS`] characters in a row, [`MAX_ROWS`] rows after
//!   the header, and [`MAX_FILE_BYTES`] in all;
//! - at most [`MAX_VALUE_CHARS`] characters in a value (Cognito's API model:
//!   the most an attribute's value holds);
//! - and the file has exactly the bytes its sender declared.
//!
//! Values are read as Cognito reads them, without the white space around
//! them. The dialect is RFC 4180 as `csv-core` reads it: a quoted field may
//! hold commas, line breaks and doubled quotes; LF, CRLF or a lone CR ends a
//! row; blank lines are skipped (before the header, they are a problem). The guide asks for values without quotation
//! marks, and escapes a comma within a value with a backslash (`Doe\, Jane`):
//! such a comma belongs to the value, which is read without the backslash.
//! Quoted values are read as a CSV reader reads them.
//!
//! Lines are physical: LF, CRLF or a lone CR ends one, within a quoted value
//! too, so that a problem's line is the one an editor shows. The first is 1.
//!
//! What the checker cannot know, Cognito checks: the pool's required
//! attributes and auto-verified ones, its MFA setting, its usernames, and
//! the format of each attribute's value.
//!
//! # Rows
//!
//! A problem belongs to the user's row it was found in (its bytes, or the
//! rules on its values), or else to the file: the header and what comes
//! before it, a byte order mark, the file's length against what was
//! declared and [`MAX_FILE_BYTES`]. The report counts the rows with at least
//! one problem ([`Report::failed_rows`]) and the file's own problems
//! ([`Report::file_problems`]); [`CsvCheck::feed_rows`] and
//! [`CsvCheck::finish_rows`] also hand over each user's row as it ends
//! ([`UserRow`]: its line, its username, whether it passed), for a caller
//! that does something with each user, as an emulator importing them does.
//!
//! # Memory
//!
//! Whatever the input, a checker holds the chunk it is given (borrowed, not
//! kept), the row being read up to the length Cognito takes (the rest of a
//! longer row is counted, not kept), the header, at most [`MAX_PROBLEMS`]
//! problems, and the usernames seen. [`CsvCheck::buffer_capacity`], the row
//! and the header, is at most [`MAX_BUFFER_BYTES`] (320 KiB; 68 KiB for a
//! pool's usual header). The usernames are 12-byte hashes in a table that
//! grows with the distinct ones, up to the [`MAX_ROWS`] users Cognito takes:
//! at most 13.6 MB ([`CsvCheck::username_capacity`]).

mod problems;
mod raw;
mod rows;
mod rules;
#[cfg(test)]
mod tests;
mod usernames;

pub use problems::{MAX_PROBLEMS, Problem};
pub use rows::MAX_ROW_CHARS;
pub use rules::{MAX_ROWS, MAX_VALUE_CHARS};

use problems::Problems;
use rows::Rows;
use rules::Rules;

/// Most bytes Cognito takes in a file: the guide's 100 MB read as 10^8
/// bytes, the stricter reading, so that a file this accepts is within the
/// limit either way.
pub const MAX_FILE_BYTES: u64 = 100_000_000;

/// Most bytes [`CsvCheck::buffer_capacity`] reports, whatever the input.
pub const MAX_BUFFER_BYTES: usize = rows::MAX_CAPACITY + rules::MAX_HEADER_CAPACITY;

const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

/// The check of one file, fed as it arrives.
pub struct CsvCheck {
    declared_len: u64,
    bytes: u64,
    /// Each limit is reported once, where the file first passes it.
    past_declared: bool,
    past_max: bool,
    /// The file's first bytes, held until they are known to be a BOM or not:
    /// a chunk may end inside one.
    start: [u8; 3],
    start_len: usize,
    started: bool,
    rows: Rows,
    rules: Rules,
    problems: Problems,
    tally: Tally,
}

/// Which problems were found in users' rows.
#[derive(Default)]
struct Tally {
    /// The problems found before the current row, and the file's own found
    /// since: what is past it when a row ends was found in that row.
    mark: u64,
    failed_rows: u64,
    in_rows: u64,
}

impl Tally {
    /// Checks a row that ended, and hands it over if it is a user's.
    fn row(
        &mut self,
        rules: &mut Rules,
        row: &rows::Row<'_>,
        problems: &mut Problems,
        on_row: &mut dyn FnMut(UserRow<'_>),
    ) {
        let read = rules.row(row, problems);
        let found = problems.total() - self.mark;
        self.mark = problems.total();
        if let rules::Read::User { username } = read {
            self.in_rows += found;
            self.failed_rows += u64::from(found > 0);
            on_row(UserRow {
                line: row.line,
                username,
                passed: found == 0,
            });
        }
    }

    /// Counts the problems found since `before` as the file's, not the
    /// current row's.
    fn file_problems_since(&mut self, before: u64, problems: &Problems) {
        self.mark += problems.total() - before;
    }
}

/// The verdict on a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The bytes fed.
    pub bytes: u64,
    /// The rows after the header.
    pub rows: u64,
    /// The rows after the header with at least one problem.
    pub failed_rows: u64,
    /// The problems in no user's row: the file's own (see the crate doc).
    pub file_problems: u64,
    /// The first [`MAX_PROBLEMS`] problems, in the order found.
    pub problems: Vec<Problem>,
    /// The problems found past those.
    pub more_problems: u64,
}

/// One user's row, once checked: what [`CsvCheck::feed_rows`] hands over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserRow<'a> {
    /// The row's first physical line.
    pub line: u64,
    /// Its `cognito:username` as Cognito reads it (without the white space
    /// around it), if the row was read that far: not when it has the wrong
    /// number of fields or is longer than Cognito takes, nor when the value
    /// is not UTF-8 or the header has no such column.
    pub username: Option<&'a str>,
    /// No problem was found in the row: Cognito would import its user, as
    /// far as the checker can tell.
    pub passed: bool,
}

impl Report {
    /// Whether Cognito would take the file, as far as the checker can tell.
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty() && self.more_problems == 0
    }
}

impl CsvCheck {
    /// `header` is the pool's CSV header as GetCSVHeader answers it;
    /// `declared_len` the bytes the sender announced.
    pub fn new(header: &[String], declared_len: u64) -> Self {
        let mut check = Self {
            declared_len,
            bytes: 0,
            past_declared: false,
            past_max: false,
            start: [0; 3],
            start_len: 0,
            started: false,
            rows: Rows::new(),
            rules: Rules::new(header),
            problems: Problems::default(),
            tally: Tally::default(),
        };
        if declared_len > MAX_FILE_BYTES {
            check.past_max = true;
            check.problems.push(
                1,
                None,
                format_args!(
                    "the declared {declared_len} bytes are more than Cognito takes \
                     ({MAX_FILE_BYTES} bytes)"
                ),
            );
        }
        check
    }

    /// Feeds the next chunk; problems found so far are kept (at most
    /// [`MAX_PROBLEMS`] listed, the rest counted).
    pub fn feed(&mut self, chunk: &[u8]) {
        self.feed_rows(chunk, &mut |_| {});
    }

    /// Ends the input; the verdict.
    pub fn finish(self) -> Report {
        self.finish_rows(&mut |_| {})
    }

    /// [`CsvCheck::feed`], handing each user's row that ends in the chunk to
    /// `on_row`.
    pub fn feed_rows(&mut self, mut chunk: &[u8], on_row: &mut dyn FnMut(UserRow<'_>)) {
        while !chunk.is_empty() {
            // A chunk that passes a limit is read in two, so that the problem
            // comes where the limit is passed, whatever the chunks.
            let room = self.room();
            if room == 0 {
                self.report_limits();
                continue;
            }
            let (piece, rest) = chunk
                .split_at(usize::try_from(room).map_or(chunk.len(), |room| room.min(chunk.len())));
            self.bytes += piece.len() as u64;
            self.take(piece, on_row);
            chunk = rest;
        }
    }

    /// [`CsvCheck::finish`], handing the last user's row, if no line break
    /// ended it, to `on_row`.
    pub fn finish_rows(mut self, on_row: &mut dyn FnMut(UserRow<'_>)) -> Report {
        if !self.started {
            self.begin(on_row);
        }
        let Self {
            rows,
            rules,
            problems,
            tally,
            ..
        } = &mut self;
        rows.finish(problems, &mut |row, problems| {
            tally.row(rules, row, problems, on_row)
        });
        if !self.rules.has_header() {
            self.problems.push(
                1,
                None,
                "no header: the first line must be the user pool's CSV header",
            );
        }
        if self.bytes < self.declared_len {
            self.problems.push(
                self.rows.line(),
                None,
                format_args!(
                    "the file ends after {} of the {} bytes declared",
                    self.bytes, self.declared_len
                ),
            );
        }
        Report {
            bytes: self.bytes,
            rows: self.rules.users(),
            failed_rows: self.tally.failed_rows,
            file_problems: self.problems.total() - self.tally.in_rows,
            problems: self.problems.listed,
            more_problems: self.problems.more,
        }
    }

    /// Whether a problem was found so far: a sender may stop there.
    pub fn has_problems(&self) -> bool {
        !self.problems.listed.is_empty() || self.problems.more > 0
    }

    /// Bytes held for the row being read and the header: at most
    /// [`MAX_BUFFER_BYTES`], whatever the input.
    pub fn buffer_capacity(&self) -> usize {
        self.rows.capacity() + self.rules.header_capacity()
    }

    /// Usernames the checker holds before its table grows: it grows with the
    /// distinct usernames read, up to [`MAX_ROWS`] of them.
    pub fn username_capacity(&self) -> usize {
        self.rules.username_capacity()
    }

    /// Bytes that may still come before a limit not yet reported is passed.
    fn room(&self) -> u64 {
        let mut room = u64::MAX;
        if !self.past_declared {
            room = room.min(self.declared_len.saturating_sub(self.bytes));
        }
        if !self.past_max {
            room = room.min(MAX_FILE_BYTES.saturating_sub(self.bytes));
        }
        room
    }

    fn report_limits(&mut self) {
        let before = self.problems.total();
        let line = self.rows.line();
        if !self.past_declared && self.bytes >= self.declared_len {
            self.past_declared = true;
            self.problems.push(
                line,
                None,
                format_args!(
                    "the file is longer than the {} bytes declared",
                    self.declared_len
                ),
            );
        }
        if !self.past_max && self.bytes >= MAX_FILE_BYTES {
            self.past_max = true;
            self.problems.push(
                line,
                None,
                format_args!("the file is longer than Cognito takes ({MAX_FILE_BYTES} bytes)"),
            );
        }
        self.tally.file_problems_since(before, &self.problems);
    }

    fn take(&mut self, mut piece: &[u8], on_row: &mut dyn FnMut(UserRow<'_>)) {
        if !self.started {
            while self.start_len < BOM.len() && !piece.is_empty() {
                self.start[self.start_len] = piece[0];
                self.start_len += 1;
                piece = &piece[1..];
                if self.start[..self.start_len] != BOM[..self.start_len] {
                    break;
                }
            }
            if self.start_len < BOM.len() && self.start[..self.start_len] == BOM[..self.start_len] {
                return; // a BOM, perhaps: the next chunk says
            }
            self.begin(on_row);
        }
        self.read(piece, on_row);
    }

    /// Reads the file's first bytes, once they are known: a BOM is reported
    /// and skipped, anything else read.
    fn begin(&mut self, on_row: &mut dyn FnMut(UserRow<'_>)) {
        self.started = true;
        let start = self.start;
        let start = &start[..self.start_len];
        if start == BOM {
            self.problems.push(
                1,
                None,
                "the file begins with a byte order mark: Cognito takes UTF-8 without one",
            );
        } else {
            self.read(start, on_row);
        }
    }

    fn read(&mut self, bytes: &[u8], on_row: &mut dyn FnMut(UserRow<'_>)) {
        let Self {
            rows,
            rules,
            problems,
            tally,
            ..
        } = self;
        rows.read(bytes, problems, &mut |row, problems| {
            tally.row(rules, row, problems, on_row)
        });
    }
}
