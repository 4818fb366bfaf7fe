//! Rows driven by h2load (nghttp2's HTTP/2 load generator, in C), whose own
//! CPU per call is a fraction of this load generator's: the same server
//! measured with a cheaper client. h2load speaks HTTP/2, not gRPC: it sends
//! one prepared request body (a length-prefixed message) again and again and
//! counts an HTTP 200 as a success even when the gRPC status in the trailers
//! is an error, so each row is checked against what the server itself
//! counted. It reports no percentiles: latency is its mean and maximum.

use std::{
    collections::BTreeMap,
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use serde::Serialize;

use crate::{drive::PerProcess, procfs};

/// Calls by gRPC status code, as a server counted them.
pub type Codes = BTreeMap<String, u64>;

/// One h2load run.
#[derive(Debug, Clone)]
pub struct Load<'a> {
    pub h2load: &'a Path,
    pub addr: SocketAddr,
    /// The method's path, `/package.Service/Method`.
    pub path: &'a str,
    /// The request body: one gRPC message, length-prefixed.
    pub body: &'a Path,
    pub connections: usize,
    /// Calls in flight on each connection.
    pub streams: usize,
    pub warm_up: Duration,
    pub duration: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct H2loadReport {
    pub path: String,
    pub connections: usize,
    pub streams_per_connection: usize,
    pub seconds: f64,
    /// Requests h2load counted a success (HTTP 2xx) in the measured window.
    pub succeeded: u64,
    /// Requests it counted failed, errored, timed out or not 2xx.
    pub failed: u64,
    pub calls_per_second: f64,
    pub latency_us: MeanLatency,
    /// Server and backend as for the other rows; `loadgen` is h2load's own.
    pub cpu_us_per_call: PerProcess,
    /// What the server counted for the method from h2load's start to the
    /// last moments of its window (warm-up included), by status code.
    pub server_codes: Codes,
    /// What it counted after, to h2load's end: the window's last moments
    /// and the calls h2load cut when its time was up.
    pub server_codes_at_end: Codes,
    /// Why the answers are taken to be OK, or why not.
    pub verdict: String,
    pub verified: bool,
}

/// h2load's "time for request" line.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct MeanLatency {
    pub min: f64,
    pub mean: f64,
    pub max: f64,
    pub sd: f64,
}

/// Writes `message` as the body of a unary gRPC request (flag byte 0, its
/// length in four big-endian bytes, the message) to `dir/name`.
pub fn write_body(dir: &Path, name: &str, message: &[u8]) -> Result<PathBuf, String> {
    let length = u32::try_from(message.len()).map_err(|_| "a message under 4 GiB".to_owned())?;
    let mut body = Vec::with_capacity(5 + message.len());
    body.push(0);
    body.extend_from_slice(&length.to_be_bytes());
    body.extend_from_slice(message);
    let path = dir.join(name);
    std::fs::write(&path, body).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// Whether `h2load` runs at all.
pub fn available(h2load: &Path) -> bool {
    Command::new(h2load)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Runs `load`, reading the CPU of `server`, `backend` and h2load itself
/// over the measured window, and the server's counts by `codes` before,
/// shortly before the window ends, and after.
pub fn run(
    load: &Load,
    server: u32,
    backend: u32,
    codes: &dyn Fn() -> Result<Codes, String>,
) -> Result<H2loadReport, String> {
    let before = codes()?;
    let millis = |d: Duration| format!("{}ms", d.as_millis());
    let started = Instant::now();
    let child = Command::new(load.h2load)
        .args(["-c", &load.connections.to_string()])
        .args(["-m", &load.streams.to_string()])
        .args(["-D", &millis(load.duration)])
        .args(["--warm-up-time", &millis(load.warm_up)])
        .arg("-d")
        .arg(load.body)
        .args(["-H", "content-type: application/grpc", "-H", "te: trailers"])
        .arg(format!("http://{}{}", load.addr, load.path))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", load.h2load.display()))?;
    let pids = [server, backend, child.id()].map(|pid| pid.to_string());
    let read = || pids.clone().map(|pid| procfs::usage(&pid).ok());
    // h2load's window starts once its connections are up, a millisecond or
    // so after it starts on loopback, and it exits as the window ends: the
    // CPU is read over the window but for its last moments, at the calls
    // per second h2load measured over the whole of it.
    std::thread::sleep((started + load.warm_up).saturating_duration_since(Instant::now()));
    let first = (Instant::now(), read());
    let window_end = started + load.warm_up + load.duration;
    std::thread::sleep(
        (window_end - END_MARGIN.min(load.duration / 10)).saturating_duration_since(Instant::now()),
    );
    let last = (Instant::now(), read());
    let during = codes()?;
    let output = child
        .wait_with_output()
        .map_err(|e| format!("h2load: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "h2load failed ({}): {}{}",
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let parsed = parse(&stdout)?;
    let after = codes()?;
    let server_codes = difference(&during, &before);
    let server_codes_at_end = difference(&after, &during);
    let in_flight = (load.connections * load.streams) as u64;
    let (verified, verdict) = verify(&server_codes, &server_codes_at_end, &parsed, in_flight);
    let calls = parsed.calls_per_second * (last.0 - first.0).as_secs_f64();
    let per_call = |i: usize| match (first.1[i], last.1[i]) {
        (Some(a), Some(b)) if calls > 0.0 => Some((b.cpu - a.cpu).as_secs_f64() * 1e6 / calls),
        _ => None,
    };
    Ok(H2loadReport {
        path: load.path.to_owned(),
        connections: load.connections,
        streams_per_connection: load.streams,
        seconds: load.duration.as_secs_f64(),
        succeeded: parsed.succeeded,
        failed: parsed.failed,
        calls_per_second: parsed.calls_per_second,
        latency_us: parsed.latency_us,
        cpu_us_per_call: PerProcess {
            server: per_call(0),
            backend: per_call(1),
            loadgen: per_call(2),
        },
        server_codes,
        server_codes_at_end,
        verdict,
        verified,
    })
}

/// How long before h2load's window ends the processes' CPU and the server's
/// counts are read (at most a tenth of the window): the counts must be all
/// OK until then. After, h2load stops and cuts the calls it has in flight.
const END_MARGIN: Duration = Duration::from_millis(100);

fn difference(later: &Codes, earlier: &Codes) -> Codes {
    later
        .iter()
        .map(|(code, n)| (code.clone(), n - earlier.get(code).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// How a call h2load cut may end.
const CUT_CODES: [&str; 3] = ["CANCELLED", "UNKNOWN", "INVALID_ARGUMENT"];

/// Every success h2load counted must be a call the server ended OK: the
/// server ended every call OK from h2load's start to the last moments of
/// its window, and at least as many OK in all as h2load counted (its
/// warm-up adds to the server's count, not to h2load's). At the very end,
/// the calls h2load cuts when its time is up may end otherwise, no more of
/// them than it had in flight: CANCELLED; UNKNOWN, the stream broken as the
/// answer went out; or, on the service, INVALID_ARGUMENT, a request whose
/// message was cut before it arrived whole (MESSAGE_MALFORMED).
fn verify(window: &Codes, at_end: &Codes, parsed: &Parsed, in_flight: u64) -> (bool, String) {
    let count = |codes: &Codes, code: &str| codes.get(code).copied().unwrap_or(0);
    let ok = count(window, "OK") + count(at_end, "OK");
    let cut = CUT_CODES
        .iter()
        .map(|code| count(at_end, code))
        .sum::<u64>();
    let listed = |codes: &Codes, allowed: &[&str]| -> Vec<String> {
        codes
            .iter()
            .filter(|(code, _)| !allowed.contains(&code.as_str()))
            .map(|(code, n)| format!("{code} {n}"))
            .collect()
    };
    let mut problems = Vec::new();
    if parsed.failed > 0 {
        problems.push(format!("h2load counted {} failed", parsed.failed));
    }
    if ok < parsed.succeeded {
        problems.push(format!(
            "the server ended {ok} calls OK, fewer than h2load's {} successes",
            parsed.succeeded
        ));
    }
    let wrong = listed(window, &["OK"]);
    if !wrong.is_empty() {
        problems.push(format!(
            "the server ended calls {} within the window",
            wrong.join(", ")
        ));
    }
    let wrong = listed(at_end, &[&["OK"], &CUT_CODES[..]].concat());
    if !wrong.is_empty() {
        problems.push(format!(
            "the server ended calls {} at the end",
            wrong.join(", ")
        ));
    }
    if cut > in_flight {
        problems.push(format!(
            "the server ended {cut} calls {} at the end, more than the {in_flight} in flight",
            CUT_CODES.join(" or ")
        ));
    }
    if !problems.is_empty() {
        return (false, problems.join("; "));
    }
    let cut = if cut > 0 {
        format!("; {cut} cut when h2load stopped")
    } else {
        String::new()
    };
    (
        true,
        format!(
            "all OK: the server ended {ok} calls OK (warm-up included) for h2load's {} successes{cut}",
            parsed.succeeded
        ),
    )
}

#[derive(Debug, Default)]
struct Parsed {
    succeeded: u64,
    failed: u64,
    calls_per_second: f64,
    latency_us: MeanLatency,
}

/// Reads h2load's summary: its `finished in`, `requests:`, `status codes:`
/// and `time for request:` lines.
fn parse(output: &str) -> Result<Parsed, String> {
    let line = |prefix: &str| {
        output
            .lines()
            .find_map(|l| l.trim_start().strip_prefix(prefix))
            .ok_or_else(|| format!("h2load printed no `{prefix}` line:\n{output}"))
    };
    // "1216 total, 1216 started, 1216 done, 1216 succeeded, 0 failed, 0 errored, 0 timeout"
    let counts = |rest: &str| -> BTreeMap<String, u64> {
        rest.split(',')
            .filter_map(|part| {
                let (n, what) = part.trim().split_once(' ')?;
                Some((what.to_owned(), n.parse().ok()?))
            })
            .collect()
    };
    let requests = counts(line("requests:")?);
    let statuses = counts(line("status codes:")?);
    let get = |map: &BTreeMap<String, u64>, key: &str| {
        map.get(key)
            .copied()
            .ok_or_else(|| format!("h2load printed no count of `{key}`:\n{output}"))
    };
    let succeeded = get(&requests, "succeeded")?;
    let not_2xx = get(&statuses, "3xx")? + get(&statuses, "4xx")? + get(&statuses, "5xx")?;
    let failed =
        get(&requests, "failed")? + get(&requests, "errored")? + get(&requests, "timeout")?;
    // "4.00s, 405.33 req/s, 172.05KB/s"
    let calls_per_second = line("finished in")?
        .split(',')
        .find_map(|part| part.trim().strip_suffix(" req/s"))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("h2load printed no req/s:\n{output}"))?;
    // "3.92ms     98.18ms     39.53ms     16.56ms    71.22%": min, max, mean, sd
    let times: Vec<f64> = line("time for request:")?
        .split_whitespace()
        .take(4)
        .map(micros)
        .collect::<Option<_>>()
        .ok_or_else(|| format!("h2load's request times do not parse:\n{output}"))?;
    let [min, max, mean, sd] = times[..] else {
        return Err(format!(
            "h2load printed fewer than 4 request times:\n{output}"
        ));
    };
    Ok(Parsed {
        succeeded,
        failed: failed.max(not_2xx),
        calls_per_second,
        latency_us: MeanLatency { min, mean, max, sd },
    })
}

/// "312us", "4.56ms", "1.20s" in microseconds.
fn micros(time: &str) -> Option<f64> {
    let (number, scale) = if let Some(n) = time.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = time.strip_suffix("ms") {
        (n, 1e3)
    } else if let Some(n) = time.strip_suffix('s') {
        (n, 1e6)
    } else {
        return None;
    };
    number.parse::<f64>().ok().map(|n| n * scale)
}

/// The service's `grpc_server_calls` counters for `method`, by code, read
/// from its Prometheus endpoint.
pub fn service_codes(metrics: SocketAddr, method: &str) -> Result<Codes, String> {
    let text = scrape(metrics)?;
    let method_label = format!("method=\"{method}\"");
    let mut codes = Codes::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("grpc_server_calls_total{") else {
            continue;
        };
        let Some((labels, value)) = rest.split_once("} ") else {
            continue;
        };
        if !labels.split(',').any(|label| label == method_label) {
            continue;
        }
        let code = labels
            .split(',')
            .find_map(|label| label.strip_prefix("code=\""))
            .and_then(|code| code.strip_suffix('"'));
        if let (Some(code), Ok(n)) = (code, value.trim().parse::<f64>()) {
            codes.insert(code.to_owned(), n as u64);
        }
    }
    Ok(codes)
}

/// The peer's calls to `method`, by code, counted from its log: one JSON
/// line per call, written before the call answers.
pub fn peer_codes(log: &Path, method: &str) -> Result<Codes, String> {
    let text = std::fs::read_to_string(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let mut codes = Codes::new();
    for line in text.lines() {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if event["message"] == "call finished"
            && event["method"] == method
            && let Some(code) = event["code"].as_str()
        {
            *codes.entry(code.to_owned()).or_default() += 1;
        }
    }
    Ok(codes)
}

/// The service's Prometheus metrics, as text.
pub fn scrape(metrics: SocketAddr) -> Result<String, String> {
    let mut stream =
        TcpStream::connect(metrics).map_err(|e| format!("metrics at {metrics}: {e}"))?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("metrics at {metrics}: {e}"))?;
    let mut text = String::new();
    stream
        .read_to_string(&mut text)
        .map_err(|e| format!("metrics at {metrics}: {e}"))?;
    Ok(text)
}

/// Log lines the service let go since it started (`log_lines_lost_total`,
/// every reason): the suite's runs must lose none.
pub fn lines_lost(metrics: SocketAddr) -> Result<u64, String> {
    Ok(scrape(metrics)?
        .lines()
        .filter(|line| line.starts_with("log_lines_lost_total{"))
        .filter_map(|line| line.rsplit_once(' ')?.1.trim().parse::<f64>().ok())
        .sum::<f64>() as u64)
}
