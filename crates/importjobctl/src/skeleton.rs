//! What `--generate-cli-skeleton` prints, for any command of `model`: the
//! input skeletons (JSON, and YAML as AWS CLI version 2 writes it) and the
//! output skeleton, a response with a sample of each member's type.

use serde_json::{Map, Value, json};

use crate::{
    args::Output,
    model::{Kind, Member, Operation, Shape},
};

/// `--generate-cli-skeleton input`, as the AWS CLI prints it. Where the AWS
/// CLI shows an enum's values at random, the first is shown.
pub fn json_input(operation: &Operation) -> String {
    if operation.input.is_empty() {
        return "{}\n".to_owned();
    }
    let fields: Vec<String> = operation
        .input
        .iter()
        .map(|member| format!("    \"{}\": {}", member.name, sample(member)))
        .collect();
    format!("{{\n{}\n}}\n", fields.join(",\n"))
}

/// `--generate-cli-skeleton yaml-input`, as AWS CLI version 2 prints it:
/// each member with a comment saying whether it is required, the first
/// sentence of its documentation, and an enum's values; ruamel puts two
/// spaces before the first member's comment.
pub fn yaml_input(operation: &Operation) -> String {
    operation
        .input
        .iter()
        .enumerate()
        .map(|(i, member)| {
            let sample = match member.kind {
                Kind::String { .. } => "''",
                Kind::Integer { .. } => "0",
                Kind::Enum(values) => values.first().copied().unwrap_or("''"),
            };
            let required = if member.required { "[REQUIRED] " } else { "" };
            let values = match member.kind {
                Kind::Enum(values) => format!(" Valid values are: {}.", values.join(", ")),
                Kind::String { .. } | Kind::Integer { .. } => String::new(),
            };
            let gap = if i == 0 { "  " } else { " " };
            format!(
                "{}: {sample}{gap}# {required}{}{values}\n",
                member.name, member.doc
            )
        })
        .collect()
}

/// A member's sample value, in JSON.
fn sample(member: &Member) -> String {
    match member.kind {
        Kind::String { .. } => "\"\"".to_owned(),
        Kind::Integer { .. } => "0".to_owned(),
        Kind::Enum(values) => format!("\"{}\"", values.first().copied().unwrap_or_default()),
    }
}

/// `--generate-cli-skeleton output`: every member, each holding a sample of
/// its type (a string its member's name), as the AWS CLI prints it. Its
/// sample dates are naive date-times, which the AWS CLI writes with a `T` in
/// JSON and a space elsewhere.
pub fn output(operation: &Operation, format: Output) -> Value {
    let date = match format {
        Output::Json => "1970-01-01T00:00:00",
        Output::Yaml | Output::Text | Output::Table => "1970-01-01 00:00:00",
    };
    fill(operation.output, "", date)
}

fn fill(shape: &Shape, name: &str, date: &str) -> Value {
    match shape {
        Shape::Structure(members) => {
            let members: Map<String, Value> = members
                .iter()
                .map(|(member, shape)| ((*member).to_owned(), fill(shape, member, date)))
                .collect();
            Value::Object(members)
        }
        Shape::List(member, member_shape) => json!([fill(member, member_shape, date)]),
        Shape::String => json!(name),
        Shape::Integer => json!(0),
        Shape::Boolean => json!(true),
        Shape::Timestamp => json!(date),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::OPERATIONS;

    fn operation(command: &str) -> &'static Operation {
        OPERATIONS.iter().find(|o| o.command == command).unwrap()
    }

    #[test]
    fn input_skeletons_are_the_aws_clis() {
        let stop = operation("stop-user-import-job");
        assert_eq!(
            json_input(stop),
            "{\n    \"UserPoolId\": \"\",\n    \"JobId\": \"\"\n}\n"
        );
        assert_eq!(
            yaml_input(stop),
            "UserPoolId: ''  # [REQUIRED] The ID of the user pool that you want to stop.\n\
             JobId: '' # [REQUIRED] The ID of a running user import job.\n"
        );
        let list = operation("list-user-import-jobs");
        assert_eq!(
            json_input(list),
            "{\n    \"UserPoolId\": \"\",\n    \"MaxResults\": 0,\n    \"PaginationToken\": \"\"\n}\n"
        );
        assert_eq!(
            yaml_input(list).lines().nth(2),
            Some("PaginationToken: '' # This API operation returns a limited number of results.")
        );
        let create = yaml_input(operation("create-user-import-job"));
        assert_eq!(
            create.lines().last(),
            Some(
                "PasswordHashingAlgorithm: BCRYPT # The password hashing algorithm used to \
                 generate the hashes in the CSV file for this import job. Valid values are: \
                 BCRYPT, SCRYPT, ARGON2ID, PBKDF2_SHA256."
            )
        );
    }

    #[test]
    fn output_skeletons_name_each_member() {
        let header = output(operation("get-csv-header"), Output::Json);
        assert_eq!(
            header,
            json!({"UserPoolId": "UserPoolId", "CSVHeader": ["StringType"]})
        );
        let list = output(operation("list-user-import-jobs"), Output::Text);
        assert_eq!(list["PaginationToken"], "PaginationToken");
        assert_eq!(
            list["UserImportJobs"][0]["StartDate"],
            "1970-01-01 00:00:00"
        );
        assert_eq!(list["UserImportJobs"][0]["FailedUsers"], 0);
    }
}
