//! Python's spellings, for the messages that must read as the AWS CLI's
//! (it is Python): `repr()` and `str()` of what a document parses into,
//! type names, and how `int()` reads a number flag.

use serde_json::{Number, Value};

/// A value as Python's `repr()` writes what it parses into.
pub fn repr(value: &Value) -> String {
    match value {
        Value::String(s) => repr_str(s),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(repr).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(object) => {
            let entries: Vec<String> = object
                .iter()
                .map(|(k, v)| format!("{}: {}", repr_str(k), repr(v)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
        scalar => str_of(scalar),
    }
}

/// A value as Python's `str()` writes it: a string as itself, anything else
/// as `repr()` does.
pub fn str_of(value: &Value) -> String {
    match value {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(n) => number(n),
        Value::String(s) => s.clone(),
        other => repr(other),
    }
}

/// The name of the type Python's `json` parses a value into.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// What Python's `int()` makes of `text` (surrounding whitespace, a sign,
/// ASCII digits with single underscores between them), as a whole number,
/// saturated at i64's bounds; the error is Python's message.
pub fn int(text: &str) -> Result<i64, String> {
    let invalid = || format!("invalid literal for int() with base 10: {}", repr_str(text));
    let trimmed = text.trim_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c));
    let (negative, digits) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let well_formed = !digits.is_empty()
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__")
        && digits.chars().all(|c| c.is_ascii_digit() || c == '_');
    if !well_formed {
        return Err(invalid());
    }
    let magnitude = digits
        .bytes()
        .filter(u8::is_ascii_digit)
        .fold(0i64, |n, d| {
            n.saturating_mul(10).saturating_add(i64::from(d - b'0'))
        });
    Ok(if negative { -magnitude } else { magnitude })
}

fn repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if printable(c) => out.push(c),
            c if u32::from(c) <= 0xff => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c if u32::from(c) <= 0xffff => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push_str(&format!("\\U{:08x}", u32::from(c))),
        }
    }
    out.push(quote);
    out
}

/// Python's `str.isprintable()` for one character: not a control or format
/// character, and no separator but the space.
fn printable(c: char) -> bool {
    let format = matches!(
        c,
        '\u{ad}' | '\u{600}'..='\u{605}' | '\u{61c}' | '\u{6dd}' | '\u{70f}' | '\u{180e}'
            | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}'
            | '\u{feff}' | '\u{fff9}'..='\u{fffb}'
    );
    c == ' ' || !(c.is_control() || c.is_whitespace() || format)
}

/// A number as Python prints it: an integer as is; a float by `repr()`, the
/// shortest digits that read back, in positional notation from 1e-4 up to
/// 1e16 and in scientific notation (two exponent digits at least) beyond.
fn number(n: &Number) -> String {
    let Some(float) = n.as_f64().filter(|_| n.is_f64()) else {
        return n.to_string();
    };
    if !float.is_finite() {
        return if float.is_nan() {
            "nan".to_owned()
        } else if float > 0.0 {
            "inf".to_owned()
        } else {
            "-inf".to_owned()
        };
    }
    let scientific = format!("{float:e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("`{:e}` writes an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` writes a decimal exponent");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if (-4..16).contains(&exponent) {
        let point = exponent + 1;
        let text = if point <= 0 {
            format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
        } else if point as usize >= digits.len() {
            format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
        } else {
            let (whole, fraction) = digits.split_at(point as usize);
            format!("{whole}.{fraction}")
        };
        format!("{sign}{text}")
    } else {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        format!(
            "{sign}{first}{fraction}e{exponent_sign}{:02}",
            exponent.unsigned_abs()
        )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn floats_print_as_python_prints_them() {
        // What Python's repr() prints for the same floats.
        for (float, python) in [
            (1e20, "1e+20"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5, "1.5"),
            (-0.0, "-0.0"),
            (5.0, "5.0"),
            (1.23e-5, "1.23e-05"),
            (12345.678, "12345.678"),
            (-2.5e-7, "-2.5e-07"),
        ] {
            assert_eq!(str_of(&json!(float)), python, "{float}");
        }
        assert_eq!(str_of(&json!(7)), "7");
        assert_eq!(str_of(&json!(-7)), "-7");
    }

    #[test]
    fn strings_are_quoted_and_escaped_as_repr_does() {
        let s = "a\nb\u{0}\u{7f}\u{85}\u{a0}\u{2028}\u{200b}\u{feff}😀é'\"\\";
        assert_eq!(
            repr(&json!(s)),
            r#"'a\nb\x00\x7f\x85\xa0\u2028\u200b\ufeff😀é\'"\\'"#
        );
        assert_eq!(repr(&json!("it's")), r#""it's""#);
        assert_eq!(
            repr(&json!({"a": [1, null, true, "b"]})),
            "{'a': [1, None, True, 'b']}"
        );
        assert_eq!(str_of(&json!("5")), "5");
        assert_eq!(str_of(&json!({"a": "b"})), "{'a': 'b'}");
    }

    #[test]
    fn int_reads_what_python_reads() {
        for (text, value) in [
            (" 1_0 ", 10),
            ("-0", 0),
            ("+007", 7),
            ("\t-3\n", -3),
            ("99999999999999999999999", i64::MAX),
            ("-99999999999999999999999", -i64::MAX),
        ] {
            assert_eq!(int(text), Ok(value), "{text:?}");
        }
        for text in [
            "1__0", "_1", "1_", "", "0x10", "1 0", "1.5", "abc", "- 1", "+-1",
        ] {
            assert_eq!(
                int(text),
                Err(format!(
                    "invalid literal for int() with base 10: {}",
                    repr(&json!(text))
                )),
                "{text:?}"
            );
        }
    }
}
