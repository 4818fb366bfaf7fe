//! Cross-cutting concerns, each a tower layer around every gRPC service the
//! server hosts. `startup` composes them, outermost first.

pub mod call_log;
pub mod deadline;

pub use call_log::CallLogLayer;
pub use deadline::DeadlineLayer;

use std::{future::Future, pin::Pin};

/// The future every layer here returns.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
