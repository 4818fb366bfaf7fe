//! The service's answers in Cognito's JSON shape, as the AWS CLI parses
//! them: Cognito's member names in its API model's order, absent members
//! left out, dates as Cognito sends them (epoch seconds with milliseconds)
//! or in ISO 8601.
//!
//! proto3 cannot tell an empty string from an absent one; Cognito sends no
//! empty strings, so an empty string is an absent member. A status this
//! version does not know arrives as UNSPECIFIED and is left out.

use std::fmt::Write as _;

use jiff::{Timestamp, tz::TimeZone};
use serde_json::{Map, Value, json};

use crate::{
    api::{
        GetCsvHeaderResponse, ListUserImportJobsResponse, UploadUserImportCsvResponse,
        UserImportJob, UserImportJobStatus,
    },
    args::TimestampFormat,
    model::{JOB, Shape},
};

/// The answer of an operation that answers one job: `{"UserImportJob": ...}`.
pub fn one_job(job: &UserImportJob, dates: TimestampFormat) -> Value {
    json!({ "UserImportJob": self::job(job, dates) })
}

/// GetCSVHeader's answer.
pub fn csv_header(answer: &GetCsvHeaderResponse) -> Value {
    let mut out = Map::new();
    if let Some(pool) = text(&answer.user_pool_id) {
        out.insert("UserPoolId".to_owned(), pool);
    }
    out.insert("CSVHeader".to_owned(), json!(answer.csv_header));
    Value::Object(out)
}

/// A page of ListUserImportJobs: the jobs (an empty list when there are
/// none), and the token for the next page if there is one.
pub fn jobs_page(page: &ListUserImportJobsResponse, dates: TimestampFormat) -> Value {
    let jobs: Vec<Value> = page
        .user_import_jobs
        .iter()
        .map(|one| job(one, dates))
        .collect();
    let mut out = Map::new();
    out.insert("UserImportJobs".to_owned(), Value::Array(jobs));
    if let Some(token) = text(&page.pagination_token) {
        out.insert("PaginationToken".to_owned(), token);
    }
    Value::Object(out)
}

/// UploadUserImportCsv's answer, in Cognito's style (`model::UPLOAD`).
pub fn upload(answer: &UploadUserImportCsvResponse, dates: TimestampFormat) -> Value {
    let mut out = Map::new();
    out.insert("Bytes".to_owned(), json!(answer.bytes));
    out.insert("Rows".to_owned(), json!(answer.rows));
    out.insert("Uploaded".to_owned(), json!(answer.uploaded));
    if let Some(one) = &answer.user_import_job {
        out.insert("UserImportJob".to_owned(), job(one, dates));
    }
    Value::Object(out)
}

/// UserImportJobType.
fn job(job: &UserImportJob, dates: TimestampFormat) -> Value {
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
    let Shape::Structure(members) = JOB else {
        unreachable!("a job is a structure")
    };
    let out: Map<String, Value> = members
        .iter()
        .filter_map(|&(name, _)| Some((name.to_owned(), member(name)?)))
        .collect();
    Value::Object(out)
}

fn text(value: &str) -> Option<Value> {
    (!value.is_empty()).then(|| json!(value))
}

/// The status as Cognito spells it; none for one this version does not know.
pub fn aws_status(status: UserImportJobStatus) -> Option<&'static str> {
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

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn job() -> UserImportJob {
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
    fn a_job_has_cognitos_members_in_the_models_order() {
        let value = one_job(&job(), TimestampFormat::None);
        assert_eq!(
            value.to_string(),
            r#"{"UserImportJob":{"JobName":"nightly","JobId":"import-a","UserPoolId":"us-east-1_A","PreSignedUrl":"https://example.com/x","CreationDate":1548278576.259,"Status":"InProgress","ImportedUsers":3,"SkippedUsers":0,"FailedUsers":0}}"#
        );
        let unknown = UserImportJob {
            status: UserImportJobStatus::Unspecified as i32,
            ..job()
        };
        assert!(one_job(&unknown, TimestampFormat::None)["UserImportJob"]["Status"].is_null());
    }

    #[test]
    fn pages_and_headers_are_cognitos_shapes() {
        let last = ListUserImportJobsResponse {
            user_import_jobs: vec![job()],
            pagination_token: String::new(),
        };
        let value = jobs_page(&last, TimestampFormat::None);
        let keys: Vec<_> = value.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["UserImportJobs"]);
        assert_eq!(value["UserImportJobs"][0]["JobId"], "import-a");
        let more = ListUserImportJobsResponse {
            user_import_jobs: vec![],
            pagination_token: "t0k".to_owned(),
        };
        assert_eq!(
            jobs_page(&more, TimestampFormat::None).to_string(),
            r#"{"UserImportJobs":[],"PaginationToken":"t0k"}"#
        );
        let header = GetCsvHeaderResponse {
            user_pool_id: "us-east-1_A".to_owned(),
            csv_header: vec!["name".to_owned(), "cognito:username".to_owned()],
        };
        assert_eq!(
            csv_header(&header).to_string(),
            r#"{"UserPoolId":"us-east-1_A","CSVHeader":["name","cognito:username"]}"#
        );
    }
}
