//! An upload's cost in memory: the body streams through the check, so what
//! the emulator allocates does not grow with the file. A test binary of its
//! own, with one test, so that the allocator it counts serves nothing else.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    sync::atomic::{AtomicUsize, Ordering},
};

use cognito_emulator::{Emulator, STANDARD_CSV_HEADER};
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// The system's allocator, counting the bytes live and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::SeqCst) + bytes;
    PEAK.fetch_max(live, Ordering::SeqCst);
}

// SAFETY: every call goes to the system allocator with the caller's own
// arguments; the counting only reads their sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            grew(layout.size());
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        unsafe { System.dealloc(pointer, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
            grew(new_size);
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const POOL: &str = "us-east-1_Memory";
const MIB: usize = 1 << 20;

/// A user's row of about 14 KB: seven values of 2,000 characters, the
/// most Cognito takes in one being 2,048, and a row 16,000.
fn long_row(n: usize) -> String {
    let long = "x".repeat(2000);
    let columns: Vec<String> = STANDARD_CSV_HEADER
        .iter()
        .map(|column| match *column {
            "cognito:username" => format!("user{n:08}"),
            "email" => format!("user{n:08}@example.com"),
            "email_verified" => "true".to_owned(),
            "phone_number_verified" | "cognito:mfa_enabled" => "false".to_owned(),
            "name" | "given_name" | "family_name" | "middle_name" | "nickname" | "address"
            | "profile" => long.clone(),
            _ => String::new(),
        })
        .collect();
    columns.join(",") + "\n"
}

/// Creates a job and PUTs `rows` users to its URL, each row written from
/// the same template with its number patched in, so that the sender holds
/// one row: the peak of live bytes above what was live before, and the
/// rows the emulator counted.
async fn upload(emulator: &Emulator, rows: usize) -> (usize, u64) {
    let created = call_create(emulator).await;
    let url = created["UserImportJob"]["PreSignedUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    let job_id = created["UserImportJob"]["JobId"]
        .as_str()
        .unwrap()
        .to_owned();
    let header = format!("{}\n", STANDARD_CSV_HEADER.join(","));
    let mut row = long_row(0).into_bytes();
    // Where the username, and the email made of it, have their number.
    let numbers: Vec<usize> = (0..row.len() - 12)
        .filter(|&at| &row[at..at + 12] == b"user00000000")
        .map(|at| at + 4)
        .collect();
    let length = header.len() + rows * row.len();
    let (host, target) = url
        .strip_prefix("http://")
        .unwrap()
        .split_once('/')
        .unwrap();
    let mut stream = TcpStream::connect(host).await.unwrap();
    let head = format!(
        "PUT /{target} HTTP/1.1\r\nhost: {host}\r\nx-amz-server-side-encryption: aws:kms\r\n\
         content-length: {length}\r\nconnection: close\r\n\r\n"
    );
    let mut response = Vec::with_capacity(4096);

    let before = LIVE.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(header.as_bytes()).await.unwrap();
    for n in 0..rows {
        for &number_at in &numbers {
            let mut digits = n;
            for at in (number_at..number_at + 8).rev() {
                row[at] = b'0' + (digits % 10) as u8;
                digits /= 10;
            }
        }
        stream.write_all(&row).await.unwrap();
    }
    stream.read_to_end(&mut response).await.unwrap();
    let peak = PEAK.load(Ordering::SeqCst) - before;

    assert!(
        response.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&response)
    );
    let stored = emulator.upload(POOL, &job_id).unwrap();
    assert_eq!(stored.bytes, length as u64);
    assert_eq!((stored.failed_rows, stored.file_problems), (0, 0));
    (peak, stored.rows)
}

async fn call_create(emulator: &Emulator) -> serde_json::Value {
    let body = json!({"UserPoolId": POOL, "JobName": "memory",
        "CloudWatchLogsRoleArn": "arn:aws:iam::123456789012:role/CognitoImportJobLogs"})
    .to_string();
    let host = emulator.url().trim_start_matches("http://").to_owned();
    let request = format!(
        "POST / HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/x-amz-json-1.1\r\n\
         x-amz-target: AWSCognitoIdentityProviderService.CreateUserImportJob\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(host).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    serde_json::from_str(response.split_once("\r\n\r\n").unwrap().1).unwrap()
}

/// 5 MB and then 50 MB streamed: the emulator's peak above what it held
/// before is its buffers and the check's (a row, the header, the
/// usernames' hashes), the same for both and a small part of either file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_50_mb_upload_streams_in_memory_that_does_not_grow_with_it() {
    let emulator = Emulator::start().await.unwrap();
    emulator.add_pool(POOL);
    let row_bytes = long_row(0).len();
    let (small_peak, small_rows) = upload(&emulator, 5 * 1_000_000 / row_bytes).await;
    let (large_peak, large_rows) = upload(&emulator, 50 * 1_000_000 / row_bytes).await;
    eprintln!(
        "peak above the start: {:.2} MiB for {small_rows} rows (5 MB), {:.2} MiB for {large_rows} rows (50 MB)",
        small_peak as f64 / MIB as f64,
        large_peak as f64 / MIB as f64
    );
    assert!(large_peak < 4 * MIB, "{large_peak} bytes at the peak");
    assert!(
        large_peak < small_peak + MIB,
        "{large_peak} bytes at the peak for 50 MB, {small_peak} for 5 MB"
    );
}
