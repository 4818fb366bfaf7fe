//! The command's input as the AWS CLI takes it: flags, an input document
//! (`--cli-input-json` / `--cli-input-yaml`, inline or `file://`), in the
//! order and with the checks the AWS CLI applies, for any command of
//! `model`.
//!
//! Like the AWS CLI, only what botocore checks before sending is checked
//! here (presence, known members, types, least length or value); the service
//! checks the rest exactly as Cognito does, so the error a caller sees is
//! Cognito's.

use std::fmt;

use serde_json::{Map, Value};

use crate::{
    args::{Invocation, Skeleton},
    model::{Kind, Member, Operation},
    python,
};

/// Input the command cannot run with: exit code 252.
#[derive(Debug, PartialEq, Eq)]
pub struct InvalidInput(pub String);

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why the flags cannot be read.
#[derive(Debug, PartialEq, Eq)]
pub enum FlagError {
    /// A required flag is missing: argparse's complaint, exit 252.
    Missing(InvalidInput),
    /// A number flag that Python's `int()` cannot read. The AWS CLI lets
    /// its error through as any other failure (version 2 exits 255).
    NotANumber(String),
}

/// The flags' values as the AWS CLI unpacks them (numbers read by Python's
/// `int()`), before any input document is read.
#[derive(Debug)]
pub struct Flags(Map<String, Value>);

/// The request's members, checked as botocore checks them.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameters(Map<String, Value>);

impl Flags {
    /// Argparse's checks, then each flag unpacked, in the model's order. A
    /// document or an input skeleton makes every flag optional.
    pub fn unpack(invocation: &Invocation) -> Result<Self, FlagError> {
        let input = invocation.operation.input;
        let optional = invocation.cli_input_json.is_some()
            || invocation.cli_input_yaml.is_some()
            || matches!(
                invocation.generate_cli_skeleton,
                Some(Skeleton::Input | Skeleton::YamlInput)
            );
        let missing: Vec<&str> = input
            .iter()
            .zip(&invocation.flags)
            .filter(|(member, value)| member.required && value.is_none())
            .map(|(member, _)| member.flag)
            .collect();
        if !optional && !missing.is_empty() {
            return Err(FlagError::Missing(InvalidInput(format!(
                "the following arguments are required: {}",
                missing.join(", ")
            ))));
        }
        let mut flags = Map::new();
        for (member, value) in input.iter().zip(&invocation.flags) {
            let Some(value) = value else { continue };
            let value = match member.kind {
                Kind::Integer { .. } => {
                    Value::from(python::int(value).map_err(FlagError::NotANumber)?)
                }
                Kind::String { .. } | Kind::Enum(_) => Value::String(value.clone()),
            };
            flags.insert(member.name.to_owned(), value);
        }
        Ok(Self(flags))
    }

    /// The request the flags and the input document describe. As in the
    /// AWS CLI, the flags come first and the document adds the members they
    /// lack, in its order; botocore's checks run on the result.
    pub fn with_document(self, invocation: &Invocation) -> Result<Parameters, InvalidInput> {
        let document = match (&invocation.cli_input_json, &invocation.cli_input_yaml) {
            (Some(json), _) => Some(read_document("cli-input-json", "JSON", json, |text| {
                serde_json::from_str::<Value>(text).map_err(|e| e.to_string())
            })?),
            (None, Some(yaml)) => Some(read_document("cli-input-yaml", "YAML", yaml, |text| {
                serde_yaml_ng::from_str::<Value>(text).map_err(|e| e.to_string())
            })?),
            (None, None) => None,
        };
        let Self(mut members) = self;
        match document {
            None => {}
            Some(Value::Object(document)) => {
                for (member, value) in document {
                    members.entry(member).or_insert(value);
                }
            }
            Some(other) => {
                return Err(InvalidInput(format!(
                    "the input document must be an object of parameters, got {}",
                    python::repr(&other)
                )));
            }
        }
        checked(invocation.operation, members)
    }
}

impl Parameters {
    /// A string member, if the request has it.
    pub fn text(&self, member: &str) -> Option<&str> {
        self.0.get(member).and_then(Value::as_str)
    }

    /// An integer member, if the request has it (`true` is 1, as Python
    /// counts it).
    pub fn integer(&self, member: &str) -> Option<i64> {
        self.0.get(member).and_then(integer)
    }
}

/// The members checked as botocore checks them before sending: missing
/// ones, then unknown ones, then each known one's type and bound, in the
/// request's order.
fn checked(operation: &Operation, members: Map<String, Value>) -> Result<Parameters, InvalidInput> {
    let model = operation.input;
    let mut problems: Vec<String> = model
        .iter()
        .filter(|member| member.required && !members.contains_key(member.name))
        .map(|member| format!("Missing required parameter in input: \"{}\"", member.name))
        .collect();
    let names: Vec<&str> = model.iter().map(|member| member.name).collect();
    let names = names.join(", ");
    problems.extend(
        members
            .keys()
            .filter(|key| !model.iter().any(|member| member.name == *key))
            .map(|key| format!("Unknown parameter in input: \"{key}\", must be one of: {names}")),
    );
    problems.extend(members.iter().filter_map(|(key, value)| {
        let member = model.iter().find(|member| member.name == key)?;
        problem(member, value)
    }));
    if problems.is_empty() {
        Ok(Parameters(members))
    } else {
        Err(InvalidInput(format!(
            "Parameter validation failed:\n{}",
            problems.join("\n")
        )))
    }
}

/// What botocore says of a member's value, if anything.
fn problem(member: &Member, value: &Value) -> Option<String> {
    let name = member.name;
    let wrong_type = |python_type: &str| {
        format!(
            "Invalid type for parameter {name}, value: {}, type: <class '{}'>, valid types: <class '{python_type}'>",
            python::str_of(value),
            python::type_name(value)
        )
    };
    match member.kind {
        Kind::String { min } => match value {
            Value::String(text) => {
                let length = text.chars().count();
                (length < min).then(|| {
                    format!(
                        "Invalid length for parameter {name}, value: {length}, valid min length: {min}"
                    )
                })
            }
            _ => Some(wrong_type("str")),
        },
        Kind::Enum(_) => (!value.is_string()).then(|| wrong_type("str")),
        Kind::Integer { min } => match integer(value) {
            Some(number) => (number < min).then(|| {
                format!(
                    "Invalid value for parameter {name}, value: {}, valid min value: {min}",
                    python::str_of(value)
                )
            }),
            None => Some(wrong_type("int")),
        },
    }
}

/// A whole number as Python's `isinstance(value, int)` sees it: booleans
/// included; saturated at i64's bounds.
fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Bool(flag) => Some(i64::from(*flag)),
        Value::Number(n) if n.is_i64() => n.as_i64(),
        Value::Number(n) if n.is_u64() => Some(i64::MAX),
        _ => None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::OPERATIONS;

    fn invocation(command: &str, flags: &[Option<&str>], json: Option<&str>) -> Invocation {
        let operation = OPERATIONS.iter().find(|o| o.command == command).unwrap();
        let mut flags: Vec<Option<String>> = flags.iter().map(|f| f.map(str::to_owned)).collect();
        flags.resize(operation.input.len(), None);
        Invocation {
            operation,
            flags,
            cli_input_json: json.map(str::to_owned),
            cli_input_yaml: None,
            generate_cli_skeleton: None,
        }
    }

    fn stop(pool: Option<&str>, job: Option<&str>, json: Option<&str>) -> Invocation {
        invocation("stop-user-import-job", &[pool, job], json)
    }

    fn read(invocation: &Invocation) -> Result<Parameters, InvalidInput> {
        match Flags::unpack(invocation) {
            Ok(flags) => flags.with_document(invocation),
            Err(FlagError::Missing(error)) => Err(error),
            Err(FlagError::NotANumber(message)) => panic!("{message}"),
        }
    }

    #[test]
    fn flags_override_the_input_document() {
        let json = r#"{"UserPoolId": "us-east-1_A", "JobId": "import-a"}"#;
        let request = read(&stop(None, Some("import-b"), Some(json))).unwrap();
        assert_eq!(request.text("UserPoolId"), Some("us-east-1_A"));
        assert_eq!(request.text("JobId"), Some("import-b"));
    }

    #[test]
    fn yaml_documents_and_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input.yaml");
        std::fs::write(&path, "UserPoolId: us-east-1_A\nJobId: import-a\n").unwrap();
        let mut yaml = stop(None, None, None);
        yaml.cli_input_yaml = Some(format!("file://{}", path.display()));
        let request = read(&yaml).unwrap();
        assert_eq!(request.text("JobId"), Some("import-a"));
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
            let error = read(&stop(None, None, Some(document))).unwrap_err();
            assert_eq!(error.0, format!("Parameter validation failed:\n{problems}"));
        }
    }

    #[test]
    fn members_are_checked_in_the_requests_order() {
        // What `aws cognito-idp list-user-import-jobs` (botocore 1.43) prints:
        // the flags' members first, then the document's in its order.
        let list = |flags: &[Option<&str>], json| {
            let invocation = invocation("list-user-import-jobs", flags, Some(json));
            read(&invocation).unwrap_err().0
        };
        assert_eq!(
            list(
                &[None],
                r#"{"PaginationToken": 7, "MaxResults": false, "UserPoolId": 3}"#
            ),
            "Parameter validation failed:\n\
             Invalid type for parameter PaginationToken, value: 7, type: <class 'int'>, valid types: <class 'str'>\n\
             Invalid value for parameter MaxResults, value: False, valid min value: 1\n\
             Invalid type for parameter UserPoolId, value: 3, type: <class 'int'>, valid types: <class 'str'>"
        );
        assert_eq!(
            list(
                &[None, Some("-3"), Some("")],
                r#"{"UserPoolId": "us-east-1_A", "MaxResults": "5"}"#
            ),
            "Parameter validation failed:\n\
             Invalid value for parameter MaxResults, value: -3, valid min value: 1\n\
             Invalid length for parameter PaginationToken, value: 0, valid min length: 1"
        );
        assert_eq!(
            list(&[], r#"{"MaxResults": 5.0}"#),
            "Parameter validation failed:\n\
             Missing required parameter in input: \"UserPoolId\"\n\
             Invalid type for parameter MaxResults, value: 5.0, type: <class 'float'>, valid types: <class 'int'>"
        );
    }

    #[test]
    fn numbers_and_bounds_are_botocores() {
        let create = invocation(
            "create-user-import-job",
            &[Some(""), Some(""), Some("short"), Some("NOT-CHECKED")],
            None,
        );
        assert_eq!(
            read(&create).unwrap_err().0,
            "Parameter validation failed:\n\
             Invalid length for parameter JobName, value: 0, valid min length: 1\n\
             Invalid length for parameter UserPoolId, value: 0, valid min length: 1\n\
             Invalid length for parameter CloudWatchLogsRoleArn, value: 5, valid min length: 20"
        );
        let list = invocation("list-user-import-jobs", &[Some("p_1"), Some(" 6_0 ")], None);
        let request = read(&list).unwrap();
        assert_eq!(request.integer("MaxResults"), Some(60));
        assert_eq!(request.text("PaginationToken"), None);
        let bad = invocation("list-user-import-jobs", &[Some("p_1"), Some("1.5")], None);
        assert_eq!(
            Flags::unpack(&bad).unwrap_err(),
            FlagError::NotANumber("invalid literal for int() with base 10: '1.5'".to_owned())
        );
    }

    #[test]
    fn flags_override_bad_document_members_before_they_are_checked() {
        let json = r#"{"UserPoolId": "us-east-1_A", "JobId": 5}"#;
        let request = read(&stop(None, Some("import-b"), Some(json))).unwrap();
        assert_eq!(request.text("JobId"), Some("import-b"));
    }

    #[test]
    fn missing_and_empty_members_are_named() {
        let missing = read(&stop(None, None, None)).unwrap_err();
        assert_eq!(
            missing.0,
            "the following arguments are required: --user-pool-id, --job-id"
        );
        let empty = read(&stop(Some("us-east-1_A"), Some(""), None)).unwrap_err();
        assert_eq!(
            empty.0,
            "Parameter validation failed:\nInvalid length for parameter JobId, value: 0, valid min length: 1"
        );
        let mut skeleton = invocation("list-user-import-jobs", &[None, Some("x")], None);
        skeleton.generate_cli_skeleton = Some(Skeleton::Input);
        assert!(matches!(
            Flags::unpack(&skeleton),
            Err(FlagError::NotANumber(_))
        ));
        skeleton.generate_cli_skeleton = Some(Skeleton::Output);
        assert!(matches!(
            Flags::unpack(&skeleton),
            Err(FlagError::Missing(_))
        ));
    }

    #[test]
    fn bad_documents_name_the_option() {
        let error = read(&stop(None, None, Some("{"))).unwrap_err();
        assert!(
            error
                .0
                .starts_with("Error parsing parameter 'cli-input-json': Invalid JSON: "),
            "{error}"
        );
        let error = read(&stop(None, None, Some("file:///nonexistent/x.json"))).unwrap_err();
        assert!(
            error
                .0
                .contains("Unable to load paramfile file:///nonexistent/x.json"),
            "{error}"
        );
    }
}
