//! Each operation against the emulator's state, as Cognito does it: its
//! input read and checked (`input`), then its answer or its error.

use std::time::SystemTime;

use serde_json::{Value, json};

use cognito_constraints::UserPoolId;

use crate::{
    input::{self, Input},
    jobs::{Job, JobStatus, Pools, Rejection, Timings},
};

/// The operations the emulator answers, as `X-Amz-Target` names them.
pub const OPERATIONS: [&str; 6] = [
    "CreateUserImportJob",
    "GetCSVHeader",
    "StartUserImportJob",
    "DescribeUserImportJob",
    "ListUserImportJobs",
    "StopUserImportJob",
];

/// An error as Cognito answers one: its type and message.
pub(crate) struct ErrorAnswer {
    pub(crate) error_type: &'static str,
    pub(crate) message: String,
}

impl From<Rejection> for ErrorAnswer {
    fn from(rejection: Rejection) -> Self {
        Self {
            error_type: rejection.error_type,
            message: rejection.message,
        }
    }
}

/// Runs one operation against the state. `request_id` is the answer's, for
/// messages that name it.
pub(crate) fn run(
    pools: &mut Pools,
    operation: &str,
    region: Option<&str>,
    input: &Input,
    request_id: &str,
) -> Result<Value, ErrorAnswer> {
    let now = SystemTime::now();
    let job_json = |job: &Job| json!({ "UserImportJob": job.to_json() });
    match operation {
        "CreateUserImportJob" => {
            let request = input::create_request(input)?;
            let pool = in_region(&request.user_pool_id, region)?;
            let job = pools.create_at(
                pool,
                request.job_name.as_str(),
                request.cloud_watch_logs_role_arn.as_str(),
                request.password_hashing_algorithm.as_deref(),
                now,
            )?;
            Ok(job_json(job))
        }
        "GetCSVHeader" => {
            let request = input::pool_request(input)?;
            let pool = in_region(&request.user_pool_id, region)?;
            Ok(json!({ "UserPoolId": pool, "CSVHeader": pools.csv_header(pool)? }))
        }
        "StartUserImportJob" | "DescribeUserImportJob" | "StopUserImportJob" => {
            let request = input::job_request(input)?;
            let pool = in_region(&request.user_pool_id, region)?;
            let job_id = request.job_id.as_str();
            let job = match operation {
                "StartUserImportJob" => pools.start_at(pool, job_id, now)?,
                "StopUserImportJob" => pools.stop_at(pool, job_id, now)?,
                _ => pools.job_at(pool, job_id, now)?,
            };
            Ok(job_json(job))
        }
        "ListUserImportJobs" => {
            let request = input::list_request(input)?;
            let pool = in_region(&request.user_pool_id, region)?;
            let max = usize::try_from(request.max_results.get()).unwrap_or(1);
            let token = request.pagination_token.as_ref().map(|t| t.as_str());
            let page = pools.list_at(pool, max, token, request_id, now)?;
            let jobs: Vec<Value> = page.jobs.into_iter().map(Job::to_json).collect();
            let mut output = json!({ "UserImportJobs": jobs });
            if let Some(next) = page.next {
                output["PaginationToken"] = json!(next);
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
/// valid stop goes through the same path as with state, and answers the job
/// Stopped at once.
pub(crate) fn run_stateless(
    operation: &str,
    region: Option<&str>,
    input: &Input,
    request_id: &str,
) -> Result<Value, ErrorAnswer> {
    let mut pools = Pools::default();
    pools.timings = Timings::immediate();
    if let Ok(request) = input::job_request(input) {
        pools.put_job(Job::in_status(
            request.user_pool_id.as_str(),
            request.job_id.as_str(),
            JobStatus::InProgress,
        ));
    }
    run(&mut pools, operation, region, input, request_id)
}

/// The pool id, if the pool is hosted in the region the call was signed
/// for: elsewhere, it does not exist.
fn in_region<'a>(pool: &'a UserPoolId, region: Option<&str>) -> Result<&'a str, Rejection> {
    if region.is_some_and(|region| region != pool.region_prefix()) {
        return Err(Rejection::not_found(format!(
            "User pool {pool} does not exist."
        )));
    }
    Ok(pool.as_str())
}
