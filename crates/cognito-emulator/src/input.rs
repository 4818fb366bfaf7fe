//! A request's members, read as Cognito reads them: a member of the wrong
//! JSON type is a SerializationException; then every member is checked with
//! Cognito's constraints (`cognito-constraints`) and every violation is named
//! in one InvalidParameterException, a missing required member as null.

use serde_json::{Map, Value};

use cognito_constraints::{
    CreateRequest, FieldViolation, JobRequest, ListRequest, PaginationToken, PoolRequest,
    cognito_message,
};

use crate::jobs::Rejection;

pub(crate) type Input = Map<String, Value>;

/// CreateUserImportJob's PasswordHashingAlgorithm, Cognito's enum in its
/// model's order.
pub const PASSWORD_HASHING_ALGORITHMS: [&str; 4] =
    ["BCRYPT", "SCRYPT", "ARGON2ID", "PBKDF2_SHA256"];

/// StartUserImportJob, DescribeUserImportJob, StopUserImportJob.
pub(crate) fn job_request(input: &Input) -> Result<JobRequest, Rejection> {
    let pool = string(input, "UserPoolId")?;
    let job = string(input, "JobId")?;
    let parsed = JobRequest::parse(pool.unwrap_or_default(), job.unwrap_or_default());
    let absent = [
        absent(&pool, "user_pool_id", "userPoolId"),
        absent(&job, "job_id", "jobId"),
    ];
    checked(parsed, &absent, Vec::new())
}

/// GetCSVHeader.
pub(crate) fn pool_request(input: &Input) -> Result<PoolRequest, Rejection> {
    let pool = string(input, "UserPoolId")?;
    let parsed = PoolRequest::parse(pool.unwrap_or_default());
    checked(
        parsed,
        &[absent(&pool, "user_pool_id", "userPoolId")],
        Vec::new(),
    )
}

/// CreateUserImportJob. The constraints crate takes any algorithm (the
/// service leaves it to Cognito); the emulator is Cognito, so it checks the
/// enum.
pub(crate) fn create_request(input: &Input) -> Result<CreateRequest, Rejection> {
    let pool = string(input, "UserPoolId")?;
    let name = string(input, "JobName")?;
    let role = string(input, "CloudWatchLogsRoleArn")?;
    let algorithm = string(input, "PasswordHashingAlgorithm")?;
    let parsed = CreateRequest::parse(
        pool.unwrap_or_default(),
        name.unwrap_or_default(),
        role.unwrap_or_default(),
        algorithm,
    );
    let absent = [
        absent(&pool, "user_pool_id", "userPoolId"),
        absent(&name, "job_name", "jobName"),
        absent(&role, "cloud_watch_logs_role_arn", "cloudWatchLogsRoleArn"),
    ];
    let unknown_algorithm = algorithm
        .filter(|a| !PASSWORD_HASHING_ALGORITHMS.contains(a))
        .map(|a| FieldViolation {
            field: "password_hashing_algorithm",
            description: format!(
                "must be one of {}, got {a:?}",
                PASSWORD_HASHING_ALGORITHMS.join(", ")
            ),
            cognito: vec![format!(
                "Value '{a}' at 'passwordHashingAlgorithm' failed to satisfy constraint: \
                 Member must satisfy enum value set: [{}]",
                PASSWORD_HASHING_ALGORITHMS.join(", ")
            )],
        });
    checked(parsed, &absent, unknown_algorithm.into_iter().collect())
}

/// ListUserImportJobs. A PaginationToken given empty breaks its
/// constraints, as at Cognito (the constraints crate reads an empty token as
/// none, as proto3 must).
pub(crate) fn list_request(input: &Input) -> Result<ListRequest, Rejection> {
    let pool = string(input, "UserPoolId")?;
    let max = integer(input, "MaxResults")?;
    let token = string(input, "PaginationToken")?;
    let parsed = ListRequest::parse(
        pool.unwrap_or_default(),
        max.unwrap_or_default(),
        token.unwrap_or_default(),
    );
    let absent = [
        absent(&pool, "user_pool_id", "userPoolId"),
        absent(&max, "max_results", "maxResults"),
    ];
    let empty_token = match token {
        Some("") => PaginationToken::parse("").err(),
        _ => None,
    };
    checked(parsed, &absent, empty_token.into_iter().collect())
}

/// A required member that was absent or null: its field as the constraints
/// crate names it, and its name in Cognito's messages.
#[derive(Clone, Copy)]
struct Absent {
    field: &'static str,
    member: &'static str,
}

fn absent<T>(value: &Option<T>, field: &'static str, member: &'static str) -> Option<Absent> {
    value.is_none().then_some(Absent { field, member })
}

/// The request, or every violation in one message: `parse` saw an empty
/// value (or zero) for each absent member, whose violation then becomes
/// Cognito's null; `more` follow the constraints crate's own.
fn checked<T>(
    parsed: Result<T, Vec<FieldViolation>>,
    absent: &[Option<Absent>],
    more: Vec<FieldViolation>,
) -> Result<T, Rejection> {
    let mut violations = match parsed {
        Ok(request) if more.is_empty() && absent.iter().all(Option::is_none) => {
            return Ok(request);
        }
        Ok(_) => Vec::new(),
        Err(violations) => violations,
    };
    for &Absent { field, member } in absent.iter().flatten() {
        let null = FieldViolation {
            field,
            description: "is required".to_owned(),
            cognito: vec![format!(
                "Value null at '{member}' failed to satisfy constraint: Member must not be null"
            )],
        };
        match violations.iter_mut().find(|v| v.field == field) {
            Some(violation) => *violation = null,
            None => violations.push(null),
        }
    }
    violations.extend(more);
    Err(Rejection::invalid(cognito_message(&violations)))
}

/// A string member; `None` when absent or null.
fn string<'a>(input: &'a Input, member: &str) -> Result<Option<&'a str>, Rejection> {
    match input.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(other) => Err(wrong_type(other, "a String")),
    }
}

/// An integer member; `None` when absent or null.
fn integer(input: &Input, member: &str) -> Result<Option<i64>, Rejection> {
    match input.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_i64()
            .map(Some)
            .ok_or_else(|| wrong_type(value, "an Integer")),
    }
}

/// What AWS JSON says of a member it cannot read as its type.
fn wrong_type(value: &Value, wanted: &str) -> Rejection {
    let message = match value {
        Value::Object(_) => "Start of structure or map found where not expected.".to_owned(),
        Value::Array(_) => "Start of list found where not expected.".to_owned(),
        Value::String(_) => format!("STRING_VALUE can not be converted to {wanted}"),
        Value::Bool(_) => format!("BOOLEAN_VALUE can not be converted to {wanted}"),
        _ => format!("NUMBER_VALUE can not be converted to {wanted}"),
    };
    Rejection {
        error_type: "SerializationException",
        message,
    }
}

#[cfg(test)]
mod tests;
