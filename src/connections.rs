//! Accepting plaintext connections: a client must open its HTTP/2 session
//! (send the 24-byte connection preface) within the handshake timeout, or
//! its connection is closed. Without this, a client that connects and sends
//! nothing, or trickles bytes, would hold a socket and a task for as long as
//! it liked. (TLS connections get the same bound in `tls`.)

use std::{io, time::Duration};

use tokio::{
    net::{TcpListener, TcpStream},
    sync::mpsc,
};
use tokio_stream::wrappers::ReceiverStream;

/// What every HTTP/2 client sends first.
const PREFACE_LEN: usize = 24;
/// How often a connection that has sent part of its preface is looked at.
const PREFACE_POLL: Duration = Duration::from_millis(10);

/// The connections `listener` accepts whose preface arrives within
/// `handshake_timeout`, ready for tonic.
pub fn plaintext(
    listener: TcpListener,
    handshake_timeout: Duration,
) -> ReceiverStream<io::Result<TcpStream>> {
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
            let sender = sender.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(handshake_timeout, preface(&stream)).await {
                    Ok(Ok(true)) => {
                        let _ = sender.send(Ok(stream)).await;
                    }
                    Ok(Ok(false)) => tracing::debug!(%peer, "connection closed before its preface"),
                    Ok(Err(error)) => tracing::debug!(%peer, %error, "reading the preface failed"),
                    Err(_) => {
                        tracing::debug!(%peer, "no HTTP/2 preface within the handshake timeout")
                    }
                }
            });
        }
    });
    ReceiverStream::new(receiver)
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
