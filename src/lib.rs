//! See the README.
#![doc = "placeholder"]
pub use beam_macros::pipeline;
pub use beam_runtime::*;

/// Everything a pipeline's author needs: `use beam::prelude::*;`.
pub mod prelude {
    pub use beam_macros::pipeline;
    pub use beam_runtime::prelude::*;
}
