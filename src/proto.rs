//! The API as `proto/` defines it, in one place: the code `build.rs`
//! generates, its descriptor set for reflection, the paths of the methods
//! the server hosts, and the names its error details use. The proto's
//! comments are written for every language's clients, so rustdoc's list
//! formatting lints do not apply to the generated code.

#![allow(clippy::doc_lazy_continuation, clippy::doc_overindented_list_items)]

tonic::include_proto!("importjob.v1");

use crate::operation::Operation;

/// The encoded descriptors of the API and of `google.rpc`'s error details,
/// for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/import_job_descriptor.bin"));

/// StopUserImportJob's path, the method the benchmarks and fuzz targets call.
pub const STOP_PATH: &str = Operation::StopUserImportJob.path();
/// The health service's methods begin so.
pub const HEALTH_PREFIX: &str = "/grpc.health.v1.Health/";
/// The reflection services' methods (`v1` and `v1alpha`) begin so.
pub const REFLECTION_PREFIX: &str = "/grpc.reflection.";
/// Every method the server hosts: the only values of the `method` label
/// (each of [`Operation::ALL`], checked by a test, and the hosted services').
pub const METHODS: &[&str] = &[
    Operation::CreateUserImportJob.path(),
    Operation::GetCsvHeader.path(),
    Operation::StartUserImportJob.path(),
    Operation::DescribeUserImportJob.path(),
    Operation::ListUserImportJobs.path(),
    Operation::StopUserImportJob.path(),
    Operation::WatchUserImportJob.path(),
    Operation::UploadUserImportCsv.path(),
    "/grpc.health.v1.Health/Check",
    "/grpc.health.v1.Health/Watch",
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

/// `ErrorInfo.domain` of errors that came from Cognito.
pub(crate) const COGNITO_DOMAIN: &str = "cognito-idp.amazonaws.com";
/// `ErrorInfo.domain` of errors the service raises itself.
pub(crate) const SERVICE_DOMAIN: &str = "importjob.v1.ImportJobService";
/// Response metadata key holding the AWS request id.
pub(crate) const REQUEST_ID_KEY: &str = "x-amzn-requestid";
/// `ErrorInfo.metadata` key: the AWS error code Cognito answered with (or
/// would have, for a request the service rejected as Cognito would).
pub(crate) const AWS_ERROR_CODE_KEY: &str = "awsErrorCode";
/// `ErrorInfo.metadata` key: Cognito's own words, where the status message
/// is the service's.
pub(crate) const AWS_ERROR_MESSAGE_KEY: &str = "awsErrorMessage";
/// `ErrorInfo.metadata` key: the id AWS gave the request.
pub(crate) const AWS_REQUEST_ID_KEY: &str = "awsRequestId";

/// What every request says of its scope: the user pool (field 1 of every
/// request) and, for a method that acts on one job, the job. The
/// authorization layer decides on it, and the call's log span records it.
pub trait Scoped {
    fn user_pool_id(&self) -> &str;
    fn job_id(&self) -> Option<&str> {
        None
    }
}

macro_rules! pool_scoped {
    ($($request:ty),*) => {$(
        impl Scoped for $request {
            fn user_pool_id(&self) -> &str {
                &self.user_pool_id
            }
        }
    )*};
}

macro_rules! job_scoped {
    ($($request:ty),*) => {$(
        impl Scoped for $request {
            fn user_pool_id(&self) -> &str {
                &self.user_pool_id
            }
            fn job_id(&self) -> Option<&str> {
                Some(&self.job_id)
            }
        }
    )*};
}

pool_scoped!(
    CreateUserImportJobRequest,
    GetCsvHeaderRequest,
    ListUserImportJobsRequest
);
job_scoped!(
    StartUserImportJobRequest,
    DescribeUserImportJobRequest,
    StopUserImportJobRequest,
    WatchUserImportJobRequest,
    UploadUserImportCsvRequest
);

/// A request's scope, as [`Scoped`] gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub user_pool_id: String,
    pub job_id: Option<String>,
}

/// A request message the authorization layer decoded, handed on to the
/// handler in the request's extensions so that it is decoded once; tonic
/// is then given an empty message to decode, which costs nothing.
#[derive(Debug, Clone)]
pub struct Decoded<M>(pub M);

impl Scope {
    /// Decodes `payload` as `operation`'s request message, whole (so that a
    /// message tonic would not decode is refused here too), and keeps its
    /// scope; and, given `keep`, the message itself as [`Decoded`].
    pub fn decode(
        operation: Operation,
        payload: bytes::Bytes,
        keep: Option<&mut http::Extensions>,
    ) -> Result<Self, prost::DecodeError> {
        fn scope<M>(
            payload: bytes::Bytes,
            keep: Option<&mut http::Extensions>,
        ) -> Result<Scope, prost::DecodeError>
        where
            M: prost::Message + Default + Scoped + Clone + Send + Sync + 'static,
        {
            let message = M::decode(payload)?;
            let scope = Scope {
                user_pool_id: message.user_pool_id().to_owned(),
                job_id: message.job_id().map(str::to_owned),
            };
            if let Some(extensions) = keep {
                extensions.insert(Decoded(message));
            }
            Ok(scope)
        }
        match operation {
            Operation::CreateUserImportJob => scope::<CreateUserImportJobRequest>(payload, keep),
            Operation::GetCsvHeader => scope::<GetCsvHeaderRequest>(payload, keep),
            Operation::StartUserImportJob => scope::<StartUserImportJobRequest>(payload, keep),
            Operation::DescribeUserImportJob => {
                scope::<DescribeUserImportJobRequest>(payload, keep)
            }
            Operation::ListUserImportJobs => scope::<ListUserImportJobsRequest>(payload, keep),
            Operation::StopUserImportJob => scope::<StopUserImportJobRequest>(payload, keep),
            Operation::WatchUserImportJob => scope::<WatchUserImportJobRequest>(payload, keep),
            Operation::UploadUserImportCsv => scope::<UploadUserImportCsvRequest>(payload, keep),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_a_method_with_its_own_label() {
        for operation in Operation::ALL {
            assert!(METHODS.contains(&operation.path()), "{operation:?}");
        }
    }
}
