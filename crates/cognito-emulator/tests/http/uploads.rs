//! Uploads to a job's pre-signed URL, answered as S3 answers, and the jobs
//! that import them.

use std::time::Duration;

use cognito_emulator::{
    Emulator, Job, JobStatus, NO_CSV_MESSAGE, STANDARD_CSV_HEADER, SUCCEEDED_MESSAGE, Timings,
    UNREADABLE_CSV_MESSAGE,
};
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::{call, create, ids};

const POOL: &str = "us-east-1_Uploads";

/// An S3 answer: its status, headers (names in lower case) and body.
#[derive(Debug)]
pub struct S3Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl S3Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.as_str())
    }

    /// The error document's `<Code>` and `<Message>`.
    pub fn error(&self) -> (&str, &str) {
        let element = |name: &str| {
            let open = format!("<{name}>");
            let start = self.body.find(&open).map(|at| at + open.len())?;
            let end = start + self.body[start..].find(&format!("</{name}>"))?;
            Some(&self.body[start..end])
        };
        (
            element("Code").unwrap_or_default(),
            element("Message").unwrap_or_default(),
        )
    }
}

/// The host and the path with its query of an emulator URL.
pub fn split_url(url: &str) -> (&str, &str) {
    let rest = url.strip_prefix("http://").unwrap();
    rest.split_at(rest.find('/').unwrap())
}

/// Sends `method` to `url` with the header lines `head` (each ended by
/// CRLF), then `body`, on a connection of its own; the answer.
pub async fn send(method: &str, url: &str, head: &str, body: &[u8]) -> S3Answer {
    let (host, target) = split_url(url);
    let mut stream = TcpStream::connect(host).await.unwrap();
    let request =
        format!("{method} {target} HTTP/1.1\r\nhost: {host}\r\n{head}connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    // A refusal comes before the body is read; the body is then not sent.
    if !body.is_empty() {
        stream.write_all(body).await.unwrap();
    }
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    parse(&response)
}

/// An HTTP/1.1 answer read to its end.
fn parse(response: &[u8]) -> S3Answer {
    let response = std::str::from_utf8(response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap()[9..12].parse().unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(": "))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
        .collect();
    S3Answer {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// The PUT the service sends: the signed header, the length, the file.
pub async fn upload(url: &str, file: &[u8]) -> S3Answer {
    let head = format!(
        "x-amz-server-side-encryption: aws:kms\r\ncontent-length: {}\r\n",
        file.len()
    );
    send("PUT", url, &head, file).await
}

/// A row of the standard header's columns: a user Cognito takes, or with
/// `email_verified` neither true nor false.
fn row(username: &str, good: bool) -> String {
    let columns: Vec<String> = STANDARD_CSV_HEADER
        .iter()
        .map(|column| match *column {
            "cognito:username" => username.to_owned(),
            "email" => format!("{username}@example.com"),
            "email_verified" => if good { "true" } else { "maybe" }.to_owned(),
            "phone_number_verified" | "cognito:mfa_enabled" => "false".to_owned(),
            _ => String::new(),
        })
        .collect();
    columns.join(",")
}

/// A file of these users: each a good row, or a bad one.
fn csv(users: &[(&str, bool)]) -> String {
    let mut file = STANDARD_CSV_HEADER.join(",");
    file.push('\n');
    for (username, good) in users {
        file.push_str(&row(username, *good));
        file.push('\n');
    }
    file
}

fn good(users: &[&'static str]) -> Vec<(&'static str, bool)> {
    users.iter().map(|user| (*user, true)).collect()
}

/// An emulator with an empty pool, jobs ending as soon as they begin.
async fn emulator() -> Emulator {
    let emulator = Emulator::start().await.unwrap();
    emulator.add_pool(POOL);
    emulator.set_timings(Timings::immediate());
    emulator
}

fn url_of(job: &Value) -> &str {
    job["PreSignedUrl"].as_str().unwrap()
}

fn id_of(job: &Value) -> &str {
    job["JobId"].as_str().unwrap()
}

/// Starts the job: its answer's UserImportJob.
async fn start(emulator: &Emulator, job: &Value) -> Value {
    let answer = call(emulator, "StartUserImportJob", ids(POOL, job)).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.body["UserImportJob"].clone()
}

async fn describe(emulator: &Emulator, job: &Value) -> Value {
    let answer = call(emulator, "DescribeUserImportJob", ids(POOL, job)).await;
    answer.body["UserImportJob"].clone()
}

/// Status, message and counts (imported, skipped, failed).
fn outcome(job: &Value) -> (&str, &str, i64, i64, i64) {
    (
        job["Status"].as_str().unwrap(),
        job["CompletionMessage"].as_str().unwrap_or_default(),
        job["ImportedUsers"].as_i64().unwrap(),
        job["SkippedUsers"].as_i64().unwrap(),
        job["FailedUsers"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn a_good_file_is_stored_as_its_counts_and_the_job_imports_it() {
    let emulator = emulator().await;
    let job = create(&emulator, POOL).await;
    let file = csv(&good(&["alice", "bob", "carol"]));
    let answer = upload(url_of(&job), file.as_bytes()).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let etag = answer.header("etag").unwrap();
    assert!(etag.len() == 34 && etag.starts_with('"') && etag.ends_with('"'));
    assert_eq!(
        answer.header("x-amz-server-side-encryption"),
        Some("aws:kms")
    );
    assert!(answer.header("x-amz-request-id").is_some());

    let stored = emulator.upload(POOL, id_of(&job)).unwrap();
    assert_eq!(stored.bytes, file.len() as u64);
    assert_eq!(
        (stored.rows, stored.failed_rows, stored.file_problems),
        (3, 0, 0)
    );
    assert_eq!(stored.etag, etag);
    let calls: Vec<_> = emulator.calls().into_iter().map(|c| c.operation).collect();
    assert_eq!(
        calls,
        ["CreateUserImportJob"],
        "an upload is no Cognito call"
    );

    let started = start(&emulator, &job).await;
    assert_eq!(outcome(&started), ("Succeeded", SUCCEEDED_MESSAGE, 3, 0, 0));
    assert!(started["CompletionDate"].is_f64());
    assert_eq!(emulator.user_count(POOL), Some(3));
}

#[tokio::test]
async fn rows_with_problems_fail_and_the_job_succeeds_all_the_same() {
    let emulator = emulator().await;
    let job = create(&emulator, POOL).await;
    // A flag neither true nor false, and a username the file has already.
    let file = csv(&[("a", true), ("b", false), ("c", true), ("a", true)]);
    assert_eq!(upload(url_of(&job), file.as_bytes()).await.status, 200);
    let stored = emulator.upload(POOL, id_of(&job)).unwrap();
    assert_eq!((stored.rows, stored.failed_rows), (4, 2));
    let started = start(&emulator, &job).await;
    assert_eq!(outcome(&started), ("Succeeded", SUCCEEDED_MESSAGE, 2, 0, 2));

    // Every row failing fails every user, not the job.
    let job = create(&emulator, POOL).await;
    let file = csv(&[("x", false), ("y", false)]);
    upload(url_of(&job), file.as_bytes()).await;
    let started = start(&emulator, &job).await;
    assert_eq!(outcome(&started), ("Succeeded", SUCCEEDED_MESSAGE, 0, 0, 2));
}

#[tokio::test]
async fn a_file_cognito_cannot_read_fails_the_job_and_no_file_fails_it_too() {
    let emulator = emulator().await;
    let job = create(&emulator, POOL).await;
    let file = "cognito:username,email_verified,cognito:mfa_enabled\nalice,true,false\n";
    assert_eq!(upload(url_of(&job), file.as_bytes()).await.status, 200);
    let stored = emulator.upload(POOL, id_of(&job)).unwrap();
    assert!(!stored.is_readable());
    let started = start(&emulator, &job).await;
    assert_eq!(
        outcome(&started),
        ("Failed", UNREADABLE_CSV_MESSAGE, 0, 0, 0)
    );

    let job = create(&emulator, POOL).await;
    let started = start(&emulator, &job).await;
    assert_eq!(outcome(&started), ("Failed", NO_CSV_MESSAGE, 0, 0, 0));
    assert_eq!(emulator.user_count(POOL), Some(0));
}

#[tokio::test]
async fn a_username_the_pool_has_is_skipped_and_the_first_job_to_end_imports_it() {
    let emulator = emulator().await;
    emulator.add_users(POOL, &["dave"]);
    emulator.set_timings(Timings {
        pending: Duration::ZERO,
        in_progress: Duration::from_millis(300),
        ..Timings::immediate()
    });
    let first = create(&emulator, POOL).await;
    let second = create(&emulator, POOL).await;
    upload(
        url_of(&first),
        csv(&good(&["alice", "bob", "dave"])).as_bytes(),
    )
    .await;
    upload(url_of(&second), csv(&good(&["bob", "carol"])).as_bytes()).await;
    assert_eq!(start(&emulator, &first).await["Status"], "InProgress");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(start(&emulator, &second).await["Status"], "InProgress");
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Read first, the second job still ends after the first: bob is the
    // first's.
    let second = describe(&emulator, &second).await;
    assert_eq!(outcome(&second), ("Succeeded", SUCCEEDED_MESSAGE, 1, 1, 0));
    let first = describe(&emulator, &first).await;
    assert_eq!(outcome(&first), ("Succeeded", SUCCEEDED_MESSAGE, 2, 1, 0));
    assert_eq!(emulator.user_count(POOL), Some(4));
}

#[tokio::test]
async fn counts_appear_when_the_job_ends_and_a_stopped_job_imports_no_one() {
    let emulator = emulator().await;
    emulator.set_timings(Timings {
        pending: Duration::ZERO,
        in_progress: Duration::from_secs(3600),
        ..Timings::immediate()
    });
    let file = csv(&good(&["alice", "bob"]));
    let running = create(&emulator, POOL).await;
    let stopped = create(&emulator, POOL).await;
    for job in [&running, &stopped] {
        upload(url_of(job), file.as_bytes()).await;
        let started = start(&emulator, job).await;
        assert_eq!(outcome(&started), ("InProgress", "", 0, 0, 0));
    }
    let answer = call(&emulator, "StopUserImportJob", ids(POOL, &stopped)).await;
    assert_eq!(outcome(&answer.body["UserImportJob"]).0, "Stopped");
    assert_eq!(outcome(&answer.body["UserImportJob"]).2, 0);

    emulator.set_timings(Timings::immediate());
    let ended = describe(&emulator, &running).await;
    assert_eq!(outcome(&ended), ("Succeeded", SUCCEEDED_MESSAGE, 2, 0, 0));
    assert_eq!(emulator.user_count(POOL), Some(2));
}

#[tokio::test]
async fn a_later_upload_replaces_the_earlier_and_one_after_the_start_is_not_imported() {
    let emulator = emulator().await;
    let job = create(&emulator, POOL).await;
    let first = upload(url_of(&job), csv(&good(&["a", "b"])).as_bytes()).await;
    let second = upload(url_of(&job), csv(&good(&["c", "d", "e"])).as_bytes()).await;
    assert_ne!(first.header("etag"), second.header("etag"));
    let stored = emulator.upload(POOL, id_of(&job)).unwrap();
    assert_eq!(
        (stored.rows, stored.etag.as_str()),
        (3, second.header("etag").unwrap())
    );
    assert_eq!(outcome(&start(&emulator, &job).await).2, 3);

    // S3 takes a file while the URL is valid; the job has begun without it.
    emulator.set_timings(Timings {
        pending: Duration::from_secs(3600),
        ..Timings::immediate()
    });
    let late = create(&emulator, POOL).await;
    start(&emulator, &late).await;
    let answer = upload(url_of(&late), csv(&good(&["f"])).as_bytes()).await;
    assert_eq!(answer.status, 200);
    assert_eq!(emulator.upload(POOL, id_of(&late)).unwrap().rows, 1);
    emulator.set_timings(Timings::immediate());
    let ended = describe(&emulator, &late).await;
    assert_eq!(outcome(&ended), ("Failed", NO_CSV_MESSAGE, 0, 0, 0));
}

/// Sends the head and the first `sent` bytes of `file`, announcing all of
/// it, then closes the connection; returns once the emulator closed its
/// side.
async fn cut_short(emulator: &Emulator, url: &str, file: &[u8], sent: usize) {
    let (host, target) = split_url(url);
    let mut stream = TcpStream::connect(host).await.unwrap();
    let head = format!(
        "PUT {target} HTTP/1.1\r\nhost: {host}\r\nx-amz-server-side-encryption: aws:kms\r\n\
         content-length: {}\r\n\r\n",
        file.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&file[..sent]).await.unwrap();
    // Time for the emulator to read what was sent and wait for more.
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(stream);
    for _ in 0..400 {
        if emulator.open_connections() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the emulator kept the connection");
}

#[tokio::test]
async fn an_upload_cut_short_stores_nothing_and_leaves_the_one_before() {
    let emulator = emulator().await;
    let file = csv(&good(&["alice", "bob", "carol", "dave"]));
    let job = create(&emulator, POOL).await;
    for sent in [0, file.len() / 2, file.len() - 1] {
        cut_short(&emulator, url_of(&job), file.as_bytes(), sent).await;
        assert_eq!(
            emulator.upload(POOL, id_of(&job)),
            None,
            "{sent} bytes sent"
        );
    }
    let started = start(&emulator, &job).await;
    assert_eq!(outcome(&started), ("Failed", NO_CSV_MESSAGE, 0, 0, 0));

    let job = create(&emulator, POOL).await;
    let whole = upload(url_of(&job), csv(&good(&["erin"])).as_bytes()).await;
    cut_short(&emulator, url_of(&job), file.as_bytes(), file.len() - 1).await;
    let stored = emulator.upload(POOL, id_of(&job)).unwrap();
    assert_eq!(
        (stored.rows, stored.etag.as_str()),
        (1, whole.header("etag").unwrap())
    );
    let started = start(&emulator, &job).await;
    assert_eq!(outcome(&started), ("Succeeded", SUCCEEDED_MESSAGE, 1, 0, 0));
}

#[tokio::test]
async fn each_refusal_is_s3s_and_stores_nothing() {
    let emulator = emulator().await;
    let job = create(&emulator, POOL).await;
    let url = url_of(&job).to_owned();
    let (path, query) = url.split_once('?').unwrap();
    let file = csv(&good(&["alice"]));
    let sse = "x-amz-server-side-encryption: aws:kms\r\n";
    let length = format!("content-length: {}\r\n", file.len());
    let signature = url.rsplit_once('=').unwrap().1;
    let mut other_signature = signature.to_owned();
    other_signature.replace_range(..1, if signature.starts_with('0') { "1" } else { "0" });
    // A job whose URL was signed a day ago.
    let mut old = Job::in_status(POOL, "import-old", JobStatus::Created);
    let fresh = emulator.pre_signed_url(POOL, &old.job_id);
    let date = fresh.split("X-Amz-Date=").nth(1).unwrap()[..16].to_owned();
    old.pre_signed_url = fresh.replace(&date, "20200101T000000Z");
    emulator.put_job(old.clone());

    let forbidden_signature = (403, "SignatureDoesNotMatch");
    let cases: Vec<(&str, String, String, (u16, &str))> = vec![
        (
            "PUT",
            url.replace(signature, &other_signature),
            format!("{sse}{length}"),
            forbidden_signature,
        ),
        (
            "PUT",
            format!("{path}X?{query}"),
            format!("{sse}{length}"),
            forbidden_signature,
        ),
        (
            "PUT",
            url.replace("X-Amz-Expires=900", "X-Amz-Expires=9000"),
            format!("{sse}{length}"),
            forbidden_signature,
        ),
        ("GET", url.clone(), String::new(), forbidden_signature),
        ("PUT", url.clone(), length.clone(), forbidden_signature),
        (
            "PUT",
            url.clone(),
            format!("x-amz-server-side-encryption: AES256\r\n{length}"),
            forbidden_signature,
        ),
        (
            "PUT",
            path.to_owned(),
            format!("{sse}{length}"),
            (403, "AccessDenied"),
        ),
        (
            "PUT",
            url.split("&X-Amz-Signature").next().unwrap().to_owned(),
            format!("{sse}{length}"),
            (400, "AuthorizationQueryParametersError"),
        ),
        (
            "PUT",
            old.pre_signed_url.clone(),
            format!("{sse}{length}"),
            (403, "AccessDenied"),
        ),
        (
            "PUT",
            url.clone(),
            sse.to_owned(),
            (411, "MissingContentLength"),
        ),
        (
            "PUT",
            url.clone(),
            format!("{sse}transfer-encoding: chunked\r\n"),
            (501, "NotImplemented"),
        ),
        (
            "PUT",
            url.clone(),
            format!("{sse}content-length: 100000001\r\n"),
            (400, "EntityTooLarge"),
        ),
    ];
    for (method, url, head, (status, code)) in cases {
        let answer = send(method, &url, &head, b"").await;
        assert_eq!(
            (answer.status, answer.error().0),
            (status, code),
            "{method} {url} {head:?}: {answer:?}"
        );
        assert_eq!(answer.header("content-type"), Some("application/xml"));
        assert!(answer.body.starts_with("<?xml"), "{answer:?}");
        assert!(answer.header("x-amz-request-id").is_some());
    }
    let expired = send("PUT", &old.pre_signed_url, &format!("{sse}{length}"), b"").await;
    assert_eq!(expired.error(), ("AccessDenied", "Request has expired"));

    assert_eq!(emulator.upload(POOL, id_of(&job)), None);
    assert_eq!(emulator.upload(POOL, &old.job_id), None);
    // The job's own URL, with the signed header and the length, is taken.
    let answer = upload(&url, file.as_bytes()).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(emulator.calls().len(), 1, "the CreateUserImportJob only");
}

#[tokio::test]
async fn a_job_put_in_place_takes_uploads_at_the_emulators_url() {
    let emulator = emulator().await;
    let mut job = Job::in_status(POOL, "import-put", JobStatus::Created);
    job.pre_signed_url = emulator.pre_signed_url(POOL, &job.job_id);
    emulator.put_job(job.clone());
    let file = csv(&good(&["alice", "bob"]));
    assert_eq!(
        upload(&job.pre_signed_url, file.as_bytes()).await.status,
        200
    );
    let started = call(
        &emulator,
        "StartUserImportJob",
        serde_json::json!({"UserPoolId": POOL, "JobId": job.job_id}),
    )
    .await;
    let started = &started.body["UserImportJob"];
    assert_eq!(outcome(started), ("Succeeded", SUCCEEDED_MESSAGE, 2, 0, 0));
}

#[tokio::test]
async fn a_refusal_is_answered_with_a_body_in_flight_and_ends_the_connection() {
    let emulator = emulator().await;
    let job = create(&emulator, POOL).await;
    let url = url_of(&job).replace("X-Amz-Expires=900", "X-Amz-Expires=9");
    let (host, target) = split_url(&url);
    for size in [0, 100_000, 8_000_000] {
        // A client that would keep the connection, sending the whole body.
        let mut stream = TcpStream::connect(host).await.unwrap();
        let head = format!(
            "PUT {target} HTTP/1.1\r\nhost: {host}\r\n\
             x-amz-server-side-encryption: aws:kms\r\ncontent-length: {size}\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        // Once the emulator has closed, the rest cannot be written.
        let _ = stream.write_all(&vec![b'a'; size]).await;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        let answer = parse(&response);
        assert_eq!(
            answer.error().0,
            "SignatureDoesNotMatch",
            "{size}: {answer:?}"
        );
        assert_eq!(answer.header("connection"), Some("close"));
    }
    assert_eq!(emulator.upload(POOL, id_of(&job)), None);
}
