//! The `ImportJobService` handler. A call reads top to bottom: decode (done by
//! tonic), validate, pick the pool's region, call Cognito, answer. The caller
//! arrives authenticated and authorized, as a [`Caller`] in the request's
//! extensions: authorization, deadlines and logging are tower layers around
//! the handler (see `startup`); error statuses come from `error`.

use tonic::{Request, Response, Status, metadata::MetadataValue};
use tracing::Span;

use crate::{
    auth::Caller,
    cognito::Cognito,
    error::{ApiError, REQUEST_ID_KEY},
    proto::{
        StopUserImportJobRequest, StopUserImportJobResponse,
        import_job_service_server::ImportJobService,
    },
    telemetry::loggable,
    validation::StopRequest,
};

/// Serves `importjob.v1.ImportJobService` by forwarding to Cognito.
#[derive(Clone)]
pub struct ImportJobs {
    cognito: Cognito,
}

impl ImportJobs {
    pub fn new(cognito: Cognito) -> Self {
        Self { cognito }
    }
}

#[tonic::async_trait]
impl ImportJobService for ImportJobs {
    async fn stop_user_import_job(
        &self,
        request: Request<StopUserImportJobRequest>,
    ) -> Result<Response<StopUserImportJobResponse>, Status> {
        let caller = request
            .extensions()
            .get::<Caller>()
            .cloned()
            .unwrap_or_default();
        let request = request.into_inner();
        let span = Span::current();
        span.record("caller", tracing::field::display(&caller));
        span.record("user_pool_id", loggable(&request.user_pool_id));
        span.record("job_id", loggable(&request.job_id));

        let request = StopRequest::parse(&request.user_pool_id, &request.job_id)
            .map_err(ApiError::InvalidRequest)?;
        let region = self
            .cognito
            .region_for(&request.user_pool_id)
            .ok_or_else(|| ApiError::UnknownRegion(request.user_pool_id.clone()))?;
        span.record("aws_region", &region);

        match self.cognito.stop_user_import_job(region, &request).await {
            Ok(stopped) => {
                if let Some(id) = &stopped.request_id {
                    span.record("aws_request_id", id);
                }
                let mut response = Response::new(StopUserImportJobResponse {
                    user_import_job: Some(stopped.job),
                });
                if let Some(value) = stopped
                    .request_id
                    .and_then(|id| MetadataValue::try_from(id).ok())
                {
                    response.metadata_mut().insert(REQUEST_ID_KEY, value);
                }
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
