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
    /// Cognito's pattern, as its API model and messages spell it.
    pub const PATTERN: &str = r"[\w-]+_[0-9a-zA-Z]+";

    pub fn parse(value: &str) -> Result<Self, FieldViolation> {
        let example =
            "a region, an underscore and an alphanumeric id, for example us-east-1_AbC123";
        Rule {
            field: "user_pool_id",
            member: "userPoolId",
            pattern: Self::PATTERN,
            example,
        }
        .check(value, matches_user_pool_id(value))
        .map(|()| Self(value.to_owned()))
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
    /// Cognito's pattern, as its API model and messages spell it.
    pub const PATTERN: &str = "import-[0-9a-zA-Z-]+";

    pub fn parse(value: &str) -> Result<Self, FieldViolation> {
        Rule {
            field: "job_id",
            member: "jobId",
            pattern: Self::PATTERN,
            example: "for example import-Zw9Ai2e2Xy",
        }
        .check(value, matches_job_id(value))
        .map(|()| Self(value.to_owned()))
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

/// One field's constraints: a length of 1 to [`MAX_ID_LEN`] characters and
/// a pattern that must match the whole value.
struct Rule {
    field: &'static str,
    /// The member's name in Cognito's messages.
    member: &'static str,
    pattern: &'static str,
    example: &'static str,
}

impl Rule {
    fn check(&self, value: &str, matches: bool) -> Result<(), FieldViolation> {
        let length = value.chars().count();
        let mut cognito = Vec::new();
        let mut broken = |constraint: String| {
            cognito.push(format!(
                "Value '{value}' at '{}' failed to satisfy constraint: Member must {constraint}",
                self.member
            ));
        };
        if length == 0 {
            broken("have length greater than or equal to 1".to_owned());
        }
        if length > MAX_ID_LEN {
            broken(format!("have length less than or equal to {MAX_ID_LEN}"));
        }
        if !matches {
            broken(format!(
                "satisfy regular expression pattern: {}",
                self.pattern
            ));
        }
        let description = match length {
            _ if cognito.is_empty() => return Ok(()),
            0 => "is required".to_owned(),
            n if n > MAX_ID_LEN => {
                format!("must be at most {MAX_ID_LEN} characters long, got {n}")
            }
            _ => format!(
                "must match {} ({}), got {value:?}",
                self.pattern, self.example
            ),
        };
        Err(FieldViolation {
            field: self.field,
            description,
            cognito,
        })
    }
}

/// The whole of `[\w-]+_[0-9a-zA-Z]+`: since `\w` contains `_`, this holds
/// exactly when the string is made of `[\w-]`, and its last underscore has at
/// least one character before it and only alphanumerics, at least one, after
/// it.
fn matches_user_pool_id(value: &str) -> bool {
    value.chars().all(|c| is_word(c) || c == '-')
        && value
            .rfind('_')
            .is_some_and(|i| i > 0 && is_alphanumeric_id(&value[i + 1..]))
}

/// The whole of `import-[0-9a-zA-Z-]+`.
fn matches_job_id(value: &str) -> bool {
    value.strip_prefix(JOB_ID_PREFIX).is_some_and(|rest| {
        !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    })
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
    fn cognito_words_every_broken_constraint() {
        let violations = StopRequest::parse("us-east-1_ab-c", "import-ab_c").unwrap_err();
        assert_eq!(
            cognito_message(&violations),
            "2 validation errors detected: \
             Value 'us-east-1_ab-c' at 'userPoolId' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: [\\w-]+_[0-9a-zA-Z]+; \
             Value 'import-ab_c' at 'jobId' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: import-[0-9a-zA-Z-]+"
        );
        let empty = JobId::parse("").unwrap_err();
        assert_eq!(
            cognito_message(&[empty]),
            "2 validation errors detected: \
             Value '' at 'jobId' failed to satisfy constraint: \
             Member must have length greater than or equal to 1; \
             Value '' at 'jobId' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: import-[0-9a-zA-Z-]+"
        );
        let long = JobId::parse(&format!("import-{}", "a".repeat(MAX_ID_LEN))).unwrap_err();
        assert_eq!(long.cognito.len(), 1);
        assert!(long.cognito[0].ends_with("Member must have length less than or equal to 55"));
    }

    #[test]
    fn the_region_is_the_part_before_the_first_underscore() {
        let pool = UserPoolId::parse("eu-central-1_AbC").unwrap();
        assert_eq!(pool.region_prefix(), "eu-central-1");
        assert_eq!(UserPoolId::parse("a_b_c").unwrap().region_prefix(), "a");
    }
}
