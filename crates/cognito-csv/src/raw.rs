//! The file's bytes as they are, before any CSV reading: which physical line
//! each is on, and whether they are UTF-8, across chunk boundaries.

use crate::problems::Problems;

/// Reads the bytes in order, each once: counts lines and checks UTF-8.
pub(crate) struct Raw {
    /// The line of the next byte, 1-based.
    line: u64,
    /// The last byte was a CR: an LF right after it ends no second line.
    after_cr: bool,
    /// The first bytes of a character that a chunk cut: at most 3.
    cut: [u8; 4],
    cut_len: usize,
    /// The last line reported as not UTF-8: one problem a line is enough to
    /// find them, and a file in another encoding does not fill the report
    /// with one line.
    bad_line: u64,
}

impl Raw {
    pub fn new() -> Self {
        Self {
            line: 1,
            after_cr: false,
            cut: [0; 4],
            cut_len: 0,
            bad_line: 0,
        }
    }

    /// The line of the next byte: LF, CRLF and a lone CR each end one, as
    /// they end a row.
    pub fn line(&self) -> u64 {
        self.line
    }

    pub fn read(&mut self, mut bytes: &[u8], problems: &mut Problems) {
        if self.cut_len > 0 {
            bytes = self.complete(bytes, problems);
        }
        while !bytes.is_empty() {
            let error = match std::str::from_utf8(bytes) {
                Ok(_) => return self.count_lines(bytes),
                Err(error) => error,
            };
            let (valid, rest) = bytes.split_at(error.valid_up_to());
            self.count_lines(valid);
            match error.error_len() {
                Some(len) => {
                    self.invalid(problems);
                    self.count_lines(&rest[..len]);
                    bytes = &rest[len..];
                }
                // A character begun, its end in the next chunk.
                None => {
                    self.cut[..rest.len()].copy_from_slice(rest);
                    self.cut_len = rest.len();
                    self.after_cr = false;
                    return;
                }
            }
        }
    }

    /// The end of the file: a character still cut is cut for good.
    pub fn finish(&mut self, problems: &mut Problems) {
        if self.cut_len > 0 {
            self.cut_len = 0;
            self.invalid(problems);
        }
    }

    /// Completes the character the last chunk cut with the first bytes of
    /// this one; the rest of `bytes` is left to read.
    fn complete<'a>(&mut self, bytes: &'a [u8], problems: &mut Problems) -> &'a [u8] {
        let width = match self.cut[0] {
            0xF0.. => 4,
            0xE0.. => 3,
            _ => 2,
        };
        let taken = (width - self.cut_len).min(bytes.len());
        let mut character = self.cut;
        character[self.cut_len..self.cut_len + taken].copy_from_slice(&bytes[..taken]);
        let have = self.cut_len + taken;
        match std::str::from_utf8(&character[..have]) {
            Ok(_) => {
                self.cut_len = 0;
                &bytes[taken..]
            }
            Err(error) => match error.error_len() {
                None => {
                    // Still cut: this chunk was shorter than the character.
                    self.cut = character;
                    self.cut_len = have;
                    &bytes[taken..]
                }
                Some(len) => {
                    // The bytes after the invalid sequence are read afresh.
                    let used = len.saturating_sub(self.cut_len).min(taken);
                    self.cut_len = 0;
                    self.invalid(problems);
                    &bytes[used..]
                }
            },
        }
    }

    fn invalid(&mut self, problems: &mut Problems) {
        if self.bad_line != self.line {
            self.bad_line = self.line;
            problems.push(
                self.line,
                None,
                "not UTF-8: Cognito reads the file as UTF-8",
            );
        }
    }

    fn count_lines(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            match byte {
                b'\r' => {
                    self.line += 1;
                    self.after_cr = true;
                }
                b'\n' => {
                    if !self.after_cr {
                        self.line += 1;
                    }
                    self.after_cr = false;
                }
                _ => self.after_cr = false,
            }
        }
    }
}
