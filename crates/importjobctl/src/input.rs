//! The command's input as the AWS CLI takes it: flags, an input document
//! (`--cli-input-json` / `--cli-input-yaml`, inline or `file://`), and the
//! skeletons `--generate-cli-skeleton` prints.
//!
//! Like the AWS CLI, only what botocore checks before sending is checked
//! here (presence, known members, types, minimum length); the service checks
//! the rest exactly as Cognito does, so the error a caller sees is Cognito's.

use std::fmt;

use serde_json::{Map, Value};

use crate::args::StopUserImportJob;

/// The request's members, as Cognito's API model orders and documents them.
const MEMBERS: [(&str, &str); 2] = [
    (
        "UserPoolId",
        "The ID of the user pool that you want to stop.",
    ),
    ("JobId", "The ID of a running user import job."),
];

/// A request ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub user_pool_id: String,
    pub job_id: String,
}

/// Input the command cannot run with: exit code 252.
#[derive(Debug, PartialEq, Eq)]
pub struct InvalidInput(pub String);

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Request {
    /// The request the flags and input document describe. As in the AWS
    /// CLI, flags override the document's members first, and botocore's
    /// checks run on the result.
    pub fn from_args(args: &StopUserImportJob) -> Result<Self, InvalidInput> {
        let document = match (&args.cli_input_json, &args.cli_input_yaml) {
            (Some(json), _) => Some(read_document("cli-input-json", "JSON", json, |text| {
                serde_json::from_str::<Value>(text).map_err(|e| e.to_string())
            })?),
            (None, Some(yaml)) => Some(read_document("cli-input-yaml", "YAML", yaml, |text| {
                serde_yaml_ng::from_str::<Value>(text).map_err(|e| e.to_string())
            })?),
            (None, None) => None,
        };
        let flags = [&args.user_pool_id, &args.job_id];
        let Some(document) = document else {
            // No document: the flags are required, and argparse says so.
            let missing: Vec<&str> = ["--user-pool-id", "--job-id"]
                .into_iter()
                .zip(flags)
                .filter(|(_, value)| value.is_none())
                .map(|(flag, _)| flag)
                .collect();
            if !missing.is_empty() {
                return Err(InvalidInput(format!(
                    "the following arguments are required: {}",
                    missing.join(", ")
                )));
            }
            return checked(Map::new(), flags);
        };
        let Value::Object(members) = document else {
            return Err(InvalidInput(format!(
                "the input document must be an object of parameters, got {}",
                python_repr(&document)
            )));
        };
        checked(members, flags)
    }
}

/// The document's members with the flags' values over them, checked as
/// botocore checks them before sending: missing members, then unknown ones,
/// then types and lengths.
fn checked(
    mut members: Map<String, Value>,
    flags: [&Option<String>; 2],
) -> Result<Request, InvalidInput> {
    for ((member, _), flag) in MEMBERS.iter().zip(flags) {
        if let Some(value) = flag {
            members.insert((*member).to_owned(), Value::String(value.clone()));
        }
    }
    let mut problems: Vec<String> = MEMBERS
        .iter()
        .filter(|(member, _)| !members.contains_key(*member))
        .map(|(member, _)| format!("Missing required parameter in input: \"{member}\""))
        .collect();
    let names = MEMBERS.map(|(member, _)| member).join(", ");
    problems.extend(
        members
            .keys()
            .filter(|key| !MEMBERS.iter().any(|(member, _)| member == key))
            .map(|key| format!("Unknown parameter in input: \"{key}\", must be one of: {names}")),
    );
    let mut values = Vec::new();
    for (member, _) in MEMBERS {
        match members.get(member) {
            Some(Value::String(value)) if value.is_empty() => problems.push(format!(
                "Invalid length for parameter {member}, value: 0, valid min length: 1"
            )),
            Some(Value::String(value)) => values.push(value.clone()),
            Some(other) => problems.push(format!(
                "Invalid type for parameter {member}, value: {}, type: <class '{}'>, valid types: <class 'str'>",
                python_repr(other),
                python_type(other)
            )),
            None => {}
        }
    }
    match <[String; 2]>::try_from(values) {
        Ok([user_pool_id, job_id]) if problems.is_empty() => Ok(Request {
            user_pool_id,
            job_id,
        }),
        _ => Err(InvalidInput(format!(
            "Parameter validation failed:\n{}",
            problems.join("\n")
        ))),
    }
}

/// The text of `--cli-input-*`, read from the file a `file://` value names
/// (a leading `~/` is the home directory, as the AWS CLI expands it).
fn read_document(
    option: &str,
    format: &str,
    value: &str,
    parse: impl Fn(&str) -> Result<Value, String>,
) -> Result<Value, InvalidInput> {
    let text = match value.strip_prefix("file://") {
        Some(path) => {
            let path = match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
                (Some(rest), Some(home)) => std::path::Path::new(&home).join(rest),
                _ => std::path::PathBuf::from(path),
            };
            std::fs::read_to_string(&path).map_err(|error| {
                InvalidInput(format!(
                    "Error parsing parameter '--{option}': Unable to load paramfile {value}: {error}"
                ))
            })?
        }
        None => value.to_owned(),
    };
    parse(&text).map_err(|error| {
        InvalidInput(format!(
            "Error parsing parameter '{option}': Invalid {format}: {error}\n{format} received: {text}"
        ))
    })
}

/// A value as Python's `repr()` writes what it parses into: how botocore's
/// messages show it.
fn python_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.contains('\'') && !s.contains('"') => format!("\"{s}\""),
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(python_repr).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(object) => {
            let entries: Vec<String> = object
                .iter()
                .map(|(k, v)| {
                    let key = python_repr(&Value::String(k.clone()));
                    format!("{key}: {}", python_repr(v))
                })
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
    }
}

fn python_type(value: &Value) -> &'static str {
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

/// `--generate-cli-skeleton input`, as the AWS CLI prints it.
pub fn json_input_skeleton() -> String {
    let fields: Vec<String> = MEMBERS
        .iter()
        .map(|(member, _)| format!("    \"{member}\": \"\""))
        .collect();
    format!("{{\n{}\n}}\n", fields.join(",\n"))
}

/// `--generate-cli-skeleton yaml-input`, as AWS CLI version 2 prints it.
pub fn yaml_input_skeleton() -> String {
    MEMBERS
        .iter()
        .map(|(member, doc)| format!("{member}: '' # [REQUIRED] {doc}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pool: Option<&str>, job: Option<&str>, json: Option<&str>) -> StopUserImportJob {
        StopUserImportJob {
            user_pool_id: pool.map(str::to_owned),
            job_id: job.map(str::to_owned),
            cli_input_json: json.map(str::to_owned),
            cli_input_yaml: None,
            generate_cli_skeleton: None,
        }
    }

    #[test]
    fn flags_override_the_input_document() {
        let json = r#"{"UserPoolId": "us-east-1_A", "JobId": "import-a"}"#;
        let request = Request::from_args(&args(None, Some("import-b"), Some(json))).unwrap();
        assert_eq!(request.user_pool_id, "us-east-1_A");
        assert_eq!(request.job_id, "import-b");
    }

    #[test]
    fn yaml_documents_and_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input.yaml");
        std::fs::write(&path, "UserPoolId: us-east-1_A\nJobId: import-a\n").unwrap();
        let mut yaml = args(None, None, None);
        yaml.cli_input_yaml = Some(format!("file://{}", path.display()));
        let request = Request::from_args(&yaml).unwrap();
        assert_eq!(request.job_id, "import-a");
    }

    #[test]
    fn the_document_is_checked_as_botocore_checks_it() {
        // What `aws cognito-idp stop-user-import-job --cli-input-json ...`
        // (botocore 1.43) prints for the same documents.
        let cases = [
            (
                r#"{"UserPoolId": 5, "Foo": [1, "a"], "Bar": null}"#,
                "Missing required parameter in input: \"JobId\"\n\
                 Unknown parameter in input: \"Foo\", must be one of: UserPoolId, JobId\n\
                 Unknown parameter in input: \"Bar\", must be one of: UserPoolId, JobId\n\
                 Invalid type for parameter UserPoolId, value: 5, type: <class 'int'>, valid types: <class 'str'>",
            ),
            (
                r#"{"UserPoolId": true, "JobId": {"a": "b"}}"#,
                "Invalid type for parameter UserPoolId, value: True, type: <class 'bool'>, valid types: <class 'str'>\n\
                 Invalid type for parameter JobId, value: {'a': 'b'}, type: <class 'dict'>, valid types: <class 'str'>",
            ),
            (
                r#"{"UserPoolId": null, "JobId": 1.5}"#,
                "Invalid type for parameter UserPoolId, value: None, type: <class 'NoneType'>, valid types: <class 'str'>\n\
                 Invalid type for parameter JobId, value: 1.5, type: <class 'float'>, valid types: <class 'str'>",
            ),
        ];
        for (document, problems) in cases {
            let error = Request::from_args(&args(None, None, Some(document))).unwrap_err();
            assert_eq!(error.0, format!("Parameter validation failed:\n{problems}"));
        }
    }

    #[test]
    fn flags_override_bad_document_members_before_they_are_checked() {
        let json = r#"{"UserPoolId": "us-east-1_A", "JobId": 5}"#;
        let request = Request::from_args(&args(None, Some("import-b"), Some(json))).unwrap();
        assert_eq!(request.job_id, "import-b");
    }

    #[test]
    fn missing_and_empty_members_are_named() {
        let missing = Request::from_args(&args(None, None, None)).unwrap_err();
        assert_eq!(
            missing.0,
            "the following arguments are required: --user-pool-id, --job-id"
        );
        let empty = Request::from_args(&args(Some("us-east-1_A"), Some(""), None)).unwrap_err();
        assert_eq!(
            empty.0,
            "Parameter validation failed:\nInvalid length for parameter JobId, value: 0, valid min length: 1"
        );
    }

    #[test]
    fn bad_documents_name_the_option() {
        let error = Request::from_args(&args(None, None, Some("{"))).unwrap_err();
        assert!(
            error
                .0
                .starts_with("Error parsing parameter 'cli-input-json': Invalid JSON: "),
            "{error}"
        );
        let error =
            Request::from_args(&args(None, None, Some("file:///nonexistent/x.json"))).unwrap_err();
        assert!(
            error
                .0
                .contains("Unable to load paramfile file:///nonexistent/x.json"),
            "{error}"
        );
    }

    #[test]
    fn skeletons_are_the_aws_clis() {
        assert_eq!(
            json_input_skeleton(),
            "{\n    \"UserPoolId\": \"\",\n    \"JobId\": \"\"\n}\n"
        );
        assert_eq!(
            yaml_input_skeleton(),
            "UserPoolId: '' # [REQUIRED] The ID of the user pool that you want to stop.\n\
             JobId: '' # [REQUIRED] The ID of a running user import job.\n"
        );
    }
}
