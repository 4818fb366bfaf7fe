//! The file's rows, read with `csv-core` one field at a time into a buffer of
//! fixed size, so that no row, however long, makes memory grow.

use std::mem::size_of;

use csv_core::{ReadFieldResult, Reader};

use crate::problems::Problems;
use crate::raw::Raw;

/// Most characters Cognito takes in a row.
pub const MAX_ROW_CHARS: u64 = 16_000;

/// Most bytes a row within Cognito's length holds once read (16,000
/// characters of at most 4 bytes each): a longer row is kept only this far.
pub(crate) const ROW_BYTES: usize = 4 * MAX_ROW_CHARS as usize;

/// Most fields a row within Cognito's length holds: each past the first
/// costs a comma.
pub(crate) const ROW_FIELDS: usize = MAX_ROW_CHARS as usize + 1;

/// Where csv-core writes what is read of a row too long to keep, to be
/// counted and dropped.
const SCRATCH_BYTES: usize = 4096;

/// Most bytes the row reader holds: its two buffers, and the field ends,
/// grown by doubling to at most the power of two above [`ROW_FIELDS`].
pub(crate) const MAX_CAPACITY: usize =
    ROW_BYTES + SCRATCH_BYTES + ROW_FIELDS.next_power_of_two() * size_of::<Span>();

/// Where a field ends in the row's buffer, and on which line it begins,
/// counted from the row's first (a row within Cognito's length has fewer
/// than 2^32 of either).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span {
    end: u32,
    line: u32,
}

/// A row read whole: what the checks see.
pub(crate) struct Row<'a> {
    /// The row's first physical line.
    pub line: u64,
    /// Its fields, kept or not.
    pub fields: u64,
    /// Longer than Cognito takes: only the fields before the cut are kept.
    pub too_long: bool,
    buffer: &'a [u8],
    spans: &'a [Span],
}

impl<'a> Row<'a> {
    /// The fields kept, in order, each with its first line.
    pub fn kept(&self) -> impl Iterator<Item = (&'a [u8], u64)> + '_ {
        let buffer = self.buffer;
        let mut start = 0;
        self.spans.iter().map(move |span| {
            let end = span.end as usize;
            let field = &buffer[start..end];
            start = end;
            (field, self.line + u64::from(span.line))
        })
    }
}

pub(crate) struct Rows {
    reader: Reader,
    raw: Raw,
    /// The current row's fields, unquoted, one after the other.
    buffer: Box<[u8]>,
    len: usize,
    spans: Vec<Span>,
    scratch: Box<[u8]>,
    fields: u64,
    /// The row's characters so far, its commas included, its quotes not.
    chars: u64,
    too_long: bool,
    /// The current row's first line, and the current field's.
    line: u64,
    field_line: u64,
    /// No byte of the next row read yet: blank lines before it are skipped.
    between_rows: bool,
    /// The last byte csv-core took.
    last: u8,
}

impl Rows {
    pub fn new() -> Self {
        Self {
            reader: Reader::new(),
            raw: Raw::new(),
            buffer: vec![0; ROW_BYTES].into_boxed_slice(),
            len: 0,
            spans: Vec::new(),
            scratch: vec![0; SCRATCH_BYTES].into_boxed_slice(),
            fields: 0,
            chars: 0,
            too_long: false,
            line: 1,
            field_line: 1,
            between_rows: true,
            last: 0,
        }
    }

    /// The line of the next byte.
    pub fn line(&self) -> u64 {
        self.raw.line()
    }

    pub fn capacity(&self) -> usize {
        self.buffer.len() + self.scratch.len() + self.spans.capacity() * size_of::<Span>()
    }

    /// Reads the next bytes, handing each row to `on_row` as it ends.
    pub fn read(
        &mut self,
        mut input: &[u8],
        problems: &mut Problems,
        on_row: &mut dyn FnMut(&Row<'_>, &mut Problems),
    ) {
        while !input.is_empty() {
            // A full buffer takes no more, but the field may end right here:
            // the row is too long only if more of it comes.
            let full = self.len == self.buffer.len();
            let output = if self.too_long || full {
                &mut self.scratch[..]
            } else {
                &mut self.buffer[self.len..]
            };
            let (result, taken, written) = self.reader.read_field(input, output);
            self.chars += count_chars(&output[..written]);
            if !self.too_long {
                if full {
                    self.too_long = written > 0;
                } else {
                    self.len += written;
                }
            }
            self.too_long |= self.chars > MAX_ROW_CHARS;
            let consumed = &input[..taken];
            self.account(consumed, problems);
            let before_last = match consumed {
                [.., before, _] => *before,
                _ => self.last,
            };
            if let Some(&last) = consumed.last() {
                self.last = last;
            }
            if let ReadFieldResult::Field { record_end } = result {
                self.end_field(record_end, before_last, problems, on_row);
            }
            input = &input[taken..];
        }
    }

    /// The end of the file: the last row, if no line break ended it.
    pub fn finish(
        &mut self,
        problems: &mut Problems,
        on_row: &mut dyn FnMut(&Row<'_>, &mut Problems),
    ) {
        self.raw.finish(problems);
        while let (ReadFieldResult::Field { record_end }, _, _) =
            self.reader.read_field(&[], &mut self.scratch)
        {
            self.end_field(record_end, 0, problems, on_row);
        }
    }

    /// Counts the lines and checks the UTF-8 of the bytes csv-core took, and
    /// notes the line where a row begins: its first byte that is no line
    /// break.
    fn account(&mut self, consumed: &[u8], problems: &mut Problems) {
        if self.between_rows
            && let Some(start) = consumed.iter().position(|&b| b != b'\r' && b != b'\n')
        {
            self.raw.read(&consumed[..start], problems);
            self.line = self.raw.line();
            self.field_line = self.line;
            self.between_rows = false;
            self.raw.read(&consumed[start..], problems);
            return;
        }
        self.raw.read(consumed, problems);
    }

    fn end_field(
        &mut self,
        record_end: bool,
        before_delimiter: u8,
        problems: &mut Problems,
        on_row: &mut dyn FnMut(&Row<'_>, &mut Problems),
    ) {
        if !record_end && before_delimiter == b'\\' {
            // The guide's escape: a comma after a backslash belongs to the
            // value, which Cognito reads without the backslash.
            self.chars += 1;
            self.too_long |= self.chars > MAX_ROW_CHARS;
            if !self.too_long && self.len > 0 && self.buffer[self.len - 1] == b'\\' {
                self.buffer[self.len - 1] = b',';
            }
            return;
        }
        self.fields += 1;
        if !self.too_long {
            self.spans.push(Span {
                end: u32::try_from(self.len).unwrap_or(u32::MAX),
                line: u32::try_from(self.field_line - self.line).unwrap_or(u32::MAX),
            });
        }
        if record_end {
            on_row(
                &Row {
                    line: self.line,
                    fields: self.fields,
                    too_long: self.too_long,
                    buffer: &self.buffer[..self.len],
                    spans: &self.spans,
                },
                problems,
            );
            self.len = 0;
            self.spans.clear();
            self.fields = 0;
            self.chars = 0;
            self.too_long = false;
            self.between_rows = true;
        } else {
            self.chars += 1;
            self.too_long |= self.chars > MAX_ROW_CHARS;
            self.field_line = self.raw.line();
        }
    }
}

/// Characters in UTF-8 bytes, counted by the bytes that begin one, so that a
/// character cut between two reads counts once.
fn count_chars(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| (b as i8) >= -0x40).count() as u64
}
