//! The built binary: flags, start-up and signals, as an operator meets them.

use std::{
    io::{BufRead, BufReader, Read},
    net::SocketAddr,
    process::{Child, Command, Stdio},
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

/// The service as a child process, its stderr read line by line.
pub struct Running {
    pub child: Child,
    pub stderr: BufReader<Box<dyn Read + Send>>,
    pub addr: SocketAddr,
    /// What it logged before it listened.
    pub before_listening: Vec<String>,
}

impl Running {
    /// Starts the binary with `args` and waits until it listens.
    pub fn start(args: &[&str]) -> Self {
        Self::start_with_env(args, &[])
    }

    /// As [`Running::start`], with these environment variables (and no
    /// others).
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(BINARY)
            .args([
                "--local-cognito",
                "--listen",
                "127.0.0.1:0",
                "--log-format",
                "json",
            ])
            .args(args)
            .env_clear()
            .envs(env.iter().copied())
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut stderr =
            BufReader::new(Box::new(child.stderr.take().unwrap()) as Box<dyn Read + Send>);
        let mut before_listening = Vec::new();
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
            before_listening.push(line);
        };
        Self {
            child,
            stderr,
            addr,
            before_listening,
        }
    }

    pub fn signal(&self, signal: &str) {
        let kill = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
    }

    /// The rest of its stderr, for the caller to read.
    pub fn take_stderr(&mut self) -> BufReader<Box<dyn Read + Send>> {
        std::mem::replace(&mut self.stderr, BufReader::new(Box::new(std::io::empty())))
    }

    /// Reads log lines until one contains `text`.
    pub fn wait_for_line(&mut self, text: &str) -> String {
        let mut seen = String::new();
        loop {
            let mut line = String::new();
            if self.stderr.read_line(&mut line).unwrap() == 0 {
                let status = self.child.wait().unwrap();
                panic!("the service exited ({status}) before logging {text:?}; it logged:\n{seen}");
            }
            if line.contains(text) {
                return line;
            }
            seen.push_str(&line);
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn sigterm_drains_and_exits_0() {
    let mut running = Running::start(&["--insecure-allow-unauthenticated"]);
    let mut health = HealthClient::new(channel(running.addr).await);
    let status = health
        .check(HealthCheckRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.status(), ServingStatus::Serving);

    // Block elsewhere, so this runtime keeps serving the client's side of
    // the drain.
    let exit = tokio::task::spawn_blocking(move || {
        running.signal("-TERM");
        running.wait_for_line("SIGTERM received");
        running.child.wait().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(exit.code(), Some(0));
}

#[test]
fn without_a_policy_the_service_refuses_to_start_naming_both_options() {
    let output = Command::new(BINARY)
        .args(["--local-cognito"])
        .env_clear()
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--auth-policy") && stderr.contains("--insecure-allow-unauthenticated"),
        "{stderr}"
    );
}

#[test]
fn the_insecure_mode_is_logged_as_a_warning_at_start() {
    let running = Running::start(&["--insecure-allow-unauthenticated"]);
    let warning = running.before_listening.iter().find_map(|line| {
        let event: serde_json::Value = serde_json::from_str(line).ok()?;
        (event["level"] == "WARN").then_some(event)
    });
    let warning = warning.expect("a warning before the service listens");
    assert!(
        warning["fields"]["message"]
            .as_str()
            .unwrap()
            .contains("--insecure-allow-unauthenticated")
    );
}

#[test]
fn an_invalid_or_missing_policy_file_stops_the_service_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let invalid = dir.path().join("policy.json");
    std::fs::write(&invalid, r#"{"name": "p", "allow_rules": [], "deny": []}"#).unwrap();
    let missing = dir.path().join("absent.json");
    for (path, expected) in [(&invalid, "unknown field"), (&missing, "No such file")] {
        let output = Command::new(BINARY)
            .args([
                "--local-cognito",
                "--listen",
                "127.0.0.1:0",
                "--auth-policy",
            ])
            .arg(path)
            .env_clear()
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&path.display().to_string()) && stderr.contains(expected),
            "{stderr}"
        );
    }
}

#[test]
fn sighup_reloads_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.json");
    std::fs::write(&policy, r#"{"name": "first", "allow_rules": []}"#).unwrap();
    let policy_arg = policy.display().to_string();
    let mut running =
        Running::start(&["--auth-policy", &policy_arg, "--auth-reload-interval", "1h"]);

    std::fs::write(&policy, r#"{"name": "second", "allow_rules": []}"#).unwrap();
    running.signal("-HUP");
    running.wait_for_line("SIGHUP received");
    let line = running.wait_for_line("reloaded the authorization policy");
    assert!(line.contains(&policy_arg), "{line}");
}

#[test]
fn sighup_reloads_the_tls_files() {
    use crate::auth::fixtures::{Files, Pki};
    let files = Files::new();
    let pki = Pki::new("Binary CA");
    let first = pki.server();
    let (cert, key, ca) = (
        files.write("server.pem", &first.cert),
        files.write("server.key", &first.key),
        files.write("ca.pem", &pki.ca_pem()),
    );
    let policy = files.write("policy.json", r#"{"name": "p", "allow_rules": []}"#);
    let paths = [&cert, &key, &ca, &policy].map(|p| p.display().to_string());
    let mut running = Running::start(&[
        "--auth-policy",
        &paths[3],
        "--tls-cert",
        &paths[0],
        "--tls-key",
        &paths[1],
        "--client-ca",
        &paths[2],
        "--auth-reload-interval",
        "1h",
    ]);

    let renewed = pki.server();
    files.write("server.key", &renewed.key);
    files.write("server.pem", &renewed.cert);
    running.signal("-HUP");
    running.wait_for_line("SIGHUP received");
    let line = running.wait_for_line("reloaded the TLS files");
    assert!(
        line.contains(&paths[0]) && line.contains(&paths[1]),
        "{line}"
    );
}

#[tokio::test]
async fn sighup_without_a_file_to_reload_is_logged_and_ignored() {
    let mut running = Running::start(&["--insecure-allow-unauthenticated"]);
    running.signal("-HUP");
    let running = tokio::task::spawn_blocking(move || {
        running.wait_for_line("SIGHUP received: no file to reload; ignored");
        running
    })
    .await
    .unwrap();
    let status = HealthClient::new(channel(running.addr).await)
        .check(HealthCheckRequest::default())
        .await
        .expect("the service still answers")
        .into_inner();
    assert_eq!(status.status(), ServingStatus::Serving);
}

/// A free port for `--metrics-listen`.
pub fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// The metric series the service exposes.
async fn series(metrics: std::net::SocketAddr) -> std::collections::BTreeSet<String> {
    let (_, text) = crate::metrics::get(metrics, "/metrics").await;
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' ').map(|(series, _)| series.to_owned()))
        .collect()
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_ids_of_regions_aws_does_not_have_add_no_series_and_no_memory() {
    use import_job_service::proto::import_job_service_client::ImportJobServiceClient;

    let metrics_port = free_port();
    let metrics_arg = metrics_port.to_string();
    let mut running = Running::start(&[
        "--insecure-allow-unauthenticated",
        "--metrics-listen",
        &metrics_arg,
    ]);
    // Read, so that what is measured is the regions, not the log's queues.
    let mut stderr = running.take_stderr();
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let client = ImportJobServiceClient::new(channel(running.addr).await);
    let calls = |count: usize, seed: u64| {
        let client = client.clone();
        async move {
            let workers = (0..16).map(|worker| {
                let mut client = client.clone();
                tokio::spawn(async move {
                    for n in (worker..count).step_by(16) {
                        // Region-shaped names no region has: `zz-qkx-17`, ...
                        let k = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ seed;
                        let word = |shift: u32| {
                            (0..3)
                                .map(|i| char::from(b'a' + ((k >> (shift + 5 * i)) % 26) as u8))
                                .collect::<String>()
                        };
                        let pool = format!("zz{}-{}-{}_Pool", word(0), word(15), k % 97);
                        let status = client
                            .stop_user_import_job(crate::helpers::request(&pool, "import-x"))
                            .await
                            .unwrap_err();
                        crate::helpers::details(
                            &status,
                            tonic::Code::NotFound,
                            "USER_POOL_REGION_UNKNOWN",
                            "importjob.v1.ImportJobService",
                        );
                    }
                })
            });
            for worker in workers.collect::<Vec<_>>() {
                worker.await.unwrap();
            }
        }
    };
    // A known region, and a first round of unknown ones, so that every
    // series a refused call adds exists and the allocator has warmed up.
    let mut known = client.clone();
    known
        .stop_user_import_job(crate::helpers::request(
            import_job_service::emulator::DEMO_POOL,
            "import-pending",
        ))
        .await
        .unwrap();
    calls(1_000, 1).await;
    let pid = running.child.id().to_string();
    let resident_kib = || crate::helpers::resident_bytes(&pid) / 1024;
    let (series_before, resident_before) = (series(metrics_port).await, resident_kib());

    calls(10_000, 2).await;
    let (series_after, resident_after) = (series(metrics_port).await, resident_kib());
    let added: Vec<_> = series_after.difference(&series_before).collect();
    assert!(added.is_empty(), "new series: {added:?}");
    assert!(
        series_after.iter().all(|series| !series.contains("zz")),
        "a caller's region in a label"
    );
    assert!(
        resident_after < resident_before + 8 * 1024,
        "resident {resident_before} KiB before, {resident_after} KiB after 10,000 calls"
    );
}
