//! The usernames seen so far, kept small enough for the largest file Cognito
//! takes.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};

/// Each username as a 64-bit SipHash under keys of this checker's own, with
/// the line it was first on; never the username itself.
///
/// Cost: 12 bytes and a control byte for each bucket of a table at most 7/8
/// full, whose buckets are a power of two: 2^20 buckets (13.6 MB) for the
/// 500,000 users Cognito takes in a file (the rules keep none past them), and
/// half as much again for a moment while the table grows.
///
/// Two usernames with the same hash are taken for one, and the second is
/// reported as a repeat. For n usernames that happens with a chance of about
/// n²/2^65: 7 in a billion for 500,000. The keys are drawn for each checker,
/// so no file can be made to collide, and a file that met a collision passes
/// when sent again.
pub(crate) struct Usernames {
    keys: RandomState,
    first_lines: HashMap<Fingerprint, u32, BuildHasherDefault<Passthrough>>,
}

impl Usernames {
    pub fn new() -> Self {
        Self {
            keys: RandomState::new(),
            first_lines: HashMap::default(),
        }
    }

    /// The line an earlier row had this username on, or `None` when it is
    /// new (and now seen on `line`). Past line 2^32, in a file 40 times the
    /// size Cognito takes, usernames are no longer compared.
    pub fn insert(&mut self, username: &str, line: u64) -> Option<u64> {
        let line = u32::try_from(line).ok()?;
        let hash = self.keys.hash_one(username);
        let fingerprint = Fingerprint([(hash >> 32) as u32, hash as u32]);
        match self.first_lines.entry(fingerprint) {
            Entry::Occupied(first) => Some(u64::from(*first.get())),
            Entry::Vacant(entry) => {
                entry.insert(line);
                None
            }
        }
    }

    /// How many usernames the table holds before it grows.
    pub fn capacity(&self) -> usize {
        self.first_lines.capacity()
    }
}

/// A username's hash as two halves, so that with its line an entry takes 12
/// bytes rather than the 16 a `u64` would align it to.
#[derive(PartialEq, Eq)]
struct Fingerprint([u32; 2]);

impl Hash for Fingerprint {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(u64::from(self.0[0]) << 32 | u64::from(self.0[1]));
    }
}

/// The table's own hasher: a fingerprint is a keyed hash already.
#[derive(Default)]
struct Passthrough(u64);

impl Hasher for Passthrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}
