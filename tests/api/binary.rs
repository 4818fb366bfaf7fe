//! The built binary: flags, start-up and signals, as an operator meets them.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::helpers::channel;

const BINARY: &str = env!("CARGO_BIN_EXE_import-job-service");

#[test]
fn a_bad_flag_value_exits_2_naming_the_flag_before_binding() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = taken.local_addr().unwrap().to_string();
    for (flag, value) in [
        ("--aws-max-attempts", "0"),
        ("--shutdown-grace", "forever"),
        ("--aws-region", "mars"),
        ("--listen", "here"),
    ] {
        let output = Command::new(BINARY)
            .args([
                "--local-cognito",
                "--insecure-allow-unauthenticated",
                "--listen",
                &listen,
                flag,
                value,
            ])
            .env_clear()
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flag}: {stderr}");
        assert!(stderr.contains(flag), "{flag}: {stderr}");
        assert!(
            !stderr.contains("Address already in use"),
            "{flag}: it must fail before binding: {stderr}"
        );
    }
}

#[test]
fn environment_variables_stand_in_for_flags() {
    let output = Command::new(BINARY)
        .env_clear()
        .env("IMPORT_JOB_SERVICE_INSECURE_ALLOW_UNAUTHENTICATED", "true")
        .env("IMPORT_JOB_SERVICE_AWS_MAX_ATTEMPTS", "99")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--aws-max-attempts"));
}

#[tokio::test]
async fn sigterm_turns_health_off_and_exits_0() {
    let mut child = Command::new(BINARY)
        .args([
            "--local-cognito",
            "--insecure-allow-unauthenticated",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
        ])
        .env_clear()
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let addr = loop {
        let mut line = String::new();
        assert_ne!(
            stderr.read_line(&mut line).unwrap(),
            0,
            "the service exited early"
        );
        if let Ok(event) = serde_json::from_str::<serde_json::Value>(&line)
            && event["fields"]["message"] == "import-job-service listening"
        {
            break event["fields"]["addr"].as_str().unwrap().parse().unwrap();
        }
    };
    let mut health = HealthClient::new(channel(addr).await);
    let status = health
        .check(HealthCheckRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.status(), ServingStatus::Serving);

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());

    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(exit.code(), Some(0));
    let rest: Vec<String> = stderr.lines().map_while(Result::ok).collect();
    assert!(
        rest.iter().any(|l| l.contains("SIGTERM received")),
        "{rest:?}"
    );
    let _ = Duration::ZERO;
}
