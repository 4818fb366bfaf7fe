//! Cross-cutting concerns, each a tower layer around every gRPC service the
//! server hosts. `startup` composes them, outermost first.

pub mod call_log;
pub mod catch_panic;
pub mod deadline;
pub mod limit;

pub use call_log::CallLogLayer;
pub use catch_panic::CatchPanicLayer;
pub use deadline::DeadlineLayer;
pub use limit::{CallerLimitLayer, InFlightLimitLayer};

use std::{future::Future, pin::Pin};

/// The future every layer here returns.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
