//! Scalars as the AWS CLI's text and table output show them: the CLI is
//! Python, and prints a value with `str()`.

use serde_json::Value;

/// A scalar as Python's `str()` writes it.
pub fn python_str(value: &Value) -> String {
    match value {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether the text and table output print `value` in a cell of its own
/// row, rather than as a nested section.
pub fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::Object(_) | Value::Array(_))
}
