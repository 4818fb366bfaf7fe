//! An error's chain of sources, where the SDK hides what went wrong.

use std::error::Error as StdError;

/// The first error of type `E` in `err`'s chain of sources, `err` included.
pub(super) fn cause<'e, E: StdError + 'static>(err: &'e (dyn StdError + 'static)) -> Option<&'e E> {
    let mut source = Some(err);
    while let Some(err) = source {
        if let Some(found) = err.downcast_ref::<E>() {
            return Some(found);
        }
        source = err.source();
    }
    None
}
