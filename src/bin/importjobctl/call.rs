//! Reaching the service: the channel (plaintext, TLS or mTLS), the bearer
//! token, the deadline, and what a failed call means to the person who ran
//! the command.

use std::{path::Path, time::Duration};

use import_job_service::{
    error::{AWS_ERROR_CODE_KEY, AWS_ERROR_MESSAGE_KEY},
    proto::{
        StopUserImportJobRequest, UserImportJob, import_job_service_client::ImportJobServiceClient,
    },
};
use tonic::{
    Code, Status,
    metadata::MetadataValue,
    transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity},
};
use tonic_types::StatusExt;

use crate::{args::Global, input::Request};

/// Environment variable that may hold the bearer token itself.
pub const TOKEN_ENV: &str = "IMPORTJOBCTL_TOKEN";

/// Why the command failed, and so its exit code.
#[derive(Debug)]
pub enum Failure {
    /// A setting the command cannot work with (exit 253).
    Configuration(String),
    /// The service answered with an error (exit 254).
    Service { code: String, message: String },
    /// The service could not be reached or did not answer in time (exit 255).
    Transport(String),
}

/// Stops the job through the service.
pub async fn stop_user_import_job(
    global: &Global,
    request: Request,
) -> Result<UserImportJob, Failure> {
    let endpoint = endpoint(global)?;
    let token = bearer_token(global)?;
    let channel = endpoint.connect().await.map_err(|_| unreachable(global))?;
    let mut call = tonic::Request::new(StopUserImportJobRequest {
        user_pool_id: request.user_pool_id,
        job_id: request.job_id,
    });
    if let Some(token) = token {
        call.metadata_mut().insert("authorization", token);
    }
    if global.cli_read_timeout > 0 {
        call.set_timeout(Duration::from_secs(global.cli_read_timeout));
    }
    match ImportJobServiceClient::new(channel)
        .stop_user_import_job(call)
        .await
    {
        Ok(response) => response
            .into_inner()
            .user_import_job
            .ok_or_else(|| Failure::Transport("the service answered without a job".to_owned())),
        Err(status) => Err(failure(global, &status)),
    }
}

fn endpoint(global: &Global) -> Result<Endpoint, Failure> {
    let mut endpoint = Channel::builder(global.endpoint.clone());
    if global.cli_connect_timeout > 0 {
        endpoint = endpoint.connect_timeout(Duration::from_secs(global.cli_connect_timeout));
    }
    let tls_flags = global.ca_bundle.is_some()
        || global.client_cert.is_some()
        || global.tls_server_name.is_some();
    if global.endpoint.scheme_str() != Some("https") {
        if tls_flags {
            return Err(Failure::Configuration(
                "--ca-bundle, --client-cert and --tls-server-name need an https:// endpoint"
                    .to_owned(),
            ));
        }
        return Ok(endpoint);
    }
    let mut tls = ClientTlsConfig::new();
    tls = match &global.ca_bundle {
        Some(path) => tls.ca_certificate(Certificate::from_pem(read(path, "--ca-bundle")?)),
        None => tls.with_native_roots(),
    };
    if let Some(name) = &global.tls_server_name {
        tls = tls.domain_name(name.clone());
    }
    if let (Some(cert), Some(key)) = (&global.client_cert, &global.client_key) {
        tls = tls.identity(Identity::from_pem(
            read(cert, "--client-cert")?,
            read(key, "--client-key")?,
        ));
    }
    endpoint
        .tls_config(tls)
        .map_err(|error| Failure::Configuration(format!("cannot set up TLS: {error}")))
}

/// The `authorization` value from --token-file, else from the environment.
fn bearer_token(global: &Global) -> Result<Option<MetadataValue<tonic::metadata::Ascii>>, Failure> {
    let token = match &global.token_file {
        Some(path) => String::from_utf8(read(path, "--token-file")?).map_err(|_| {
            Failure::Configuration(format!("--token-file {}: not UTF-8 text", path.display()))
        })?,
        None => match std::env::var(TOKEN_ENV) {
            Ok(token) => token,
            Err(_) => return Ok(None),
        },
    };
    let token = token.trim();
    if token.is_empty() {
        return Err(Failure::Configuration(
            "the bearer token is empty".to_owned(),
        ));
    }
    let mut value = MetadataValue::try_from(format!("Bearer {token}")).map_err(|_| {
        Failure::Configuration("the bearer token holds characters a header cannot".to_owned())
    })?;
    value.set_sensitive(true);
    Ok(Some(value))
}

fn read(path: &Path, option: &str) -> Result<Vec<u8>, Failure> {
    std::fs::read(path)
        .map_err(|error| Failure::Configuration(format!("{option} {}: {error}", path.display())))
}

fn unreachable(global: &Global) -> Failure {
    Failure::Transport(format!(
        "Could not connect to the endpoint URL: \"{}\"",
        global.endpoint
    ))
}

/// What a failed call means. A status tonic made up on this side (no
/// connection, no answer in time) is a transport failure; one the service
/// sent is an error, named as AWS names it where the service says (its
/// `ErrorInfo` carries the AWS error code and, for requests it rejected
/// as Cognito would, Cognito's message), else by the service's reason.
fn failure(global: &Global, status: &Status) -> Failure {
    if std::error::Error::source(status).is_some() {
        return match status.code() {
            Code::Cancelled | Code::DeadlineExceeded => Failure::Transport(format!(
                "Read timeout on endpoint URL: \"{}\"",
                global.endpoint
            )),
            Code::Unavailable => unreachable(global),
            _ => Failure::Transport(status.message().to_owned()),
        };
    }
    let details = status.get_error_details();
    let info = details.error_info();
    let aws = |key: &str| {
        info.and_then(|info| info.metadata.get(key))
            .filter(|value| !value.is_empty())
            .cloned()
    };
    let code = aws(AWS_ERROR_CODE_KEY)
        .or_else(|| info.map(|info| info.reason.clone()))
        .unwrap_or_else(|| format!("{:?}", status.code()));
    let message = aws(AWS_ERROR_MESSAGE_KEY).unwrap_or_else(|| status.message().to_owned());
    Failure::Service { code, message }
}
