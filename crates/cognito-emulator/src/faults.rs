//! Faults the emulator can answer with instead of Cognito's answer, and
//! which call suffers which.

use std::{
    collections::{HashMap, VecDeque},
    time::Duration,
};

use serde_json::Value;

/// Something to do instead of answering normally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this AWS error: `error_type` in `x-amzn-ErrorType` and the
    /// body's `__type`, with this HTTP status.
    Error {
        error_type: String,
        status: u16,
        message: String,
    },
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Never answer: hold the call until its caller goes away (it is then
    /// counted in [`crate::Emulator::abandoned_calls`]).
    Hang,
    /// Answer HTTP 200 with a body that is not JSON: a JSON document cut
    /// short, its length announced correctly.
    MalformedBody,
    /// Answer with this HTTP status and JSON body, whatever the call asked.
    Respond { status: u16, body: String },
    /// Answer with this HTTP status, `Content-Type` and body, as a proxy or
    /// load balancer in front of Cognito might (see [`Fault::html_page`]).
    WrongContentType {
        status: u16,
        content_type: String,
        body: String,
    },
    /// Answer HTTP 200 announcing a whole answer's `Content-Length`, send
    /// half of it, and close the connection. The job is left as it was.
    TruncatedBody,
    /// Answer normally, padded to `bytes` bytes in all with a member Cognito
    /// does not send, its length announced in `Content-Length`, or, when
    /// `chunked`, not announced. The padding is streamed a chunk at a time:
    /// the emulator holds no copy of it, so what memory the answer costs is
    /// the receiver's.
    OversizedBody { bytes: usize, chunked: bool },
    /// Close the connection without answering.
    DropConnection,
    /// Reset the connection (TCP RST) without answering.
    ResetConnection,
}

impl Fault {
    /// An AWS error with Cognito's usual HTTP status for it.
    pub fn error(error_type: &str, message: &str) -> Self {
        let status = if error_type == "InternalErrorException" {
            500
        } else {
            400
        };
        Fault::Error {
            error_type: error_type.to_owned(),
            status,
            message: message.to_owned(),
        }
    }

    /// An HTML error page with this HTTP status, as a proxy sends one.
    pub fn html_page(status: u16) -> Self {
        Fault::WrongContentType {
            status,
            content_type: "text/html; charset=utf-8".to_owned(),
            body: format!(
                "<html><head><title>{status}</title></head><body><h1>{status}</h1><p>The proxy could not complete the request.</p></body></html>"
            ),
        }
    }
}

/// The faults waiting for calls: for the next calls whatever they are, for
/// the next calls of one operation, and for every call about one job, taken
/// in that order.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    next: VecDeque<Fault>,
    by_operation: HashMap<String, VecDeque<Fault>>,
    by_job: HashMap<String, Fault>,
}

impl Faults {
    pub(crate) fn queue(&mut self, fault: Fault, times: usize) {
        self.next.extend(std::iter::repeat_n(fault, times));
    }

    pub(crate) fn queue_for_operation(&mut self, operation: &str, fault: Fault, times: usize) {
        if times > 0 {
            self.by_operation
                .entry(operation.to_owned())
                .or_default()
                .extend(std::iter::repeat_n(fault, times));
        }
    }

    pub(crate) fn clear_operation(&mut self, operation: &str) {
        self.by_operation.remove(operation);
    }

    pub(crate) fn set_for_job(&mut self, job_id: &str, fault: Fault) {
        self.by_job.insert(job_id.to_owned(), fault);
    }

    pub(crate) fn clear_job(&mut self, job_id: &str) {
        self.by_job.remove(job_id);
    }

    /// The fault a call of `operation` with this body suffers, if any; a
    /// queued fault is used up.
    pub(crate) fn take(&mut self, operation: &str, body: Option<&[u8]>) -> Option<Fault> {
        if let Some(fault) = self.next.pop_front() {
            return Some(fault);
        }
        if let Some(queue) = self.by_operation.get_mut(operation) {
            let fault = queue.pop_front();
            if queue.is_empty() {
                self.by_operation.remove(operation);
            }
            return fault;
        }
        if self.by_job.is_empty() {
            return None;
        }
        let job_id = body.and_then(job_id_of)?;
        self.by_job.get(&job_id).cloned()
    }
}

/// The `JobId` member of a request body.
pub(crate) fn job_id_of(body: &[u8]) -> Option<String> {
    match serde_json::from_slice::<Value>(body).ok()? {
        Value::Object(mut input) => match input.remove("JobId")? {
            Value::String(job_id) => Some(job_id),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttled() -> Fault {
        Fault::error("TooManyRequestsException", "Rate exceeded")
    }

    #[test]
    fn an_operations_faults_meet_only_its_next_calls() {
        let mut faults = Faults::default();
        let limit = Fault::error("LimitExceededException", "Too many jobs");
        faults.queue_for_operation("CreateUserImportJob", limit.clone(), 2);
        assert_eq!(faults.take("ListUserImportJobs", None), None);
        assert_eq!(
            faults.take("CreateUserImportJob", None),
            Some(limit.clone())
        );
        assert_eq!(faults.take("StopUserImportJob", None), None);
        assert_eq!(faults.take("CreateUserImportJob", None), Some(limit));
        assert_eq!(faults.take("CreateUserImportJob", None), None);
        assert!(faults.by_operation.is_empty(), "nothing left behind");
    }

    #[test]
    fn queued_faults_come_first_then_the_operations_then_the_jobs() {
        let mut faults = Faults::default();
        let body = br#"{"UserPoolId":"us-east-1_X","JobId":"import-a"}"#;
        faults.set_for_job("import-a", Fault::Hang);
        faults.queue_for_operation("StopUserImportJob", throttled(), 1);
        faults.queue(Fault::DropConnection, 1);
        let stop = |faults: &mut Faults| faults.take("StopUserImportJob", Some(body));
        assert_eq!(stop(&mut faults), Some(Fault::DropConnection));
        assert_eq!(stop(&mut faults), Some(throttled()));
        assert_eq!(stop(&mut faults), Some(Fault::Hang));
        assert_eq!(stop(&mut faults), Some(Fault::Hang), "a job's fault stays");
        faults.clear_job("import-a");
        assert_eq!(stop(&mut faults), None);
    }

    #[test]
    fn an_operations_faults_can_be_cleared() {
        let mut faults = Faults::default();
        faults.queue_for_operation("GetCSVHeader", throttled(), 5);
        faults.queue_for_operation("GetCSVHeader", Fault::Hang, 0);
        faults.clear_operation("GetCSVHeader");
        assert_eq!(faults.take("GetCSVHeader", None), None);
    }
}
