//! `--output table`: the AWS CLI's table layout, rule for rule.
//!
//! The response becomes sections: one per object, titled with its key and
//! indented one level per nesting. An object's scalars make a one-row table
//! under their sorted keys; a list of objects makes a row per object. The
//! table is as wide as its widest section, and when that is wider than the
//! terminal (80 columns when stdout is not one), every one-row section turns
//! into key/value rows.

use serde_json::Value;

use crate::{
    east_asian_width::WIDE,
    scalar::{is_scalar, python_str},
};

/// The width of stdout's terminal, or 80 when it is not a terminal.
pub fn terminal_width() -> usize {
    terminal_size::terminal_size_of(std::io::stdout())
        .map_or(80, |(terminal_size::Width(width), _)| usize::from(width))
}

/// `value` as a table titled `title` (the operation's name); nothing at all
/// for an empty or false value, as the AWS CLI prints.
pub fn render(title: &str, value: &Value, terminal_width: usize) -> String {
    let mut table = Table::default();
    if !table.build(Some(title), value, 0) {
        return String::new();
    }
    table.render(terminal_width)
}

/// Printed width: two columns for the characters whose East Asian width is
/// wide, full-width or ambiguous, one for any other, as the AWS CLI counts.
fn text_width(text: &str) -> usize {
    text.chars()
        .map(|c| {
            let c = u32::from(c);
            let wide = WIDE
                .binary_search_by(|&(first, last)| {
                    if last < c {
                        std::cmp::Ordering::Less
                    } else if first > c {
                        std::cmp::Ordering::Greater
                    } else {
                        std::cmp::Ordering::Equal
                    }
                })
                .is_ok();
            if wide { 2 } else { 1 }
        })
        .sum()
}

/// Python's truth value of a JSON value.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

#[derive(Default)]
struct Section {
    title: String,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    indent_level: usize,
    max_widths: Vec<usize>,
}

impl Section {
    fn add_header(&mut self, headers: Vec<String>) {
        self.update_max_widths(&headers);
        self.headers = headers;
    }

    fn add_row(&mut self, row: Vec<String>) {
        self.update_max_widths(&row);
        self.rows.push(row);
    }

    fn update_max_widths(&mut self, row: &[String]) {
        if self.max_widths.is_empty() {
            self.max_widths = row.iter().map(|el| text_width(el)).collect();
        } else {
            for (max, el) in self.max_widths.iter_mut().zip(row) {
                *max = (*max).max(text_width(el));
            }
        }
    }

    /// The columns' widths with `padding`, scaled to add up to `max_width`.
    fn column_widths(&self, padding: usize, max_width: usize) -> Vec<usize> {
        let unscaled: Vec<usize> = self.max_widths.iter().map(|w| w + padding).collect();
        if unscaled.is_empty() {
            return unscaled;
        }
        let scale = max_width as f64 / unscaled.iter().sum::<usize>() as f64;
        // Python's round(): halves go to the even neighbour.
        let mut scaled: Vec<i64> = unscaled
            .iter()
            .map(|&w| (scale * w as f64).round_ties_even() as i64)
            .collect();
        let mut off_by = scaled.iter().sum::<i64>() - max_width as i64;
        while off_by != 0 {
            let order: Vec<usize> = if off_by < 0 {
                (0..scaled.len()).rev().collect()
            } else {
                (0..scaled.len()).collect()
            };
            for i in order {
                if off_by > 0 {
                    scaled[i] -= 1;
                    off_by -= 1;
                } else {
                    scaled[i] += 1;
                    off_by += 1;
                }
                if off_by == 0 {
                    break;
                }
            }
        }
        scaled.into_iter().map(|w| w.max(0) as usize).collect()
    }

    fn total_width(&self) -> usize {
        let outer = 2 * self.indent_level;
        let columns: usize = self.max_widths.iter().map(|w| w + 4).sum();
        (text_width(&self.title) + 2 + outer).max(columns + 2 + outer)
    }
}

#[derive(Default)]
struct Table {
    sections: Vec<Section>,
}

impl Table {
    fn current(&mut self) -> &mut Section {
        if self.sections.is_empty() {
            self.sections.push(Section::default());
        }
        self.sections.last_mut().expect("one section at least")
    }

    fn new_section(&mut self, title: &str, indent_level: usize) {
        self.sections.push(Section {
            title: title.to_owned(),
            indent_level,
            ..Section::default()
        });
    }

    fn build(&mut self, title: Option<&str>, value: &Value, indent_level: usize) -> bool {
        if !truthy(value) {
            return false;
        }
        if let Some(title) = title {
            self.new_section(title, indent_level);
        }
        match value {
            Value::Array(items) if items[0].is_object() => {
                self.add_list(items, indent_level, title.unwrap_or_default());
            }
            Value::Array(items) => {
                for item in items {
                    match item {
                        Value::Array(row) if row.iter().all(is_scalar) => {
                            self.current().add_row(row.iter().map(python_str).collect());
                        }
                        Value::Object(object) if object.values().all(is_scalar) => {
                            self.current().add_row(object.keys().cloned().collect());
                        }
                        scalar if is_scalar(scalar) => {
                            self.current().add_row(vec![python_str(scalar)]);
                        }
                        nested => {
                            self.build(None, nested, 0);
                        }
                    }
                }
            }
            Value::Object(object) => self.add_object(object, indent_level),
            _ => {}
        }
        true
    }

    fn add_object(&mut self, object: &serde_json::Map<String, Value>, indent_level: usize) {
        let (headers, more) = group_keys(std::iter::once(object));
        if let [only] = headers.as_slice() {
            let row = vec![only.clone(), python_str(&object[only])];
            self.current().add_row(row);
        } else if !headers.is_empty() {
            let row = headers.iter().map(|key| python_str(&object[key])).collect();
            let section = self.current();
            section.add_header(headers);
            section.add_row(row);
        }
        for key in more {
            self.build(Some(&key), &object[&key], indent_level + 1);
        }
    }

    fn add_list(&mut self, items: &[Value], indent_level: usize, title: &str) {
        let (headers, more) = group_keys(items.iter().filter_map(Value::as_object));
        self.current().add_header(headers.clone());
        for (i, item) in items.iter().enumerate() {
            if i > 0 && !more.is_empty() {
                self.new_section(title, indent_level);
                self.current().add_header(headers.clone());
            }
            let object = item.as_object();
            let row = headers
                .iter()
                .map(|key| {
                    object
                        .and_then(|o| o.get(key))
                        .map(python_str)
                        .unwrap_or_default()
                })
                .collect();
            self.current().add_row(row);
            for key in &more {
                if let Some(value) = object.and_then(|o| o.get(key)) {
                    self.build(Some(key), value, indent_level + 1);
                }
            }
        }
    }

    fn render(mut self, terminal_width: usize) -> String {
        let mut max_width = self.max_width();
        if max_width > terminal_width {
            self.turn_one_row_sections();
            max_width = self.max_width();
        }
        let mut out = "-".repeat(max_width) + "\n";
        for section in &self.sections {
            render_section(section, max_width, &mut out);
        }
        out
    }

    fn max_width(&self) -> usize {
        self.sections
            .iter()
            .map(Section::total_width)
            .max()
            .unwrap_or(0)
    }

    /// Every one-row section with headers becomes a header/value row each.
    fn turn_one_row_sections(&mut self) {
        for section in &mut self.sections {
            if section.rows.len() == 1 && !section.headers.is_empty() {
                let row = section.rows.pop().expect("one row");
                let headers = std::mem::take(&mut section.headers);
                let mut vertical = Section {
                    title: std::mem::take(&mut section.title),
                    indent_level: section.indent_level,
                    ..Section::default()
                };
                for (header, element) in headers.into_iter().zip(row) {
                    vertical.add_row(vec![header, element]);
                }
                *section = vertical;
            }
        }
    }
}

/// Keys of scalar values, then the other keys, each sorted.
fn group_keys<'a>(
    objects: impl Iterator<Item = &'a serde_json::Map<String, Value>>,
) -> (Vec<String>, Vec<String>) {
    let mut headers = Vec::new();
    let mut more = Vec::new();
    for object in objects {
        for (key, value) in object {
            let group = if is_scalar(value) {
                &mut headers
            } else {
                &mut more
            };
            if !group.contains(key) {
                group.push(key.clone());
            }
        }
    }
    headers.sort();
    more.sort();
    (headers, more)
}

fn render_section(section: &Section, max_width: usize, out: &mut String) {
    let indent = "|".repeat(section.indent_level);
    let mut line = |text: String| {
        out.push_str(&indent);
        out.push_str(&text);
        out.push_str(&indent);
        out.push('\n');
    };
    let max_width = max_width - section.indent_level * 2;
    if !section.title.is_empty() {
        line(center(&section.title, max_width, "|", "|"));
        if section.headers.is_empty() && section.rows.is_empty() {
            line(format!("+{}+", "-".repeat(max_width.saturating_sub(2))));
        }
    }
    if !section.headers.is_empty() {
        let widths = section.column_widths(4, max_width);
        let titles: String = widths
            .iter()
            .zip(&section.headers)
            .enumerate()
            .map(|(i, (&width, header))| center(header, width, if i == 0 { "|" } else { "" }, "|"))
            .collect();
        line(line_break(&widths));
        line(titles);
    }
    if !section.rows.is_empty() {
        let widths = section.column_widths(4, max_width);
        if widths.is_empty() {
            return;
        }
        line(line_break(&widths));
        for row in &section.rows {
            let cells: String = widths
                .iter()
                .zip(row)
                .enumerate()
                .map(|(i, (&width, cell))| {
                    align_left(cell, width, if i == 0 { "|" } else { "" }, "|")
                })
                .collect();
            line(cells);
        }
        line(line_break(&widths));
    }
}

fn spaces(n: i64) -> String {
    " ".repeat(n.max(0) as usize)
}

fn center(text: &str, length: usize, left: &str, right: &str) -> String {
    let (length, text_length) = (length as i64, text_width(text) as i64);
    let start = length / 2 - text_length / 2 - 1;
    let so_far = left.len() as i64 + start + text_length;
    format!(
        "{left}{}{text}{}{right}",
        spaces(start),
        spaces(length - right.len() as i64 - so_far)
    )
}

fn align_left(text: &str, length: usize, left: &str, right: &str) -> String {
    let (length, text_length) = (length as i64, text_width(text) as i64);
    let needed = text_length + 2 + left.len() as i64 + right.len() as i64;
    let padding = if length >= needed { 2 } else { 0 };
    let so_far = left.len() as i64 + padding + text_length;
    format!(
        "{left}{}{text}{}{right}",
        spaces(padding),
        spaces(length - so_far - right.len() as i64)
    )
}

fn line_break(widths: &[usize]) -> String {
    widths
        .iter()
        .enumerate()
        .map(|(i, &w)| {
            if i == 0 {
                format!("+{}+", "-".repeat(w.saturating_sub(2)))
            } else {
                format!("{}+", "-".repeat(w.saturating_sub(1)))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_wide_object_turns_into_key_value_rows() {
        let value = json!({"UserImportJob": {
            "JobName": "JobName", "JobId": "JobId", "UserPoolId": "UserPoolId",
            "PreSignedUrl": "PreSignedUrl", "CreationDate": "1970-01-01 00:00:00",
            "StartDate": "1970-01-01 00:00:00", "CompletionDate": "1970-01-01 00:00:00",
            "Status": "Status", "CloudWatchLogsRoleArn": "CloudWatchLogsRoleArn",
            "ImportedUsers": 0, "SkippedUsers": 0, "FailedUsers": 0,
            "CompletionMessage": "CompletionMessage"
        }});
        // What `aws cognito-idp stop-user-import-job --generate-cli-skeleton
        // output --output table` prints when stdout is not a terminal.
        let expected = "\
------------------------------------------------------
|                  StopUserImportJob                 |
+----------------------------------------------------+
||                   UserImportJob                  ||
|+------------------------+-------------------------+|
||  CloudWatchLogsRoleArn |  CloudWatchLogsRoleArn  ||
||  CompletionDate        |  1970-01-01 00:00:00    ||
||  CompletionMessage     |  CompletionMessage      ||
||  CreationDate          |  1970-01-01 00:00:00    ||
||  FailedUsers           |  0                      ||
||  ImportedUsers         |  0                      ||
||  JobId                 |  JobId                  ||
||  JobName               |  JobName                ||
||  PreSignedUrl          |  PreSignedUrl           ||
||  SkippedUsers          |  0                      ||
||  StartDate             |  1970-01-01 00:00:00    ||
||  Status                |  Status                 ||
||  UserPoolId            |  UserPoolId             ||
|+------------------------+-------------------------+|
";
        assert_eq!(render("StopUserImportJob", &value, 80), expected);
    }

    #[test]
    fn a_narrow_object_stays_one_row() {
        let value = json!({"Id": "import-a", "S": "Stopped"});
        let expected = "\
-------------------------
|   StopUserImportJob   |
+-----------+-----------+
|    Id     |     S     |
+-----------+-----------+
|  import-a |  Stopped  |
+-----------+-----------+
";
        assert_eq!(render("StopUserImportJob", &value, 80), expected);
    }

    #[test]
    fn lists_and_nested_values_make_indented_sections() {
        let value = json!([
            {"Id": "import-a", "S": "Stopped", "X": {"a": 1, "b": [1, 2]}},
            {"Id": "b", "S": "é中"}
        ]);
        // What the AWS CLI's table formatter prints for the same value.
        let expected = "\
-------------------------
|   StopUserImportJob   |
+-----------+-----------+
|    Id     |     S     |
+-----------+-----------+
|  import-a |  Stopped  |
+-----------+-----------+
||          X          ||
|+---------+-----------+|
||  a      |  1        ||
|+---------+-----------+|
|||         b         |||
||+-------------------+||
|||  1                |||
|||  2                |||
||+-------------------+||
|   StopUserImportJob   |
+---------+-------------+
|   Id    |      S      |
+---------+-------------+
|  b      |  é中       |
+---------+-------------+
";
        assert_eq!(render("StopUserImportJob", &value, 80), expected);
    }

    #[test]
    fn nothing_prints_for_an_empty_value() {
        assert_eq!(render("StopUserImportJob", &json!({}), 80), "");
        assert_eq!(render("StopUserImportJob", &Value::Null, 80), "");
    }
}
