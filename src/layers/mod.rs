//! Cross-cutting concerns, each a tower layer around every gRPC service the
//! server hosts. `startup` composes them, outermost first.

pub mod authenticate;
pub mod authorize;
pub mod call_log;
pub mod catch_panic;
pub mod deadline;
pub mod error_info;
pub mod limit;

pub use authenticate::AuthenticateLayer;
pub use authorize::AuthorizeLayer;
pub use call_log::CallLogLayer;
pub use catch_panic::CatchPanicLayer;
pub use deadline::DeadlineLayer;
pub use error_info::ErrorInfoLayer;
pub use limit::{CallerLimitLayer, InFlightLimitLayer};

use std::{future::Future, pin::Pin};

/// The future every layer here returns.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
