//! Builds the application and serves it: binds the listener, connects to
//! Cognito (or the embedded emulator), composes the tower stack, and drains
//! gracefully on shutdown.

use std::{
    fmt,
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::{Arc, OnceLock},
    time::{Duration, Instant},
};

use tokio::{net::TcpListener, sync::oneshot};
use tonic::service::{RecoverErrorLayer, Routes};
use tonic_health::ServingStatus;
use tower::ServiceBuilder;

use crate::{
    audit::AuditTrail,
    auth::{
        Authorizer, Jwt,
        jwt::{JwtSettings, KeySet},
        mtls::CommonName,
        policy::Policy,
    },
    cognito::{Cognito, Connection},
    configuration::{AuthSettings, LimitSettings, Settings},
    connections,
    health::DrainingHealth,
    layers::{
        AuthenticateLayer, AuthorizeLayer, CallLogLayer, CallerLimitLayer, CatchPanicLayer,
        DeadlineLayer, ErrorInfoLayer, InFlightLimitLayer,
    },
    local_cognito::{DEMO_POOL, Emulator},
    metrics::{self, Metrics},
    proto::{self, import_job_service_server::ImportJobServiceServer},
    rate_limit::{CognitoRates, RateSettings, SharedBuckets},
    reload::{self, LoadError, Reloadable},
    service::{HandlerSettings, ImportJobs},
    telemetry::traces::Traces,
    tls::{Tls, TlsFiles},
    watch::PollIntervals,
};

/// The largest chunk of an upload's file: a message of UploadUserImportCsv
/// after the first (whose scope the authorization layer reads, within
/// `--max-request-bytes`).
pub const MAX_UPLOAD_CHUNK_BYTES: usize = 1024 * 1024;

/// Why the service could not start.
#[derive(Debug)]
pub enum StartupError {
    /// A file named in the configuration is missing or invalid: the
    /// operator's to fix (exit code 2, like a bad flag).
    Configuration(LoadError),
    /// Binding the listener, catching SIGHUP, starting the emulator or the
    /// trace exporter failed.
    Io(std::io::Error),
}

impl fmt::Display for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartupError::Configuration(error) => error.fmt(f),
            StartupError::Io(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for StartupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartupError::Configuration(error) => Some(error),
            StartupError::Io(error) => Some(error),
        }
    }
}

impl From<std::io::Error> for StartupError {
    fn from(error: std::io::Error) -> Self {
        StartupError::Io(error)
    }
}

/// A bound, ready-to-run service.
pub struct Application {
    listener: TcpListener,
    /// Reloads the policy, key and certificate files while the application
    /// lives.
    _reloading: reload::Watching,
    metrics_listener: Option<TcpListener>,
    health_listener: Option<TcpListener>,
    service: Hosted,
    shutdown_grace: Duration,
    emulator: Option<Emulator>,
}

/// What [`serve`] hosts: the handler, the authorization in front of it, TLS
/// if configured, the limits, and the metrics they all record into.
pub struct Hosted {
    pub import_jobs: ImportJobs,
    pub authorizer: Arc<Authorizer>,
    pub audit: Arc<AuditTrail>,
    pub tls: Option<Tls>,
    pub limits: LimitSettings,
    pub metrics: Arc<Metrics>,
    /// Where the server exports its traces, with `--otlp-endpoint`.
    pub traces: Option<Traces>,
}

impl Application {
    /// Binds the listener and connects to Cognito: AWS through the SDK's
    /// default chain, or, with `--local-cognito`, an embedded emulator.
    pub async fn build(settings: &Settings) -> Result<Self, StartupError> {
        if !settings.local_cognito {
            return Self::build_with(settings, Connection::default(), None).await;
        }
        let emulator = Emulator::start().await?;
        let connection = Connection::emulator(emulator.url());
        Self::build_with(settings, connection, Some(emulator)).await
    }

    /// As [`Application::build`], with an explicit connection to Cognito.
    /// `emulator`, if given, lives as long as the application.
    pub async fn build_with(
        settings: &Settings,
        connection: Connection,
        emulator: Option<Emulator>,
    ) -> Result<Self, StartupError> {
        // Files first: a bad one is reported before anything binds.
        let metrics = Arc::new(Metrics::default());
        let authorizer = authorizer(&settings.auth).map_err(StartupError::Configuration)?;
        let tls = match (&settings.auth.tls_cert, &settings.auth.tls_key) {
            (Some(cert), Some(key)) => Some(
                Tls::load(&TlsFiles {
                    cert: cert.clone(),
                    key: key.clone(),
                    client_ca: settings.auth.client_ca.clone(),
                    common_name: match settings.auth.client_cn_identity {
                        true => CommonName::Allowed,
                        false => CommonName::Ignored,
                    },
                })
                .map_err(StartupError::Configuration)?,
            ),
            _ => None,
        };
        let mut watched = authorizer.files();
        watched.extend(tls.as_ref().map(Tls::reloadable));
        let reloading = reload::watch(watched, settings.auth.auth_reload_interval)?;
        let traces = match &settings.traces.otlp_endpoint {
            Some(endpoint) => Some(
                Traces::start(endpoint, &settings.traces)
                    .map_err(|e| std::io::Error::other(format!("OTLP trace exporter: {e}")))?,
            ),
            None => None,
        };
        let listener = TcpListener::bind(settings.listen).await?;
        let metrics_listener = match settings.metrics_listen {
            Some(addr) => Some(TcpListener::bind(addr).await?),
            None => None,
        };
        let health_listener = match settings.health_listen {
            Some(addr) => Some(TcpListener::bind(addr).await?),
            None => None,
        };
        let cognito = Cognito::connect(&settings.aws, connection, Arc::clone(&metrics)).await;
        let limits = &settings.limits;
        let rate = |rate, burst| RateSettings {
            rate,
            burst,
            max_wait: limits.cognito_max_wait,
            latency_floor: limits.cognito_latency_floor,
        };
        let shared = limits.cognito_rate_redis.as_ref().map(|url| {
            SharedBuckets::new(
                url,
                limits.cognito_rate_redis_timeout,
                limits.cognito_rate_fallback_share,
                &metrics,
            )
        });
        let rates = CognitoRates::new(
            rate(
                limits.cognito_read_rate.unwrap_or(limits.cognito_rate),
                limits.cognito_read_burst.unwrap_or(limits.cognito_burst),
            ),
            rate(limits.cognito_rate, limits.cognito_burst),
            shared,
            &metrics,
        );
        Ok(Self {
            listener,
            _reloading: reloading,
            metrics_listener,
            health_listener,
            service: Hosted {
                import_jobs: ImportJobs::new(
                    cognito,
                    rates,
                    Arc::clone(&metrics),
                    HandlerSettings {
                        polls: PollIntervals {
                            first: limits.watch_poll_interval,
                            longest: limits
                                .watch_poll_max_interval
                                .max(limits.watch_poll_interval),
                        },
                        max_watched_jobs: limits.max_watched_jobs as usize,
                        body_timeout: limits.request_body_timeout,
                        // The emulator's pre-signed URLs are plain HTTP.
                        plain_http_uploads: emulator.is_some(),
                        max_uploads: limits.max_uploads_in_flight as usize,
                    },
                ),
                authorizer: Arc::new(authorizer),
                audit: Arc::new(AuditTrail::new(settings.log.audit_summary_window)),
                tls,
                limits: settings.limits.clone(),
                metrics,
                traces,
            },
            shutdown_grace: settings.shutdown_grace,
            emulator,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Where metrics are served, with `--metrics-listen`.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .map(|l| l.local_addr().expect("a bound listener has an address"))
    }

    /// Where health alone is served, with `--health-listen`.
    pub fn health_addr(&self) -> Option<SocketAddr> {
        self.health_listener
            .as_ref()
            .map(|l| l.local_addr().expect("a bound listener has an address"))
    }

    /// The embedded emulator, when running with `--local-cognito`.
    pub fn emulator(&self) -> Option<&Emulator> {
        self.emulator.as_ref()
    }

    /// Logs where the service listens and, with the emulator, prints its demo
    /// pools and a grpcurl line that works as pasted.
    pub fn announce(&self) {
        let addr = self.local_addr();
        tracing::info!(%addr, local_cognito = self.emulator.is_some(), "import-job-service listening");
        let Some(emulator) = &self.emulator else {
            return;
        };
        let target = if addr.ip().is_unspecified() {
            SocketAddr::from(([127, 0, 0, 1], addr.port()))
        } else {
            addr
        };
        let mut banner = format!(
            "\nLocal Cognito emulator at {} (no AWS account involved). Demo user pools and import jobs:\n",
            emulator.url()
        );
        for (pool, jobs) in emulator.describe() {
            banner.push_str(&format!("  {pool}\n"));
            for (job, status) in jobs {
                banner.push_str(&format!("    {job:<26} {status}\n"));
            }
        }
        // The line works as pasted on a plaintext, unauthenticated run; with
        // TLS or a policy, the caller's flags must be added.
        let (transport, note) = if self.service.tls.is_some() {
            (
                "-cacert SERVER_CA.pem",
                " (add your TLS and credential flags)",
            )
        } else if self.service.authorizer.policy.is_some() {
            ("-plaintext", " (add -H 'authorization: Bearer <token>')")
        } else {
            ("-plaintext", "")
        };
        banner.push_str(&format!(
            "Stop a running job{note}:\n  grpcurl {transport} -d '{{\"user_pool_id\": \"{}\", \"job_id\": \"import-in-progress\"}}' {target} importjob.v1.ImportJobService/StopUserImportJob\n",
            DEMO_POOL
        ));
        eprintln!("{banner}");
    }

    /// Serves until `shutdown` completes, then drains (see [`serve`]).
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) {
        let _emulator = self.emulator;
        let metrics = self
            .metrics_listener
            .map(|listener| metrics::serve(listener, Arc::clone(&self.service.metrics)));
        // The last calls' spans are exported within what is left of the grace.
        let traces = self.service.traces.clone();
        let grace_ends = OnceLock::new();
        let shutdown = async {
            shutdown.await;
            let _ = grace_ends.set(Instant::now() + self.shutdown_grace);
        };
        let listeners = Listeners {
            grpc: self.listener,
            health: self.health_listener,
        };
        serve(listeners, self.service, self.shutdown_grace, shutdown).await;
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        if let Some(traces) = traces {
            traces.shutdown(grace_ends.get().copied()).await;
        }
    }
}

/// Where [`serve`] listens.
pub struct Listeners {
    /// The import job service, health and reflection.
    pub grpc: TcpListener,
    /// Health alone, in plaintext (`--health-listen`).
    pub health: Option<TcpListener>,
}

/// Serves the import job service, health and reflection (and health alone,
/// if asked) on `listeners` until `shutdown` completes. Then health turns NOT_SERVING, the listener stops
/// accepting, and calls in flight get `grace` to finish.
pub async fn serve(
    listeners: Listeners,
    service: Hosted,
    grace: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let health = tonic_health::server::HealthReporter::new();
    let (draining, draining_seen) = tokio::sync::watch::channel(false);
    let health_service = tonic_health::pb::health_server::HealthServer::new(DrainingHealth::new(
        health.clone(),
        draining_seen,
    ));
    health
        .set_serving::<ImportJobServiceServer<ImportJobs>>()
        .await;

    let limits = &service.limits;
    let metrics = &service.metrics;
    let authorizer = &service.authorizer;
    let stack = ServiceBuilder::new()
        // Outermost, so every status that leaves, tonic's own included, has
        // its ErrorInfo.
        .layer(ErrorInfoLayer)
        // So every call gets its span, one log event and its count, whatever
        // the layers below answer.
        .layer(CallLogLayer::new(
            Arc::clone(metrics),
            service.traces.clone(),
        ))
        // So a panic anywhere below is answered INTERNAL, and logged and
        // counted as such.
        .layer(CatchPanicLayer)
        // Before anything that waits, so the caller's deadline bounds it all.
        .layer(DeadlineLayer)
        // Before every limit, and reading headers only: a caller that proves
        // no identity is refused at once and holds nothing.
        .layer(AuthenticateLayer::new(
            Arc::clone(authorizer),
            Arc::clone(&service.audit),
            Arc::clone(metrics),
        ))
        // Before the global limit, so a caller over its allowance is told so,
        // and takes no global place even for an instant.
        .layer(
            CallerLimitLayer::new(limits.max_calls_in_flight_per_caller)
                .audited(Arc::clone(&service.audit)),
        )
        // Before any work that waits (the message, Cognito).
        .layer(
            InFlightLimitLayer::new(limits.max_calls_in_flight).audited(Arc::clone(&service.audit)),
        )
        // Last, as it waits for the message (within the body timeout) that
        // the policy needs: a denied call reaches no handler and learns
        // nothing of what exists.
        .layer(AuthorizeLayer::new(
            Arc::clone(authorizer),
            Arc::clone(&service.audit),
            limits.max_request_bytes as usize,
            limits.request_body_timeout,
            Arc::clone(metrics),
        ))
        .into_inner();

    let _audit_windows = AuditWindows::start(Arc::clone(&service.audit));
    let (drain, drained) = oneshot::channel::<()>();
    let drained = async {
        let _ = drained.await;
    };
    let max_message = limits.max_request_bytes as usize;
    let mut routes = Routes::builder();
    routes
        // Health's and reflection's requests are a few names: they get the
        // same small message limit as the API, not tonic's 4 MiB.
        .add_service(
            health_service
                .clone()
                .max_decoding_message_size(max_message),
        )
        .add_service(reflection_v1().max_decoding_message_size(max_message))
        .add_service(reflection_v1alpha().max_decoding_message_size(max_message))
        // A unary request is bounded by the authorization layer, which reads
        // it whole; an upload's chunks by this.
        .add_service(
            ImportJobServiceServer::new(service.import_jobs.clone())
                // The chunk's field tag and length come on top of its bytes.
                .max_decoding_message_size(max_message.max(MAX_UPLOAD_CHUNK_BYTES + 16)),
        );
    let routes = routes.routes().prepare();
    // A layer that fails (rather than answers a status) is answered as
    // tonic's own server would: a status, not a reset stream.
    let grpc = ServiceBuilder::new()
        .layer(RecoverErrorLayer::new())
        .layer(stack)
        .service(routes);
    let http2 = connections::Http2Settings {
        max_concurrent_streams: limits.http2_max_concurrent_streams,
        max_header_list_bytes: limits.http2_max_header_list_bytes,
        keepalive_interval: limits.http2_keepalive_interval,
        keepalive_timeout: limits.http2_keepalive_timeout,
        max_pending_accept_reset_streams: HTTP2_MAX_PENDING_RESETS,
    };
    let lifetime = connections::Lifetime {
        max_age: limits.max_connection_age,
        grace: limits.max_connection_age_grace,
    };
    let handshake_timeout = limits.handshake_timeout;
    // Served until the process ends, through the drain: the probes see
    // NOT_SERVING rather than a refused connection. No layers: a probe is no
    // call, and holds nothing but its stream.
    let _health_only = listeners.health.map(|listener| {
        let health = Routes::new(health_service.max_decoding_message_size(max_message)).prepare();
        AbortOnDrop(tokio::spawn(connections::serve(
            connections::plaintext(listener, handshake_timeout),
            health,
            http2,
            lifetime,
            std::future::pending(),
        )))
    });
    let listener = listeners.grpc;
    let mut server: Pin<Box<dyn Future<Output = ()> + Send + '_>> = match service.tls {
        Some(tls) => Box::pin(connections::serve(
            tls.incoming(listener, handshake_timeout),
            grpc,
            http2,
            lifetime,
            drained,
        )),
        None => Box::pin(connections::serve(
            connections::plaintext(listener, handshake_timeout),
            grpc,
            http2,
            lifetime,
            drained,
        )),
    };

    tokio::select! {
        () = &mut server => return,
        () = shutdown => {}
    }
    tracing::info!(
        grace_s = grace.as_secs_f64(),
        "shutting down: health NOT_SERVING, refusing new connections, draining calls in flight"
    );
    health
        .set_not_serving::<ImportJobServiceServer<ImportJobs>>()
        .await;
    health
        .set_service_status("", ServingStatus::NotServing)
        .await;
    draining.send_replace(true);
    service.import_jobs.drain();
    let _ = drain.send(());
    if tokio::time::timeout(grace, server).await.is_err() {
        tracing::warn!("shutdown grace period over with calls still in flight; stopping anyway");
    }
}

/// A task that ends with its handle.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Closes the audit trail's summary windows while the server runs, and the
/// last one when it stops, so no repeated refusal goes uncounted.
struct AuditWindows {
    audit: Arc<AuditTrail>,
    task: tokio::task::JoinHandle<()>,
}

impl AuditWindows {
    fn start(audit: Arc<AuditTrail>) -> Self {
        let window = audit.window();
        let closing = Arc::clone(&audit);
        let task = tokio::spawn(async move {
            if window.is_zero() {
                return;
            }
            let mut windows =
                tokio::time::interval_at(tokio::time::Instant::now() + window, window);
            windows.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                windows.tick().await;
                closing.write_repeats();
            }
        });
        Self { audit, task }
    }
}

impl Drop for AuditWindows {
    fn drop(&mut self) {
        self.task.abort();
        self.audit.write_repeats();
    }
}

/// The authorization the flags ask for, its files loaded and checked.
fn authorizer(settings: &AuthSettings) -> Result<Authorizer, LoadError> {
    let policy = match &settings.auth_policy {
        Some(path) => Some(Arc::new(Reloadable::load(
            "authorization policy",
            path,
            Policy::parse,
        )?)),
        None => {
            tracing::warn!(
                "--insecure-allow-unauthenticated: every call is allowed, authenticated or not; never run so outside local development"
            );
            None
        }
    };
    let jwt = match (&settings.jwks, &settings.jwt_issuer, &settings.jwt_audience) {
        (Some(path), Some(issuer), Some(audience)) => Some(Jwt {
            settings: JwtSettings {
                issuer: issuer.clone(),
                audience: audience.clone(),
                algorithms: settings.jwt_algorithms.0.clone(),
                identity_claim: settings.jwt_identity_claim.clone(),
                leeway: settings.jwt_leeway,
            },
            keys: Arc::new(Reloadable::load("JWKS", path, KeySet::parse)?),
        }),
        _ => None,
    };
    Ok(Authorizer { policy, jwt })
}

/// Streams a client may reset before their handlers ran, per connection,
/// before the connection is closed: hyper's default, set explicitly.
const HTTP2_MAX_PENDING_RESETS: usize = 20;

/// Catches SIGTERM and SIGINT (Ctrl-C) from the moment it is called, and
/// returns a future that completes on the first of them. Call it before the
/// service announces that it listens: a signal that arrives before the
/// handlers exist meets the default action, and the process dies undrained.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => tracing::info!("SIGINT received"),
                _ = terminate.recv() => tracing::info!("SIGTERM received"),
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("Ctrl-C received");
        })
    }
}

/// Reflection serves our API, the health service, and `google.rpc`'s error
/// details, so grpcurl can describe everything and decode error details.
fn reflection_builder() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}

fn reflection_v1() -> tonic_reflection::server::v1::ServerReflectionServer<
    impl tonic_reflection::server::v1::ServerReflection,
> {
    reflection_builder()
        .build_v1()
        .expect("the embedded descriptor sets are valid")
}

fn reflection_v1alpha() -> tonic_reflection::server::v1alpha::ServerReflectionServer<
    impl tonic_reflection::server::v1alpha::ServerReflection,
> {
    reflection_builder()
        .build_v1alpha()
        .expect("the embedded descriptor sets are valid")
}
