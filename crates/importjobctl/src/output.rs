//! What the AWS CLI prints for a response (after `--query`): JSON, YAML,
//! text or a table.
//!
//! The JSON is the AWS CLI's byte for byte: the members in the order the
//! response holds them, four-space indents. The YAML is AWS CLI version 2's
//! (see `yaml`).

use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::{
    args::Output,
    scalar::{is_scalar, python_str},
    table, yaml,
};

/// The value written in `format`, ready for stdout.
pub fn render(value: &Value, format: Output, command: &str) -> String {
    match format {
        // The AWS CLI prints nothing for an empty object.
        Output::Json if value.as_object().is_some_and(Map::is_empty) => String::new(),
        Output::Json => {
            let mut out = Vec::new();
            let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
            serde::Serialize::serialize(value, &mut serializer)
                .expect("a JSON value always serializes");
            let mut text = String::from_utf8(out).expect("serde_json writes UTF-8");
            text.push('\n');
            text
        }
        Output::Yaml => yaml::render(value),
        Output::Text => {
            let mut out = String::new();
            text(value, None, None, &mut out);
            out
        }
        Output::Table => table::render(command, value, table::terminal_width()),
    }
}

/// The AWS CLI's text output: one line per object, its scalars sorted by
/// key and tab-separated after the object's key in capitals.
fn text(value: &Value, identifier: Option<&str>, scalar_keys: Option<&[String]>, out: &mut String) {
    match value {
        Value::Object(object) => {
            let mut scalars = Vec::new();
            let mut nested: Vec<(&String, &Value)> = Vec::new();
            match scalar_keys {
                None => {
                    let mut entries: Vec<_> = object.iter().collect();
                    entries.sort_by(|a, b| a.0.cmp(b.0));
                    for (key, value) in entries {
                        if is_scalar(value) {
                            scalars.push(python_str(value));
                        } else {
                            nested.push((key, value));
                        }
                    }
                }
                Some(keys) => {
                    for key in keys {
                        scalars.push(object.get(key).map(python_str).unwrap_or_default());
                    }
                    let mut rest: Vec<_> = object
                        .iter()
                        .filter(|(key, _)| !keys.contains(key))
                        .collect();
                    rest.sort_by(|a, b| a.0.cmp(b.0));
                    nested = rest;
                }
            }
            if !scalars.is_empty() {
                if let Some(identifier) = identifier {
                    scalars.insert(0, identifier.to_uppercase());
                }
                out.push_str(&scalars.join("\t"));
                out.push('\n');
            }
            for (key, value) in nested {
                text(value, Some(key), None, out);
            }
        }
        Value::Array(items) => {
            if items.is_empty() {
            } else if items.iter().any(Value::is_object) {
                let mut keys: Vec<String> = items
                    .iter()
                    .filter_map(Value::as_object)
                    .flat_map(|o| {
                        o.iter()
                            .filter(|(_, v)| is_scalar(v))
                            .map(|(k, _)| k.clone())
                    })
                    .collect();
                keys.sort();
                keys.dedup();
                for item in items {
                    text(item, identifier, Some(&keys), out);
                }
            } else if items.iter().any(Value::is_array) {
                let (scalars, rest): (Vec<&Value>, Vec<&Value>) =
                    items.iter().partition(|v| is_scalar(v));
                if !scalars.is_empty() {
                    scalar_list(&scalars, identifier, out);
                }
                for item in rest {
                    text(item, identifier, None, out);
                }
            } else {
                scalar_list(&items.iter().collect::<Vec<_>>(), identifier, out);
            }
        }
        scalar => {
            out.push_str(&python_str(scalar));
            out.push('\n');
        }
    }
}

fn scalar_list(items: &[&Value], identifier: Option<&str>, out: &mut String) {
    match identifier {
        Some(identifier) => {
            for item in items {
                let _ = writeln!(out, "{}\t{}", identifier.to_uppercase(), python_str(item));
            }
        }
        None => {
            let line: Vec<String> = items.iter().map(|v| python_str(v)).collect();
            out.push_str(&line.join("\t"));
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn job() -> Value {
        json!({"UserImportJob": {
            "JobName": "nightly", "JobId": "import-a", "UserPoolId": "us-east-1_A",
            "PreSignedUrl": "https://example.com/x", "CreationDate": 1548278576.259,
            "Status": "InProgress", "ImportedUsers": 3, "SkippedUsers": 0, "FailedUsers": 0
        }})
    }

    #[test]
    fn json_is_the_aws_clis() {
        assert_eq!(
            render(&job(), Output::Json, "StopUserImportJob"),
            r#"{
    "UserImportJob": {
        "JobName": "nightly",
        "JobId": "import-a",
        "UserPoolId": "us-east-1_A",
        "PreSignedUrl": "https://example.com/x",
        "CreationDate": 1548278576.259,
        "Status": "InProgress",
        "ImportedUsers": 3,
        "SkippedUsers": 0,
        "FailedUsers": 0
    }
}
"#
        );
    }

    #[test]
    fn text_sorts_scalars_under_the_objects_name() {
        assert_eq!(
            render(&job(), Output::Text, "StopUserImportJob"),
            "USERIMPORTJOB\t1548278576.259\t0\t3\timport-a\tnightly\thttps://example.com/x\t0\tInProgress\tus-east-1_A\n"
        );
    }

    #[test]
    fn scalars_print_as_python_does() {
        assert_eq!(
            render(&json!(true), Output::Text, "StopUserImportJob"),
            "True\n"
        );
    }
}
