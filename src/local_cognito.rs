//! `--local-cognito`: the embedded Cognito emulator, in a build with the
//! `local-cognito` feature (the default). A build without it has no
//! emulator, and refuses the flag at start.

#[cfg(feature = "local-cognito")]
pub use cognito_emulator::{DEMO_POOL, Emulator};

#[cfg(not(feature = "local-cognito"))]
pub use absent::{DEMO_POOL, Emulator};

#[cfg(not(feature = "local-cognito"))]
mod absent {
    /// No emulator in this build: no value of this type exists.
    pub enum Emulator {}

    pub const DEMO_POOL: &str = "";

    impl Emulator {
        pub async fn start() -> std::io::Result<Self> {
            Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "--local-cognito: this build has no Cognito emulator (it was built without the local-cognito feature)",
            ))
        }

        pub fn url(&self) -> String {
            match *self {}
        }

        pub fn describe(&self) -> Vec<(String, Vec<(String, String)>)> {
            match *self {}
        }
    }
}
