//! Cross-cutting concerns, each a tower layer around every gRPC service the
//! server hosts. `startup` composes them, outermost first.

pub(crate) mod authenticate;
pub(crate) mod authorize;
pub(crate) mod call_log;
pub(crate) mod catch_panic;
pub(crate) mod deadline;
pub(crate) mod error_info;
pub(crate) mod limit;

pub use authenticate::AuthenticateLayer;
pub use authorize::AuthorizeLayer;
pub use call_log::CallLogLayer;
pub use catch_panic::CatchPanicLayer;
pub use deadline::DeadlineLayer;
pub use error_info::ErrorInfoLayer;
pub use limit::{CallerLimitLayer, InFlightLimitLayer};

use std::{future::Future, net::SocketAddr, pin::Pin};

use http::Request;
use tonic::transport::server::TcpConnectInfo;

use crate::tls::TlsConnectionInfo;

/// The future every layer here returns.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// In a response's extensions: the call was refused and its audit event
/// records it, so the call log writes no line of its own for it.
#[derive(Debug, Clone, Copy)]
pub struct Audited;

/// The address the call's connection comes from: for the audit trail of
/// calls that prove no identity, and to tell apart callers that share one.
pub fn peer<B>(request: &Request<B>) -> Option<SocketAddr> {
    let extensions = request.extensions();
    extensions
        .get::<TcpConnectInfo>()
        .or_else(|| extensions.get::<TlsConnectionInfo>().map(|info| &info.tcp))
        .and_then(TcpConnectInfo::remote_addr)
}
