//! The `emulator_request` target: one HTTP request to the Cognito emulator,
//! over a real loopback socket.

use std::{
    io::{Read, Write},
    net::TcpStream,
    sync::{Mutex, OnceLock},
    time::Duration,
};

use http::{HeaderName, HeaderValue};
use serde_json::Value;

use import_job_service::{
    emulator::Emulator,
    validation::{JobRequest, cognito_message},
};

/// The emulator [`emulator_request`] talks to, restarted every
/// [`EMULATOR_CALLS`] calls so its state (jobs created, calls recorded) stays
/// small.
pub(crate) struct EmulatorClient {
    runtime: tokio::runtime::Runtime,
    emulator: Option<Emulator>,
    connection: Option<TcpStream>,
    calls: usize,
}

pub(crate) const EMULATOR_CALLS: usize = 2000;

pub(crate) fn emulator_client() -> &'static Mutex<EmulatorClient> {
    static CLIENT: OnceLock<Mutex<EmulatorClient>> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        Mutex::new(EmulatorClient {
            runtime,
            emulator: None,
            connection: None,
            calls: 0,
        })
    })
}

/// Headers the fuzzer may not set: they frame the message, which the harness
/// does itself.
pub(crate) const FRAMING_HEADERS: [&str; 8] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "host",
    "expect",
    "upgrade",
    "te",
    "keep-alive",
];

/// One answer of the emulator.
pub(crate) struct HttpAnswer {
    status: u16,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl HttpAnswer {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }
}

impl EmulatorClient {
    fn send(&mut self, request: &[u8]) -> HttpAnswer {
        if self.calls.is_multiple_of(EMULATOR_CALLS) {
            self.connection = None;
            self.emulator = None;
        }
        self.calls += 1;
        let emulator = match &self.emulator {
            Some(emulator) => emulator.clone(),
            None => {
                let started = self.runtime.block_on(Emulator::start()).expect("emulator");
                self.emulator = Some(started.clone());
                started
            }
        };
        // One retry on a fresh connection: the emulator may close an idle one.
        for attempt in 0..2 {
            let mut connection = match self.connection.take() {
                Some(connection) => connection,
                None => {
                    let addr = emulator.url().trim_start_matches("http://").to_owned();
                    let stream = TcpStream::connect(addr).expect("connecting to the emulator");
                    stream.set_nodelay(true).expect("nodelay");
                    stream
                        .set_read_timeout(Some(Duration::from_secs(10)))
                        .expect("timeout");
                    stream
                }
            };
            match exchange(&mut connection, request) {
                Ok(answer) => {
                    self.connection = Some(connection);
                    return answer;
                }
                Err(error) if attempt == 0 => {
                    let _ = error;
                    continue;
                }
                Err(error) => panic!("the emulator did not answer: {error}"),
            }
        }
        unreachable!()
    }
}

pub(crate) fn exchange(connection: &mut TcpStream, request: &[u8]) -> std::io::Result<HttpAnswer> {
    connection.write_all(request)?;
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = connection.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buffer[..head_end]).expect("an ASCII response head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a status line: {status_line:?}"));
    let headers: Vec<(String, Vec<u8>)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').expect("a header line");
            (name.to_owned(), value.trim().as_bytes().to_vec())
        })
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| std::str::from_utf8(v).ok()?.parse().ok())
        .expect("the emulator sends a content-length");
    let mut body = buffer.split_off(head_end + 4);
    while body.len() < length {
        let n = connection.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        body.extend_from_slice(&chunk[..n]);
    }
    assert_eq!(body.len(), length, "no bytes beyond the answer");
    Ok(HttpAnswer {
        status,
        headers,
        body,
    })
}

/// Splits the fuzz input of [`emulator_request`] into headers and body.
pub fn emulator_input(data: &[u8]) -> (Vec<(HeaderName, HeaderValue)>, &[u8]) {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &[][..]),
    };
    // hyper answers more than 100 headers itself, without the emulator.
    let headers = head
        .split(|&b| b == b'\n')
        .take(64)
        .filter_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            let name = HeaderName::from_bytes(&line[..colon]).ok()?;
            let value = HeaderValue::from_bytes(line[colon + 1..].trim_ascii()).ok()?;
            (!FRAMING_HEADERS.contains(&name.as_str())).then_some((name, value))
        })
        .collect();
    (headers, body)
}

/// Fuzz target `emulator_request`. The input is header lines (`name: value`,
/// one a line), an empty line, and the body: the harness sends them to the
/// emulator as `POST /` over HTTP/1.1 with a correct `content-length`, as the
/// AWS SDK would, and checks the answer against AWS JSON 1.1 and the
/// README: one request id; an error has its type in `x-amzn-ErrorType` and
/// `__type`; only an application/x-amz-json-1.1 JSON object naming a known
/// operation succeeds; ids are validated with Cognito's words.
pub fn emulator_request(data: &[u8]) {
    let (headers, body) = emulator_input(data);
    let mut request = b"POST / HTTP/1.1\r\nhost: cognito-idp.us-east-1.amazonaws.com\r\n".to_vec();
    for (name, value) in &headers {
        request.extend_from_slice(name.as_str().as_bytes());
        request.extend_from_slice(b": ");
        request.extend_from_slice(value.as_bytes());
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
    request.extend_from_slice(body);

    let answer = emulator_client()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send(&request);
    check_emulator_answer(&headers, body, &answer);
}

pub(crate) fn check_emulator_answer(
    headers: &[(HeaderName, HeaderValue)],
    body: &[u8],
    answer: &HttpAnswer,
) {
    let first = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.to_str().ok())
    };
    let request_id = answer.header("x-amzn-requestid").expect("a request id");
    assert!(
        std::str::from_utf8(request_id).is_ok_and(|id| uuid::Uuid::parse_str(id).is_ok()),
        "{request_id:?}"
    );
    assert_eq!(
        answer.header("content-type"),
        Some(&b"application/x-amz-json-1.1"[..])
    );
    let Ok(Value::Object(output)) = serde_json::from_slice::<Value>(&answer.body) else {
        panic!(
            "not a JSON object: {:?}",
            String::from_utf8_lossy(&answer.body)
        );
    };

    let operation = first("x-amz-target")
        .and_then(|t| t.strip_prefix("AWSCognitoIdentityProviderService."))
        .unwrap_or_default();
    let is_json =
        first("content-type").is_some_and(|t| t.starts_with("application/x-amz-json-1.1"));
    let input = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(input)) => Some(input),
        _ => None,
    };

    if answer.status != 200 {
        let error_type = output
            .get("__type")
            .and_then(Value::as_str)
            .expect("an error names its type");
        assert!(output.get("message").is_some_and(Value::is_string));
        assert_eq!(
            answer.header("x-amzn-errortype"),
            Some(error_type.as_bytes())
        );
        let want_status = if error_type == "InternalErrorException" {
            500
        } else {
            400
        };
        assert_eq!(answer.status, want_status, "{error_type}");
    } else {
        assert!(is_json, "a success needs the JSON content type");
        assert!(input.is_some(), "a success needs a JSON object");
        assert!(!output.contains_key("__type"));
    }
    let Some(input) = input.filter(|_| is_json) else {
        assert_ne!(answer.status, 200);
        return;
    };

    // Both ids as strings: validation decides, in Cognito's words.
    let ids_operation = matches!(
        operation,
        "StopUserImportJob" | "StartUserImportJob" | "DescribeUserImportJob"
    );
    let pool = input.get("UserPoolId").and_then(Value::as_str);
    let job = input.get("JobId").and_then(Value::as_str);
    if ids_operation && let (Some(pool), Some(job)) = (pool, job) {
        match JobRequest::parse(pool, job) {
            Err(violations) => {
                assert_eq!(answer.status, 400);
                assert_eq!(
                    output.get("__type").and_then(Value::as_str),
                    Some("InvalidParameterException")
                );
                assert_eq!(
                    output.get("message").and_then(Value::as_str),
                    Some(cognito_message(&violations).as_str())
                );
            }
            Ok(request) if answer.status == 200 => {
                let job_out = output.get("UserImportJob").expect("the job");
                assert_eq!(
                    job_out.get("UserPoolId").and_then(Value::as_str),
                    Some(pool)
                );
                assert_eq!(job_out.get("JobId").and_then(Value::as_str), Some(job));
                let region = first("authorization").and_then(signed_region_model);
                assert!(
                    region.is_none_or(|r| r == request.user_pool_id.region_prefix()),
                    "a pool exists in one region"
                );
            }
            Ok(_) => {}
        }
    }
    if answer.status == 200 {
        match operation {
            "ListUserImportJobs" => {
                let max = input.get("MaxResults").and_then(Value::as_u64);
                let jobs = output
                    .get("UserImportJobs")
                    .and_then(Value::as_array)
                    .expect("the jobs");
                assert!(max.is_some_and(|max| (1..=60).contains(&max)));
                assert!(jobs.len() as u64 <= max.unwrap_or_default());
            }
            "CreateUserImportJob"
            | "StopUserImportJob"
            | "StartUserImportJob"
            | "DescribeUserImportJob" => {
                assert!(output.get("UserImportJob").is_some_and(Value::is_object));
            }
            "GetCSVHeader" => {
                assert!(output.get("CSVHeader").is_some_and(Value::is_array));
            }
            other => panic!("{other:?} succeeded"),
        }
    }
}

/// The region of a SigV4 credential scope
/// (`Credential=AKID/20260101/us-east-1/cognito-idp/aws4_request, ...`).
pub(crate) fn signed_region_model(authorization: &str) -> Option<&str> {
    let scope = authorization.split("Credential=").nth(1)?;
    scope.split(',').next()?.split('/').nth(2)
}
