//! Cognito's own input constraints for StopUserImportJob, checked before any
//! AWS call so that a bad request costs nothing and names every bad field.
//!
//! The rules are exactly those of Cognito's API model:
//! - `UserPoolId`: 1 to 55 characters, the whole of `[\w-]+_[0-9a-zA-Z]+`;
//! - `JobId`: 1 to 55 characters, the whole of `import-[0-9a-zA-Z-]+`;
//!
//! where `\w` is ASCII only (`[A-Za-z0-9_]`): a non-ASCII letter is invalid.

use std::fmt;

/// Longest user pool id or job id Cognito accepts, in characters.
pub const MAX_ID_LEN: usize = 55;

const JOB_ID_PREFIX: &str = "import-";

/// One field that breaks a constraint, named as in the proto.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: &'static str,
    pub description: String,
}

/// A user pool id that satisfies Cognito's constraints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPoolId(String);

/// An import job id that satisfies Cognito's constraints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobId(String);

/// A StopUserImportJob request whose every field is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopRequest {
    pub user_pool_id: UserPoolId,
    pub job_id: JobId,
}

impl StopRequest {
    /// Checks both fields and reports every violation, not just the first,
    /// so a caller can fix its request in one round trip.
    pub fn parse(user_pool_id: &str, job_id: &str) -> Result<Self, Vec<FieldViolation>> {
        let pool = UserPoolId::parse(user_pool_id);
        let job = JobId::parse(job_id);
        match (pool, job) {
            (Ok(user_pool_id), Ok(job_id)) => Ok(Self {
                user_pool_id,
                job_id,
            }),
            (pool, job) => Err(pool.err().into_iter().chain(job.err()).collect()),
        }
    }
}

impl UserPoolId {
    pub fn parse(value: &str) -> Result<Self, FieldViolation> {
        check_user_pool_id(value)
            .map(|()| Self(value.to_owned()))
            .map_err(|description| FieldViolation {
                field: "user_pool_id",
                description,
            })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the first underscore: by Cognito's convention, the AWS
    /// region that hosts the pool (`us-east-1` in `us-east-1_AbC123`).
    pub fn region_prefix(&self) -> &str {
        self.0.split('_').next().unwrap_or_default()
    }
}

impl JobId {
    pub fn parse(value: &str) -> Result<Self, FieldViolation> {
        check_job_id(value)
            .map(|()| Self(value.to_owned()))
            .map_err(|description| FieldViolation {
                field: "job_id",
                description,
            })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserPoolId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_alphanumeric_id(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric())
}

fn check_length(value: &str) -> Result<(), String> {
    match value.chars().count() {
        0 => Err("is required".to_owned()),
        n if n > MAX_ID_LEN => Err(format!(
            "must be at most {MAX_ID_LEN} characters long, got {n}"
        )),
        _ => Ok(()),
    }
}

/// `[\w-]+_[0-9a-zA-Z]+`: since `\w` contains `_`, this holds exactly when the
/// string is made of `[\w-]`, and its last underscore has at least one
/// character before it and only alphanumerics, at least one, after it.
fn check_user_pool_id(value: &str) -> Result<(), String> {
    check_length(value)?;
    let shape = || {
        format!(
            "must match [\\w-]+_[0-9a-zA-Z]+ (a region, an underscore and an alphanumeric id, \
             for example us-east-1_AbC123), got {value:?}"
        )
    };
    if !value.chars().all(|c| is_word(c) || c == '-') {
        return Err(shape());
    }
    match value.rfind('_') {
        Some(i) if i > 0 && is_alphanumeric_id(&value[i + 1..]) => Ok(()),
        _ => Err(shape()),
    }
}

fn check_job_id(value: &str) -> Result<(), String> {
    check_length(value)?;
    let shape = || {
        format!("must match import-[0-9a-zA-Z-]+ (for example import-Zw9Ai2e2Xy), got {value:?}")
    };
    match value.strip_prefix(JOB_ID_PREFIX) {
        Some(rest)
            if !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') =>
        {
            Ok(())
        }
        _ => Err(shape()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool_ok(s: &str) -> bool {
        UserPoolId::parse(s).is_ok()
    }

    fn job_ok(s: &str) -> bool {
        JobId::parse(s).is_ok()
    }

    #[test]
    fn user_pool_ids_follow_cognitos_pattern() {
        for valid in [
            "us-east-1_AbC123",
            "a_b",
            "eu-west-1_x",
            "a_b_c",
            "__a",
            "-_0",
            "us_east_1_x9",
        ] {
            assert!(pool_ok(valid), "{valid} should be valid");
        }
        for invalid in [
            "",
            "us-east-1",
            "_abc",
            "us-east-1_",
            "us-east-1_ab-c",
            "us-east-1_AbC123 ",
            "us-east-1_AbC123\n",
            "us-east-1_AbÇ123",
            "üs-east-1_AbC123",
            "us east-1_AbC123",
            "us-east-1_AbC12.3",
        ] {
            assert!(!pool_ok(invalid), "{invalid:?} should be invalid");
        }
    }

    #[test]
    fn job_ids_follow_cognitos_pattern() {
        for valid in [
            "import-a",
            "import--",
            "import-Zw9Ai2e2Xy",
            "import-a-b-C-9",
        ] {
            assert!(job_ok(valid), "{valid} should be valid");
        }
        for invalid in [
            "",
            "import-",
            "import_abc",
            "import-ab_c",
            "Import-abc",
            "xximport-abc",
            "import-abc ",
            "import-abç",
        ] {
            assert!(!job_ok(invalid), "{invalid:?} should be invalid");
        }
    }

    #[test]
    fn lengths_are_counted_in_characters_up_to_55() {
        let pool_55 = format!("us-east-1_{}", "a".repeat(MAX_ID_LEN - 10));
        assert_eq!(pool_55.len(), 55);
        assert!(pool_ok(&pool_55));
        assert!(!pool_ok(&format!("{pool_55}a")));

        let job_55 = format!("import-{}", "a".repeat(MAX_ID_LEN - 7));
        assert!(job_ok(&job_55));
        let err = JobId::parse(&format!("{job_55}a")).unwrap_err();
        assert_eq!(err.field, "job_id");
        assert!(
            err.description.contains("at most 55"),
            "{}",
            err.description
        );
    }

    #[test]
    fn every_failing_field_is_reported() {
        let violations = StopRequest::parse("", "import_x").unwrap_err();
        let fields: Vec<_> = violations.iter().map(|v| v.field).collect();
        assert_eq!(fields, ["user_pool_id", "job_id"]);
        assert_eq!(violations[0].description, "is required");

        let only_job = StopRequest::parse("us-east-1_A", "").unwrap_err();
        assert_eq!(only_job.len(), 1);
        assert_eq!(only_job[0].field, "job_id");
    }

    #[test]
    fn the_region_is_the_part_before_the_first_underscore() {
        let pool = UserPoolId::parse("eu-central-1_AbC").unwrap();
        assert_eq!(pool.region_prefix(), "eu-central-1");
        assert_eq!(UserPoolId::parse("a_b_c").unwrap().region_prefix(), "a");
    }
}
