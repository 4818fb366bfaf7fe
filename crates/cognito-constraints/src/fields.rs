//! The fields of the import job operations, each a type that only a valid
//! value makes, and the rule that checks it.

use std::fmt;

use crate::{FieldViolation, patterns};

/// Longest user pool id or job id Cognito accepts, in characters.
pub const MAX_ID_LEN: usize = 55;

/// A user pool id that satisfies Cognito's constraints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPoolId(String);

/// An import job id that satisfies Cognito's constraints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobId(String);

/// An import job's name that satisfies Cognito's constraints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobName(String);

/// The ARN of the role Cognito writes a job's CloudWatch logs with, as
/// Cognito's pattern has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleArn(String);

/// How many jobs a page of ListUserImportJobs holds: 1 to 60.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxResults(i32);

/// A pagination token as Cognito's pattern has it (whether Cognito gave it
/// is for Cognito to say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaginationToken(String);

impl UserPoolId {
    /// Cognito's pattern, as its API model and messages spell it.
    pub const PATTERN: &str = r"[\w-]+_[0-9a-zA-Z]+";

    pub fn parse(value: &str) -> Result<Self, FieldViolation> {
        Rule {
            field: "user_pool_id",
            member: "userPoolId",
            lengths: (1, MAX_ID_LEN),
            pattern: Self::PATTERN,
            example: "a region, an underscore and an alphanumeric id, for example us-east-1_AbC123",
        }
        .check(value, patterns::user_pool_id(value))
        .map(|()| Self(value.to_owned()))
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
            lengths: (1, MAX_ID_LEN),
            pattern: Self::PATTERN,
            example: "for example import-Zw9Ai2e2Xy",
        }
        .check(value, patterns::job_id(value))
        .map(|()| Self(value.to_owned()))
    }
}

impl JobName {
    /// Cognito's pattern, as its API model and messages spell it.
    pub const PATTERN: &str = r"[\w\s+=,.@-]+";
    /// Longest name Cognito accepts, in characters.
    pub const MAX_LEN: usize = 128;

    pub fn parse(value: &str) -> Result<Self, FieldViolation> {
        Rule {
            field: "job_name",
            member: "jobName",
            lengths: (1, Self::MAX_LEN),
            pattern: Self::PATTERN,
            example: "ASCII letters, digits, underscores, whitespace and +=,.@-",
        }
        .check(value, patterns::job_name(value))
        .map(|()| Self(value.to_owned()))
    }
}

impl RoleArn {
    /// Cognito's pattern, as its API model and messages spell it.
    pub const PATTERN: &str = r"arn:[\w+=/,.@-]+:[\w+=/,.@-]+:([\w+=/,.@-]*)?:[0-9]+:[\w+=/,.@-]+(:[\w+=/,.@-]+)?(:[\w+=/,.@-]+)?";
    /// Shortest and longest ARN Cognito accepts, in characters.
    pub const LENGTHS: (usize, usize) = (20, 2048);

    pub fn parse(value: &str) -> Result<Self, FieldViolation> {
        Rule {
            field: "cloud_watch_logs_role_arn",
            member: "cloudWatchLogsRoleArn",
            lengths: Self::LENGTHS,
            pattern: Self::PATTERN,
            example: "an IAM role's ARN, for example arn:aws:iam::123456789012:role/CognitoImportLogs",
        }
        .check(value, patterns::arn(value))
        .map(|()| Self(value.to_owned()))
    }
}

impl MaxResults {
    /// The fewest and most jobs a page may hold.
    pub const RANGE: (i32, i32) = (1, 60);

    /// Takes any integer, so that a value outside `i32` is reported as out of
    /// range rather than wrapped.
    pub fn parse(value: i64) -> Result<Self, FieldViolation> {
        let (least, most) = Self::RANGE;
        let bound = if value < i64::from(least) {
            format!("greater than or equal to {least}")
        } else if value > i64::from(most) {
            format!("less than or equal to {most}")
        } else {
            return Ok(Self(value as i32));
        };
        let description = match value {
            0 => format!("is required: from {least} to {most}"),
            _ => format!("must be from {least} to {most}, got {value}"),
        };
        Err(FieldViolation {
            field: "max_results",
            description,
            cognito: vec![format!(
                "Value '{value}' at 'maxResults' failed to satisfy constraint: Member must have value {bound}"
            )],
        })
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

impl PaginationToken {
    /// Cognito's pattern, as its API model and messages spell it.
    pub const PATTERN: &str = r"[\S]+";

    pub fn parse(value: &str) -> Result<Self, FieldViolation> {
        Rule {
            field: "pagination_token",
            member: "paginationToken",
            lengths: (1, usize::MAX),
            pattern: Self::PATTERN,
            example: "no whitespace: the token of the previous page's answer, as given",
        }
        .check(value, patterns::no_space(value))
        .map(|()| Self(value.to_owned()))
    }
}

/// The string fields' accessors and display: each is its value.
macro_rules! text_field {
    ($($name:ident),*) => {$(
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}

text_field!(UserPoolId, JobId, JobName, RoleArn, PaginationToken);

/// Longest part of a value an answer repeats: Cognito echoes the whole
/// value, but a status's details travel in a header, which clients cap
/// (8 KiB in grpc-java), and a request may hold several long values.
const MAX_ECHO_CHARS: usize = 256;

/// The value as an answer repeats it: whole, or its first
/// [`MAX_ECHO_CHARS`] characters and `...`.
fn echo(value: &str) -> std::borrow::Cow<'_, str> {
    match value.char_indices().nth(MAX_ECHO_CHARS) {
        Some((end, _)) => format!("{}...", &value[..end]).into(),
        None => value.into(),
    }
}

/// One string field's constraints: a length in characters and a pattern that
/// must match the whole value.
struct Rule {
    field: &'static str,
    /// The member's name in Cognito's messages.
    member: &'static str,
    /// The fewest and most characters.
    lengths: (usize, usize),
    pattern: &'static str,
    /// What a valid value looks like, for the caller.
    example: &'static str,
}

impl Rule {
    fn check(&self, value: &str, matches: bool) -> Result<(), FieldViolation> {
        let (least, most) = self.lengths;
        let length = value.chars().count();
        let echoed = echo(value);
        let mut cognito = Vec::new();
        let mut broken = |constraint: String| {
            cognito.push(format!(
                "Value '{echoed}' at '{}' failed to satisfy constraint: Member must {constraint}",
                self.member
            ));
        };
        if length < least {
            broken(format!("have length greater than or equal to {least}"));
        }
        if length > most {
            broken(format!("have length less than or equal to {most}"));
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
            n if n < least => format!("must be at least {least} characters long, got {n}"),
            n if n > most => format!("must be at most {most} characters long, got {n}"),
            _ => format!(
                "must match {} ({}), got {echoed:?}",
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
