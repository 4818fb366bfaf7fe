//! The API as `proto/` defines it, in one place: the code `build.rs`
//! generates, its descriptor set for reflection, the paths of the methods
//! the server hosts, and the names its error details use. The proto's
//! comments are written for every language's clients, so rustdoc's list
//! formatting lints do not apply to the generated code.

#![allow(clippy::doc_lazy_continuation, clippy::doc_overindented_list_items)]

tonic::include_proto!("importjob.v1");

/// The encoded descriptors of the API and of `google.rpc`'s error details,
/// for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/import_job_descriptor.bin"));

/// The method whose request names a user pool.
pub const STOP_PATH: &str = "/importjob.v1.ImportJobService/StopUserImportJob";
/// The health service's methods begin so.
pub const HEALTH_PREFIX: &str = "/grpc.health.v1.Health/";
/// The reflection services' methods (`v1` and `v1alpha`) begin so.
pub const REFLECTION_PREFIX: &str = "/grpc.reflection.";
/// Every method the server hosts: the only values of the `method` label.
pub const METHODS: &[&str] = &[
    STOP_PATH,
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
