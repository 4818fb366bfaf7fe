//! Each operation against the emulator's state, as Cognito does it: its
//! input checked with Cognito's own constraints and wording, its answer or
//! its error.

use serde_json::{Value, json};

use cognito_constraints::{StopRequest, UserPoolId, cognito_message};

use crate::jobs::{self, Job, JobStatus, Pools};

/// An error as Cognito answers one: its type and message.
pub(crate) struct ErrorAnswer {
    pub(crate) error_type: &'static str,
    pub(crate) message: String,
}

impl From<jobs::Rejection> for ErrorAnswer {
    fn from(rejection: jobs::Rejection) -> Self {
        Self {
            error_type: rejection.error_type,
            message: rejection.message,
        }
    }
}

pub(crate) fn invalid(message: String) -> ErrorAnswer {
    ErrorAnswer {
        error_type: "InvalidParameterException",
        message,
    }
}

type Input = serde_json::Map<String, Value>;

/// Runs one operation against the state.
pub(crate) fn run(
    pools: &mut Pools,
    operation: &str,
    region: Option<&str>,
    input: &Input,
) -> Result<Value, ErrorAnswer> {
    let job_json = |job: &Job| json!({ "UserImportJob": job.to_json() });
    match operation {
        "StopUserImportJob" => {
            let (pool, job) = pool_and_job_ids(input, region)?;
            Ok(job_json(pools.stop(&pool, &job)?))
        }
        "StartUserImportJob" => {
            let (pool, job) = pool_and_job_ids(input, region)?;
            Ok(job_json(pools.start(&pool, &job)?))
        }
        "DescribeUserImportJob" => {
            let (pool, job) = pool_and_job_ids(input, region)?;
            Ok(job_json(pools.job(&pool, &job)?))
        }
        "CreateUserImportJob" => {
            let pool = pool_id(input, region)?;
            let name = required_string(input, "JobName")?;
            let role = required_string(input, "CloudWatchLogsRoleArn")?;
            Ok(job_json(pools.create(&pool, &name, &role)?))
        }
        "ListUserImportJobs" => {
            let pool = pool_id(input, region)?;
            let max = input
                .get("MaxResults")
                .and_then(Value::as_u64)
                .filter(|n| (1..=60).contains(n));
            let Some(max) = max else {
                return Err(invalid("1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 60".to_owned()));
            };
            let skip: usize = match input.get("PaginationToken").and_then(Value::as_str) {
                Some(token) => token
                    .parse()
                    .map_err(|_| invalid("Invalid pagination token.".to_owned()))?,
                None => 0,
            };
            let all: Vec<Value> = pools.jobs(&pool)?.map(Job::to_json).collect();
            let page: Vec<Value> = all.iter().skip(skip).take(max as usize).cloned().collect();
            let mut output = json!({ "UserImportJobs": page });
            let next = skip.saturating_add(max as usize);
            if next < all.len() {
                output["PaginationToken"] = json!(next.to_string());
            }
            Ok(output)
        }
        "" => Err(ErrorAnswer {
            error_type: "UnknownOperationException",
            message: "Missing or unknown X-Amz-Target.".to_owned(),
        }),
        other => Err(ErrorAnswer {
            error_type: "UnknownOperationException",
            message: format!("The emulator does not implement {other}."),
        }),
    }
}

/// Benchmark mode: the pool holds just the job the call names, running, so a
/// valid stop goes through the same path as with state, and succeeds.
pub(crate) fn run_stateless(
    operation: &str,
    region: Option<&str>,
    input: &Input,
) -> Result<Value, ErrorAnswer> {
    let mut pools = Pools::default();
    if let Ok((pool, job_id)) = pool_and_job_ids(input, region) {
        pools.put_job(Job::in_status(&pool, &job_id, JobStatus::InProgress));
    }
    run(&mut pools, operation, region, input)
}

fn required_string(input: &Input, member: &str) -> Result<String, ErrorAnswer> {
    input.get(member).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| {
        invalid(format!("1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null", camel(member)))
    })
}

/// The pool id, valid by Cognito's constraints and hosted in the region the
/// call was signed for.
fn pool_id(input: &Input, region: Option<&str>) -> Result<String, ErrorAnswer> {
    let value = required_string(input, "UserPoolId")?;
    let pool =
        UserPoolId::parse(&value).map_err(|violation| invalid(cognito_message(&[violation])))?;
    in_region(pool, region)
}

/// The pool id and job id. Once both are present, every constraint they
/// break is reported at once, as Cognito does.
fn pool_and_job_ids(input: &Input, region: Option<&str>) -> Result<(String, String), ErrorAnswer> {
    let pool = required_string(input, "UserPoolId")?;
    let job = required_string(input, "JobId")?;
    let request = StopRequest::parse(&pool, &job)
        .map_err(|violations| invalid(cognito_message(&violations)))?;
    Ok((in_region(request.user_pool_id, region)?, job))
}

fn in_region(pool: UserPoolId, region: Option<&str>) -> Result<String, ErrorAnswer> {
    if region.is_some_and(|region| region != pool.region_prefix()) {
        return Err(jobs::Rejection {
            error_type: "ResourceNotFoundException",
            message: format!("User pool {pool} does not exist."),
        }
        .into());
    }
    Ok(pool.as_str().to_owned())
}

/// `UserPoolId` -> `userPoolId`.
fn camel(member: &str) -> String {
    let mut chars = member.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_ids_get_cognitos_wording() {
        let input: Input =
            serde_json::from_str(r#"{"UserPoolId":"us-east-1_X","JobId":"import_bad"}"#).unwrap();
        let failure = pool_and_job_ids(&input, None).unwrap_err();
        assert_eq!(failure.error_type, "InvalidParameterException");
        assert_eq!(
            failure.message,
            "1 validation error detected: Value 'import_bad' at 'jobId' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: import-[0-9a-zA-Z-]+"
        );
    }
}
