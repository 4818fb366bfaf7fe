//! Serving TLS, and verifying client certificates once per connection.
//!
//! tonic's own TLS settings reject an untrusted client certificate in the
//! handshake, which leaves the caller with a bare transport error. Here the
//! handshake only proves the client holds the certificate's key; whether the
//! certificate is trusted, and whom it names, is decided right after the
//! handshake and travels with the connection as a [`ClientCertificate`], so
//! the authentication layer can answer UNAUTHENTICATED with a reason a
//! caller can act on. No call on such a connection gets past that layer, but for
//! health checks, which are open to all.

use std::{
    io,
    path::PathBuf,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use rustls::{
    DigitallySignedStruct, DistinguishedName, Error as TlsError, RootCertStore, ServerConfig,
    SignatureScheme,
    crypto::CryptoProvider,
    pki_types::{CertificateDer, PrivateKeyDer, UnixTime, pem::PemObject},
    server::{
        WebPkiClientVerifier,
        danger::{ClientCertVerified, ClientCertVerifier},
    },
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
};
use tokio_rustls::{TlsAcceptor, server::TlsStream};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::{Connected, TcpConnectInfo};

use crate::{
    auth::mtls::{self, CertificateError, ClientCertificate, CommonName},
    connections,
    reload::{LoadError, Reload, Reloadable},
};

/// The server's TLS configuration, ready to accept connections. Its files
/// are reloaded while the service runs (see [`Tls::reloadable`]): each new
/// connection is accepted with the configuration in force when it arrives,
/// and connections already open keep theirs.
#[derive(Clone)]
pub struct Tls {
    config: Arc<Reloadable<TlsConfig>>,
}

/// Where the TLS files are, and whether a client certificate's CN may name
/// it.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: Option<PathBuf>,
    pub common_name: CommonName,
}

/// One version of the files, parsed.
struct TlsConfig {
    acceptor: TlsAcceptor,
    client_verifier: Option<Arc<dyn ClientCertVerifier>>,
    /// The trusted CAs that carry name constraints, with their subjects
    /// (DER).
    constrained_cas: Vec<(Vec<u8>, CertificateDer<'static>)>,
    common_name: CommonName,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

impl Tls {
    /// Loads the server's certificate chain and key and, with `client_ca`,
    /// the CAs whose client certificates are trusted.
    pub fn load(files: &TlsFiles) -> Result<Self, LoadError> {
        let mut paths = vec![files.cert.clone(), files.key.clone()];
        paths.extend(files.client_ca.clone());
        let common_name = files.common_name;
        let config = Reloadable::load_all("TLS files", paths, move |texts| {
            TlsConfig::parse(texts, common_name)
        })?;
        Ok(Self {
            config: Arc::new(config),
        })
    }

    /// The files, for the reload watcher.
    pub fn reloadable(&self) -> Arc<dyn Reload> {
        self.config.clone()
    }

    /// Accepts TCP connections on `listener` and yields them once their TLS
    /// handshake is done (see `connections::accept`).
    pub fn incoming(
        self,
        listener: TcpListener,
        handshake_timeout: Duration,
    ) -> ReceiverStream<io::Result<TlsConnection>> {
        connections::accept(listener, handshake_timeout, move |stream| {
            let config = self.config.current();
            async move {
                let stream = config
                    .acceptor
                    .accept(stream)
                    .await
                    .map_err(|error| format!("TLS handshake failed: {error}"))?;
                let client_certificate = config.check_client(&stream);
                Ok(TlsConnection {
                    stream,
                    client_certificate,
                })
            }
        })
    }
}

impl TlsConfig {
    /// `texts` holds the certificate chain, the key and, if configured, the
    /// client CAs, all PEM.
    fn parse(texts: &[String], common_name: CommonName) -> Result<Self, String> {
        let pem_certs = |text: &str, flag: &str| {
            CertificateDer::pem_slice_iter(text.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("{flag}: {e}"))
                .and_then(|certs| match certs.is_empty() {
                    true => Err(format!("{flag}: no certificate in the file")),
                    false => Ok(certs),
                })
        };
        let chain = pem_certs(&texts[0], "--tls-cert")?;
        let key_der = PrivateKeyDer::from_pem_slice(texts[1].as_bytes())
            .map_err(|e| format!("--tls-key: {e}"))?;

        let (client_verifier, constrained_cas) = match texts.get(2) {
            None => (None, Vec::new()),
            Some(text) => {
                let cas = pem_certs(text, "--client-ca")?;
                let constrained_cas = cas
                    .iter()
                    .filter(|ca| mtls::has_name_constraints(ca))
                    .filter_map(|ca| {
                        mtls::subject_and_issuer(ca).map(|(subject, _)| (subject, ca.clone()))
                    })
                    .collect();
                let mut roots = RootCertStore::empty();
                for ca in cas {
                    roots.add(ca).map_err(|e| format!("--client-ca: {e}"))?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                        .build()
                        .map_err(|e| format!("--client-ca: {e}"))?;
                (Some(verifier), constrained_cas)
            }
        };

        let builder = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let builder = match &client_verifier {
            Some(verifier) => {
                builder.with_client_cert_verifier(Arc::new(DeferredVerifier(Arc::clone(verifier))))
            }
            None => builder.with_no_client_auth(),
        };
        let mut config = builder
            .with_single_cert(chain, key_der)
            .map_err(|e| format!("--tls-cert/--tls-key: {e}"))?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            client_verifier,
            constrained_cas,
            common_name,
        })
    }

    fn check_client(&self, stream: &TlsStream<TcpStream>) -> ClientCertificate {
        let (_, session) = stream.get_ref();
        let (Some(verifier), Some(chain @ [end_entity, intermediates @ ..])) =
            (&self.client_verifier, session.peer_certificates())
        else {
            return ClientCertificate::None;
        };
        if let Err(error) = verifier.verify_client_cert(end_entity, intermediates, UnixTime::now())
        {
            use rustls::CertificateError as E;
            let reason = match error {
                TlsError::InvalidCertificate(E::Expired | E::ExpiredContext { .. }) => {
                    CertificateError::Expired
                }
                TlsError::InvalidCertificate(E::NotValidYet | E::NotValidYetContext { .. }) => {
                    CertificateError::NotYetValid
                }
                _ => CertificateError::Untrusted,
            };
            return ClientCertificate::Rejected(reason);
        }
        let constraining = self.constraining_cas(chain);
        match mtls::identity(end_entity, self.common_name, &constraining) {
            Ok(identity) => ClientCertificate::Verified(identity),
            Err(reason) => ClientCertificate::Rejected(reason),
        }
    }

    /// The CAs on the way from `chain` (the client's certificate and the
    /// intermediates it sent) to a trusted CA that carry name constraints:
    /// every intermediate the client sent that has them, used in the path or
    /// not, and the trusted CAs that issued a certificate of the chain.
    fn constraining_cas<'c>(&'c self, chain: &'c [CertificateDer<'_>]) -> Vec<&'c [u8]> {
        let issuers: Vec<Vec<u8>> = chain
            .iter()
            .filter_map(|cert| mtls::subject_and_issuer(cert).map(|(_, issuer)| issuer))
            .collect();
        let sent = chain
            .iter()
            .skip(1)
            .filter(|ca| mtls::has_name_constraints(ca))
            .map(|ca| ca.as_ref());
        let trusted = self
            .constrained_cas
            .iter()
            .filter(|(subject, _)| issuers.contains(subject))
            .map(|(_, ca)| ca.as_ref());
        sent.chain(trusted).collect()
    }
}

/// Asks for a client certificate and checks that the client holds its key,
/// but leaves trusting it to [`Tls::check_client`].
#[derive(Debug)]
struct DeferredVerifier(Arc<dyn ClientCertVerifier>);

impl ClientCertVerifier for DeferredVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.0.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, TlsError> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, TlsError> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, TlsError> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// A TLS connection and what its client certificate established, which
/// tonic puts in every request's extensions.
pub struct TlsConnection {
    stream: TlsStream<TcpStream>,
    client_certificate: ClientCertificate,
}

/// Per-connection facts a request carries in its extensions.
#[derive(Debug, Clone)]
pub struct TlsConnectionInfo {
    pub tcp: TcpConnectInfo,
    pub client_certificate: ClientCertificate,
}

impl Connected for TlsConnection {
    type ConnectInfo = TlsConnectionInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        TlsConnectionInfo {
            tcp: self.stream.get_ref().0.connect_info(),
            client_certificate: self.client_certificate.clone(),
        }
    }
}

impl AsyncRead for TlsConnection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConnection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
