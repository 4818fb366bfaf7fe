//! The emulator over real HTTP, as the AWS SDK and the service reach it:
//! the state machine and its timings, every operation's answers, faults per
//! operation, uploads to the bucket and the jobs that import them.

mod faults;
mod lifecycle;
mod operations;
mod uploads;

use cognito_emulator::Emulator;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

pub const ROLE: &str = "arn:aws:iam::123456789012:role/CognitoImportJobLogs";

/// An answer: its HTTP status, its `x-amzn-RequestId`, its JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub request_id: String,
    pub body: Value,
}

impl Answer {
    pub fn error(&self) -> (&str, &str) {
        (
            self.body["__type"].as_str().unwrap_or_default(),
            self.body["message"].as_str().unwrap_or_default(),
        )
    }

    pub fn job_status(&self) -> &str {
        self.body["UserImportJob"]["Status"].as_str().unwrap()
    }
}

/// One call, signed for the region of `input`'s pool, on a connection of
/// its own.
pub async fn call(emulator: &Emulator, operation: &str, input: Value) -> Answer {
    let region = input["UserPoolId"]
        .as_str()
        .and_then(|pool| pool.split('_').next())
        .unwrap_or("us-east-1")
        .to_owned();
    let body = input.to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nhost: cognito-idp.{region}.amazonaws.com\r\n\
         content-type: application/x-amz-json-1.1\r\n\
         x-amz-target: AWSCognitoIdentityProviderService.{operation}\r\n\
         authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/{region}/cognito-idp/aws4_request, SignedHeaders=host, Signature=0\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let address = emulator.url().trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8(response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head[9..12].parse().unwrap();
    let request_id = head
        .lines()
        .find_map(|line| line.strip_prefix("x-amzn-requestid: "))
        .unwrap_or_default()
        .to_owned();
    Answer {
        status,
        request_id,
        body: serde_json::from_str(body).unwrap(),
    }
}

pub async fn create(emulator: &Emulator, pool: &str) -> Value {
    let answer = call(
        emulator,
        "CreateUserImportJob",
        json!({"UserPoolId": pool, "JobName": "nightly", "CloudWatchLogsRoleArn": ROLE}),
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.body["UserImportJob"].clone()
}

pub fn ids(pool: &str, job: &Value) -> Value {
    json!({"UserPoolId": pool, "JobId": job["JobId"]})
}
