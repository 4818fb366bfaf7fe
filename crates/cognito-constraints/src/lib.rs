//! Cognito's own input constraints for the user import job operations,
//! checked before any AWS call so that a bad request costs nothing and names
//! every bad field, and Cognito's wording when a request breaks them.
//!
//! The rules are exactly those of Cognito's API model (botocore's
//! `cognito-idp` service model):
//! - `UserPoolId`: 1 to 55 characters, the whole of `[\w-]+_[0-9a-zA-Z]+`;
//! - `JobId`: 1 to 55 characters, the whole of `import-[0-9a-zA-Z-]+`;
//! - `JobName`: 1 to 128 characters, the whole of `[\w\s+=,.@-]+`;
//! - `CloudWatchLogsRoleArn`: 20 to 2048 characters, the whole of Cognito's
//!   ARN pattern ([`RoleArn::PATTERN`]);
//! - `MaxResults`: 1 to 60, required;
//! - `PaginationToken`: when given, at least 1 character, the whole of `[\S]+`;
//!
//! where `\w` is ASCII only (`[A-Za-z0-9_]`: a non-ASCII letter is invalid)
//! and `\s` is Java's class, as in Cognito's own regular expressions: space,
//! tab, line feed, vertical tab, form feed, carriage return.
//!
//! Cognito repeats an invalid value whole in its message; these messages
//! repeat at most its first 256 characters, so that a status's details stay
//! small enough for every client's header limit.
//!
//! Parse, don't validate: each request type holds only valid fields, so a
//! value of it is valid by construction.

mod fields;
mod patterns;
#[cfg(test)]
mod tests;

pub use fields::{JobId, JobName, MAX_ID_LEN, MaxResults, PaginationToken, RoleArn, UserPoolId};

/// One field that breaks a constraint, named as in the proto.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: &'static str,
    pub description: String,
    /// The same violation as Cognito words it, one phrase per broken
    /// constraint (see [`cognito_message`]).
    pub cognito: Vec<String>,
}

/// Cognito's own message for a request with these violations, word for
/// word: the emulator answers with it, and the service hands it to callers
/// that print AWS's errors (importjobctl prints what the AWS CLI prints).
pub fn cognito_message(violations: &[FieldViolation]) -> String {
    let phrases: Vec<&str> = violations
        .iter()
        .flat_map(|v| v.cognito.iter().map(String::as_str))
        .collect();
    let plural = if phrases.len() == 1 { "" } else { "s" };
    format!(
        "{} validation error{plural} detected: {}",
        phrases.len(),
        phrases.join("; ")
    )
}

/// A request that names one import job (StartUserImportJob,
/// DescribeUserImportJob, StopUserImportJob), every field valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRequest {
    pub user_pool_id: UserPoolId,
    pub job_id: JobId,
}

/// A request that names a user pool only (GetCSVHeader), its field valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolRequest {
    pub user_pool_id: UserPoolId,
}

/// A CreateUserImportJob request, every field valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateRequest {
    pub user_pool_id: UserPoolId,
    pub job_name: JobName,
    pub cloud_watch_logs_role_arn: RoleArn,
    /// Passed to Cognito as given: Cognito checks it against its own
    /// (growing) list of algorithms.
    pub password_hashing_algorithm: Option<String>,
}

/// A ListUserImportJobs request, every field valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRequest {
    pub user_pool_id: UserPoolId,
    pub max_results: MaxResults,
    pub pagination_token: Option<PaginationToken>,
}

impl JobRequest {
    /// Checks both fields and reports every violation, not just the first,
    /// so a caller can fix its request in one round trip.
    pub fn parse(user_pool_id: &str, job_id: &str) -> Result<Self, Vec<FieldViolation>> {
        let mut check = Check::default();
        let user_pool_id = check.field(UserPoolId::parse(user_pool_id));
        let job_id = check.field(JobId::parse(job_id));
        check.done(|| {
            Some(Self {
                user_pool_id: user_pool_id?,
                job_id: job_id?,
            })
        })
    }
}

impl PoolRequest {
    pub fn parse(user_pool_id: &str) -> Result<Self, Vec<FieldViolation>> {
        UserPoolId::parse(user_pool_id)
            .map(|user_pool_id| Self { user_pool_id })
            .map_err(|violation| vec![violation])
    }
}

impl CreateRequest {
    /// Checks every field and reports every violation, in the proto's order.
    pub fn parse(
        user_pool_id: &str,
        job_name: &str,
        cloud_watch_logs_role_arn: &str,
        password_hashing_algorithm: Option<&str>,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut check = Check::default();
        let user_pool_id = check.field(UserPoolId::parse(user_pool_id));
        let job_name = check.field(JobName::parse(job_name));
        let role = check.field(RoleArn::parse(cloud_watch_logs_role_arn));
        check.done(|| {
            Some(Self {
                user_pool_id: user_pool_id?,
                job_name: job_name?,
                cloud_watch_logs_role_arn: role?,
                password_hashing_algorithm: password_hashing_algorithm.map(str::to_owned),
            })
        })
    }
}

impl ListRequest {
    /// Checks every field and reports every violation, in the proto's order.
    /// An empty `pagination_token` is no token (proto3 cannot tell them
    /// apart), so asks for the first page.
    pub fn parse(
        user_pool_id: &str,
        max_results: i64,
        pagination_token: &str,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut check = Check::default();
        let user_pool_id = check.field(UserPoolId::parse(user_pool_id));
        let max_results = check.field(MaxResults::parse(max_results));
        let token = match pagination_token {
            "" => Some(None),
            token => check.field(PaginationToken::parse(token)).map(Some),
        };
        check.done(|| {
            Some(Self {
                user_pool_id: user_pool_id?,
                max_results: max_results?,
                pagination_token: token?,
            })
        })
    }
}

/// Collects the violations of a request's fields, so that every one is
/// reported.
#[derive(Default)]
struct Check(Vec<FieldViolation>);

impl Check {
    fn field<T>(&mut self, parsed: Result<T, FieldViolation>) -> Option<T> {
        parsed.map_err(|violation| self.0.push(violation)).ok()
    }

    /// The request, when no field broke a constraint.
    fn done<T>(self, request: impl FnOnce() -> Option<T>) -> Result<T, Vec<FieldViolation>> {
        match request() {
            Some(request) if self.0.is_empty() => Ok(request),
            _ => Err(self.0),
        }
    }
}
