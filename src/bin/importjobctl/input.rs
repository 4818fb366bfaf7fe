//! The command's input as the AWS CLI takes it: flags, an input document
//! (`--cli-input-json` / `--cli-input-yaml`, inline or `file://`), and the
//! skeletons `--generate-cli-skeleton` prints.
//!
//! Like the AWS CLI, only what botocore checks before sending is checked
//! here (presence, known members, types, minimum length); the service checks
//! the rest exactly as Cognito does, so the error a caller sees is Cognito's.

use std::fmt;

use serde_json::Value;

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
    /// The request the flags and input document describe, flags first.
    pub fn from_args(args: &StopUserImportJob) -> Result<Self, InvalidInput> {
        let document = match (&args.cli_input_json, &args.cli_input_yaml) {
            (Some(json), _) => Some(parse_document("cli-input-json", json, |text| {
                serde_json::from_str::<Value>(text).map_err(|e| e.to_string())
            })?),
            (None, Some(yaml)) => Some(parse_document("cli-input-yaml", yaml, |text| {
                serde_yaml_ng::from_str::<Value>(text).map_err(|e| e.to_string())
            })?),
            (None, None) => None,
        };
        let mut from_document = [None, None];
        if let Some(document) = document {
            from_document = members(document)?;
        }
        let [pool_in_document, job_in_document] = from_document;
        let user_pool_id = args.user_pool_id.clone().or(pool_in_document);
        let job_id = args.job_id.clone().or(job_in_document);

        let missing: Vec<&str> = [("--user-pool-id", &user_pool_id), ("--job-id", &job_id)]
            .into_iter()
            .filter(|(_, value)| value.is_none())
            .map(|(flag, _)| flag)
            .collect();
        if !missing.is_empty() {
            return Err(InvalidInput(format!(
                "the following arguments are required: {}",
                missing.join(", ")
            )));
        }
        let request = Self {
            user_pool_id: user_pool_id.unwrap_or_default(),
            job_id: job_id.unwrap_or_default(),
        };
        let too_short: Vec<String> = [
            ("UserPoolId", &request.user_pool_id),
            ("JobId", &request.job_id),
        ]
        .into_iter()
        .filter(|(_, value)| value.is_empty())
        .map(|(member, _)| {
            format!("Invalid length for parameter {member}, value: 0, valid min length: 1")
        })
        .collect();
        if !too_short.is_empty() {
            return Err(parameter_validation(&too_short));
        }
        Ok(request)
    }
}

/// The text of `--cli-input-*`, read from the file a `file://` value names.
fn parse_document(
    option: &str,
    value: &str,
    parse: impl Fn(&str) -> Result<Value, String>,
) -> Result<Value, InvalidInput> {
    let text = match value.strip_prefix("file://") {
        Some(path) => std::fs::read_to_string(path).map_err(|error| {
            InvalidInput(format!(
                "Error parsing parameter '--{option}': Unable to load paramfile {value}: {error}"
            ))
        })?,
        None => value.to_owned(),
    };
    parse(&text)
        .map_err(|error| InvalidInput(format!("Error parsing parameter '--{option}': {error}")))
}

/// `UserPoolId` and `JobId` from an input document, which may hold nothing
/// else.
fn members(document: Value) -> Result<[Option<String>; 2], InvalidInput> {
    let Value::Object(object) = document else {
        return Err(parameter_validation(&[format!(
            "Invalid type for input document, value: {document}, valid types: object"
        )]));
    };
    let mut found = [None, None];
    let mut problems = Vec::new();
    for (key, value) in object {
        match MEMBERS.iter().position(|(member, _)| *member == key) {
            Some(i) => match value {
                Value::String(s) => found[i] = Some(s),
                other => problems.push(format!(
                    "Invalid type for parameter {key}, value: {other}, valid types: string"
                )),
            },
            None => problems.push(format!(
                "Unknown parameter in input: \"{key}\", must be one of: {}",
                MEMBERS.map(|(member, _)| member).join(", ")
            )),
        }
    }
    if problems.is_empty() {
        Ok(found)
    } else {
        Err(parameter_validation(&problems))
    }
}

fn parameter_validation(problems: &[String]) -> InvalidInput {
    InvalidInput(format!(
        "Parameter validation failed:\n{}",
        problems.join("\n")
    ))
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
    fn the_document_may_hold_only_strings_for_known_members() {
        let error = Request::from_args(&args(
            None,
            None,
            Some(r#"{"UserPoolId": 1, "JobID": "import-a"}"#),
        ))
        .unwrap_err();
        assert_eq!(
            error.0,
            "Parameter validation failed:\n\
             Invalid type for parameter UserPoolId, value: 1, valid types: string\n\
             Unknown parameter in input: \"JobID\", must be one of: UserPoolId, JobId"
        );
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
                .starts_with("Error parsing parameter '--cli-input-json': "),
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
