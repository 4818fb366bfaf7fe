//! The `ImportJobService` handler. Each method reads top to bottom: decode
//! (done by tonic), validate, then [`ImportJobs::forward`], which does what
//! every method does around its Cognito call (pick the pool's region, wait
//! for a turn under the operation's rate, call Cognito, count it, answer).
//! The caller arrives authenticated and authorized, as a [`Caller`] in the
//! request's extensions: authorization, deadlines and logging are tower
//! layers around the handler (see `startup`); error statuses come from
//! `error`.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use bytes::Bytes;
use cognito_csv::{CsvCheck, MAX_FILE_BYTES, Problem};

use tokio::{sync::watch, time::Instant};
use tokio_stream::Stream;
use tonic::{Code, Request, Response, Status, Streaming};
use tracing::{Instrument, Span};

use crate::{
    auth::{Caller, MessageFailure},
    cognito::{Answered, Cognito, CognitoError},
    connections::GoingAway,
    error::{ApiError, Target, insert_request_id},
    layers::deadline::CallDeadline,
    metrics::Metrics,
    operation::Operation,
    proto::{
        CreateUserImportJobRequest, CreateUserImportJobResponse, Decoded,
        DescribeUserImportJobRequest, DescribeUserImportJobResponse, GetCsvHeaderRequest,
        GetCsvHeaderResponse, ListUserImportJobsRequest, ListUserImportJobsResponse, Scoped,
        StartUserImportJobRequest, StartUserImportJobResponse, StopUserImportJobRequest,
        StopUserImportJobResponse, UploadUserImportCsvRequest, UploadUserImportCsvResponse,
        UserImportJob, UserImportJobStatus, WatchUserImportJobRequest, WatchUserImportJobResponse,
        import_job_service_server::ImportJobService,
    },
    rate_limit::CognitoRates,
    telemetry::{loggable, loggable_text, traces::ServerSpan},
    upload::S3Uploads,
    validation::{
        CreateRequest, FieldViolation, JobId, JobRequest, ListRequest, PoolRequest, UserPoolId,
    },
    watch::{PollIntervals, Polls, Seen, TooManyPolls, Watcher, changed, is_final},
};

/// Serves `importjob.v1.ImportJobService` by forwarding to Cognito.
#[derive(Clone)]
pub struct ImportJobs {
    cognito: Cognito,
    rates: Arc<CognitoRates>,
    metrics: Arc<Metrics>,
    polls: Arc<Polls>,
    /// Turns true when the server drains: watches end, to resume elsewhere.
    draining: Arc<watch::Sender<bool>>,
    uploads: S3Uploads,
    /// Uploads in progress, bounded: each holds a file's usernames' hashes
    /// (up to about 14 MB) and an S3 connection.
    upload_places: Arc<tokio::sync::Semaphore>,
    /// How long each message of an upload may take to arrive.
    body_timeout: Duration,
}

/// How long a pre-signed URL lives, and so an upload at most.
const UPLOAD_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// What the handler takes from the flags.
pub struct HandlerSettings {
    pub polls: PollIntervals,
    pub max_watched_jobs: usize,
    /// `--request-body-timeout`, for each message of a streamed request.
    pub body_timeout: Duration,
    /// Whether uploads may go to `http://` URLs (the emulator's).
    pub plain_http_uploads: bool,
    /// `--max-uploads-in-flight`.
    pub max_uploads: usize,
}

/// The stream of a watch's answers.
type Watching = Pin<Box<dyn Stream<Item = Result<WatchUserImportJobResponse, Status>> + Send>>;

/// What the layers left on a call for the handler: its deadline, who
/// calls, and its server span if it is traced.
struct Call {
    deadline: Option<Instant>,
    caller: String,
    trace: Option<ServerSpan>,
}

impl Call {
    /// Takes the call's message (as the authorization layer decoded it, or
    /// tonic where that layer reads none), recording its scope in the call's
    /// span (cut to a loggable length: it is not validated yet).
    fn begin<M: Scoped + Clone + Send + Sync + 'static>(mut request: Request<M>) -> (Self, M) {
        let call = Self::of(&request);
        let message = match request.extensions_mut().remove::<Decoded<M>>() {
            Some(Decoded(message)) => message,
            None => request.into_inner(),
        };
        call.record_scope(&message);
        (call, message)
    }

    fn of<M>(request: &Request<M>) -> Self {
        let deadline = request.extensions().get::<CallDeadline>().map(|d| d.0);
        // Turns toward Cognito are shared round-robin by caller.
        let caller = request
            .extensions()
            .get::<Caller>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let trace = request.extensions().get::<ServerSpan>().cloned();
        Self {
            deadline,
            caller,
            trace,
        }
    }

    /// The same call, for a second call to Cognito.
    fn again(&self) -> Self {
        Self {
            deadline: self.deadline,
            caller: self.caller.clone(),
            trace: self.trace.clone(),
        }
    }

    /// Records a request's scope in the call's span, and its server span.
    fn record_scope(&self, message: &impl Scoped) {
        let span = Span::current();
        span.record("user_pool_id", loggable(message.user_pool_id()));
        if let Some(job_id) = message.job_id() {
            span.record("job_id", loggable(job_id));
        }
        if let Some(trace) = &self.trace {
            trace.record_scope(message.user_pool_id(), message.job_id());
        }
    }
}

impl ImportJobs {
    pub fn new(
        cognito: Cognito,
        rates: CognitoRates,
        metrics: Arc<Metrics>,
        settings: HandlerSettings,
    ) -> Self {
        Self {
            cognito,
            rates: Arc::new(rates),
            metrics,
            polls: Arc::new(Polls::new(settings.polls, settings.max_watched_jobs)),
            draining: Arc::new(watch::channel(false).0),
            uploads: S3Uploads::new(settings.plain_http_uploads),
            upload_places: Arc::new(tokio::sync::Semaphore::new(settings.max_uploads)),
            body_timeout: settings.body_timeout,
        }
    }

    /// The next message of a streamed request, within the body timeout.
    async fn next_message<M>(&self, messages: &mut Streaming<M>) -> Result<Option<M>, Status> {
        match tokio::time::timeout(self.body_timeout, messages.message()).await {
            Ok(message) => message,
            Err(_) => Err(ApiError::Message(MessageFailure::TimedOut {
                limit: self.body_timeout,
            })
            .into()),
        }
    }

    /// The job, as Cognito describes it now.
    async fn describe(&self, call: Call, request: &JobRequest) -> Result<UserImportJob, Status> {
        let target = job_target(Operation::DescribeUserImportJob, request);
        let describe = request.clone();
        self.forward(call, target, async move |cognito, region| {
            cognito.describe_user_import_job(region, &describe).await
        })
        .await
        .map(Response::into_inner)
    }

    /// Ends every watch (UNAVAILABLE, SERVICE_DRAINING) and every poll.
    pub(crate) fn drain(&self) {
        self.draining.send_replace(true);
    }

    /// Describes `request`'s job until its status is final, no watcher is
    /// left, or the server drains, publishing each answer that is news on
    /// `seen`. Its turns under the read rate are taken on behalf of the
    /// caller that began it, so that its polls share that caller's turns.
    async fn poll(
        self,
        request: JobRequest,
        caller: String,
        seen: watch::Sender<Seen>,
        intervals: PollIntervals,
        polls: Arc<Polls>,
    ) {
        let mut draining = self.draining.subscribe();
        let mut unchanged = 0;
        loop {
            // A poll outlives the call that began it: it is in no trace.
            let call = Call {
                deadline: None,
                caller: caller.clone(),
                trace: None,
            };
            match self.describe(call, &request).await {
                Ok(job) => {
                    let news = seen.send_if_modified(|last| match last {
                        Some(Ok(before)) if !changed(before, &job) => false,
                        _ => {
                            *last = Some(Ok(job.clone()));
                            true
                        }
                    });
                    unchanged = if news { 0 } else { unchanged + 1 };
                    if is_final(&job) {
                        return;
                    }
                }
                // Cognito failing or throttling does not end a watch that
                // has had its first answer: the poll backs off and tries
                // again. Before, the watchers would wait with nothing: the
                // failure is theirs at once.
                Err(status) if is_transient(&status) && seen.borrow().is_some() => unchanged += 1,
                Err(status) => {
                    seen.send_replace(Some(Err(status)));
                    return;
                }
            }
            tokio::select! {
                () = tokio::time::sleep(intervals.after(unchanged)) => {}
                () = seen.closed() => if polls.unwatched(&seen) {
                    return;
                },
                _ = draining.wait_for(|draining| *draining) => return,
            }
        }
    }
    /// What every method does around its call to Cognito: the pool's
    /// region, a turn under the rate of the operation's quota, the call
    /// (`send`, with its span when the call is traced), its metrics and span
    /// fields, and the answer with the AWS request id, or the status the
    /// error table gives.
    async fn forward<T, F, Fut>(
        &self,
        call: Call,
        target: Target,
        send: F,
    ) -> Result<Response<T>, Status>
    where
        F: FnOnce(Cognito, String) -> Fut,
        Fut: Future<Output = Result<Answered<T>, CognitoError>>,
    {
        let span = Span::current();
        let operation = target.operation;
        let region = self
            .cognito
            .region_for(&target.user_pool_id)
            .ok_or_else(|| ApiError::UnknownRegion(target.user_pool_id.clone()))?;
        span.record("aws_region", &region);

        let rate = self.rates.of(operation.quota());
        rate.turn(&region, &call.caller, call.deadline)
            .await
            .map_err(|refused| ApiError::CognitoRateLimited {
                retry_after: refused.retry_after,
            })?;
        let timer = rate.time_call(&region);
        let traced = call
            .trace
            .as_ref()
            .map(|trace| trace.cognito_call(operation.cognito_name(), &region));
        let result = send(self.cognito.clone(), region.clone()).await;
        let latency = timer.finish();
        let outcome = outcome(&result);
        self.metrics
            .cognito_call(operation, &region, &outcome, latency);
        let request_id = match &result {
            Ok(answered) => answered.request_id.as_deref(),
            Err(error) => error.request_id.as_deref(),
        };
        if let Some(traced) = traced {
            traced.end(request_id, result.is_err().then_some(outcome.as_str()));
        }
        if let Some(id) = request_id {
            span.record("aws_request_id", id);
        }
        match result {
            Ok(answered) => {
                let mut response = Response::new(answered.answer);
                insert_request_id(response.metadata_mut(), answered.request_id.as_deref());
                Ok(response)
            }
            Err(error) => {
                span.record("aws_error", loggable_text(&error.to_string()));
                Err(ApiError::Cognito(error, target).into())
            }
        }
    }
}

/// An upload's length: at least a byte, at most Cognito's limit for a file.
fn content_length(length: u64) -> Result<(), Vec<FieldViolation>> {
    let description = match length {
        0 => "is required: the file's length in bytes".to_owned(),
        n if n > MAX_FILE_BYTES => format!(
            "must be at most {MAX_FILE_BYTES} bytes, Cognito's limit for an import file, got {n}"
        ),
        _ => return Ok(()),
    };
    Err(vec![FieldViolation {
        field: "content_length",
        description,
        cognito: Vec::new(),
    }])
}

/// Where a problem is, as the BadRequest's field names it: "line 3, column
/// email", or "line 3".
fn problem_place(problem: &Problem) -> String {
    match &problem.column {
        Some(column) => format!("line {}, column {column}", problem.line),
        None => format!("line {}", problem.line),
    }
}

/// A job's status as Cognito names it.
fn cognito_status(status: UserImportJobStatus) -> &'static str {
    match status {
        UserImportJobStatus::Created => "Created",
        UserImportJobStatus::Pending => "Pending",
        UserImportJobStatus::InProgress => "InProgress",
        UserImportJobStatus::Stopping => "Stopping",
        UserImportJobStatus::Expired => "Expired",
        UserImportJobStatus::Stopped => "Stopped",
        UserImportJobStatus::Failed => "Failed",
        UserImportJobStatus::Succeeded => "Succeeded",
        UserImportJobStatus::Unspecified => "in a status this version does not know",
    }
}

/// A failure a later poll may not meet.
fn is_transient(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::ResourceExhausted | Code::DeadlineExceeded
    )
}

/// A Cognito call's outcome, as the metrics name it.
fn outcome<T>(result: &Result<Answered<T>, CognitoError>) -> String {
    match result {
        Ok(_) => "OK".to_owned(),
        Err(error) => error
            .aws_error_code
            .clone()
            .unwrap_or_else(|| error.failure.name().to_owned()),
    }
}

/// The target of a call that names a user pool only.
fn pool_target(operation: Operation, user_pool_id: &UserPoolId) -> Target {
    Target {
        operation,
        user_pool_id: user_pool_id.clone(),
        job_id: None,
    }
}

/// The target of a call that names a job.
fn job_target(operation: Operation, request: &JobRequest) -> Target {
    Target {
        operation,
        user_pool_id: request.user_pool_id.clone(),
        job_id: Some(request.job_id.clone()),
    }
}

/// The job Cognito answered with, in the method's response message.
fn with_job<T>(
    response: Response<UserImportJob>,
    message: impl FnOnce(Option<UserImportJob>) -> T,
) -> Response<T> {
    // The proto's message field is optional; the answer always holds it.
    response.map(|job| message(Some(job)))
}

#[tonic::async_trait]
impl ImportJobService for ImportJobs {
    async fn create_user_import_job(
        &self,
        request: Request<CreateUserImportJobRequest>,
    ) -> Result<Response<CreateUserImportJobResponse>, Status> {
        let (call, message) = Call::begin(request);
        let request = CreateRequest::parse(
            &message.user_pool_id,
            &message.job_name,
            &message.cloud_watch_logs_role_arn,
            message.password_hashing_algorithm.as_deref(),
        )
        .map_err(ApiError::InvalidRequest)?;
        let target = pool_target(Operation::CreateUserImportJob, &request.user_pool_id);
        let trace = call.trace.clone();
        let created = self
            .forward(call, target, async move |cognito, region| {
                cognito.create_user_import_job(region, &request).await
            })
            .await?;
        // The log line names the job the call made; an id Cognito sends is
        // logged only if it is one (a log line holds no value unchecked).
        if let Ok(job_id) = JobId::parse(&created.get_ref().job_id) {
            Span::current().record("job_id", job_id.as_str());
            if let Some(trace) = trace {
                trace.record_job(job_id.as_str());
            }
        }
        Ok(with_job(created, |user_import_job| {
            CreateUserImportJobResponse { user_import_job }
        }))
    }

    async fn get_csv_header(
        &self,
        request: Request<GetCsvHeaderRequest>,
    ) -> Result<Response<GetCsvHeaderResponse>, Status> {
        let (call, message) = Call::begin(request);
        let request =
            PoolRequest::parse(&message.user_pool_id).map_err(ApiError::InvalidRequest)?;
        let target = pool_target(Operation::GetCsvHeader, &request.user_pool_id);
        self.forward(call, target, async move |cognito, region| {
            cognito.get_csv_header(region, &request).await
        })
        .await
    }

    async fn start_user_import_job(
        &self,
        request: Request<StartUserImportJobRequest>,
    ) -> Result<Response<StartUserImportJobResponse>, Status> {
        let (call, message) = Call::begin(request);
        let request = JobRequest::parse(&message.user_pool_id, &message.job_id)
            .map_err(ApiError::InvalidRequest)?;
        let target = job_target(Operation::StartUserImportJob, &request);
        let started = self
            .forward(call, target, async move |cognito, region| {
                cognito.start_user_import_job(region, &request).await
            })
            .await?;
        Ok(with_job(started, |user_import_job| {
            StartUserImportJobResponse { user_import_job }
        }))
    }

    async fn describe_user_import_job(
        &self,
        request: Request<DescribeUserImportJobRequest>,
    ) -> Result<Response<DescribeUserImportJobResponse>, Status> {
        let (call, message) = Call::begin(request);
        let request = JobRequest::parse(&message.user_pool_id, &message.job_id)
            .map_err(ApiError::InvalidRequest)?;
        let target = job_target(Operation::DescribeUserImportJob, &request);
        let described = self
            .forward(call, target, async move |cognito, region| {
                cognito.describe_user_import_job(region, &request).await
            })
            .await?;
        Ok(with_job(described, |user_import_job| {
            DescribeUserImportJobResponse { user_import_job }
        }))
    }

    async fn list_user_import_jobs(
        &self,
        request: Request<ListUserImportJobsRequest>,
    ) -> Result<Response<ListUserImportJobsResponse>, Status> {
        let (call, message) = Call::begin(request);
        let request = ListRequest::parse(
            &message.user_pool_id,
            message.max_results.into(),
            &message.pagination_token,
        )
        .map_err(ApiError::InvalidRequest)?;
        let target = pool_target(Operation::ListUserImportJobs, &request.user_pool_id);
        self.forward(call, target, async move |cognito, region| {
            cognito.list_user_import_jobs(region, &request).await
        })
        .await
    }

    async fn upload_user_import_csv(
        &self,
        request: Request<Streaming<UploadUserImportCsvRequest>>,
    ) -> Result<Response<UploadUserImportCsvResponse>, Status> {
        let call = Call::of(&request);
        // Before anything is read: an upload over the limit costs nothing.
        let _place = Arc::clone(&self.upload_places)
            .try_acquire_owned()
            .map_err(|_| ApiError::UploadsOverLimit)?;
        let mut messages = request.into_inner();
        let first = self
            .next_message(&mut messages)
            .await?
            .ok_or(ApiError::Message(MessageFailure::Malformed))?;
        if !first.chunk.is_empty() {
            return Err(ApiError::Message(MessageFailure::Malformed).into());
        }
        call.record_scope(&first);
        // Every failing field is named, the ids' and the length's.
        let request = match (
            JobRequest::parse(&first.user_pool_id, &first.job_id),
            content_length(first.content_length),
        ) {
            (Ok(request), Ok(())) => request,
            (ids, length) => {
                let violations = ids.err().into_iter().flatten();
                let violations = violations.chain(length.err().into_iter().flatten());
                return Err(ApiError::InvalidRequest(violations.collect()).into());
            }
        };
        let job = self.describe(call.again(), &request).await?;
        if job.status() != UserImportJobStatus::Created {
            return Err(ApiError::JobNotCreated {
                target: job_target(Operation::UploadUserImportCsv, &request),
                status: cognito_status(job.status()).to_owned(),
            }
            .into());
        }
        let header = {
            let pool = PoolRequest {
                user_pool_id: request.user_pool_id.clone(),
            };
            let target = pool_target(Operation::GetCsvHeader, &pool.user_pool_id);
            self.forward(call.again(), target, async move |cognito, region| {
                cognito.get_csv_header(region, &pool).await
            })
            .await?
            .into_inner()
            .csv_header
        };

        let mut check = CsvCheck::new(&header, first.content_length);
        let mut upload = match first.validate_only {
            true => None,
            false => Some(
                self.uploads
                    .start(&job.pre_signed_url, first.content_length)
                    .map_err(ApiError::Upload)?,
            ),
        };
        // The file's last byte goes only with the commit, once the whole
        // file passed (see `upload`): an upload cut short stores nothing. A
        // pre-signed URL lives 15 minutes: an upload that takes longer
        // cannot succeed, and ends rather than hold its place.
        let streamed = async {
            while let Some(message) = self.next_message(&mut messages).await? {
                let names_again = !message.user_pool_id.is_empty()
                    || !message.job_id.is_empty()
                    || message.content_length != 0
                    || message.validate_only;
                if names_again {
                    return Err(ApiError::Message(MessageFailure::Malformed).into());
                }
                check.feed(&message.chunk);
                // The rest is still checked, so that every problem is told; it
                // is no longer sent.
                if check.has_problems() {
                    upload = None;
                }
                if let Some(upload) = &mut upload {
                    upload
                        .send(Bytes::from(message.chunk))
                        .await
                        .map_err(ApiError::Upload)?;
                }
            }
            Ok::<_, Status>(())
        };
        tokio::time::timeout(UPLOAD_LIFETIME, streamed)
            .await
            .map_err(|_| ApiError::UploadTooSlow)??;
        let report = check.finish();
        if !report.is_valid() {
            drop(upload);
            return Err(ApiError::CsvInvalid {
                problems: report
                    .problems
                    .iter()
                    .map(|problem| (problem_place(problem), problem.description.clone()))
                    .collect(),
                more: report.more_problems,
            }
            .into());
        }
        let uploaded = !first.validate_only;
        if let Some(upload) = upload {
            upload.commit().await.map_err(ApiError::Upload)?;
        }
        // The file is stored: the job as described before stands in if
        // describing it again fails, rather than an error that would say
        // nothing was.
        let job = match uploaded {
            true => self.describe(call, &request).await.unwrap_or(job),
            false => job,
        };
        Ok(Response::new(UploadUserImportCsvResponse {
            bytes: report.bytes,
            rows: report.rows,
            uploaded,
            user_import_job: Some(job),
        }))
    }

    type WatchUserImportJobStream = Watching;

    async fn watch_user_import_job(
        &self,
        request: Request<WatchUserImportJobRequest>,
    ) -> Result<Response<Watching>, Status> {
        let connection = request.extensions().get::<GoingAway>().cloned();
        let (call, message) = Call::begin(request);
        let request = JobRequest::parse(&message.user_pool_id, &message.job_id)
            .map_err(ApiError::InvalidRequest)?;
        self.cognito
            .region_for(&request.user_pool_id)
            .ok_or_else(|| ApiError::UnknownRegion(request.user_pool_id.clone()))?;
        let poll = {
            let jobs = self.clone();
            let request = request.clone();
            let caller = call.caller.clone();
            // Its own span: it outlives the call that began it.
            let span = tracing::info_span!(
                parent: None,
                "watch poll",
                user_pool_id = request.user_pool_id.as_str(),
                job_id = request.job_id.as_str()
            );
            let polls = Arc::clone(&self.polls);
            move |seen, intervals| {
                jobs.poll(request, caller, seen, intervals, polls)
                    .instrument(span)
            }
        };
        let seen = self
            .polls
            .follow(request.user_pool_id.as_str(), request.job_id.as_str(), poll)
            .map_err(|TooManyPolls| ApiError::WatchesOverLimit)?;
        let mut watcher = Watcher {
            seen,
            draining: self.draining.subscribe(),
            connection,
            deadline: call.deadline,
            sent: None,
            done: false,
        };
        // A watch that fails before its first answer fails as a call.
        let Some(first) = watcher.next().await else {
            return Err(ApiError::Draining.into());
        };
        let first = first?;
        let answers = futures_util::stream::unfold(
            (Some(first), watcher),
            |(first, mut watcher)| async move {
                let answer = match first {
                    Some(first) => Ok(first),
                    None => watcher.next().await?,
                };
                let message = answer.map(|job| WatchUserImportJobResponse {
                    user_import_job: Some(job),
                });
                Some((message, (None, watcher)))
            },
        );
        Ok(Response::new(Box::pin(answers)))
    }

    async fn stop_user_import_job(
        &self,
        request: Request<StopUserImportJobRequest>,
    ) -> Result<Response<StopUserImportJobResponse>, Status> {
        let (call, message) = Call::begin(request);
        let request = JobRequest::parse(&message.user_pool_id, &message.job_id)
            .map_err(ApiError::InvalidRequest)?;
        let target = job_target(Operation::StopUserImportJob, &request);
        let stopped = self
            .forward(call, target, async move |cognito, region| {
                cognito.stop_user_import_job(region, &request).await
            })
            .await?;
        Ok(with_job(stopped, |user_import_job| {
            StopUserImportJobResponse { user_import_job }
        }))
    }
}
