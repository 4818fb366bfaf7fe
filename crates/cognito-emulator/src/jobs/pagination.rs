//! ListUserImportJobs' pagination tokens. A token names the last job of the
//! page it ended (its creation date and id, the list's order), so a page
//! asked for later still begins after that job, whatever was created since;
//! and it carries a keyed hash of that and the pool, so that only a token
//! the emulator gave, for the same pool, is taken.
//!
//! Its form: the hex of `<creation date in nanoseconds since the epoch>
//! <newline> <job id>`, then the hex of the 8-byte hash.

use std::hash::{BuildHasher, RandomState};

/// Where a page ended: the last job's place in the list's order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Position {
    pub(crate) created_nanos: u128,
    pub(crate) job_id: String,
}

/// Gives and takes back tokens, with a key of its own: a token from another
/// emulator is not taken either.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    key: RandomState,
}

impl Tokens {
    pub(crate) fn issue(&self, user_pool_id: &str, after: &Position) -> String {
        let payload = format!("{}\n{}", after.created_nanos, after.job_id);
        let tag = self.tag(user_pool_id, &payload);
        let mut token = hex(payload.as_bytes());
        token.push_str(&hex(&tag.to_be_bytes()));
        token
    }

    /// The position `token` names, if the emulator gave it for `user_pool_id`.
    pub(crate) fn redeem(&self, user_pool_id: &str, token: &str) -> Option<Position> {
        let bytes = unhex(token)?;
        let (payload, tag) = bytes.split_at_checked(bytes.len().checked_sub(8)?)?;
        let payload = std::str::from_utf8(payload).ok()?;
        if self.tag(user_pool_id, payload).to_be_bytes() != tag {
            return None;
        }
        let (created, job_id) = payload.split_once('\n')?;
        Some(Position {
            created_nanos: created.parse().ok()?,
            job_id: job_id.to_owned(),
        })
    }

    fn tag(&self, user_pool_id: &str, payload: &str) -> u64 {
        self.key.hash_one((user_pool_id, payload))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position() -> Position {
        Position {
            created_nanos: 1_700_000_000_123_000_000,
            job_id: "import-AbC123".to_owned(),
        }
    }

    #[test]
    fn a_token_is_taken_back_for_its_pool_only() {
        let tokens = Tokens::default();
        let token = tokens.issue("us-east-1_A", &position());
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{token}");
        assert_eq!(tokens.redeem("us-east-1_A", &token), Some(position()));
        assert_eq!(tokens.redeem("us-east-1_B", &token), None);
    }

    #[test]
    fn tokens_the_emulator_did_not_give_are_refused() {
        let tokens = Tokens::default();
        let token = tokens.issue("us-east-1_A", &position());
        let other_emulator = Tokens::default().issue("us-east-1_A", &position());
        let mut tampered = token.clone().into_bytes();
        tampered[3] = if tampered[3] == b'0' { b'1' } else { b'0' };
        let tampered = String::from_utf8(tampered).unwrap();
        for bad in [
            "1",
            "2",
            "18446744073709551615",
            "",
            "zz",
            "é1",
            &token[..token.len() - 2],
            &tampered,
            &other_emulator,
        ] {
            assert_eq!(tokens.redeem("us-east-1_A", bad), None, "{bad:?}");
        }
    }
}
