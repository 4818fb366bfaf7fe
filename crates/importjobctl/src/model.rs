//! The commands, as Cognito's API model (botocore's, which the AWS CLI
//! reads) describes their operations: each one's input members with what
//! botocore checks of them, and its output's shape. Everything else is
//! generic over this table, so a command is one entry here and one call in
//! `rpc`.

/// One `aws cognito-idp` command.
#[derive(Debug)]
pub struct Operation {
    /// The command's name on the command line.
    pub command: &'static str,
    /// The operation's name in the API model: the table's title and the
    /// error line's name.
    pub name: &'static str,
    /// The RPC that serves it.
    pub rpc: Rpc,
    /// What `--help` says of the command.
    pub about: &'static str,
    /// The input members, in the model's order.
    pub input: &'static [Member],
    /// The output's shape, a structure.
    pub output: &'static Shape,
}

/// The service's RPCs, one per operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rpc {
    CreateUserImportJob,
    GetCsvHeader,
    StartUserImportJob,
    DescribeUserImportJob,
    ListUserImportJobs,
    StopUserImportJob,
}

/// An input member.
#[derive(Debug)]
pub struct Member {
    /// The member's name, as documents spell it.
    pub name: &'static str,
    /// Its flag.
    pub flag: &'static str,
    pub kind: Kind,
    pub required: bool,
    /// The first sentence of its documentation: the flag's help, and the
    /// comment of the YAML input skeleton.
    pub doc: &'static str,
}

/// A member's type, with the bound botocore checks: the least length of a
/// string, the least value of an integer (it checks no maximum, nor any
/// pattern or enum: the service answers those as Cognito does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String {
        min: usize,
    },
    Integer {
        min: i64,
    },
    /// A string of one of these values, the first of which the skeletons
    /// show.
    Enum(&'static [&'static str]),
}

/// An output shape, as the skeleton and the order of members need it.
#[derive(Debug)]
pub enum Shape {
    Structure(&'static [(&'static str, Shape)]),
    /// A list, and the name of its members' shape (what a skeleton of a
    /// list of strings shows).
    List(&'static Shape, &'static str),
    String,
    Integer,
    Boolean,
    Timestamp,
}

impl Shape {
    /// Every member name the shape holds, outer ones first, each once: the
    /// order the AWS CLI prints an object's members in.
    pub fn member_names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        let mut shapes = vec![self];
        while !shapes.is_empty() {
            let mut nested = Vec::new();
            for shape in shapes {
                match shape {
                    Shape::Structure(members) => {
                        for (name, member) in *members {
                            if !names.contains(name) {
                                names.push(*name);
                            }
                            nested.push(member);
                        }
                    }
                    Shape::List(member, _) => nested.push(member),
                    Shape::String | Shape::Integer | Shape::Boolean | Shape::Timestamp => {}
                }
            }
            shapes = nested;
        }
        names
    }
}

/// UserImportJobType.
pub const JOB: Shape = Shape::Structure(&[
    ("JobName", Shape::String),
    ("JobId", Shape::String),
    ("UserPoolId", Shape::String),
    ("PreSignedUrl", Shape::String),
    ("CreationDate", Shape::Timestamp),
    ("StartDate", Shape::Timestamp),
    ("CompletionDate", Shape::Timestamp),
    ("Status", Shape::String),
    ("CloudWatchLogsRoleArn", Shape::String),
    ("ImportedUsers", Shape::Integer),
    ("SkippedUsers", Shape::Integer),
    ("FailedUsers", Shape::Integer),
    ("CompletionMessage", Shape::String),
    ("PasswordHashingAlgorithm", Shape::String),
]);

/// The output of the operations that answer one job, and of each answer of
/// `watch-user-import-job`.
pub const ONE_JOB: Shape = Shape::Structure(&[("UserImportJob", JOB)]);

/// The output of `upload-user-import-csv` and `import-users`, which are not
/// Cognito's: UploadUserImportCsv's answer in Cognito's style.
pub const UPLOAD: Shape = Shape::Structure(&[
    ("Bytes", Shape::Integer),
    ("Rows", Shape::Integer),
    ("Uploaded", Shape::Boolean),
    ("UserImportJob", JOB),
]);

const USER_POOL_ID: Kind = Kind::String { min: 1 };
const JOB_ID: Kind = Kind::String { min: 1 };

/// Every command, in the order `--help` lists them.
pub const OPERATIONS: &[Operation] = &[
    Operation {
        command: "create-user-import-job",
        name: "CreateUserImportJob",
        rpc: Rpc::CreateUserImportJob,
        about: "Creates a user import job: the service's CreateUserImportJob, which is Cognito's.",
        input: &[
            Member {
                name: "JobName",
                flag: "--job-name",
                kind: Kind::String { min: 1 },
                required: true,
                doc: "A friendly name for the user import job.",
            },
            Member {
                name: "UserPoolId",
                flag: "--user-pool-id",
                kind: USER_POOL_ID,
                required: true,
                doc: "The ID of the user pool that you want to import users into.",
            },
            Member {
                name: "CloudWatchLogsRoleArn",
                flag: "--cloud-watch-logs-role-arn",
                kind: Kind::String { min: 20 },
                required: true,
                doc: "You must specify an IAM role that has permission to log import-job results to Amazon CloudWatch Logs.",
            },
            Member {
                name: "PasswordHashingAlgorithm",
                flag: "--password-hashing-algorithm",
                kind: Kind::Enum(&["BCRYPT", "SCRYPT", "ARGON2ID", "PBKDF2_SHA256"]),
                required: false,
                doc: "The password hashing algorithm used to generate the hashes in the CSV file for this import job.",
            },
        ],
        output: &ONE_JOB,
    },
    Operation {
        command: "get-csv-header",
        name: "GetCSVHeader",
        rpc: Rpc::GetCsvHeader,
        about: "Gets the header of the CSV file that imports users into a pool: the service's GetCsvHeader, which is Cognito's GetCSVHeader.",
        input: &[Member {
            name: "UserPoolId",
            flag: "--user-pool-id",
            kind: USER_POOL_ID,
            required: true,
            doc: "The ID of the user pool that you want to import users into.",
        }],
        output: &Shape::Structure(&[
            ("UserPoolId", Shape::String),
            ("CSVHeader", Shape::List(&Shape::String, "StringType")),
        ]),
    },
    Operation {
        command: "start-user-import-job",
        name: "StartUserImportJob",
        rpc: Rpc::StartUserImportJob,
        about: "Starts a user import job: the service's StartUserImportJob, which is Cognito's.",
        input: &[
            Member {
                name: "UserPoolId",
                flag: "--user-pool-id",
                kind: USER_POOL_ID,
                required: true,
                doc: "The ID of the user pool that you want to start importing users into.",
            },
            Member {
                name: "JobId",
                flag: "--job-id",
                kind: JOB_ID,
                required: true,
                doc: "The ID of a user import job that you previously created.",
            },
        ],
        output: &ONE_JOB,
    },
    Operation {
        command: "describe-user-import-job",
        name: "DescribeUserImportJob",
        rpc: Rpc::DescribeUserImportJob,
        about: "Describes a user import job: the service's DescribeUserImportJob, which is Cognito's.",
        input: &[
            Member {
                name: "UserPoolId",
                flag: "--user-pool-id",
                kind: USER_POOL_ID,
                required: true,
                doc: "The ID of the user pool that's associated with the import job.",
            },
            Member {
                name: "JobId",
                flag: "--job-id",
                kind: JOB_ID,
                required: true,
                doc: "The Id of the user import job that you want to describe.",
            },
        ],
        output: &ONE_JOB,
    },
    Operation {
        command: "list-user-import-jobs",
        name: "ListUserImportJobs",
        rpc: Rpc::ListUserImportJobs,
        about: "Lists a pool's user import jobs, one page per call, as the AWS CLI does (it does not \
                page through them): the service's ListUserImportJobs, which is Cognito's.",
        input: &[
            Member {
                name: "UserPoolId",
                flag: "--user-pool-id",
                kind: USER_POOL_ID,
                required: true,
                doc: "The ID of the user pool where you want to list import jobs.",
            },
            Member {
                name: "MaxResults",
                flag: "--max-results",
                kind: Kind::Integer { min: 1 },
                required: true,
                doc: "The maximum number of import jobs that you want Amazon Cognito to return in the response.",
            },
            Member {
                name: "PaginationToken",
                flag: "--pagination-token",
                kind: Kind::String { min: 1 },
                required: false,
                doc: "This API operation returns a limited number of results.",
            },
        ],
        output: &Shape::Structure(&[
            ("UserImportJobs", Shape::List(&JOB, "UserImportJobType")),
            ("PaginationToken", Shape::String),
        ]),
    },
    Operation {
        command: "stop-user-import-job",
        name: "StopUserImportJob",
        rpc: Rpc::StopUserImportJob,
        about: "Stops a user import job: the service's StopUserImportJob, which is Cognito's.",
        input: &[
            Member {
                name: "UserPoolId",
                flag: "--user-pool-id",
                kind: USER_POOL_ID,
                required: true,
                doc: "The ID of the user pool that you want to stop.",
            },
            Member {
                name: "JobId",
                flag: "--job-id",
                kind: JOB_ID,
                required: true,
                doc: "The ID of a running user import job.",
            },
        ],
        output: &ONE_JOB,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_operation_has_one_command_and_one_rpc() {
        for (i, operation) in OPERATIONS.iter().enumerate() {
            for other in &OPERATIONS[i + 1..] {
                assert_ne!(operation.command, other.command);
                assert_ne!(operation.rpc, other.rpc);
            }
            for member in operation.input {
                let flag: String = member
                    .name
                    .chars()
                    .flat_map(|c| {
                        let dash = c.is_ascii_uppercase().then_some('-');
                        dash.into_iter().chain([c.to_ascii_lowercase()])
                    })
                    .collect();
                assert_eq!(member.flag, format!("-{flag}"), "{}", member.name);
            }
        }
    }

    #[test]
    fn member_names_are_in_the_models_order_outer_first() {
        let list = &OPERATIONS[4];
        assert_eq!(list.name, "ListUserImportJobs");
        let names = list.output.member_names();
        assert_eq!(
            names[..4],
            ["UserImportJobs", "PaginationToken", "JobName", "JobId"]
        );
        assert_eq!(names.len(), 16);
    }
}
