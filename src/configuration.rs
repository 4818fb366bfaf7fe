//! Command-line flags, each with an environment fallback, parsed and checked
//! before anything binds or connects: a bad value is a clear error that names
//! the flag, and the process exits with code 2 (clap's usage error).

use std::{net::SocketAddr, path::PathBuf, str::FromStr, time::Duration};

use clap::{ArgGroup, Args, Parser, ValueEnum};
use jsonwebtoken::Algorithm;
use tracing_subscriber::EnvFilter;

/// gRPC service that stops Amazon Cognito user import jobs on behalf of
/// internal callers.
///
/// It forwards ImportJobService.StopUserImportJob to Cognito with the AWS SDK's
/// default credentials chain, sending each call to the region of its user
/// pool. With --local-cognito it runs against an embedded Cognito emulator and
/// needs no AWS account.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "import-job-service",
    version,
    about,
    long_about,
    args_override_self = true
)]
pub struct Settings {
    /// Address the gRPC server listens on.
    #[arg(
        long,
        env = "IMPORT_JOB_SERVICE_LISTEN",
        default_value = "0.0.0.0:50051"
    )]
    pub listen: SocketAddr,

    /// Run against an embedded Cognito emulator on a loopback port, seeded
    /// with a demo user pool, instead of AWS. For trying the service out and
    /// for tests: nothing leaves the machine.
    #[arg(long, env = "IMPORT_JOB_SERVICE_LOCAL_COGNITO")]
    pub local_cognito: bool,

    /// How long in-flight calls may take to finish after SIGTERM or SIGINT
    /// before the process exits anyway.
    #[arg(long, env = "IMPORT_JOB_SERVICE_SHUTDOWN_GRACE", default_value = "30s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,

    /// Serve Prometheus metrics (`GET /metrics`) on this address, apart from
    /// the gRPC listener so that only the scraper reaches it. Off when unset.
    #[arg(long, env = "IMPORT_JOB_SERVICE_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Also serve `grpc.health.v1` alone on this address, in plaintext and
    /// to anyone who reaches it: for probes that speak no TLS (the
    /// kubelet's gRPC probes), when the gRPC listener serves TLS. It reports
    /// what the gRPC listener's health service does, NOT_SERVING from the
    /// moment the service drains. Off when unset.
    #[arg(long, env = "IMPORT_JOB_SERVICE_HEALTH_LISTEN")]
    pub health_listen: Option<SocketAddr>,

    #[command(flatten)]
    pub auth: AuthSettings,

    #[command(flatten)]
    pub limits: LimitSettings,

    #[command(flatten)]
    pub aws: AwsSettings,

    #[command(flatten)]
    pub log: LogSettings,

    #[command(flatten)]
    pub traces: TraceSettings,
}

/// Who may call: TLS, client certificates, bearer tokens and the policy.
#[derive(Debug, Clone, Args)]
#[command(group(
    ArgGroup::new("authorization")
        .required(true)
        .args(["auth_policy", "insecure_allow_unauthenticated"])
))]
pub struct AuthSettings {
    /// Authorization policy file: gRPC's authorization policy JSON (gRFC A43)
    /// with `request.user_pools`. Calls it does not allow are denied. Reloaded
    /// on SIGHUP and when it changes.
    #[arg(long, env = "IMPORT_JOB_SERVICE_AUTH_POLICY", value_name = "FILE")]
    pub auth_policy: Option<PathBuf>,

    /// Serve without a policy, allowing every call, authenticated or not. For
    /// local development only; logged as a warning at start.
    #[arg(
        long,
        env = "IMPORT_JOB_SERVICE_INSECURE_ALLOW_UNAUTHENTICATED",
        conflicts_with = "auth_policy"
    )]
    pub insecure_allow_unauthenticated: bool,

    /// Serve TLS with this certificate chain (PEM). Reloaded, with the key,
    /// on SIGHUP and when it changes: new connections get the new
    /// certificate, open ones keep theirs.
    #[arg(
        long,
        env = "IMPORT_JOB_SERVICE_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,

    /// The TLS certificate's private key (PEM).
    #[arg(
        long,
        env = "IMPORT_JOB_SERVICE_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,

    /// Ask clients for certificates and trust those issued by these CAs
    /// (PEM): a client is identified by its SPIFFE ID (its one URI SAN), else
    /// its first DNS SAN. Reloaded on SIGHUP and when it changes, like
    /// --tls-cert and --tls-key. Needs --tls-cert.
    #[arg(
        long,
        env = "IMPORT_JOB_SERVICE_CLIENT_CA",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub client_ca: Option<PathBuf>,

    /// Also identify a client certificate that has no URI or DNS SAN by its
    /// subject's common name (CN). Off by default: a CA's name constraints
    /// bind SANs, not the CN, so it is never done for a certificate whose
    /// issuer chain carries name constraints. Needs --client-ca.
    #[arg(
        long,
        env = "IMPORT_JOB_SERVICE_CLIENT_CN_IDENTITY",
        requires = "client_ca"
    )]
    pub client_cn_identity: bool,

    /// Accept `authorization: Bearer <JWT>` tokens signed by the keys of this
    /// JWKS file. Reloaded on SIGHUP and when it changes. Needs --jwt-issuer
    /// and --jwt-audience.
    #[arg(long, env = "IMPORT_JOB_SERVICE_JWKS", value_name = "FILE", requires_all = ["jwt_issuer", "jwt_audience"])]
    pub jwks: Option<PathBuf>,

    /// The `iss` tokens must carry.
    #[arg(long, env = "IMPORT_JOB_SERVICE_JWT_ISSUER", requires = "jwks")]
    pub jwt_issuer: Option<String>,

    /// The `aud` tokens must carry.
    #[arg(long, env = "IMPORT_JOB_SERVICE_JWT_AUDIENCE", requires = "jwks")]
    pub jwt_audience: Option<String>,

    /// The signature algorithms tokens may use, comma-separated, from RS256,
    /// ES256 and EdDSA. `none` and any other algorithm are always refused.
    #[arg(long, env = "IMPORT_JOB_SERVICE_JWT_ALGORITHMS", default_value = "RS256,ES256,EdDSA", value_parser = parse_algorithms)]
    pub jwt_algorithms: Algorithms,

    /// The claim that names the caller in the policy.
    #[arg(
        long,
        env = "IMPORT_JOB_SERVICE_JWT_IDENTITY_CLAIM",
        default_value = "sub"
    )]
    pub jwt_identity_claim: String,

    /// Clock skew allowed when checking `exp` and `nbf`.
    #[arg(long, env = "IMPORT_JOB_SERVICE_JWT_LEEWAY", default_value = "30s", value_parser = parse_duration)]
    pub jwt_leeway: Duration,

    /// How often the policy, JWKS and TLS files are checked for changes.
    #[arg(long, env = "IMPORT_JOB_SERVICE_AUTH_RELOAD_INTERVAL", default_value = "5s", value_parser = parse_duration)]
    pub auth_reload_interval: Duration,
}

/// A list of JWT signature algorithms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Algorithms(pub Vec<Algorithm>);

fn parse_algorithms(value: &str) -> Result<Algorithms, String> {
    crate::auth::jwt::parse_algorithms(value).map(Algorithms)
}

/// What one caller, or all of them, may ask of the service at once. Calls
/// over a limit are answered at once, never queued.
#[derive(Debug, Clone, Args)]
pub struct LimitSettings {
    /// Largest request message, in bytes: larger ones are answered
    /// RESOURCE_EXHAUSTED unread. Two ids of at most 55 characters need
    /// about 120; the largest valid CreateUserImportJob (a role ARN of 2048
    /// characters) about 2,300.
    #[arg(long, env = "IMPORT_JOB_SERVICE_MAX_REQUEST_BYTES", default_value_t = 4096,
          value_parser = clap::value_parser!(u32).range(256..=1_048_576))]
    pub max_request_bytes: u32,

    /// Calls in flight, all callers together (health checks aside); more are
    /// answered UNAVAILABLE.
    #[arg(long, env = "IMPORT_JOB_SERVICE_MAX_CALLS_IN_FLIGHT", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_calls_in_flight: u32,

    /// Calls in flight from one authenticated caller (unauthenticated
    /// callers share one allowance); more are answered RESOURCE_EXHAUSTED
    /// with RetryInfo.
    #[arg(long, env = "IMPORT_JOB_SERVICE_MAX_CALLS_IN_FLIGHT_PER_CALLER", default_value_t = 32,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_calls_in_flight_per_caller: u32,

    /// Uploads in progress at once (UploadUserImportCsv), all callers
    /// together: each holds an S3 connection and up to about 14 MB of
    /// usernames' hashes while it checks a file. More are refused
    /// RESOURCE_EXHAUSTED (UPLOADS_OVER_LIMIT) before a byte is read.
    #[arg(long, env = "IMPORT_JOB_SERVICE_MAX_UPLOADS_IN_FLIGHT", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_uploads_in_flight: u32,

    /// Jobs WatchUserImportJob follows at once, however many callers watch
    /// each (they share one poll): a watch of another job is refused
    /// RESOURCE_EXHAUSTED (WATCHES_OVER_LIMIT).
    #[arg(long, env = "IMPORT_JOB_SERVICE_MAX_WATCHED_JOBS", default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_watched_jobs: u32,

    /// How soon a watched job is described again after a change; each
    /// answer that brings none waits half as long again, up to
    /// --watch-poll-max-interval.
    #[arg(long, env = "IMPORT_JOB_SERVICE_WATCH_POLL_INTERVAL", default_value = "1s", value_parser = parse_positive_short_duration)]
    pub watch_poll_interval: Duration,

    /// The longest a watched job goes without being described.
    #[arg(long, env = "IMPORT_JOB_SERVICE_WATCH_POLL_MAX_INTERVAL", default_value = "10s", value_parser = parse_positive_short_duration)]
    pub watch_poll_max_interval: Duration,

    /// How long a StopUserImportJob request message may take to arrive
    /// whole, whatever the caller's deadline: a call whose body has not come
    /// by then is answered DEADLINE_EXCEEDED (REQUEST_BODY_TIMEOUT) and gives
    /// back its places under the limits.
    #[arg(long, env = "IMPORT_JOB_SERVICE_REQUEST_BODY_TIMEOUT", default_value = "5s", value_parser = parse_positive_short_duration)]
    pub request_body_timeout: Duration,

    /// How long a new connection may take to open its session (the TLS
    /// handshake, then the HTTP/2 preface) before it is closed.
    #[arg(long, env = "IMPORT_JOB_SERVICE_HANDSHAKE_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub handshake_timeout: Duration,

    /// Concurrent HTTP/2 streams per connection.
    #[arg(long, env = "IMPORT_JOB_SERVICE_HTTP2_MAX_CONCURRENT_STREAMS", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub http2_max_concurrent_streams: u32,

    /// Largest header list a request may send, in bytes.
    #[arg(long, env = "IMPORT_JOB_SERVICE_HTTP2_MAX_HEADER_LIST_BYTES", default_value_t = 16384,
          value_parser = clap::value_parser!(u32).range(1024..))]
    pub http2_max_header_list_bytes: u32,

    /// How often an HTTP/2 PING checks that a connection's peer is alive.
    #[arg(long, env = "IMPORT_JOB_SERVICE_HTTP2_KEEPALIVE_INTERVAL", default_value = "30s", value_parser = parse_duration)]
    pub http2_keepalive_interval: Duration,

    /// How long a PING may go unanswered before the connection is closed.
    #[arg(long, env = "IMPORT_JOB_SERVICE_HTTP2_KEEPALIVE_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub http2_keepalive_timeout: Duration,

    /// Connections older than this are asked to go away (GOAWAY), so that
    /// clients rebalance and idle connections do not live forever.
    #[arg(long, env = "IMPORT_JOB_SERVICE_MAX_CONNECTION_AGE", default_value = "30m", value_parser = parse_connection_age)]
    pub max_connection_age: Duration,

    /// How long calls on a connection past its age may take to finish.
    #[arg(long, env = "IMPORT_JOB_SERVICE_MAX_CONNECTION_AGE_GRACE", default_value = "30s", value_parser = parse_connection_grace)]
    pub max_connection_age_grace: Duration,

    /// Calls that change import jobs (Create, Start, Stop) sent to Cognito
    /// per second, per region: the service never sends more, so it cannot
    /// throttle the account's other users of Cognito.
    #[arg(long, env = "IMPORT_JOB_SERVICE_COGNITO_RATE", default_value_t = 10.0,
          value_parser = parse_rate)]
    pub cognito_rate: f64,

    /// Calls that change import jobs a region may receive at once after a
    /// quiet spell.
    #[arg(long, env = "IMPORT_JOB_SERVICE_COGNITO_BURST", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub cognito_burst: u32,

    /// Calls that read import jobs (Describe, List, GetCsvHeader) sent to
    /// Cognito per second, per region. Cognito counts them in another quota
    /// than the calls that change jobs, so they have a rate of their own:
    /// by default --cognito-rate's, so that a rate set before reads existed
    /// still bounds them.
    #[arg(long, env = "IMPORT_JOB_SERVICE_COGNITO_READ_RATE", value_parser = parse_rate)]
    pub cognito_read_rate: Option<f64>,

    /// Calls that read import jobs a region may receive at once after a
    /// quiet spell; by default --cognito-burst.
    #[arg(long, env = "IMPORT_JOB_SERVICE_COGNITO_READ_BURST",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub cognito_read_burst: Option<u32>,

    /// The longest a call waits for its turn under its rate (--cognito-rate
    /// or --cognito-read-rate), whatever its deadline: a call whose turn is
    /// further off is refused at once
    /// (RESOURCE_EXHAUSTED, COGNITO_RATE_LIMITED, RetryInfo).
    #[arg(long, env = "IMPORT_JOB_SERVICE_COGNITO_MAX_WAIT", default_value = "250ms", value_parser = parse_short_duration)]
    pub cognito_max_wait: Duration,

    /// The least time a call to Cognito is expected to take, under the
    /// region's recent latencies (their 90th percentile): a call waits for a
    /// turn only if the turn leaves it that long before its deadline.
    #[arg(long, env = "IMPORT_JOB_SERVICE_COGNITO_LATENCY_FLOOR", default_value = "50ms", value_parser = parse_short_duration)]
    pub cognito_latency_floor: Duration,

    /// Share the Cognito rates with every replica through this Redis
    /// (`redis://[[user]:password@]host[:port][/db]`, or `rediss://` for
    /// TLS): their buckets are one GCRA per region and quota in Redis, so
    /// the replicas together send at most --cognito-rate and
    /// --cognito-burst. Replicas that call the same AWS account must share
    /// one Redis database, and replicas that call different accounts must
    /// not. Without it, each replica has its own buckets.
    #[arg(long, env = "IMPORT_JOB_SERVICE_COGNITO_RATE_REDIS", value_name = "URL",
          value_parser = RedisUrlParser, hide_env_values = true)]
    pub cognito_rate_redis: Option<RedisUrl>,

    /// The longest a call to Redis for turns may take: a slower or failed
    /// one sends the replica to its fallback bucket
    /// (--cognito-rate-fallback-share). Keep it well under
    /// --cognito-max-wait: no call waits longer than that for its turn,
    /// Redis or not.
    #[arg(long, env = "IMPORT_JOB_SERVICE_COGNITO_RATE_REDIS_TIMEOUT", default_value = "50ms",
          value_parser = parse_redis_timeout, requires = "cognito_rate_redis")]
    pub cognito_rate_redis_timeout: Duration,

    /// While Redis cannot be reached, the share of each rate and burst a
    /// replica takes on its own (at least one turn at once), from 0 (not
    /// included) to 1: with N replicas cut off from Redis, Cognito gets at
    /// most N times this share of the rate. 1/N keeps N replicas within it.
    #[arg(long, env = "IMPORT_JOB_SERVICE_COGNITO_RATE_FALLBACK_SHARE", default_value_t = 0.5,
          value_parser = parse_share, requires = "cognito_rate_redis")]
    pub cognito_rate_fallback_share: f64,
}

/// A rate of calls per second, from 0.0002 (one every 83 minutes) to a
/// million.
fn parse_rate(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(n) if (0.0002..=1_000_000.0).contains(&n) => Ok(n),
        _ => Err("expected a number of calls per second from 0.0002 to 1000000".to_owned()),
    }
}

/// A share of a rate: more than 0, at most 1.
fn parse_share(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(n) if n > 0.0 && n <= 1.0 => Ok(n),
        _ => Err("expected a number greater than 0 and at most 1, such as 0.5".to_owned()),
    }
}

/// A Redis round trip: more than nothing, at most a second (a call waits
/// for it).
fn parse_redis_timeout(value: &str) -> Result<Duration, String> {
    match parse_duration(value)? {
        duration if !duration.is_zero() && duration <= Duration::from_secs(1) => Ok(duration),
        _ => Err("expected a duration greater than 0s and at most 1s".to_owned()),
    }
}

/// A Redis URL whose password never shows: `Debug` and `Display` give it
/// as `***`, and a URL that fails to parse is not echoed.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl {
    url: String,
    redacted: String,
    /// The password as written in the URL and as sent to Redis.
    secrets: Vec<String>,
}

impl RedisUrl {
    /// Accepts `redis://` and `rediss://` URLs that the Redis client can
    /// connect with.
    pub fn parse(value: &str) -> Result<Self, String> {
        const EXPECTED: &str =
            "expected redis://[[user]:password@]host[:port][/db] or the same with rediss://";
        let mut url = redis::parse_redis_url(value).ok_or(EXPECTED)?;
        if !matches!(url.scheme(), "redis" | "rediss") || !url.has_host() {
            return Err(EXPECTED.to_owned());
        }
        let mut secrets: Vec<String> = url.password().map(str::to_owned).into_iter().collect();
        if !secrets.is_empty() {
            url.set_password(Some("***"))
                .expect("a URL with a host can have a password");
        }
        let redacted = url.to_string();
        let client = redis::Client::open(value).map_err(|e| format!("{e} ({redacted})"))?;
        secrets.extend(
            client
                .get_connection_info()
                .redis_settings()
                .password()
                .map(str::to_owned),
        );
        secrets.retain(|secret| !secret.is_empty());
        Ok(Self {
            url: value.to_owned(),
            redacted,
            secrets,
        })
    }

    /// `text` (an error from the client or from Redis) with the password
    /// replaced by `***`, should it appear.
    pub fn scrub(&self, text: &str) -> String {
        self.secrets
            .iter()
            .fold(text.to_owned(), |text, secret| text.replace(secret, "***"))
    }

    /// The URL itself, password and all: for the client only.
    pub fn expose(&self) -> &str {
        &self.url
    }
}

impl std::fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted)
    }
}

impl std::fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedisUrl({})", self.redacted)
    }
}

/// Parses `--cognito-rate-redis` without echoing a value that fails (clap's
/// own errors quote it, password and all).
#[derive(Clone)]
struct RedisUrlParser;

impl clap::builder::TypedValueParser for RedisUrlParser {
    type Value = RedisUrl;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<RedisUrl, clap::Error> {
        let parsed = match value.to_str() {
            Some(value) => RedisUrl::parse(value),
            None => Err("expected UTF-8".to_owned()),
        };
        parsed.map_err(|reason| {
            let arg = arg.map_or_else(|| "--cognito-rate-redis".to_owned(), ToString::to_string);
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid value for '{arg}': {reason}\n"),
            )
            .with_cmd(cmd)
        })
    }
}

/// A wait of more than nothing (a body timeout of 0 would refuse every
/// call; a poll interval of 0 would spin) and at most a minute.
fn parse_positive_short_duration(value: &str) -> Result<Duration, String> {
    match parse_short_duration(value)? {
        Duration::ZERO => Err("expected a duration greater than 0s".to_owned()),
        duration => Ok(duration),
    }
}

/// The audit summary window: at most an hour, so that a flood of refusals
/// is told of while it matters.
fn parse_audit_window(value: &str) -> Result<Duration, String> {
    match parse_duration(value)? {
        duration if duration <= Duration::from_secs(3600) => Ok(duration),
        _ => Err("expected a duration of at most 1h".to_owned()),
    }
}

/// A duration of at most a minute, for waits a call may spend.
fn parse_short_duration(value: &str) -> Result<Duration, String> {
    match parse_duration(value)? {
        duration if duration <= Duration::from_secs(60) => Ok(duration),
        _ => Err("expected a duration of at most 60s".to_owned()),
    }
}

/// How the service calls Cognito.
#[derive(Debug, Clone, Args)]
pub struct AwsSettings {
    /// Send every call to this AWS region instead of the region a user pool id
    /// begins with (`us-east-1` in `us-east-1_AbC123`).
    #[arg(long, env = "IMPORT_JOB_SERVICE_AWS_REGION", value_parser = crate::regions::parse_region)]
    pub aws_region: Option<String>,

    /// Regions, comma-separated, that a user pool id may begin with beside
    /// the AWS regions this version knows (for a region AWS opened since). A
    /// pool id that begins with any other name is answered NOT_FOUND
    /// (USER_POOL_REGION_UNKNOWN) without calling Cognito.
    #[arg(long, env = "IMPORT_JOB_SERVICE_AWS_EXTRA_REGIONS", value_delimiter = ',',
          value_parser = crate::regions::parse_region)]
    pub aws_extra_regions: Vec<String>,

    /// Longest time one call to Cognito may take, retries included. The
    /// caller's gRPC deadline bounds it too, whichever is shorter.
    #[arg(long, env = "IMPORT_JOB_SERVICE_AWS_OPERATION_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub aws_operation_timeout: Duration,

    /// Longest time one attempt of a call to Cognito may take.
    #[arg(long, env = "IMPORT_JOB_SERVICE_AWS_ATTEMPT_TIMEOUT", default_value = "3s", value_parser = parse_duration)]
    pub aws_attempt_timeout: Duration,

    /// Attempts per call to Cognito, the first included (the SDK's standard
    /// retry mode: throttling, 5xx and transport errors are retried with
    /// jittered exponential backoff).
    #[arg(long, env = "IMPORT_JOB_SERVICE_AWS_MAX_ATTEMPTS", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=10))]
    pub aws_max_attempts: u32,

    /// Upper bound of the first retry's random backoff; later retries double it.
    #[arg(long, env = "IMPORT_JOB_SERVICE_AWS_INITIAL_BACKOFF", default_value = "1s", value_parser = parse_duration)]
    pub aws_initial_backoff: Duration,
}

/// Where and how the service logs.
#[derive(Debug, Clone, Args)]
pub struct LogSettings {
    /// Log format: json (one object per line), text, or auto (text on a
    /// terminal, json otherwise).
    #[arg(long, env = "IMPORT_JOB_SERVICE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Auto)]
    pub log_format: LogFormat,

    /// Log level or filter directives, for example `info` or
    /// `info,import_job_service=debug`.
    #[arg(long, env = "IMPORT_JOB_SERVICE_LOG_LEVEL", default_value = "info", value_parser = parse_log_filter)]
    pub log_level: String,

    /// Refusals identical to one already written in this window (same
    /// caller or peer address, method, user pool and reason) are counted,
    /// not written, and one line per kind gives the count when the window
    /// closes. `0s` writes every refusal.
    #[arg(long, env = "IMPORT_JOB_SERVICE_AUDIT_SUMMARY_WINDOW", default_value = "10s", value_parser = parse_audit_window)]
    pub audit_summary_window: Duration,
}

/// Where the service sends its traces, and which calls it traces.
#[derive(Debug, Clone, Args)]
pub struct TraceSettings {
    /// Send traces to this OpenTelemetry collector over OTLP/gRPC
    /// (`http://collector:4317`, or `https://` checked against the system's
    /// CA roots): a span per ImportJobService call and one per call to
    /// Cognito, in the caller's trace when it sends `traceparent`. Off when
    /// unset.
    #[arg(long, env = "IMPORT_JOB_SERVICE_OTLP_ENDPOINT", value_name = "URL", value_parser = parse_otlp_endpoint)]
    pub otlp_endpoint: Option<String>,

    /// The share of calls traced, from 0 to 1, among those whose caller sends
    /// no `traceparent`. A call whose caller does is traced if and only if
    /// the caller's trace is sampled. Needs --otlp-endpoint.
    #[arg(long, env = "IMPORT_JOB_SERVICE_OTLP_SAMPLING_RATIO", value_name = "RATIO",
          default_value_t = 1.0, value_parser = parse_ratio, requires = "otlp_endpoint")]
    pub otlp_sampling_ratio: f64,

    /// How often finished spans are sent to the collector, in one batch.
    /// Needs --otlp-endpoint.
    #[arg(long, env = "IMPORT_JOB_SERVICE_OTLP_EXPORT_INTERVAL", default_value = "5s",
          value_parser = parse_positive_short_duration, requires = "otlp_endpoint")]
    pub otlp_export_interval: Duration,
}

/// A collector's OTLP/gRPC endpoint: http or https, a host, no path, query
/// or credentials (it is logged when export fails; a collector that wants
/// credentials gets them from `OTEL_EXPORTER_OTLP_HEADERS`).
fn parse_otlp_endpoint(value: &str) -> Result<String, String> {
    const EXPECTED: &str =
        "expected the URL of an OTLP/gRPC collector, such as http://otel-collector:4317";
    let uri: http::Uri = value.parse().map_err(|e| format!("{e} ({EXPECTED})"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(format!("the scheme must be http or https ({EXPECTED})"));
    }
    let Some(authority) = uri.authority() else {
        return Err(format!("no host ({EXPECTED})"));
    };
    if authority.host().is_empty() || authority.as_str().contains('@') {
        return Err(format!(
            "a host without credentials is expected ({EXPECTED})"
        ));
    }
    if uri.path() != "/" || uri.query().is_some() {
        return Err(format!("no path or query is expected ({EXPECTED})"));
    }
    Ok(value.trim_end_matches('/').to_owned())
}

/// A share, from 0 to 1.
fn parse_ratio(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(ratio) if (0.0..=1.0).contains(&ratio) => Ok(ratio),
        _ => Err("expected a number from 0 to 1, such as 0.1".to_owned()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Auto,
    Json,
    Text,
}

/// Durations such as `250ms`, `10s` or `2m`.
pub(crate) fn parse_duration(value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value)
        .map_err(|e| format!("{e} (expected a duration such as 250ms, 10s or 2m)"))
}

/// A connection's age: not so short that clients reconnect in a loop, nor so
/// long that it stands for "never" (a client that needs that is better off
/// with the default).
fn parse_connection_age(value: &str) -> Result<Duration, String> {
    let age = parse_duration(value)?;
    if !(Duration::from_millis(100)..=LONGEST_CONNECTION_TIMES).contains(&age) {
        return Err("must be between 100ms and 365d".to_owned());
    }
    Ok(age)
}

fn parse_connection_grace(value: &str) -> Result<Duration, String> {
    let grace = parse_duration(value)?;
    if grace > LONGEST_CONNECTION_TIMES {
        return Err("must be at most 365d".to_owned());
    }
    Ok(grace)
}

const LONGEST_CONNECTION_TIMES: Duration = Duration::from_secs(365 * 24 * 3600);

fn parse_log_filter(value: &str) -> Result<String, String> {
    EnvFilter::from_str(value)
        .map(|_| value.to_owned())
        .map_err(|e| {
            format!("{e} (expected a level such as info or directives such as info,h2=warn)")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn flags_are_consistent() {
        Settings::command().debug_assert();
    }

    #[test]
    fn connection_ages_are_bounded() {
        let parse = |age: &str| {
            Settings::try_parse_from([
                "import-job-service",
                "--insecure-allow-unauthenticated",
                "--max-connection-age",
                age,
            ])
        };
        for wrong in ["0s", "50ms", "400d"] {
            let error = parse(wrong).unwrap_err().to_string();
            assert!(error.contains("--max-connection-age"), "{error}");
        }
        assert!(parse("100ms").is_ok());
        assert!(parse("365d").is_ok());
    }

    #[test]
    fn a_policy_or_the_insecure_flag_is_required() {
        let err = Settings::try_parse_from(["import-job-service"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let text = err.to_string();
        assert!(
            text.contains("--auth-policy") && text.contains("--insecure-allow-unauthenticated"),
            "{text}"
        );
        let both = [
            "import-job-service",
            "--auth-policy",
            "p.json",
            "--insecure-allow-unauthenticated",
        ];
        assert!(Settings::try_parse_from(both).is_err());
    }

    #[test]
    fn tls_and_jwt_flags_come_in_complete_sets() {
        let base = ["import-job-service", "--insecure-allow-unauthenticated"];
        for incomplete in [
            &["--tls-cert", "c.pem"][..],
            &["--client-ca", "ca.pem"],
            &["--jwks", "k.json", "--jwt-issuer", "i"],
        ] {
            let err = Settings::try_parse_from(base.iter().chain(incomplete)).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{incomplete:?}");
        }
    }

    #[test]
    fn trace_flags_are_checked_and_need_an_endpoint() {
        let parse = |flags: &[&str]| {
            let base = ["import-job-service", "--insecure-allow-unauthenticated"];
            Settings::try_parse_from(base.iter().chain(flags))
        };
        let off = parse(&[]).unwrap().traces;
        assert_eq!(off.otlp_endpoint, None);
        let on = parse(&["--otlp-endpoint", "http://collector:4317/"])
            .unwrap()
            .traces;
        assert_eq!(on.otlp_endpoint.as_deref(), Some("http://collector:4317"));
        assert_eq!(on.otlp_sampling_ratio, 1.0);
        assert_eq!(on.otlp_export_interval, Duration::from_secs(5));

        for endpoint in [
            "collector:4317",
            "ftp://collector:4317",
            "http://user:secret@collector:4317",
            "http://collector:4317/v1/traces",
            "http://collector:4317/?token=x",
            "http://:4317",
        ] {
            let err = parse(&["--otlp-endpoint", endpoint]).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{endpoint}");
            let text = err.to_string();
            assert!(text.contains("--otlp-endpoint"), "{endpoint}: {text}");
        }
        for ratio in ["1.5", "-0.1", "NaN", "half"] {
            let flag = format!("--otlp-sampling-ratio={ratio}");
            let err = parse(&["--otlp-endpoint", "http://c:4317", &flag]).unwrap_err();
            assert!(
                err.to_string().contains("--otlp-sampling-ratio"),
                "{ratio}: {err}"
            );
        }
        for alone in [
            &["--otlp-sampling-ratio", "0.5"][..],
            &["--otlp-export-interval", "1s"],
        ] {
            let err = parse(alone).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{alone:?}");
            assert!(
                err.to_string().contains("--otlp-endpoint"),
                "{alone:?}: {err}"
            );
        }
    }

    #[test]
    fn bad_values_name_their_flag() {
        for (flag, value) in [
            ("--listen", "nowhere"),
            ("--aws-max-attempts", "0"),
            ("--aws-operation-timeout", "soon"),
            ("--log-level", "info,=,"),
            ("--log-format", "xml"),
            ("--aws-region", "Moon Base"),
            ("--aws-extra-regions", "us-east-1,Moon Base"),
            ("--jwt-algorithms", "HS256"),
            ("--jwt-leeway", "a bit"),
            ("--max-request-bytes", "10"),
            ("--max-calls-in-flight", "0"),
            ("--cognito-rate", "0"),
            ("--cognito-rate", "NaN"),
            ("--cognito-rate", "1e-30"),
            ("--cognito-read-rate", "0"),
            ("--cognito-read-burst", "0"),
            ("--cognito-max-wait", "1000y"),
            ("--cognito-latency-floor", "2m"),
            ("--request-body-timeout", "0s"),
            ("--request-body-timeout", "1h"),
            ("--metrics-listen", "anywhere"),
            ("--cognito-rate-redis", "http://localhost:6379"),
            ("--cognito-rate-redis", "redis://"),
        ] {
            let err = Settings::try_parse_from([
                "import-job-service",
                "--insecure-allow-unauthenticated",
                flag,
                value,
            ])
            .unwrap_err();
            assert_eq!(err.exit_code(), 2, "{flag}");
            assert!(err.to_string().contains(flag), "{flag}: {err}");
        }
    }

    #[test]
    fn the_shared_rate_flags_are_checked_and_need_a_redis() {
        let base = ["import-job-service", "--insecure-allow-unauthenticated"];
        let redis = ["--cognito-rate-redis", "redis://127.0.0.1:6379"];
        for (flag, value) in [
            ("--cognito-rate-fallback-share", "0"),
            ("--cognito-rate-fallback-share", "1.5"),
            ("--cognito-rate-redis-timeout", "0s"),
            ("--cognito-rate-redis-timeout", "2s"),
        ] {
            let err = Settings::try_parse_from(base.iter().chain(&redis).chain(&[flag, value]))
                .unwrap_err();
            assert_eq!(err.exit_code(), 2, "{flag} {value}");
            assert!(err.to_string().contains(flag), "{flag}: {err}");
            // Meaningless without Redis.
            let valid = match flag {
                "--cognito-rate-fallback-share" => "0.25",
                _ => "20ms",
            };
            let err = Settings::try_parse_from(base.iter().chain(&[flag, valid])).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{flag} without --cognito-rate-redis");
        }
        let settings = Settings::try_parse_from(
            base.iter()
                .chain(&redis)
                .chain(&["--cognito-rate-fallback-share", "0.25"]),
        )
        .unwrap();
        assert_eq!(settings.limits.cognito_rate_fallback_share, 0.25);
        assert_eq!(
            settings.limits.cognito_rate_redis_timeout,
            Duration::from_millis(50)
        );
    }

    #[test]
    fn a_redis_password_shows_nowhere() {
        let parse = |url: &str| {
            Settings::try_parse_from([
                "import-job-service",
                "--insecure-allow-unauthenticated",
                "--cognito-rate-redis",
                url,
            ])
        };
        let settings = parse("rediss://app:hunter%2F2@redis.internal:6380/3").unwrap();
        let url = settings.limits.cognito_rate_redis.clone().unwrap();
        assert_eq!(
            url.expose(),
            "rediss://app:hunter%2F2@redis.internal:6380/3"
        );
        assert_eq!(url.to_string(), "rediss://app:***@redis.internal:6380/3");
        assert!(!format!("{settings:?}").contains("hunter"));
        // The password as written and as sent are both scrubbed.
        assert_eq!(
            url.scrub("auth hunter%2F2 or hunter/2 failed"),
            "auth *** or *** failed"
        );
        // A URL that does not parse is not echoed.
        let err = parse("redis://:hunter2@redis.internal/not-a-db").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let text = err.to_string();
        assert!(text.contains("--cognito-rate-redis"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}
