//! What the service adds to the SDK's request pipeline: a count of its
//! retries, a cap on the size of Cognito's answers that no retry undoes,
//! and no retry of a call that is not idempotent but for throttling.

use std::{error::Error as StdError, fmt, marker::PhantomData, sync::Arc};

use aws_smithy_runtime_api::{
    box_error::BoxError,
    client::{
        interceptors::{
            Intercept,
            context::{
                BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextRef,
                InterceptorContext,
            },
        },
        retries::{
            RequestAttempts,
            classifiers::{ClassifyRetry, RetryAction},
        },
        runtime_components::RuntimeComponents,
    },
};
use aws_smithy_types::{
    body::SdkBody, config_bag::ConfigBag, error::metadata::ProvideErrorMetadata,
};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::chain::cause;
use crate::metrics::{Metrics, RegionLabels};

/// Counts the SDK's retries: every attempt of a call after its first.
pub(super) struct CountRetries {
    pub(super) metrics: Arc<Metrics>,
    pub(super) region: RegionLabels,
}

impl fmt::Debug for CountRetries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CountRetries")
            .field("region", &self.region.region)
            .finish_non_exhaustive()
    }
}

impl Intercept for CountRetries {
    fn name(&self) -> &'static str {
        "CountRetries"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg
            .load::<RequestAttempts>()
            .is_some_and(|attempts| attempts.attempts() > 1)
        {
            self.metrics
                .cognito_retries
                .get_or_create(&self.region)
                .inc();
        }
        Ok(())
    }
}

/// The largest answer read from Cognito. Its answers to these operations
/// are a few kilobytes (a job, or a page of at most 60); a larger one is
/// refused as it arrives, so a misbehaving endpoint cannot make the service
/// hold what it sends.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// An answer over [`MAX_RESPONSE_BYTES`].
#[derive(Debug)]
pub(super) struct ResponseTooLarge;

impl fmt::Display for ResponseTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the answer is larger than {MAX_RESPONSE_BYTES} bytes")
    }
}

impl StdError for ResponseTooLarge {}

/// Caps what the SDK reads of an answer at [`MAX_RESPONSE_BYTES`]: at once
/// when its `Content-Length` says more, else as its bytes arrive. (The SDK
/// reads a whole answer into memory before parsing it, however large.)
#[derive(Debug)]
pub(super) struct CapResponseSize;

impl Intercept for CapResponseSize {
    fn name(&self) -> &'static str {
        "CapResponseSize"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response_mut();
        let announced = response
            .headers()
            .get("content-length")
            .and_then(|length| length.parse::<u64>().ok());
        if announced.is_some_and(|length| length > MAX_RESPONSE_BYTES as u64) {
            return Err(Box::new(ResponseTooLarge));
        }
        let body = response.take_body();
        *response.body_mut() = body.map(|body| {
            SdkBody::from_body_1_x(Limited::new(body, MAX_RESPONSE_BYTES).map_err(|error| {
                match error.is::<LengthLimitError>() {
                    true => Box::new(ResponseTooLarge),
                    false => error,
                }
            }))
        });
        Ok(())
    }
}

/// An answer over the cap is not retried, whatever the SDK's own
/// classifiers say of a body that failed to arrive: Cognito did answer, so
/// the call may have had its effect (a job stopped), and a second attempt
/// would be judged by a second, different answer.
#[derive(Debug)]
pub(super) struct NoRetryAfterTooLarge;

impl ClassifyRetry for NoRetryAfterTooLarge {
    fn classify_retry(&self, context: &InterceptorContext) -> RetryAction {
        match context.output_or_error() {
            Some(Err(error)) if cause::<ResponseTooLarge>(error).is_some() => {
                RetryAction::RetryForbidden
            }
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "NoRetryAfterTooLarge"
    }
}

/// A call that is not idempotent (CreateUserImportJob) is tried again only
/// when Cognito throttled it, which it does before doing anything. Any other
/// failure (a 5xx, a timeout, a connection lost) may have come after Cognito
/// acted, and a second attempt would create a second job.
pub(super) struct RetryOnlyThrottled<E> {
    /// Whether an AWS error code is a throttling one.
    pub(super) throttled: fn(Option<&str>) -> bool,
    pub(super) error: PhantomData<fn() -> E>,
}

impl<E> fmt::Debug for RetryOnlyThrottled<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RetryOnlyThrottled")
    }
}

impl<E> ClassifyRetry for RetryOnlyThrottled<E>
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    fn classify_retry(&self, context: &InterceptorContext) -> RetryAction {
        let Some(Err(error)) = context.output_or_error() else {
            return RetryAction::NoActionIndicated;
        };
        let code = error
            .as_operation_error()
            .and_then(|error| error.downcast_ref::<E>())
            .and_then(ProvideErrorMetadata::code);
        match (self.throttled)(code) {
            true => RetryAction::NoActionIndicated,
            false => RetryAction::RetryForbidden,
        }
    }

    fn name(&self) -> &'static str {
        "RetryOnlyThrottled"
    }
}
