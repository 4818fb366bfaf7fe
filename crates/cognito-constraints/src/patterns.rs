//! Cognito's patterns, each matched by hand against the whole value (the
//! crate stays std only). `\w` is `[A-Za-z0-9_]`; `\s` is Java's class.

/// `\w`.
fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Java's `\s`: `[ \t\n\x0B\f\r]`.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0B' | '\x0C' | '\r')
}

fn is_alphanumeric_id(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric())
}

/// The whole of `[\w-]+_[0-9a-zA-Z]+`: since `\w` contains `_`, this holds
/// exactly when the string is made of `[\w-]`, and its last underscore has at
/// least one character before it and only alphanumerics, at least one, after
/// it.
pub(crate) fn user_pool_id(value: &str) -> bool {
    value.chars().all(|c| is_word(c) || c == '-')
        && value
            .rfind('_')
            .is_some_and(|i| i > 0 && is_alphanumeric_id(&value[i + 1..]))
}

/// The whole of `import-[0-9a-zA-Z-]+`.
pub(crate) fn job_id(value: &str) -> bool {
    value.strip_prefix("import-").is_some_and(|rest| {
        !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

/// The whole of `[\w\s+=,.@-]+`.
pub(crate) fn job_name(value: &str) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|c| is_word(c) || is_space(c) || "+=,.@-".contains(c))
}

/// The whole of Cognito's ARN pattern,
/// `arn:C+:C+:(C*)?:[0-9]+:C+(:C+)?(:C+)?` with `C` = `[\w+=/,.@-]`. `C`
/// holds no colon, so the colons split the value into the pattern's parts:
/// `arn`, two non-empty parts, a part that may be empty, digits, and one to
/// three non-empty parts.
pub(crate) fn arn(value: &str) -> bool {
    let is_c = |c: char| is_word(c) || "+=/,.@-".contains(c);
    let c_plus = |part: &str| !part.is_empty() && part.chars().all(is_c);
    let parts: Vec<&str> = value.split(':').collect();
    (6..=8).contains(&parts.len())
        && parts[0] == "arn"
        && c_plus(parts[1])
        && c_plus(parts[2])
        && parts[3].chars().all(is_c)
        && !parts[4].is_empty()
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5..].iter().all(|part| c_plus(part))
}

/// The whole of `[\S]+`.
pub(crate) fn no_space(value: &str) -> bool {
    !value.is_empty() && !value.chars().any(is_space)
}
