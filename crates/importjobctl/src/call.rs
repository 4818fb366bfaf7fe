//! Reaching the service: the channel (plaintext, TLS or mTLS), the bearer
//! token, the deadline, and what a failed call means to the person who ran
//! the command.

use std::{net::IpAddr, path::Path, time::Duration};

use http::Uri;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use tonic::{
    Code, Status,
    metadata::MetadataValue,
    transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity},
};
use tonic_types::StatusExt;

use crate::{
    api::{
        AWS_ERROR_CODE_KEY, AWS_ERROR_MESSAGE_KEY, CSV_INVALID, SERVICE_DOMAIN,
        import_job_service_client::ImportJobServiceClient,
    },
    args::Global,
};

/// Environment variable that may hold the bearer token itself.
pub const TOKEN_ENV: &str = "IMPORTJOBCTL_TOKEN";

/// Why the command failed, and so its exit code.
#[derive(Debug)]
pub enum CommandError {
    /// A flag's value the command cannot work with, found out after parsing
    /// (exit 252): a CSV file that cannot be read.
    Input(String),
    /// A setting the command cannot work with (exit 253).
    Configuration(String),
    /// The service answered with an error (exit 254); for a CSV file that
    /// failed the service's check, its problems, each `line 3, column
    /// email: ...`.
    Service {
        code: String,
        message: String,
        problems: Vec<String>,
    },
    /// The service could not be reached or did not answer in time (exit 255).
    Transport(String),
}

/// What every call to the service carries (the bearer token, the deadline),
/// and how a failed one reads.
pub struct Calls {
    endpoint: Uri,
    token: Option<MetadataValue<tonic::metadata::Ascii>>,
    read_timeout: Option<Duration>,
}

/// Connects to the service at `endpoint`.
pub async fn connect(
    global: &Global,
    endpoint: &Uri,
) -> Result<(ImportJobServiceClient<Channel>, Calls), CommandError> {
    let token = bearer_token(global, endpoint)?;
    let channel = channel(global, endpoint)?
        .connect()
        .await
        .map_err(|error| unreachable(endpoint, &error))?;
    let calls = Calls {
        endpoint: endpoint.clone(),
        token,
        read_timeout: (global.cli_read_timeout > 0)
            .then(|| Duration::from_secs(global.cli_read_timeout)),
    };
    Ok((ImportJobServiceClient::new(channel), calls))
}

impl Calls {
    /// `message` as a call: with the bearer token, within the read timeout.
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut call = tonic::Request::new(message);
        if let Some(token) = &self.token {
            call.metadata_mut().insert("authorization", token.clone());
        }
        if let Some(timeout) = self.read_timeout {
            call.set_timeout(timeout);
        }
        call
    }

    /// `message` as a call that lasts as long as its job runs or its file
    /// takes to send: with the bearer token, and no deadline.
    pub fn long_request<T>(&self, message: T) -> tonic::Request<T> {
        let mut call = tonic::Request::new(message);
        if let Some(token) = &self.token {
            call.metadata_mut().insert("authorization", token.clone());
        }
        call
    }

    /// What a failed call means to the person who ran the command.
    pub fn failure(&self, status: &Status) -> CommandError {
        failure(&self.endpoint, status)
    }
}

fn channel(global: &Global, endpoint: &Uri) -> Result<Endpoint, CommandError> {
    let mut channel = Channel::builder(endpoint.clone());
    if global.cli_connect_timeout > 0 {
        channel = channel.connect_timeout(Duration::from_secs(global.cli_connect_timeout));
    }
    let tls_flags = global.ca_bundle.is_some()
        || global.client_cert.is_some()
        || global.tls_server_name.is_some();
    if endpoint.scheme_str() != Some("https") {
        if tls_flags {
            return Err(CommandError::Configuration(
                "--ca-bundle, --client-cert and --tls-server-name need an https:// endpoint"
                    .to_owned(),
            ));
        }
        return Ok(channel);
    }
    let mut tls = ClientTlsConfig::new();
    tls = match &global.ca_bundle {
        Some(path) => tls.ca_certificate(Certificate::from_pem(certificates(path, "--ca-bundle")?)),
        None => tls.with_native_roots(),
    };
    if let Some(name) = &global.tls_server_name {
        tls = tls.domain_name(name.clone());
    }
    if let (Some(cert), Some(key)) = (&global.client_cert, &global.client_key) {
        let key_pem = read(key, "--client-key")?;
        if PrivateKeyDer::from_pem_slice(&key_pem).is_err() {
            return Err(CommandError::Configuration(format!(
                "--client-key {}: no PEM private key in it",
                key.display()
            )));
        }
        tls = tls.identity(Identity::from_pem(
            certificates(cert, "--client-cert")?,
            key_pem,
        ));
    }
    channel
        .tls_config(tls)
        .map_err(|error| CommandError::Configuration(format!("cannot set up TLS: {error}")))
}

/// A PEM file that holds at least one certificate, checked here so that a
/// wrong file is a configuration error rather than a failed handshake.
fn certificates(path: &Path, option: &str) -> Result<Vec<u8>, CommandError> {
    let pem = read(path, option)?;
    match CertificateDer::pem_slice_iter(&pem).next() {
        Some(Ok(_)) => Ok(pem),
        _ => Err(CommandError::Configuration(format!(
            "{option} {}: no PEM certificate in it",
            path.display()
        ))),
    }
}

/// The `authorization` value from --token-file, else from the environment.
/// It goes only over TLS or to this machine: over plaintext to another
/// host, anyone on the path could replay it.
fn bearer_token(
    global: &Global,
    endpoint: &Uri,
) -> Result<Option<MetadataValue<tonic::metadata::Ascii>>, CommandError> {
    let token = match &global.token_file {
        Some(path) => String::from_utf8(read(path, "--token-file")?).map_err(|_| {
            CommandError::Configuration(format!("--token-file {}: not UTF-8 text", path.display()))
        })?,
        None => match std::env::var(TOKEN_ENV) {
            Ok(token) => token,
            Err(_) => return Ok(None),
        },
    };
    let token = token.trim();
    if token.is_empty() {
        return Err(CommandError::Configuration(
            "the bearer token is empty".to_owned(),
        ));
    }
    if endpoint.scheme_str() != Some("https") && !is_loopback(endpoint) {
        return Err(CommandError::Configuration(format!(
            "refusing to send the bearer token in plaintext to {endpoint}: use an https:// endpoint"
        )));
    }
    let mut value = MetadataValue::try_from(format!("Bearer {token}")).map_err(|_| {
        CommandError::Configuration("the bearer token holds characters a header cannot".to_owned())
    })?;
    value.set_sensitive(true);
    Ok(Some(value))
}

fn is_loopback(endpoint: &Uri) -> bool {
    match endpoint
        .host()
        .map(|host| host.trim_start_matches('[').trim_end_matches(']'))
    {
        Some("localhost") => true,
        Some(host) => host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

fn read(path: &Path, option: &str) -> Result<Vec<u8>, CommandError> {
    std::fs::read(path).map_err(|error| {
        CommandError::Configuration(format!("{option} {}: {error}", path.display()))
    })
}

/// The AWS CLI's words for a connection that failed: a TLS failure names
/// its cause, anything else only the endpoint.
fn unreachable(endpoint: &Uri, error: &(dyn std::error::Error + 'static)) -> CommandError {
    let mut source = Some(error);
    while let Some(error) = source {
        // tokio-rustls wraps its errors in io::Error, whose source() skips
        // the wrapped error itself.
        let inner = error
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            .map_or(error, |inner| inner as &(dyn std::error::Error + 'static));
        if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
            return CommandError::Transport(format!("SSL validation failed for {endpoint} {tls}"));
        }
        source = error.source();
    }
    CommandError::Transport(format!(
        "Could not connect to the endpoint URL: \"{endpoint}\""
    ))
}

/// What a failed call means. A status tonic made up on this side (no
/// connection, no answer in time) is a transport failure, and so is the
/// service saying the caller's deadline passed: the AWS CLI's read timeout.
/// Any other status the service sent is an error, named as AWS names it
/// where the service says (its `ErrorInfo` carries the AWS error code and,
/// for requests it rejected as Cognito would, Cognito's message), else by
/// the service's reason.
fn failure(endpoint: &Uri, status: &Status) -> CommandError {
    let read_timeout =
        || CommandError::Transport(format!("Read timeout on endpoint URL: \"{endpoint}\""));
    if let Some(source) = std::error::Error::source(status) {
        return match status.code() {
            Code::Cancelled | Code::DeadlineExceeded => read_timeout(),
            _ => unreachable(endpoint, source),
        };
    }
    let details = status.get_error_details();
    let info = details.error_info();
    if info.is_some_and(|info| info.domain == SERVICE_DOMAIN && info.reason == "DEADLINE_EXCEEDED")
    {
        return read_timeout();
    }
    let aws = |key: &str| {
        info.and_then(|info| info.metadata.get(key))
            .filter(|value| !value.is_empty())
            .cloned()
    };
    let code = aws(AWS_ERROR_CODE_KEY)
        .or_else(|| info.map(|info| info.reason.clone()))
        .unwrap_or_else(|| format!("{:?}", status.code()));
    let message = aws(AWS_ERROR_MESSAGE_KEY).unwrap_or_else(|| status.message().to_owned());
    let csv_invalid = info.is_some_and(|info| info.reason == CSV_INVALID);
    let problems = match details.bad_request() {
        Some(bad) if csv_invalid => bad
            .field_violations
            .iter()
            .map(|problem| format!("{}: {}", problem.field, problem.description))
            .collect(),
        _ => Vec::new(),
    };
    CommandError::Service {
        code,
        message,
        problems,
    }
}
