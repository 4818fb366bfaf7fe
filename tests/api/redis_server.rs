//! A real `redis-server` (Debian's package) for the tests: on a free
//! loopback port, in a directory of its own, saving nothing; killed when
//! dropped.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use redis::{TlsCertificates, aio::MultiplexedConnection};
use tempfile::TempDir;

use crate::auth::fixtures::Pki;

pub struct RedisServer {
    port: u16,
    password: Option<String>,
    tls: Option<Tls>,
    dir: TempDir,
    child: Option<Child>,
}

/// A server certificate for localhost, and the CA that issued it.
struct Tls {
    cert: PathBuf,
    key: PathBuf,
    ca: PathBuf,
}

impl RedisServer {
    /// Starts a server, with `password` required if given, and waits until
    /// it answers.
    pub async fn start(password: Option<&str>) -> Self {
        Self::start_with(password, None).await
    }

    /// Starts a server that speaks TLS only, with a certificate for
    /// localhost issued by `pki`.
    pub async fn start_tls(pki: &Pki) -> Self {
        Self::start_with(None, Some(pki)).await
    }

    async fn start_with(password: Option<&str>, pki: Option<&Pki>) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let tls = pki.map(|pki| {
            let server = pki.server();
            let write = |name: &str, content: &str| {
                let path = dir.path().join(name);
                std::fs::write(&path, content).unwrap();
                path
            };
            Tls {
                cert: write("server.pem", &server.cert),
                key: write("server.key", &server.key),
                ca: write("ca.pem", &pki.ca_pem()),
            }
        });
        let mut server = Self {
            port,
            password: password.map(str::to_owned),
            tls,
            dir,
            child: None,
        };
        server.restart().await;
        server
    }

    /// `redis://` with the password, if any, or `rediss://localhost` for a
    /// server that speaks TLS.
    pub fn url(&self) -> String {
        match (&self.password, &self.tls) {
            (_, Some(_)) => format!("rediss://localhost:{}", self.port),
            (Some(password), None) => format!("redis://:{password}@127.0.0.1:{}", self.port),
            (None, None) => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    /// The CA file of a server that speaks TLS.
    pub fn ca(&self) -> Option<&PathBuf> {
        self.tls.as_ref().map(|tls| &tls.ca)
    }

    /// Kills the server at once (SIGKILL): connections end without a word
    /// from it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty, and waits until it
    /// answers.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "the server is running");
        let port = self.port.to_string();
        let mut command = Command::new("redis-server");
        match &self.tls {
            None => command.args(["--port", &port]),
            Some(tls) => command
                .args([
                    "--port",
                    "0",
                    "--tls-port",
                    &port,
                    "--tls-auth-clients",
                    "no",
                ])
                .arg("--tls-cert-file")
                .arg(&tls.cert)
                .arg("--tls-key-file")
                .arg(&tls.key)
                .arg("--tls-ca-cert-file")
                .arg(&tls.ca),
        };
        command
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(password) = &self.password {
            command.args(["--requirepass", password]);
        }
        self.child = Some(
            command
                .spawn()
                .expect("redis-server runs (Debian: apt-get install redis-server)"),
        );
        let started = Instant::now();
        loop {
            if let Ok(mut connection) = self.try_connect().await
                && redis::cmd("PING")
                    .query_async::<String>(&mut connection)
                    .await
                    .is_ok()
            {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server answers within 10s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A connection of the test's own.
    pub async fn connect(&self) -> MultiplexedConnection {
        self.try_connect().await.expect("redis-server answers")
    }

    async fn try_connect(&self) -> redis::RedisResult<MultiplexedConnection> {
        let client = match &self.tls {
            None => redis::Client::open(self.url())?,
            Some(tls) => redis::Client::build_with_tls(
                self.url(),
                TlsCertificates {
                    client_tls: None,
                    root_cert: Some(std::fs::read(&tls.ca)?),
                },
            )?,
        };
        client.get_multiplexed_async_connection().await
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
