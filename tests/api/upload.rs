//! UploadUserImportCsv: the file checked as it streams, problems named by
//! line and column, nothing uploaded unless the whole file passed.

use futures_util::StreamExt;
use import_job_service::{
    emulator::{DEMO_POOL, JobStatus, STANDARD_CSV_HEADER},
    proto::{UploadUserImportCsvRequest, UploadUserImportCsvResponse, UserImportJobStatus},
};
use tonic::{Code, Status};

use crate::helpers::{TestApp, details, spawn_app};

const SERVICE: &str = "importjob.v1.ImportJobService";

/// A file of `users` valid users for a pool with the standard attributes.
pub fn good_csv(users: usize) -> String {
    let mut csv = STANDARD_CSV_HEADER.join(",");
    csv.push('\n');
    for n in 0..users {
        let row: Vec<String> = STANDARD_CSV_HEADER
            .iter()
            .map(|column| match *column {
                "cognito:username" => format!("user{n}"),
                "email" => format!("user{n}@example.com"),
                "email_verified" => "true".to_owned(),
                "phone_number_verified" | "cognito:mfa_enabled" => "false".to_owned(),
                "name" => format!("User {n}"),
                _ => String::new(),
            })
            .collect();
        csv.push_str(&row.join(","));
        csv.push('\n');
    }
    csv
}

/// Uploads `file` for `job` in chunks of `chunk` bytes.
pub async fn upload(
    app: &TestApp,
    job: &str,
    file: &[u8],
    chunk: usize,
    validate_only: bool,
) -> Result<UploadUserImportCsvResponse, Status> {
    let mut messages = vec![UploadUserImportCsvRequest {
        user_pool_id: DEMO_POOL.to_owned(),
        job_id: job.to_owned(),
        content_length: file.len() as u64,
        validate_only,
        chunk: Vec::new(),
    }];
    messages.extend(file.chunks(chunk).map(|bytes| UploadUserImportCsvRequest {
        chunk: bytes.to_vec(),
        ..Default::default()
    }));
    app.client
        .clone()
        .upload_user_import_csv(tokio_stream::iter(messages))
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn a_good_file_passes_validation_and_nothing_is_uploaded() {
    let app = spawn_app().await;
    let job = app.job_in(DEMO_POOL, JobStatus::Created).job_id;
    let file = good_csv(25);
    let answer = upload(&app, &job, file.as_bytes(), 100, true)
        .await
        .unwrap();
    assert_eq!(answer.bytes, file.len() as u64);
    assert_eq!(answer.rows, 25);
    assert!(!answer.uploaded);
    assert_eq!(
        answer.user_import_job.unwrap().status(),
        UserImportJobStatus::Created
    );
}

#[tokio::test]
async fn every_problem_is_named_by_line_and_column() {
    let app = spawn_app().await;
    let job = app.job_in(DEMO_POOL, JobStatus::Created).job_id;
    let mut file = good_csv(3);
    // Line 5: a user whose email_verified is neither true nor false, and
    // line 6: the username of line 2 again.
    let bad = good_csv(1)
        .lines()
        .nth(1)
        .unwrap()
        .replace(",true,", ",yes,")
        .replace("user0", "user9");
    file.push_str(&bad);
    file.push('\n');
    file.push_str(good_csv(1).lines().nth(1).unwrap());
    file.push('\n');
    for validate_only in [true, false] {
        let status = upload(&app, &job, file.as_bytes(), 7, validate_only)
            .await
            .unwrap_err();
        let problems = details(&status, Code::InvalidArgument, "CSV_INVALID", SERVICE);
        let places: Vec<_> = problems
            .bad_request()
            .unwrap()
            .field_violations
            .iter()
            .map(|v| format!("{}: {}", v.field, v.description))
            .collect();
        for place in [
            "line 5, column email_verified: ",
            "line 6, column cognito:username: ",
        ] {
            assert!(
                places.iter().any(|p| p.starts_with(place)),
                "{place} in {places:?}"
            );
        }
    }
    assert_eq!(
        app.emulator.upload(DEMO_POOL, &job),
        None,
        "nothing was stored"
    );
}

#[tokio::test]
async fn only_a_created_job_takes_a_file_and_the_stream_names_it_once() {
    let app = spawn_app().await;
    let running = app.job_in(DEMO_POOL, JobStatus::InProgress).job_id;
    let status = upload(&app, &running, good_csv(1).as_bytes(), 64, true)
        .await
        .unwrap_err();
    details(
        &status,
        Code::FailedPrecondition,
        "JOB_NOT_CREATED",
        SERVICE,
    );

    let created = app.job_in(DEMO_POOL, JobStatus::Created).job_id;
    let empty = upload(&app, &created, b"", 64, true).await.unwrap_err();
    let bad = details(&empty, Code::InvalidArgument, "INVALID_REQUEST", SERVICE);
    assert_eq!(
        bad.bad_request().unwrap().field_violations[0].field,
        "content_length"
    );
    // Every failing field is named.
    let both = upload(&app, "import_1", b"", 64, true).await.unwrap_err();
    let bad = details(&both, Code::InvalidArgument, "INVALID_REQUEST", SERVICE);
    let fields: Vec<_> = bad
        .bad_request()
        .unwrap()
        .field_violations
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    assert_eq!(fields, ["job_id", "content_length"]);

    let messages = vec![
        UploadUserImportCsvRequest {
            user_pool_id: DEMO_POOL.to_owned(),
            job_id: created.clone(),
            content_length: 10,
            validate_only: true,
            chunk: Vec::new(),
        },
        UploadUserImportCsvRequest {
            user_pool_id: DEMO_POOL.to_owned(),
            job_id: "import-another".to_owned(),
            ..Default::default()
        },
    ];
    let again = app
        .client
        .clone()
        .upload_user_import_csv(tokio_stream::iter(messages))
        .await
        .unwrap_err();
    details(&again, Code::InvalidArgument, "MESSAGE_MALFORMED", SERVICE);
}

/// The first message is read within the body timeout and the message limit,
/// as a unary request is; each later one must come within the body timeout
/// too, so a trickle cannot hold the call's places.
#[tokio::test]
async fn the_first_message_and_each_chunk_are_bounded_in_size_and_time() {
    let app = crate::helpers::spawn_app_with(&["--request-body-timeout", "200ms"]).await;
    let job = app.job_in(DEMO_POOL, JobStatus::Created).job_id;
    let first = |pool: String| UploadUserImportCsvRequest {
        user_pool_id: pool,
        job_id: job.clone(),
        content_length: 10,
        validate_only: true,
        chunk: Vec::new(),
    };

    let huge = first("x".repeat(5000));
    let status = app
        .client
        .clone()
        .upload_user_import_csv(tokio_stream::iter([huge]))
        .await
        .unwrap_err();
    details(
        &status,
        Code::ResourceExhausted,
        "MESSAGE_TOO_LARGE",
        SERVICE,
    );

    for pause_after in [0, 1] {
        let messages = futures_util::stream::unfold(0, {
            let first = first(DEMO_POOL.to_owned());
            move |sent| {
                let first = first.clone();
                async move {
                    if sent == pause_after {
                        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                    }
                    let message = match sent {
                        0 => first,
                        _ => UploadUserImportCsvRequest {
                            chunk: b"a,b\n".to_vec(),
                            ..Default::default()
                        },
                    };
                    Some((message, sent + 1))
                }
            }
        });
        let status = app
            .client
            .clone()
            .upload_user_import_csv(messages)
            .await
            .unwrap_err();
        details(
            &status,
            Code::DeadlineExceeded,
            "REQUEST_BODY_TIMEOUT",
            SERVICE,
        );
    }
}

/// A file at Cognito's limit (100 MB, 500,000 users less a few) streams
/// through the checks with the service's memory flat: what it holds is a
/// chunk, a row and the usernames' hashes, not the file. The peak of the
/// bytes in use on the test's thread, where its app, client and emulator
/// run (counted by the test binary's allocator, apart from the other tests
/// running at once), is printed.
#[tokio::test]
async fn a_file_at_cognitos_limit_streams_in_flat_memory() {
    const USERS: usize = 499_000;
    const FILE: u64 = cognito_csv::MAX_FILE_BYTES;
    let app = spawn_app().await;
    let job = app.job_in(DEMO_POOL, JobStatus::Created).job_id;
    let header = format!("{}\n", STANDARD_CSV_HEADER.join(","));
    let row = |n: usize, width: usize| {
        let columns: Vec<String> = STANDARD_CSV_HEADER
            .iter()
            .map(|column| match *column {
                "cognito:username" => format!("u{n:07}"),
                "email" => format!("u{n:07}@example.com"),
                "email_verified" => "true".to_owned(),
                "phone_number_verified" | "cognito:mfa_enabled" => "false".to_owned(),
                _ => String::new(),
            })
            .collect();
        let mut line = columns.join(",");
        // The name pads every row to `width` bytes, newline included.
        let pad = width - line.len() - 1;
        line.insert_str(0, &"n".repeat(pad));
        line.push('\n');
        line
    };
    // Rows of `width` bytes, the first `extra` one byte longer, fill the
    // file exactly.
    let width = (FILE as usize - header.len()) / USERS;
    let extra = (FILE as usize - header.len()) % USERS;
    // Rows are made as the stream is read, a chunk of 1000 at a time.
    let chunks = futures_util::stream::unfold(0, move |first_row| {
        let header = header.clone();
        async move {
            (first_row < USERS).then(|| {
                let mut chunk = if first_row == 0 {
                    header
                } else {
                    String::new()
                };
                for n in first_row..(first_row + 1000).min(USERS) {
                    chunk.push_str(&row(n, width + usize::from(n < extra)));
                }
                let message = UploadUserImportCsvRequest {
                    chunk: chunk.into_bytes(),
                    ..Default::default()
                };
                (message, first_row + 1000)
            })
        }
    });
    let first = UploadUserImportCsvRequest {
        user_pool_id: DEMO_POOL.to_owned(),
        job_id: job,
        content_length: FILE,
        validate_only: true,
        chunk: Vec::new(),
    };
    let live = crate::helpers::thread_bytes;
    let before = live();
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicIsize::new(before));
    let sampler = tokio::spawn({
        let peak = std::sync::Arc::clone(&peak);
        async move {
            loop {
                peak.fetch_max(live(), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }
    });
    let answer = app
        .client
        .clone()
        .upload_user_import_csv(futures_util::stream::iter([first]).chain(chunks))
        .await
        .unwrap()
        .into_inner();
    sampler.abort();
    assert_eq!(answer.bytes, FILE);
    assert_eq!(answer.rows, USERS as u64);
    let grown = (peak.load(std::sync::atomic::Ordering::Relaxed) - before).max(0) as usize;
    eprintln!(
        "a {FILE}-byte file of {USERS} users checked; the bytes in use grew by at most {:.1} MiB",
        grown as f64 / (1024.0 * 1024.0)
    );
    assert!(
        grown < 24 * 1024 * 1024,
        "grew by {grown} bytes for a {FILE}-byte file"
    );
}

/// A good file goes to the job's pre-signed URL, and the job, started,
/// imports its users: the counts come from the file, end to end.
#[tokio::test]
async fn a_good_file_imports_end_to_end_with_its_counts() {
    let app = spawn_app().await;
    app.emulator
        .set_timings(import_job_service::emulator::Timings {
            pending: std::time::Duration::from_millis(50),
            in_progress: std::time::Duration::from_millis(50),
            ..Default::default()
        });
    let job = app.job_in(DEMO_POOL, JobStatus::Created).job_id;
    let file = good_csv(40);
    let answer = upload(&app, &job, file.as_bytes(), 333, false)
        .await
        .unwrap();
    assert!(answer.uploaded);
    assert_eq!(answer.rows, 40);
    let stored = app
        .emulator
        .upload(DEMO_POOL, &job)
        .expect("S3 stored the file");
    assert_eq!(stored.bytes, file.len() as u64);

    app.client
        .clone()
        .start_user_import_job(import_job_service::proto::StartUserImportJobRequest {
            user_pool_id: DEMO_POOL.to_owned(),
            job_id: job.clone(),
        })
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let done = app.describe_job(DEMO_POOL, &job).await;
    assert_eq!(done.status(), UserImportJobStatus::Succeeded);
    assert_eq!(
        (done.imported_users, done.skipped_users, done.failed_users),
        (40, 0, 0)
    );
}

/// An upload whose caller goes away mid-file stores nothing: the service's
/// PUT ends short of its length, which S3 does not keep.
#[tokio::test]
async fn an_upload_cut_off_mid_stream_stores_nothing() {
    let app = spawn_app().await;
    let job = app.job_in(DEMO_POOL, JobStatus::Created).job_id;
    let file = good_csv(2000);
    let half = file.len() / 2;
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    let mut client = app.client.clone();
    let call = tokio::spawn(async move {
        client
            .upload_user_import_csv(tokio_stream::wrappers::ReceiverStream::new(receiver))
            .await
    });
    sender
        .send(UploadUserImportCsvRequest {
            user_pool_id: DEMO_POOL.to_owned(),
            job_id: job.clone(),
            content_length: file.len() as u64,
            validate_only: false,
            chunk: Vec::new(),
        })
        .await
        .unwrap();
    for bytes in file.as_bytes()[..half].chunks(4096) {
        sender
            .send(UploadUserImportCsvRequest {
                chunk: bytes.to_vec(),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    // Half the file is through the service; then all but its last bytes,
    // and the stream stays open: S3 has less than the file.
    for bytes in file.as_bytes()[half..file.len() - 10].chunks(4096) {
        sender
            .send(UploadUserImportCsvRequest {
                chunk: bytes.to_vec(),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    // Then the caller goes away, its stream never ended.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    call.abort();
    let _ = call.await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        app.emulator.upload(DEMO_POOL, &job),
        None,
        "nothing was stored"
    );
    assert_eq!(app.emulator.job(DEMO_POOL, &job).unwrap().status, "Created");
    drop(sender);
}

/// S3 refusing the upload (here, a URL that expired) is
/// FAILED_PRECONDITION with S3's error code, and the URL, a secret, is in
/// neither the answer nor the logs.
#[tokio::test]
async fn s3_refusing_the_upload_is_a_failed_precondition_that_names_no_url() {
    let app = spawn_app().await;
    let mut job = app.job_in(DEMO_POOL, JobStatus::Created);
    let date = job.pre_signed_url.split("X-Amz-Date=").nth(1).unwrap()[..16].to_owned();
    job.pre_signed_url = job.pre_signed_url.replace(&date, "20200101T000000Z");
    app.emulator.put_job(job.clone());

    let status = upload(&app, &job.job_id, good_csv(3).as_bytes(), 64, false)
        .await
        .unwrap_err();
    let refused = details(
        &status,
        Code::FailedPrecondition,
        "S3_REFUSED_UPLOAD",
        SERVICE,
    );
    let info = refused.error_info().unwrap();
    assert_eq!(info.metadata["s3ErrorCode"], "AccessDenied");
    assert_eq!(info.metadata["httpStatus"], "403");
    let signature = job.pre_signed_url.split("X-Amz-Signature=").nth(1).unwrap();
    let logs = crate::helpers::LOGS.text();
    for secret in [job.pre_signed_url.as_str(), signature] {
        assert!(!status.message().contains(secret));
        assert!(!logs.contains(secret), "the URL reached the logs");
    }
    assert_eq!(app.emulator.upload(DEMO_POOL, &job.job_id), None);
}

/// A problem only the end of the file shows (its last row, without a line
/// break), after a trailing empty chunk: the whole file went through the
/// service, but its last byte never reached S3, so nothing is stored.
#[tokio::test]
async fn a_problem_found_at_the_end_stores_nothing() {
    let app = spawn_app().await;
    let job = app.job_in(DEMO_POOL, JobStatus::Created).job_id;
    let mut file = good_csv(50);
    let bad = good_csv(1)
        .lines()
        .nth(1)
        .unwrap()
        .replace("user0", "user99")
        .replace(",false,", ",maybe,");
    file.push_str(&bad);
    let mut messages = vec![UploadUserImportCsvRequest {
        user_pool_id: DEMO_POOL.to_owned(),
        job_id: job.clone(),
        content_length: file.len() as u64,
        validate_only: false,
        chunk: Vec::new(),
    }];
    messages.extend(
        file.as_bytes()
            .chunks(512)
            .map(|bytes| UploadUserImportCsvRequest {
                chunk: bytes.to_vec(),
                ..Default::default()
            }),
    );
    messages.push(UploadUserImportCsvRequest::default());
    let status = app
        .client
        .clone()
        .upload_user_import_csv(tokio_stream::iter(messages))
        .await
        .unwrap_err();
    details(&status, Code::InvalidArgument, "CSV_INVALID", SERVICE);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(
        app.emulator.upload(DEMO_POOL, &job),
        None,
        "nothing was stored"
    );
}

/// Uploads in progress are bounded before a byte of the file is read.
#[tokio::test]
async fn uploads_in_progress_are_bounded() {
    let app = crate::helpers::spawn_app_with(&["--max-uploads-in-flight", "1"]).await;
    let held = app.job_in(DEMO_POOL, JobStatus::Created).job_id;
    let (sender, receiver) = tokio::sync::mpsc::channel(1);
    sender
        .send(UploadUserImportCsvRequest {
            user_pool_id: DEMO_POOL.to_owned(),
            job_id: held,
            content_length: 100,
            validate_only: true,
            chunk: Vec::new(),
        })
        .await
        .unwrap();
    let mut client = app.client.clone();
    let open = tokio::spawn(async move {
        client
            .upload_user_import_csv(tokio_stream::wrappers::ReceiverStream::new(receiver))
            .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let other = app.job_in(DEMO_POOL, JobStatus::Created).job_id;
    let status = upload(&app, &other, good_csv(1).as_bytes(), 64, true)
        .await
        .unwrap_err();
    details(
        &status,
        Code::ResourceExhausted,
        "UPLOADS_OVER_LIMIT",
        SERVICE,
    );
    drop(sender);
    let _ = open.await;
    upload(&app, &other, good_csv(1).as_bytes(), 64, true)
        .await
        .expect("a place is free again");
}
