//! `--output yaml` as AWS CLI version 2 writes it: ruamel's safe dumper
//! over libyaml's emitter. Every object's keys sorted; block style, two
//! spaces a level, a list under a key at the key's column; each string
//! plain where YAML 1.2 (ruamel's resolver) would read it back as that
//! string, else single-quoted, else double-quoted with escapes; long lines
//! folded at spaces past column 80. A scalar alone prints as JSON, and an
//! empty object not at all.

use serde_json::Value;

use crate::python;

/// The column past which a space may fold a line.
const BEST_WIDTH: usize = 80;

/// `value` as AWS CLI version 2 prints it with `--output yaml`.
pub fn render(value: &Value) -> String {
    match value {
        Value::Object(object) if object.is_empty() => String::new(),
        Value::Object(object) => {
            let mut writer = Writer::default();
            writer.mapping(object, 0, false);
            writer.out.push('\n');
            writer.out
        }
        Value::Array(items) if items.is_empty() => "[]\n".to_owned(),
        Value::Array(items) => {
            let mut writer = Writer::default();
            writer.sequence(items, 0, false);
            writer.out.push('\n');
            writer.out
        }
        Value::Number(_) => format!("{}\n", python::str_of(value)),
        scalar => format!("{scalar}\n"),
    }
}

#[derive(Default)]
struct Writer {
    out: String,
    /// Characters on the current line so far.
    column: usize,
}

impl Writer {
    fn put(&mut self, text: &str) {
        for c in text.chars() {
            self.out.push(c);
            self.column = if is_break(c) { 0 } else { self.column + 1 };
        }
    }

    /// A new line indented to `indent`, unless the line holds nothing yet.
    fn indent(&mut self, indent: usize) {
        if self.column > 0 {
            self.put("\n");
        }
        while self.column < indent {
            self.put(" ");
        }
    }

    /// A block mapping whose keys sit at `indent`; the first on the current
    /// line if `inline` (after a list's `- `).
    fn mapping(&mut self, object: &serde_json::Map<String, Value>, indent: usize, inline: bool) {
        let mut entries: Vec<(&String, &Value)> = object.iter().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        for (i, (key, value)) in entries.into_iter().enumerate() {
            if i > 0 || !inline {
                self.indent(indent);
            }
            self.string(key, indent, false);
            self.put(":");
            match value {
                Value::Object(inner) if !inner.is_empty() => self.mapping(inner, indent + 2, false),
                Value::Array(items) if !items.is_empty() => self.sequence(items, indent, false),
                other => self.inline(other, indent + 2),
            }
        }
    }

    /// A block sequence whose dashes sit at `indent`.
    fn sequence(&mut self, items: &[Value], indent: usize, inline: bool) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 || !inline {
                self.indent(indent);
            }
            self.put("-");
            match item {
                Value::Object(inner) if !inner.is_empty() => {
                    self.put(" ");
                    self.mapping(inner, indent + 2, true);
                }
                Value::Array(items) if !items.is_empty() => {
                    self.put(" ");
                    self.sequence(items, indent + 2, true);
                }
                other => self.inline(other, indent + 2),
            }
        }
    }

    /// A value that fits after `key:` or `-`: a scalar (folded lines at
    /// `indent`), or an empty collection in flow style.
    fn inline(&mut self, value: &Value, indent: usize) {
        self.put(" ");
        match value {
            Value::Null => self.put("null"),
            Value::Bool(flag) => self.put(if *flag { "true" } else { "false" }),
            Value::Number(_) => self.put(&python::str_of(value).to_lowercase()),
            Value::String(text) => self.string(text, indent, true),
            Value::Array(_) => self.put("[]"),
            Value::Object(_) => self.put("{}"),
        }
    }

    /// A string in the style libyaml picks for it; `value` says whether it
    /// is a value (which may fold) rather than a key.
    fn string(&mut self, text: &str, indent: usize, value: bool) {
        let analysis = Analysis::of(text);
        let plain = analysis.block_plain && !resolves_to_another_type(text) && !text.is_empty();
        if plain {
            self.plain(text, indent, value);
        } else if analysis.single_quoted {
            self.single_quoted(text, indent, value);
        } else {
            self.double_quoted(text, indent, value);
        }
    }

    fn plain(&mut self, text: &str, indent: usize, breaks: bool) {
        let chars: Vec<char> = text.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let next_is_space = chars.get(i + 1) == Some(&' ');
                if breaks && !spaces && self.column > BEST_WIDTH && !next_is_space {
                    self.indent(indent);
                } else {
                    self.put(" ");
                }
                spaces = true;
            } else {
                self.put_char(c);
                spaces = false;
            }
        }
    }

    fn single_quoted(&mut self, text: &str, indent: usize, breaks: bool) {
        let chars: Vec<char> = text.chars().collect();
        self.put("'");
        let (mut spaces, mut in_break) = (false, false);
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let inner = i != 0 && i != chars.len() - 1;
                let next_is_space = chars.get(i + 1) == Some(&' ');
                if breaks && !spaces && self.column > BEST_WIDTH && inner && !next_is_space {
                    self.indent(indent);
                } else {
                    self.put(" ");
                }
                spaces = true;
            } else if is_break(c) {
                if !in_break && c == '\n' {
                    self.put("\n");
                }
                self.put_char(c);
                in_break = true;
            } else {
                if in_break {
                    self.indent(indent);
                }
                if c == '\'' {
                    self.put("'");
                }
                self.put_char(c);
                spaces = false;
                in_break = false;
            }
        }
        if in_break {
            self.indent(indent);
        }
        self.put("'");
    }

    fn double_quoted(&mut self, text: &str, indent: usize, breaks: bool) {
        let chars: Vec<char> = text.chars().collect();
        self.put("\"");
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            let escaped = !printable(c) || c == '\u{feff}' || is_break(c) || c == '"' || c == '\\';
            if escaped {
                let escape = match c {
                    '\0' => "0".to_owned(),
                    '\x07' => "a".to_owned(),
                    '\x08' => "b".to_owned(),
                    '\t' => "t".to_owned(),
                    '\n' => "n".to_owned(),
                    '\x0b' => "v".to_owned(),
                    '\x0c' => "f".to_owned(),
                    '\r' => "r".to_owned(),
                    '\x1b' => "e".to_owned(),
                    '"' => "\"".to_owned(),
                    '\\' => "\\".to_owned(),
                    '\u{85}' => "N".to_owned(),
                    '\u{a0}' => "_".to_owned(),
                    '\u{2028}' => "L".to_owned(),
                    '\u{2029}' => "P".to_owned(),
                    c if u32::from(c) <= 0xff => format!("x{:02X}", u32::from(c)),
                    c if u32::from(c) <= 0xffff => format!("u{:04X}", u32::from(c)),
                    c => format!("U{:08X}", u32::from(c)),
                };
                self.put("\\");
                self.put(&escape);
                spaces = false;
            } else if c == ' ' {
                let inner = i != 0 && i != chars.len() - 1;
                if breaks && !spaces && self.column > BEST_WIDTH && inner {
                    self.indent(indent);
                    if chars.get(i + 1) == Some(&' ') {
                        self.put("\\");
                    }
                } else {
                    self.put(" ");
                }
                spaces = true;
            } else {
                self.put_char(c);
                spaces = false;
            }
        }
        self.put("\"");
    }

    fn put_char(&mut self, c: char) {
        let mut buffer = [0; 4];
        self.put(c.encode_utf8(&mut buffer));
    }
}

/// What libyaml's emitter works out of a string before choosing its style
/// (in block context, where these outputs live).
struct Analysis {
    block_plain: bool,
    single_quoted: bool,
}

impl Analysis {
    fn of(text: &str) -> Self {
        let chars: Vec<char> = text.chars().collect();
        if chars.is_empty() {
            return Self {
                block_plain: true,
                single_quoted: true,
            };
        }
        let blank =
            |c: Option<&char>| c.is_none_or(|&c| c == ' ' || c == '\t' || c == '\0' || is_break(c));
        let mut block_indicators = text.starts_with("---") || text.starts_with("...");
        let (mut special, mut line_breaks) = (false, false);
        let (mut leading_space, mut leading_break) = (false, false);
        let (mut trailing_space, mut trailing_break) = (false, false);
        let (mut break_space, mut space_break) = (false, false);
        let (mut previous_space, mut previous_break) = (false, false);
        let mut preceded_by_whitespace = true;
        for (i, &c) in chars.iter().enumerate() {
            let followed_by_whitespace = blank(chars.get(i + 1));
            let (first, last) = (i == 0, i == chars.len() - 1);
            if first {
                if "#,[]{}&*!|>'\"%@`".contains(c) || (c == '-' && followed_by_whitespace) {
                    block_indicators = true;
                }
                if (c == '?' || c == ':') && followed_by_whitespace {
                    block_indicators = true;
                }
            } else if (c == ':' && followed_by_whitespace) || (c == '#' && preceded_by_whitespace) {
                block_indicators = true;
            }
            if !printable(c) {
                special = true;
            }
            if is_break(c) {
                line_breaks = true;
            }
            if c == ' ' {
                leading_space |= first;
                trailing_space |= last;
                break_space |= previous_break;
                (previous_space, previous_break) = (true, false);
            } else if is_break(c) {
                leading_break |= first;
                trailing_break |= last;
                space_break |= previous_space;
                (previous_space, previous_break) = (false, true);
            } else {
                (previous_space, previous_break) = (false, false);
            }
            preceded_by_whitespace = blank(Some(&c));
        }
        let edges = leading_space || leading_break || trailing_space || trailing_break;
        Self {
            block_plain: !(edges
                || break_space
                || space_break
                || special
                || line_breaks
                || block_indicators),
            single_quoted: !(break_space || space_break || special),
        }
    }
}

/// libyaml's printable characters: the line feed, printable ASCII, and the
/// Basic Multilingual Plane from U+00A0 on but for surrogates, the byte
/// order mark and U+FFFE/U+FFFF (characters beyond it are escaped).
fn printable(c: char) -> bool {
    matches!(c, '\n' | ' '..='~' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
        && c != '\u{feff}'
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Whether ruamel's YAML 1.2 resolver would read `text`, written plain, as
/// something other than a string: a boolean, a number, null, a timestamp, a
/// merge or value key, or an anchor, alias or tag.
fn resolves_to_another_type(text: &str) -> bool {
    matches!(
        text,
        "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "~"
            | "null"
            | "Null"
            | "NULL"
            | ""
            | "<<"
            | "="
            | "!"
            | "&"
            | "*"
    ) || is_float(text)
        || is_int(text)
        || is_timestamp(text)
}

/// Splits an optional leading sign off.
fn unsigned(text: &str) -> &str {
    text.strip_prefix(['-', '+']).unwrap_or(text)
}

/// `[-+]?0b[0-1_]+ | [-+]?0o?[0-7_]+ | [-+]?[0-9_]+ | [-+]?0x[0-9a-fA-F_]+`,
/// for text that begins with a sign or a digit (the resolver tries no other).
fn is_int(text: &str) -> bool {
    if !text.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+') {
        return false;
    }
    let digits = unsigned(text);
    let all = |s: &str, ok: fn(char) -> bool| !s.is_empty() && s.chars().all(|c| c == '_' || ok(c));
    all(digits, |c| c.is_ascii_digit())
        || digits
            .strip_prefix("0b")
            .is_some_and(|s| all(s, |c| c == '0' || c == '1'))
        || digits
            .strip_prefix("0o")
            .is_some_and(|s| all(s, |c| ('0'..='7').contains(&c)))
        || digits
            .strip_prefix("0x")
            .is_some_and(|s| all(s, |c| c.is_ascii_hexdigit()))
}

/// YAML 1.2's floats as ruamel reads them: `1.5`, `1.`, `1e5`, `.5`,
/// `.5e+1`, `.inf`, `.nan` (underscores allowed among the digits).
fn is_float(text: &str) -> bool {
    if matches!(text, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let body = unsigned(text);
    if matches!(body, ".inf" | ".Inf" | ".INF") {
        return true;
    }
    let digits_ = |s: &str| s.chars().all(|c| c.is_ascii_digit() || c == '_');
    let exponent = |s: &str, sign_required: bool| {
        let Some(rest) = s.strip_prefix(['e', 'E']) else {
            return false;
        };
        let rest = match rest.strip_prefix(['-', '+']) {
            Some(rest) => rest,
            None if sign_required => return false,
            None => rest,
        };
        !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit())
    };
    if let Some(fraction) = body.strip_prefix('.') {
        let end = fraction
            .find(|c: char| !(c.is_ascii_digit() || c == '_'))
            .unwrap_or(fraction.len());
        let (digits, rest) = fraction.split_at(end);
        return !digits.is_empty() && (rest.is_empty() || exponent(rest, true));
    }
    if !body.starts_with(|c: char| c.is_ascii_digit()) {
        return false;
    }
    let end = body
        .find(|c: char| !(c.is_ascii_digit() || c == '_'))
        .unwrap_or(body.len());
    let rest = &body[end..];
    match rest.strip_prefix('.') {
        Some(fraction) => {
            let end = fraction
                .find(|c: char| !(c.is_ascii_digit() || c == '_'))
                .unwrap_or(fraction.len());
            let (digits, rest) = fraction.split_at(end);
            digits_(digits) && (rest.is_empty() || exponent(rest, false))
        }
        None => exponent(rest, false),
    }
}

/// `YYYY-MM-DD`, or a date and a time (`T`, `t` or spaces between), with
/// a fraction and a zone optional: YAML's timestamps.
fn is_timestamp(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |from: usize, count: usize| {
        b.get(from..from + count)
            .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
    };
    if b.len() == 10 && digits(0, 4) && b[4] == b'-' && digits(5, 2) && b[7] == b'-' && digits(8, 2)
    {
        return true;
    }
    // YYYY-M(M)-D(D)
    let mut i = 0;
    let number = |i: &mut usize, least: usize, most: usize| {
        let start = *i;
        while *i < b.len() && *i - start < most && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start >= least
    };
    if !(number(&mut i, 4, 4) && b.get(i) == Some(&b'-')) {
        return false;
    }
    i += 1;
    if !(number(&mut i, 1, 2) && b.get(i) == Some(&b'-')) {
        return false;
    }
    i += 1;
    if !number(&mut i, 1, 2) {
        return false;
    }
    match b.get(i) {
        Some(b'T' | b't') => i += 1,
        Some(b' ' | b'\t') => {
            while matches!(b.get(i), Some(b' ' | b'\t')) {
                i += 1;
            }
        }
        _ => return false,
    }
    if !(number(&mut i, 1, 2) && b.get(i) == Some(&b':')) {
        return false;
    }
    i += 1;
    if !(number(&mut i, 2, 2) && b.get(i) == Some(&b':')) {
        return false;
    }
    i += 1;
    if !number(&mut i, 2, 2) {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    if i == b.len() {
        return true;
    }
    while matches!(b.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    match b.get(i) {
        Some(b'Z') => i + 1 == b.len(),
        Some(b'-' | b'+') => {
            i += 1;
            if !number(&mut i, 1, 2) {
                return false;
            }
            if b.get(i) == Some(&b':') {
                i += 1;
                if !number(&mut i, 2, 2) {
                    return false;
                }
            }
            i == b.len()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn strings_take_the_style_ruamel_gives_them() {
        // What AWS CLI version 2's YAML writer (ruamel.yaml 0.17.21, safe,
        // with libyaml) prints for the same strings.
        let value: Value = serde_json::from_str(
            r#"{
            "a_iso": "2026-11-27T18:31:30.417000+00:00", "b_date": "2026-11-27",
            "c_yes": "yes", "f_null": "null", "h_num": "2", "i_float": "1.5", "j_exp": "1e3",
            "k_hex": "0x10", "m_colon": "a: b", "n_hash": "a #b", "o_lead": " x", "p_trail": "x ",
            "q_empty": "", "r_star": "*x", "s_dash": "- x", "t_quote": "it's", "u_dq": "say \"hi\"",
            "v_nl": "a\nb", "w_tab": "a\tb", "x_unicode": "é中😀",
            "y_long": "The Import Job was stopped by the developer and this is a very long message that goes on past eighty columns for sure.",
            "z_url": "https://example.com/a?b=c&d=e%2F", "za_at": "@x", "zc_pct": "%x",
            "ze_comma": "a, b", "zf_ctrl": "a\u0001b", "zj_under": "1_000",
            "zp_cognito": "cognito:username", "zr_ts2": "2026-11-27 18:31:30",
            "zu_float": 1795803930.417, "zv_int": 120, "zw_list": [], "zx_obj": {},
            "zy_null": null, "zz_bool": true, "zz_big": 1e20, "zz_bom": "\ufeffx",
            "zz_dash": "-", "zz_eq": "=", "zz_lt": "<<", "zz_minus": "-1", "zz_nbsp": "a\u00a0b",
            "zz_ver": "1.2.3", "zz_quote_nl": "it's\nx"
        }"#,
        )
        .unwrap();
        let expected = "\
a_iso: '2026-11-27T18:31:30.417000+00:00'
b_date: '2026-11-27'
c_yes: yes
f_null: 'null'
h_num: '2'
i_float: '1.5'
j_exp: '1e3'
k_hex: '0x10'
m_colon: 'a: b'
n_hash: 'a #b'
o_lead: ' x'
p_trail: 'x '
q_empty: ''
r_star: '*x'
s_dash: '- x'
t_quote: it's
u_dq: say \"hi\"
v_nl: 'a

  b'
w_tab: \"a\\tb\"
x_unicode: \"é中\\U0001F600\"
y_long: The Import Job was stopped by the developer and this is a very long message
  that goes on past eighty columns for sure.
z_url: https://example.com/a?b=c&d=e%2F
za_at: '@x'
zc_pct: '%x'
ze_comma: a, b
zf_ctrl: \"a\\x01b\"
zj_under: '1_000'
zp_cognito: cognito:username
zr_ts2: '2026-11-27 18:31:30'
zu_float: 1795803930.417
zv_int: 120
zw_list: []
zx_obj: {}
zy_null: null
zz_big: 1e+20
zz_bom: \"\\uFEFFx\"
zz_bool: true
zz_dash: '-'
zz_eq: '='
zz_lt: '<<'
zz_minus: '-1'
zz_nbsp: a\u{a0}b
zz_quote_nl: 'it''s

  x'
zz_ver: 1.2.3
";
        assert_eq!(render(&value), expected);
    }

    #[test]
    fn nesting_is_ruamels() {
        let value = json!({"Z": [{"b": 1, "a": [["x", {}], []]}, "s"], "A": {"k": {"j": "v"}}});
        assert_eq!(
            render(&value),
            "A:\n  k:\n    j: v\nZ:\n- a:\n  - - x\n    - {}\n  - []\n  b: 1\n- s\n"
        );
        let long = "word ".repeat(30);
        let nested = json!([{"Message": long.trim_end()}]);
        let rendered = render(&nested);
        let lines: Vec<&str> = rendered.lines().collect();
        assert!(lines[0].starts_with("- Message: word word"), "{rendered}");
        assert!(lines[1].starts_with("    word"), "{rendered}");
    }

    #[test]
    fn scalars_alone_print_as_json() {
        assert_eq!(render(&json!("2")), "\"2\"\n");
        assert_eq!(render(&json!(null)), "null\n");
        assert_eq!(render(&json!(1e20)), "1e+20\n");
        assert_eq!(render(&json!({})), "");
        assert_eq!(render(&json!([])), "[]\n");
    }
}
