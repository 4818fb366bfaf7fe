//! The `ImportJobService` handler. A call reads top to bottom: decode (done by
//! tonic), validate, pick the pool's region, call Cognito, answer. The caller
//! arrives authenticated and authorized, as a [`Caller`] in the request's
//! extensions: authorization, deadlines and logging are tower layers around
//! the handler (see `startup`); error statuses come from `error`.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use tracing::Span;

use crate::{
    auth::Caller,
    cognito::{Cognito, CognitoError},
    error::{ApiError, insert_request_id},
    layers::deadline::CallDeadline,
    metrics::Metrics,
    proto::{
        StopUserImportJobRequest, StopUserImportJobResponse,
        import_job_service_server::ImportJobService,
    },
    rate_limit::CognitoRateLimit,
    telemetry::loggable,
    validation::StopRequest,
};

/// Serves `importjob.v1.ImportJobService` by forwarding to Cognito.
#[derive(Clone)]
pub struct ImportJobs {
    cognito: Cognito,
    rate_limit: Arc<CognitoRateLimit>,
    metrics: Arc<Metrics>,
}

impl ImportJobs {
    pub fn new(cognito: Cognito, rate_limit: CognitoRateLimit, metrics: Arc<Metrics>) -> Self {
        Self {
            cognito,
            rate_limit: Arc::new(rate_limit),
            metrics,
        }
    }
}

/// A Cognito call's outcome, as the metrics name it.
fn outcome(result: &Result<crate::cognito::StoppedJob, CognitoError>) -> String {
    match result {
        Ok(_) => "OK".to_owned(),
        Err(error) => error
            .aws_error_code
            .clone()
            .unwrap_or_else(|| error.failure.name().to_owned()),
    }
}

#[tonic::async_trait]
impl ImportJobService for ImportJobs {
    async fn stop_user_import_job(
        &self,
        request: Request<StopUserImportJobRequest>,
    ) -> Result<Response<StopUserImportJobResponse>, Status> {
        let deadline = request.extensions().get::<CallDeadline>().map(|d| d.0);
        // Turns toward Cognito are shared round-robin by caller.
        let caller = request
            .extensions()
            .get::<Caller>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let request = request.into_inner();
        let span = Span::current();
        span.record("user_pool_id", loggable(&request.user_pool_id));
        span.record("job_id", loggable(&request.job_id));

        let request = StopRequest::parse(&request.user_pool_id, &request.job_id)
            .map_err(ApiError::InvalidRequest)?;
        let region = self
            .cognito
            .region_for(&request.user_pool_id)
            .ok_or_else(|| ApiError::UnknownRegion(request.user_pool_id.clone()))?;
        span.record("aws_region", &region);

        self.rate_limit
            .turn(&region, &caller, deadline)
            .await
            .map_err(|refused| ApiError::CognitoRateLimited {
                retry_after: refused.retry_after,
            })?;
        let timer = self.rate_limit.time_call(&region);
        let result = self
            .cognito
            .stop_user_import_job(region.clone(), &request)
            .await;
        let latency = timer.finish();
        self.metrics
            .cognito_call(&region, &outcome(&result), latency);
        match result {
            Ok(stopped) => {
                if let Some(id) = &stopped.request_id {
                    span.record("aws_request_id", id);
                }
                let mut response = Response::new(StopUserImportJobResponse {
                    user_import_job: Some(stopped.job),
                });
                insert_request_id(response.metadata_mut(), stopped.request_id.as_deref());
                Ok(response)
            }
            Err(error) => {
                if let Some(id) = &error.request_id {
                    span.record("aws_request_id", id);
                }
                span.record("aws_error", tracing::field::display(&error));
                Err(ApiError::Cognito(error, request).into())
            }
        }
    }
}
