//! Accepting connections: each opens its session (the TLS handshake, or for
//! plaintext the 24-byte HTTP/2 connection preface) in a task of its own,
//! within the handshake timeout, or is closed. Without that bound, a client
//! that connects and sends nothing, or trickles bytes, would hold a socket
//! and a task for as long as it liked; without the task, it would hold up
//! everyone behind it.

use std::{future::Future, io, pin::Pin, time::Duration};

use bytes::Bytes;
use http::{Request, Response};
use hyper::{body::Incoming, server::conn::http2};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use socket2::{SockRef, TcpKeepalive};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::{TcpListener, TcpStream},
    sync::{mpsc, watch},
};
use tokio_stream::{Stream, StreamExt, wrappers::ReceiverStream};
use tonic::{body::Body, transport::server::Connected};
use tower::{Service, ServiceExt};

/// Idle time before TCP keepalive probes begin.
const TCP_KEEPALIVE: Duration = Duration::from_secs(60);
/// What every HTTP/2 client sends first.
const PREFACE_LEN: usize = 24;
/// How often a connection that has sent part of its preface is looked at.
const PREFACE_POLL: Duration = Duration::from_millis(10);

/// Accepts connections on `listener` and yields those `open` turns into a
/// connection for tonic within `handshake_timeout`; `open` says why not
/// otherwise. Stops when the stream is dropped.
pub fn accept<T, F, Fut>(
    listener: TcpListener,
    handshake_timeout: Duration,
    open: F,
) -> ReceiverStream<io::Result<T>>
where
    T: Send + 'static,
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, String>> + Send + 'static,
{
    let (sender, receiver) = mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let (stream, peer) = tokio::select! {
                () = sender.closed() => return,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            // Finds peers that vanished without a word before any HTTP/2
            // PING could (a connection still opening its session has none).
            let keepalive = TcpKeepalive::new().with_time(TCP_KEEPALIVE);
            let _ = SockRef::from(&stream).set_tcp_keepalive(&keepalive);
            let opening = open(stream);
            let sender = sender.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(handshake_timeout, opening).await {
                    Ok(Ok(connection)) => {
                        let _ = sender.send(Ok(connection)).await;
                    }
                    Ok(Err(why)) => tracing::debug!(%peer, why, "connection not opened"),
                    Err(_) => tracing::debug!(%peer, "no session within the handshake timeout"),
                }
            });
        }
    });
    ReceiverStream::new(receiver)
}

/// Plaintext connections, once their HTTP/2 preface has arrived.
pub fn plaintext(
    listener: TcpListener,
    handshake_timeout: Duration,
) -> ReceiverStream<io::Result<TcpStream>> {
    accept(listener, handshake_timeout, |stream| async move {
        match preface(&stream).await {
            Ok(true) => Ok(stream),
            Ok(false) => Err("closed before its preface".to_owned()),
            Err(error) => Err(format!("reading the preface failed: {error}")),
        }
    })
}

/// Waits until the preface's bytes have arrived, without consuming them:
/// `false` if the peer closed first.
async fn preface(stream: &TcpStream) -> io::Result<bool> {
    let mut buffer = [0; PREFACE_LEN];
    loop {
        match stream.peek(&mut buffer).await? {
            0 => return Ok(false),
            n if n >= PREFACE_LEN => return Ok(true),
            _ => tokio::time::sleep(PREFACE_POLL).await,
        }
    }
}

/// HTTP/2 settings every connection is served with, from the flags.
#[derive(Debug, Clone, Copy)]
pub struct Http2Settings {
    pub max_concurrent_streams: u32,
    pub max_header_list_bytes: u32,
    pub keepalive_interval: Duration,
    pub keepalive_timeout: Duration,
    /// Streams a client may reset before their handlers ran, before the
    /// connection is closed (the guard against rapid resets,
    /// CVE-2023-44487).
    pub max_pending_accept_reset_streams: usize,
}

/// How long a connection is served: asked to go away (GOAWAY) once it is
/// `max_age` old, give or take [`AGE_JITTER`], then closed `grace` later with
/// whatever is still in flight.
#[derive(Debug, Clone, Copy)]
pub struct Lifetime {
    pub max_age: Duration,
    pub grace: Duration,
}

/// The share of `max_age` by which each connection's age is moved, up or
/// down, at random (as gRPC's servers in other languages do): connections
/// opened together, by a client fleet after a deploy, are not all sent away
/// in the same instant, to reconnect in one herd.
pub const AGE_JITTER: f64 = 0.1;

impl Lifetime {
    /// This connection's age: `max_age`, jittered.
    fn age(&self) -> Duration {
        let factor = 1.0 + AGE_JITTER * (2.0 * fastrand::f64() - 1.0);
        self.max_age.mul_f64(factor)
    }
}

/// In every request's extensions: its connection's GOAWAY for age, so that
/// a stream that would outlive the grace (a watch) can end itself cleanly,
/// and its client resume on a fresh connection.
#[derive(Debug, Clone)]
pub struct GoingAway(watch::Receiver<bool>);

impl GoingAway {
    /// Completes once the connection is past its age (never, if the
    /// connection is gone first).
    pub async fn aged(&mut self) {
        if self.0.wait_for(|aged| *aged).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Serves `service` over HTTP/2 on each connection `incoming` yields, each
/// in a task of its own with its [`Lifetime`], until `drain` completes. Then
/// the listener closes, every connection is asked to go away, and this
/// returns once all of them have closed: the caller bounds that wait.
///
/// This loop is ours rather than tonic's so that each connection has an age
/// of its own, and so that `grace` follows a GOAWAY: tonic's server, given
/// both an age and a grace, sends no GOAWAY at the age and closes the
/// connection, calls and all, at age + grace.
pub async fn serve<C, S, B>(
    incoming: impl Stream<Item = io::Result<C>>,
    service: S,
    http2: Http2Settings,
    lifetime: Lifetime,
    drain: impl Future<Output = ()>,
) where
    C: AsyncRead + AsyncWrite + Connected + Unpin + Send + 'static,
    S: Service<Request<Body>, Response = Response<B>> + Clone + Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (draining, drained) = watch::channel(false);
    {
        let mut incoming = std::pin::pin!(incoming);
        let mut drain = std::pin::pin!(drain);
        loop {
            let connection = tokio::select! {
                () = &mut drain => break,
                next = incoming.next() => match next {
                    Some(Ok(connection)) => connection,
                    Some(Err(error)) => {
                        tracing::debug!(%error, "a connection could not be accepted");
                        continue;
                    }
                    None => break,
                },
            };
            tokio::spawn(serve_connection(
                connection,
                service.clone(),
                http2,
                lifetime,
                drained.clone(),
            ));
        }
        // `incoming` is dropped here, which closes the listener: a client
        // that connects now is refused, not left waiting.
    }
    draining.send_replace(true);
    drop(drained);
    draining.closed().await;
}

/// Serves one connection until it closes, is past its age and grace, or the
/// server is gone. When the server drains, the connection is asked to go
/// away like one at its age, but its calls get the server's grace (which
/// the caller of [`serve`] bounds) rather than the connection's.
async fn serve_connection<C, S, B>(
    connection: C,
    service: S,
    http2: Http2Settings,
    lifetime: Lifetime,
    mut draining: watch::Receiver<bool>,
) where
    C: AsyncRead + AsyncWrite + Connected + Unpin + Send + 'static,
    S: Service<Request<Body>, Response = Response<B>> + Clone + Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    // Where the connection comes from (and, with TLS, what its client
    // certificate established), for every request on it, as tonic does.
    let info = connection.connect_info();
    let (aged_out, going_away) = watch::channel(false);
    let going_away = GoingAway(going_away);
    let service = service.map_request(move |request: Request<Incoming>| {
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(info.clone());
        request.extensions_mut().insert(going_away.clone());
        request
    });
    let mut builder = http2::Builder::new(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .max_concurrent_streams(http2.max_concurrent_streams)
        .max_header_list_size(http2.max_header_list_bytes)
        .keep_alive_interval(http2.keepalive_interval)
        .keep_alive_timeout(http2.keepalive_timeout)
        .max_pending_accept_reset_streams(http2.max_pending_accept_reset_streams);
    let served =
        builder.serve_connection(TokioIo::new(connection), TowerToHyperService::new(service));
    let mut served = std::pin::pin!(served);
    let aged = tokio::time::sleep(lifetime.age());
    let mut aged = std::pin::pin!(aged);
    let mut going_away = false;
    // Set when the connection is sent away at its age.
    let mut grace: Option<Pin<Box<tokio::time::Sleep>>> = None;
    loop {
        let grace_over = async {
            match grace.as_mut() {
                Some(grace) => grace.await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            result = &mut served => {
                if let Err(error) = result {
                    tracing::debug!(%error, "serving a connection failed");
                }
                return;
            }
            () = &mut aged, if !going_away => {
                grace = Some(Box::pin(tokio::time::sleep(lifetime.grace)));
                aged_out.send_replace(true);
            }
            changed = draining.changed() => match changed {
                Ok(()) if *draining.borrow() && !going_away => {}
                Ok(()) => continue,
                // The server is gone: so is the connection.
                Err(_) => return,
            },
            () = grace_over => {
                tracing::debug!("calls outlived their connection's grace: connection closed");
                return;
            }
        }
        going_away = true;
        served.as_mut().graceful_shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_connections_have_tcp_keepalive() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut accepted = accept(listener, Duration::from_secs(5), |stream| async move {
            let socket = SockRef::from(&stream);
            Ok((socket.keepalive(), socket.tcp_keepalive_time()))
        });
        let _client = TcpStream::connect(addr).await.unwrap();
        let (on, idle) = accepted.next().await.unwrap().unwrap();
        assert!(on.unwrap());
        assert_eq!(idle.unwrap(), TCP_KEEPALIVE);
    }

    #[test]
    fn ages_are_spread_within_the_jitter() {
        let lifetime = Lifetime {
            max_age: Duration::from_secs(100),
            grace: Duration::from_secs(1),
        };
        let ages: Vec<Duration> = (0..1000).map(|_| lifetime.age()).collect();
        let (least, most) = (ages.iter().min().unwrap(), ages.iter().max().unwrap());
        assert!(*least >= Duration::from_secs(90), "{least:?}");
        assert!(*most <= Duration::from_secs(110), "{most:?}");
        // Spread over the range, not bunched at one end.
        assert!(*least < Duration::from_secs(92), "{least:?}");
        assert!(*most > Duration::from_secs(108), "{most:?}");
    }
}
