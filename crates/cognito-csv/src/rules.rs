//! Cognito's rules for the header and for each user's row.

use std::collections::HashMap;
use std::mem::size_of;

use crate::problems::Problems;
use crate::rows::{MAX_ROW_CHARS, ROW_FIELDS, Row};
use crate::usernames::Usernames;

/// Most users (rows after the header) Cognito takes in a file.
pub const MAX_ROWS: u64 = 500_000;

/// Most characters in a value: an attribute's value in Cognito's API model
/// (`AttributeType`'s `Value`).
pub const MAX_VALUE_CHARS: usize = 2048;

/// Most bytes the file's header takes: a column for each of its fields kept.
pub(crate) const MAX_HEADER_CAPACITY: usize = ROW_FIELDS * size_of::<Column>();

/// Most characters of a column's name a problem repeats: a header's unknown
/// name may be anything.
const MAX_NAME_CHARS: usize = 100;

/// What a column says of a user, for the rules that read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Username,
    MfaEnabled,
    EmailVerified,
    PhoneVerified,
    Email,
    Phone,
    /// Another of the pool's columns: only its length is checked.
    Other,
    /// Not one of the pool's columns, or one already in the header: its
    /// values are ignored (the header's problem says why).
    Ignored,
}

impl Role {
    fn of(name: &str) -> Self {
        match name {
            "cognito:username" => Self::Username,
            "cognito:mfa_enabled" => Self::MfaEnabled,
            "email_verified" => Self::EmailVerified,
            "phone_number_verified" => Self::PhoneVerified,
            "email" => Self::Email,
            "phone_number" => Self::Phone,
            _ => Self::Other,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Column {
    /// Its place in the pool's header, which names it.
    pool: u32,
    role: Role,
}

/// The file's header row, as the rows after it are read against.
struct Header {
    columns: Vec<Column>,
    /// Its fields, kept or not: every row must have as many.
    fields: u64,
    /// The file has a column for email_verified or phone_number_verified,
    /// so a user's rows can say whether one of them is true.
    says_verified: bool,
}

/// What a row was read as.
pub(crate) enum Read<'r> {
    Header,
    /// A user's row, with its username as Cognito reads it, if the row was
    /// read that far.
    User {
        username: Option<&'r str>,
    },
}

pub(crate) struct Rules {
    /// The pool's header, as GetCSVHeader answers it.
    pool: Vec<String>,
    header: Option<Header>,
    users: u64,
    usernames: Usernames,
}

impl Rules {
    pub fn new(pool: &[String]) -> Self {
        Self {
            pool: pool.to_vec(),
            header: None,
            users: 0,
            usernames: Usernames::new(),
        }
    }

    /// The rows read after the header.
    pub fn users(&self) -> u64 {
        self.users
    }

    pub fn has_header(&self) -> bool {
        self.header.is_some()
    }

    pub fn header_capacity(&self) -> usize {
        self.header
            .as_ref()
            .map_or(0, |header| header.columns.capacity() * size_of::<Column>())
    }

    pub fn username_capacity(&self) -> usize {
        self.usernames.capacity()
    }

    pub fn row<'r>(&mut self, row: &Row<'r>, problems: &mut Problems) -> Read<'r> {
        if row.too_long {
            problems.push(
                row.line,
                None,
                format_args!("the row is longer than Cognito's {MAX_ROW_CHARS} characters"),
            );
        }
        match &self.header {
            None => {
                self.header = Some(self.read_header(row, problems));
                Read::Header
            }
            Some(_) => Read::User {
                username: self.user(row, problems),
            },
        }
    }

    fn read_header(&self, row: &Row<'_>, problems: &mut Problems) -> Header {
        if row.line != 1 {
            problems.push(
                1,
                None,
                "blank lines before the header: it must be the first line",
            );
        }
        let mut index = HashMap::with_capacity(self.pool.len());
        for (position, name) in self.pool.iter().enumerate() {
            index.entry(name.as_str()).or_insert(position);
        }
        let mut seen = vec![false; self.pool.len()];
        let mut header = Header {
            columns: Vec::new(),
            fields: row.fields,
            says_verified: false,
        };
        for (field, line) in row.kept() {
            // Bytes that are not UTF-8 were reported as such: the name is
            // unknown, whatever it reads as.
            let name = String::from_utf8_lossy(field);
            let column = match index.get(name.as_ref()) {
                None => {
                    problems.push(
                        line,
                        Some(&shown(&name)),
                        "not a column of the user pool's CSV header",
                    );
                    Column {
                        pool: 0,
                        role: Role::Ignored,
                    }
                }
                Some(&position) if seen[position] => {
                    problems.push(line, Some(&name), "the header has this column twice");
                    Column {
                        pool: 0,
                        role: Role::Ignored,
                    }
                }
                Some(&position) => {
                    seen[position] = true;
                    Column {
                        pool: u32::try_from(position).unwrap_or(u32::MAX),
                        role: Role::of(&name),
                    }
                }
            };
            header.says_verified |=
                matches!(column.role, Role::EmailVerified | Role::PhoneVerified);
            header.columns.push(column);
        }
        for (name, seen) in self.pool.iter().zip(&seen) {
            if !seen {
                problems.push(
                    row.line,
                    Some(name),
                    "the header lacks this column of the user pool's: Cognito needs every one, \
                     even where its values are empty",
                );
            }
        }
        header.columns.shrink_to_fit();
        header
    }

    /// Checks a user's row; its username, if it was read.
    fn user<'r>(&mut self, row: &Row<'r>, problems: &mut Problems) -> Option<&'r str> {
        let header = self.header.as_ref()?;
        self.users += 1;
        if self.users == MAX_ROWS + 1 {
            problems.push(
                row.line,
                None,
                format_args!(
                    "more than {MAX_ROWS} users: Cognito takes at most {MAX_ROWS} rows after \
                     the header"
                ),
            );
        }
        if row.fields != header.fields {
            problems.push(
                row.line,
                None,
                format_args!(
                    "the row has {}; the header has {}",
                    count_fields(row.fields),
                    count_fields(header.fields)
                ),
            );
            return None;
        }
        // The fields past the cut are lost: what was kept is checked no
        // further, its row refused already.
        if row.too_long {
            return None;
        }
        let mut user = User::default();
        let mut username = None;
        for (index, (field, line)) in row.kept().enumerate() {
            let Some(&column) = header.columns.get(index) else {
                break;
            };
            if column.role == Role::Ignored {
                continue;
            }
            // Bytes that are not UTF-8 were reported as such.
            let Ok(value) = std::str::from_utf8(field) else {
                continue;
            };
            // Cognito trims the white space around a value before it reads it.
            let value = value.trim_ascii();
            let name = self
                .pool
                .get(column.pool as usize)
                .map_or("", String::as_str);
            let chars = value.chars().count();
            if chars > MAX_VALUE_CHARS {
                problems.push(
                    line,
                    Some(name),
                    format_args!(
                        "the value has {chars} characters; Cognito takes at most {MAX_VALUE_CHARS}"
                    ),
                );
            }
            match column.role {
                Role::Username => {
                    username = Some(value);
                    if value.is_empty() {
                        problems.push(line, Some(name), "empty: every user needs a username");
                    } else if value.contains([' ', '\t']) {
                        problems.push(line, Some(name), "a username has no spaces or tabs");
                    } else if self.users <= MAX_ROWS
                        && let Some(first) = self.usernames.insert(value, line)
                    {
                        problems.push(
                            line,
                            Some(name),
                            format_args!("the same username as line {first}: each must be unique"),
                        );
                    }
                }
                Role::MfaEnabled => match Flag::of(value) {
                    Flag::True | Flag::False => {}
                    Flag::Empty => {
                        problems.push(line, Some(name), "empty: Cognito needs true or false");
                    }
                    Flag::Invalid => problems.push(line, Some(name), "not true or false"),
                },
                Role::EmailVerified | Role::PhoneVerified => {
                    let flag = Flag::of(value);
                    if flag == Flag::Invalid {
                        problems.push(line, Some(name), "not true, false or empty");
                    }
                    if column.role == Role::EmailVerified {
                        user.email_verified = Some((flag, line));
                    } else {
                        user.phone_verified = Some((flag, line));
                    }
                }
                Role::Email => user.email = Some((!value.is_empty(), line)),
                Role::Phone => user.phone = Some((!value.is_empty(), line)),
                Role::Other | Role::Ignored => {}
            }
        }
        user.check(header.says_verified, row.line, problems);
        username
    }
}

/// A boolean column's value, letters in either case (the guide's own sample
/// writes `TRUE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flag {
    True,
    False,
    Empty,
    Invalid,
}

impl Flag {
    fn of(value: &str) -> Self {
        if value.is_empty() {
            Self::Empty
        } else if value.eq_ignore_ascii_case("true") {
            Self::True
        } else if value.eq_ignore_ascii_case("false") {
            Self::False
        } else {
            Self::Invalid
        }
    }
}

/// What a row says of its user's contact details, for the rules that read
/// more than one column; `None` where the file has no such column.
#[derive(Default)]
struct User {
    email_verified: Option<(Flag, u64)>,
    phone_verified: Option<(Flag, u64)>,
    email: Option<(bool, u64)>,
    phone: Option<(bool, u64)>,
}

impl User {
    fn check(&self, says_verified: bool, line: u64, problems: &mut Problems) {
        let flags = [self.email_verified, self.phone_verified];
        let flag_is = |wanted| flags.iter().flatten().any(|&(flag, _)| flag == wanted);
        // A value neither true nor false was reported; whether the user is
        // verified is then unknown.
        if says_verified && !flag_is(Flag::True) && !flag_is(Flag::Invalid) {
            problems.push(
                line,
                None,
                "neither email_verified nor phone_number_verified is true: Cognito needs one \
                 of them true for each user",
            );
        }
        if let (Some((Flag::True, _)), Some((false, line))) = (self.email_verified, self.email) {
            problems.push(line, Some("email"), "empty where email_verified is true");
        }
        if let (Some((Flag::True, _)), Some((false, line))) = (self.phone_verified, self.phone) {
            problems.push(
                line,
                Some("phone_number"),
                "empty where phone_number_verified is true",
            );
        }
    }
}

/// A name from the file as a problem repeats it: its first
/// [`MAX_NAME_CHARS`] characters.
fn shown(name: &str) -> String {
    match name.char_indices().nth(MAX_NAME_CHARS) {
        Some((cut, _)) => format!("{}…", &name[..cut]),
        None => name.to_owned(),
    }
}

fn count_fields(fields: u64) -> String {
    match fields {
        1 => "1 field".to_owned(),
        _ => format!("{fields} fields"),
    }
}
