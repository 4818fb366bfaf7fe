//! What the AWS CLI prints for a response: the job in Cognito's JSON shape,
//! narrowed by `--query`, then written as JSON, YAML, text or a table.
//!
//! The JSON is the AWS CLI's byte for byte: Cognito's member names in its
//! API model's order, absent members left out, dates as Cognito sends them
//! (epoch seconds with milliseconds) or in ISO 8601, four-space indents.

use std::fmt::Write as _;

use jiff::{Timestamp, tz::TimeZone};
use serde_json::{Map, Value, json};

use crate::{
    api::{UserImportJob, UserImportJobStatus},
    args::{Output, TimestampFormat},
    input::InvalidInput,
    scalar::{is_scalar, python_str},
    table,
};

/// UserImportJobType's members in the order of Cognito's API model, which is
/// the order the AWS CLI prints them in.
const JOB_MEMBERS: [&str; 14] = [
    "JobName",
    "JobId",
    "UserPoolId",
    "PreSignedUrl",
    "CreationDate",
    "StartDate",
    "CompletionDate",
    "Status",
    "CloudWatchLogsRoleArn",
    "ImportedUsers",
    "SkippedUsers",
    "FailedUsers",
    "CompletionMessage",
    "PasswordHashingAlgorithm",
];

/// StopUserImportJob's response as Cognito sends it.
///
/// proto3 cannot tell an empty string from an absent one; Cognito sends no
/// empty strings, so an empty string is an absent member. A status this
/// version does not know arrives as UNSPECIFIED and is left out.
pub fn job_response(job: &UserImportJob, dates: TimestampFormat) -> Value {
    let text = |value: &str| (!value.is_empty()).then(|| json!(value));
    let date = |date: &Option<prost_types::Timestamp>| date.as_ref().map(|d| timestamp(d, dates));
    let member = |name: &str| match name {
        "JobName" => text(&job.job_name),
        "JobId" => text(&job.job_id),
        "UserPoolId" => text(&job.user_pool_id),
        "PreSignedUrl" => text(&job.pre_signed_url),
        "CreationDate" => date(&job.creation_date),
        "StartDate" => date(&job.start_date),
        "CompletionDate" => date(&job.completion_date),
        "Status" => aws_status(job.status()).map(|status| json!(status)),
        "CloudWatchLogsRoleArn" => text(&job.cloud_watch_logs_role_arn),
        "ImportedUsers" => Some(json!(job.imported_users)),
        "SkippedUsers" => Some(json!(job.skipped_users)),
        "FailedUsers" => Some(json!(job.failed_users)),
        "CompletionMessage" => text(&job.completion_message),
        "PasswordHashingAlgorithm" => text(&job.password_hashing_algorithm),
        _ => None,
    };
    let out: Map<String, Value> = JOB_MEMBERS
        .iter()
        .filter_map(|&name| Some((name.to_owned(), member(name)?)))
        .collect();
    json!({ "UserImportJob": out })
}

/// `--generate-cli-skeleton output`: every member, each holding a sample of
/// its type, as the AWS CLI prints it. Its sample dates are naive date-times,
/// which the AWS CLI writes with a `T` in JSON and a space elsewhere.
pub fn output_skeleton(format: Output) -> Value {
    let date = match format {
        Output::Json | Output::Yaml => "1970-01-01T00:00:00",
        Output::Text | Output::Table => "1970-01-01 00:00:00",
    };
    let job: Map<String, Value> = JOB_MEMBERS
        .iter()
        .map(|&member| {
            let sample = match member {
                "CreationDate" | "StartDate" | "CompletionDate" => json!(date),
                "ImportedUsers" | "SkippedUsers" | "FailedUsers" => json!(0),
                _ => json!(member),
            };
            (member.to_owned(), sample)
        })
        .collect();
    json!({ "UserImportJob": job })
}

fn aws_status(status: UserImportJobStatus) -> Option<&'static str> {
    use UserImportJobStatus as S;
    Some(match status {
        S::Unspecified => return None,
        S::Created => "Created",
        S::Pending => "Pending",
        S::InProgress => "InProgress",
        S::Stopping => "Stopping",
        S::Expired => "Expired",
        S::Stopped => "Stopped",
        S::Failed => "Failed",
        S::Succeeded => "Succeeded",
    })
}

/// A date as the AWS CLI prints it: the epoch-seconds number Cognito sent
/// (the nearest double to seconds.milliseconds, as Python parses it), or
/// Python's `datetime.isoformat()` in the local time zone.
fn timestamp(date: &prost_types::Timestamp, format: TimestampFormat) -> Value {
    let millis = i128::from(date.seconds) * 1000 + i128::from(date.nanos / 1_000_000);
    match format {
        TimestampFormat::None => json!(millis as f64 / 1000.0),
        TimestampFormat::Iso8601 => {
            let micros = date.nanos / 1000;
            let Ok(instant) = Timestamp::new(date.seconds, micros * 1000) else {
                return json!(millis as f64 / 1000.0);
            };
            let local = instant.to_zoned(TimeZone::system());
            let mut text = local.strftime("%Y-%m-%dT%H:%M:%S").to_string();
            if micros != 0 {
                let _ = write!(text, ".{micros:06}");
            }
            let _ = write!(text, "{}", local.strftime("%:z"));
            json!(text)
        }
    }
}

/// A compiled `--query`, and the order to print the keys of the objects it
/// builds in.
pub struct Query {
    expression: jmespath::Expression<'static>,
    /// Keys of multi-select hashes (`{Id: JobId}`), in the order written.
    written_keys: Vec<String>,
}

impl Query {
    pub fn compile(text: &str) -> Result<Self, InvalidInput> {
        let bad = |why: String| InvalidInput(format!("Bad value for --query {text}: {why}"));
        // The parser recurses once per level: a deep enough expression would
        // overflow the stack instead of failing.
        if nesting(text) > MAX_QUERY_NESTING {
            return Err(bad(format!(
                "nested deeper than {MAX_QUERY_NESTING} levels"
            )));
        }
        let expression = jmespath::compile(text).map_err(|error| bad(error.to_string()))?;
        let mut written_keys = Vec::new();
        multi_hash_keys(expression.as_ast(), &mut written_keys);
        Ok(Self {
            expression,
            written_keys,
        })
    }

    /// The query's result. The JMESPath crate sorts object keys; they are
    /// put back in the order the AWS CLI keeps where it can be known: keys
    /// the query wrote in the order written, the model's members in the
    /// model's order. (What `*`, `keys()` and `values()` list, and literal
    /// objects, stay in alphabetical order.)
    pub fn search(&self, value: &Value) -> Result<Value, String> {
        let result = self.expression.search(value).map_err(|e| e.to_string())?;
        let mut result = serde_json::to_value(&*result).map_err(|e| e.to_string())?;
        self.reorder(&mut result);
        Ok(result)
    }

    fn reorder(&self, value: &mut Value) {
        match value {
            Value::Object(object) => {
                // Keys the query wrote first, in its order; then the
                // model's members in the model's order.
                let rank = |key: &str| {
                    self.written_keys
                        .iter()
                        .position(|k| k == key)
                        .or_else(|| {
                            let member = std::iter::once("UserImportJob")
                                .chain(JOB_MEMBERS)
                                .position(|member| member == key)?;
                            Some(self.written_keys.len() + member)
                        })
                        .unwrap_or(usize::MAX)
                };
                let mut entries: Vec<(String, Value)> =
                    std::mem::take(object).into_iter().collect();
                entries.sort_by_key(|(key, _)| rank(key));
                for (key, mut value) in entries {
                    self.reorder(&mut value);
                    object.insert(key, value);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.reorder(v)),
            _ => {}
        }
    }
}

/// How deep a `--query` may nest, far beyond any real query.
const MAX_QUERY_NESTING: usize = 64;

/// An upper bound on how deep the parser recurses for `text`: brackets,
/// parentheses and braces open, plus the `!`, `&` and `|` that prefix or
/// chain what follows (literals and quoted names aside).
fn nesting(text: &str) -> usize {
    let (mut depth, mut deepest, mut quote) = (0usize, 0usize, None);
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, '[' | '(' | '{' | '!' | '&' | '|') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (None, ']' | ')' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

fn multi_hash_keys(ast: &jmespath::ast::Ast, keys: &mut Vec<String>) {
    use jmespath::ast::Ast;
    match ast {
        Ast::MultiHash { elements, .. } => {
            for pair in elements {
                keys.push(pair.key.clone());
                multi_hash_keys(&pair.value, keys);
            }
        }
        Ast::Comparison { lhs, rhs, .. }
        | Ast::And { lhs, rhs, .. }
        | Ast::Or { lhs, rhs, .. }
        | Ast::Projection { lhs, rhs, .. }
        | Ast::Subexpr { lhs, rhs, .. } => {
            multi_hash_keys(lhs, keys);
            multi_hash_keys(rhs, keys);
        }
        Ast::Condition {
            predicate, then, ..
        } => {
            multi_hash_keys(predicate, keys);
            multi_hash_keys(then, keys);
        }
        Ast::Expref { ast: node, .. }
        | Ast::Flatten { node, .. }
        | Ast::Not { node, .. }
        | Ast::ObjectValues { node, .. } => multi_hash_keys(node, keys),
        Ast::Function { args, .. } => args.iter().for_each(|a| multi_hash_keys(a, keys)),
        Ast::MultiList { elements, .. } => elements.iter().for_each(|a| multi_hash_keys(a, keys)),
        Ast::Identity { .. }
        | Ast::Field { .. }
        | Ast::Index { .. }
        | Ast::Literal { .. }
        | Ast::Slice { .. } => {}
    }
}

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
        Output::Yaml => serde_yaml_ng::to_string(value).expect("a JSON value always serializes"),
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
    use super::*;

    fn job() -> UserImportJob {
        UserImportJob {
            job_name: "nightly".to_owned(),
            job_id: "import-a".to_owned(),
            user_pool_id: "us-east-1_A".to_owned(),
            pre_signed_url: "https://example.com/x".to_owned(),
            creation_date: Some(prost_types::Timestamp {
                seconds: 1_548_278_576,
                nanos: 259_000_000,
            }),
            status: UserImportJobStatus::InProgress as i32,
            imported_users: 3,
            ..Default::default()
        }
    }

    #[test]
    fn json_is_the_aws_clis() {
        let value = job_response(&job(), TimestampFormat::None);
        assert_eq!(
            render(&value, Output::Json, "StopUserImportJob"),
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
        let value = job_response(&job(), TimestampFormat::None);
        assert_eq!(
            render(&value, Output::Text, "StopUserImportJob"),
            "USERIMPORTJOB\t1548278576.259\t0\t3\timport-a\tnightly\thttps://example.com/x\t0\tInProgress\tus-east-1_A\n"
        );
    }

    #[test]
    fn queries_keep_the_model_order_and_the_written_order() {
        let value = job_response(&job(), TimestampFormat::None);
        let query = Query::compile("UserImportJob.{Z: Status, A: JobId}").unwrap();
        let result = query.search(&value).unwrap();
        assert_eq!(result.to_string(), r#"{"Z":"InProgress","A":"import-a"}"#);
        let job = Query::compile("UserImportJob")
            .unwrap()
            .search(&value)
            .unwrap();
        let keys: Vec<_> = job.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys[..3], ["JobName", "JobId", "UserPoolId"]);
        assert!(Query::compile("UserImportJob.[").is_err());
        let deep = format!("{}a{}", "[".repeat(5000), "]".repeat(5000));
        assert!(Query::compile(&deep).is_err());
        assert!(Query::compile(&format!("{}a", "!".repeat(20000))).is_err());
        assert!(
            Query::compile("'[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[['")
                .is_ok()
        );
    }

    #[test]
    fn scalars_print_as_python_does() {
        let value = job_response(&job(), TimestampFormat::None);
        let flag = Query::compile("UserImportJob.ImportedUsers > `2`").unwrap();
        assert_eq!(
            render(
                &flag.search(&value).unwrap(),
                Output::Text,
                "StopUserImportJob"
            ),
            "True\n"
        );
    }
}
