//! Each operation's call: its request from the checked parameters, its RPC,
//! and the answer in Cognito's JSON shape.

use http::Uri;
use serde_json::Value;

use crate::{
    api::{
        CreateUserImportJobRequest, DescribeUserImportJobRequest, GetCsvHeaderRequest,
        ListUserImportJobsRequest, StartUserImportJobRequest, StopUserImportJobRequest,
        UserImportJob,
    },
    args::{Global, TimestampFormat},
    call::{self, CommandError},
    input::Parameters,
    model::{Operation, Rpc},
    response,
};

/// Calls `operation` on the service at `endpoint` with `parameters`, and
/// gives back what Cognito would have answered the AWS CLI.
pub async fn call(
    operation: &Operation,
    parameters: &Parameters,
    global: &Global,
    endpoint: &Uri,
) -> Result<Value, CommandError> {
    let (mut client, calls) = call::connect(global, endpoint).await?;
    let dates = global.cli_timestamp_format;
    let text = |member: &str| parameters.text(member).unwrap_or_default().to_owned();
    let pool_and_job = || (text("UserPoolId"), text("JobId"));
    let failed = |status: tonic::Status| calls.failure(&status);
    match operation.rpc {
        Rpc::CreateUserImportJob => {
            let request = CreateUserImportJobRequest {
                user_pool_id: text("UserPoolId"),
                job_name: text("JobName"),
                cloud_watch_logs_role_arn: text("CloudWatchLogsRoleArn"),
                password_hashing_algorithm: parameters
                    .text("PasswordHashingAlgorithm")
                    .map(str::to_owned),
            };
            let answer = client.create_user_import_job(calls.request(request));
            one_job(
                answer.await.map_err(failed)?.into_inner().user_import_job,
                dates,
            )
        }
        Rpc::GetCsvHeader => {
            let request = GetCsvHeaderRequest {
                user_pool_id: text("UserPoolId"),
            };
            let answer = client.get_csv_header(calls.request(request)).await;
            Ok(response::csv_header(&answer.map_err(failed)?.into_inner()))
        }
        Rpc::StartUserImportJob => {
            let (user_pool_id, job_id) = pool_and_job();
            let request = StartUserImportJobRequest {
                user_pool_id,
                job_id,
            };
            let answer = client.start_user_import_job(calls.request(request));
            one_job(
                answer.await.map_err(failed)?.into_inner().user_import_job,
                dates,
            )
        }
        Rpc::DescribeUserImportJob => {
            let (user_pool_id, job_id) = pool_and_job();
            let request = DescribeUserImportJobRequest {
                user_pool_id,
                job_id,
            };
            let answer = client.describe_user_import_job(calls.request(request));
            one_job(
                answer.await.map_err(failed)?.into_inner().user_import_job,
                dates,
            )
        }
        Rpc::ListUserImportJobs => {
            // botocore checks no maximum: a number past what the proto holds
            // goes as the largest it holds, which Cognito's range refuses
            // all the same.
            let max_results = parameters.integer("MaxResults").unwrap_or_default();
            let request = ListUserImportJobsRequest {
                user_pool_id: text("UserPoolId"),
                max_results: max_results.clamp(i32::MIN.into(), i32::MAX.into()) as i32,
                pagination_token: text("PaginationToken"),
            };
            let answer = client.list_user_import_jobs(calls.request(request)).await;
            Ok(response::jobs_page(
                &answer.map_err(failed)?.into_inner(),
                dates,
            ))
        }
        Rpc::StopUserImportJob => {
            let (user_pool_id, job_id) = pool_and_job();
            let request = StopUserImportJobRequest {
                user_pool_id,
                job_id,
            };
            let answer = client.stop_user_import_job(calls.request(request));
            one_job(
                answer.await.map_err(failed)?.into_inner().user_import_job,
                dates,
            )
        }
    }
}

fn one_job(job: Option<UserImportJob>, dates: TimestampFormat) -> Result<Value, CommandError> {
    let job = job
        .ok_or_else(|| CommandError::Transport("the service answered without a job".to_owned()))?;
    Ok(response::one_job(&job, dates))
}
