//! The service's operations: one row per `ImportJobService` method, with what
//! the layers and the handler need to know of it (its path, Cognito's name
//! for it, which of Cognito's quotas it counts against). Adding a method
//! adds a row here; ARCHITECTURE.md lists the other places.

/// An `ImportJobService` method, and the Cognito operation it forwards to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    CreateUserImportJob,
    GetCsvHeader,
    StartUserImportJob,
    DescribeUserImportJob,
    ListUserImportJobs,
    StopUserImportJob,
    /// Polls DescribeUserImportJob (see `watch`).
    WatchUserImportJob,
    /// Describes the job, reads the CSV header, uploads to S3.
    UploadUserImportCsv,
}

/// Cognito counts calls that read import jobs and calls that change them in
/// different quota categories, so the service keeps a rate for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quota {
    Read,
    Write,
}

impl Operation {
    pub const ALL: [Operation; 8] = [
        Operation::CreateUserImportJob,
        Operation::GetCsvHeader,
        Operation::StartUserImportJob,
        Operation::DescribeUserImportJob,
        Operation::ListUserImportJobs,
        Operation::StopUserImportJob,
        Operation::WatchUserImportJob,
        Operation::UploadUserImportCsv,
    ];

    /// The gRPC path of the method.
    pub const fn path(self) -> &'static str {
        match self {
            Operation::CreateUserImportJob => "/importjob.v1.ImportJobService/CreateUserImportJob",
            Operation::GetCsvHeader => "/importjob.v1.ImportJobService/GetCsvHeader",
            Operation::StartUserImportJob => "/importjob.v1.ImportJobService/StartUserImportJob",
            Operation::DescribeUserImportJob => {
                "/importjob.v1.ImportJobService/DescribeUserImportJob"
            }
            Operation::ListUserImportJobs => "/importjob.v1.ImportJobService/ListUserImportJobs",
            Operation::StopUserImportJob => "/importjob.v1.ImportJobService/StopUserImportJob",
            Operation::WatchUserImportJob => "/importjob.v1.ImportJobService/WatchUserImportJob",
            Operation::UploadUserImportCsv => "/importjob.v1.ImportJobService/UploadUserImportCsv",
        }
    }

    /// The method a gRPC path names, if it is one of the service's.
    pub fn from_path(path: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|operation| operation.path() == path)
    }

    /// Cognito's name for the operation, as in its API, its IAM actions
    /// (`cognito-idp:<name>`) and the metrics: for a method that makes
    /// several calls, the first (each of its calls is counted under its own).
    pub const fn cognito_name(self) -> &'static str {
        match self {
            Operation::CreateUserImportJob => "CreateUserImportJob",
            Operation::GetCsvHeader => "GetCSVHeader",
            Operation::StartUserImportJob => "StartUserImportJob",
            Operation::DescribeUserImportJob
            | Operation::WatchUserImportJob
            | Operation::UploadUserImportCsv => "DescribeUserImportJob",
            Operation::ListUserImportJobs => "ListUserImportJobs",
            Operation::StopUserImportJob => "StopUserImportJob",
        }
    }

    /// Whether the request is a stream of messages, of which authorization
    /// reads the first alone.
    pub const fn streams_request(self) -> bool {
        matches!(self, Operation::UploadUserImportCsv)
    }

    pub const fn quota(self) -> Quota {
        match self {
            Operation::GetCsvHeader
            | Operation::DescribeUserImportJob
            | Operation::ListUserImportJobs
            | Operation::WatchUserImportJob
            | Operation::UploadUserImportCsv => Quota::Read,
            Operation::CreateUserImportJob
            | Operation::StartUserImportJob
            | Operation::StopUserImportJob => Quota::Write,
        }
    }
}

impl Quota {
    /// The metrics' name for it.
    pub const fn label(self) -> &'static str {
        match self {
            Quota::Read => "read",
            Quota::Write => "write",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_path_names_its_method_and_no_other() {
        for operation in Operation::ALL {
            assert_eq!(Operation::from_path(operation.path()), Some(operation));
            assert!(operation.path().ends_with(&format!("{operation:?}")));
        }
        assert_eq!(
            Operation::from_path("/importjob.v1.ImportJobService/Nope"),
            None
        );
    }
}
