//! Accepting connections: each opens its session (the TLS handshake, or for
//! plaintext the 24-byte HTTP/2 connection preface) in a task of its own,
//! within the handshake timeout, or is closed. Without that bound, a client
//! that connects and sends nothing, or trickles bytes, would hold a socket
//! and a task for as long as it liked; without the task, it would hold up
//! everyone behind it.

use std::{future::Future, io, time::Duration};

use tokio::{
    net::{TcpListener, TcpStream},
    sync::mpsc,
};
use tokio_stream::wrappers::ReceiverStream;

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
