use crate::*;

/// A pool without custom attributes, its header as GetCSVHeader answers it.
const POOL: [&str; 21] = [
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "email",
    "email_verified",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "phone_number",
    "phone_number_verified",
    "address",
    "updated_at",
    "cognito:mfa_enabled",
    "cognito:username",
];

fn pool() -> Vec<String> {
    POOL.map(str::to_owned).to_vec()
}

fn names(names: &[&str]) -> Vec<String> {
    names.iter().map(|&name| name.to_owned()).collect()
}

fn header() -> String {
    POOL.join(",")
}

/// A row in the pool's column order: the values named, the others empty.
fn row(values: &[(&str, &str)]) -> String {
    POOL.map(|column| {
        values
            .iter()
            .find(|(name, _)| *name == column)
            .map_or("", |(_, value)| value)
    })
    .join(",")
}

/// A user Cognito takes: verified by email, MFA off.
fn user(username: &str) -> String {
    row(&[
        ("cognito:username", username),
        ("email", "someone@example.com"),
        ("email_verified", "true"),
        ("cognito:mfa_enabled", "false"),
    ])
}

/// The lines, each ended by LF.
fn lines(lines: &[String]) -> String {
    lines.iter().map(|line| format!("{line}\n")).collect()
}

fn run(header: &[String], input: &[u8], declared: u64, chunk: usize) -> Report {
    let mut check = CsvCheck::new(header, declared);
    for piece in input.chunks(chunk.max(1)) {
        check.feed(piece);
        assert!(check.buffer_capacity() <= MAX_BUFFER_BYTES);
    }
    check.finish()
}

/// The report on `input` fed whole, then one byte at a time, then in chunks
/// of other sizes: every way must give the same report.
fn check_as(header: &[String], input: &[u8], declared: u64) -> Report {
    let whole = run(header, input, declared, input.len());
    for chunk in [1, 2, 3, 5, 7, 64, 4096] {
        assert_eq!(
            run(header, input, declared, chunk),
            whole,
            "fed in chunks of {chunk}"
        );
    }
    whole
}

/// The report on `input`, declared at its own length, against [`POOL`].
fn check(input: &str) -> Report {
    check_as(&pool(), input.as_bytes(), input.len() as u64)
}

/// The problems as (line, column, description), for comparing.
fn found(report: &Report) -> Vec<(u64, Option<&str>, &str)> {
    report
        .problems
        .iter()
        .map(|p| (p.line, p.column.as_deref(), p.description.as_str()))
        .collect()
}

/// The problems as (line, column): where they are, not how they are worded.
fn places(report: &Report) -> Vec<(u64, Option<&str>)> {
    report
        .problems
        .iter()
        .map(|p| (p.line, p.column.as_deref()))
        .collect()
}

#[test]
fn a_file_as_the_guide_writes_it_passes() {
    // The guide's column order, not the pool's: the username first, MFA last;
    // flags in capitals, as its sample writes them.
    let mut columns: Vec<&str> = POOL[..19].to_vec();
    columns.insert(0, "cognito:username");
    columns.push("cognito:mfa_enabled");
    let input = format!(
        "{}\n\
         ana.silva,Ana Silva,Ana,Silva,,,,,,,ana@example.com,TRUE,,,,,,FALSE,,,FALSE\n\
         rui,,,,,,,,,,,FALSE,,,,,+15550100,TRUE,,,TRUE\n",
        columns.join(",")
    );
    let input = input.as_str();
    let report = check(input);
    assert_eq!(found(&report), []);
    assert!(report.is_valid());
    assert_eq!(report.rows, 2);
    assert_eq!(report.bytes, input.len() as u64);
    assert_eq!(report.more_problems, 0);
}

#[test]
fn the_header_holds_every_column_of_the_pool_once_and_no_other() {
    let mut columns: Vec<&str> = POOL.iter().copied().filter(|&c| c != "address").collect();
    columns.insert(3, "custom:team");
    columns.push("email");
    let input = format!("{}\n", columns.join(","));
    let report = check(&input);
    assert_eq!(
        found(&report),
        [
            (
                1,
                Some("custom:team"),
                "not a column of the user pool's CSV header"
            ),
            (1, Some("email"), "the header has this column twice"),
            (
                1,
                Some("address"),
                "the header lacks this column of the user pool's: Cognito needs every one, \
                 even where its values are empty"
            ),
        ]
    );
    assert_eq!(report.rows, 0);
    assert_eq!((report.failed_rows, report.file_problems), (0, 3));
}

#[test]
fn a_header_with_a_column_unknown_still_checks_the_rows_by_the_others() {
    let pool = names(&["cognito:username", "email_verified", "cognito:mfa_enabled"]);
    let input = "cognito:username,custom:x,email_verified,cognito:mfa_enabled\n\
                 a,anything,true,false\n\
                 b,,maybe,false\n";
    let report = check_as(&pool, input.as_bytes(), input.len() as u64);
    assert_eq!(
        places(&report),
        [(1, Some("custom:x")), (3, Some("email_verified"))]
    );
}

#[test]
fn an_unknown_name_is_repeated_cut_short() {
    let name = "x".repeat(300);
    let input = format!("{},{name}\n", header());
    let report = check(&input);
    let column = report.problems[0].column.as_deref().unwrap();
    assert_eq!(column, format!("{}…", "x".repeat(100)));
}

#[test]
fn the_header_is_the_first_line() {
    let input = format!("\n\n{}\n{}\n", header(), user("a"));
    let report = check(&input);
    assert_eq!(
        found(&report),
        [(
            1,
            None,
            "blank lines before the header: it must be the first line"
        )]
    );
    assert_eq!(report.rows, 1);
}

#[test]
fn every_row_has_as_many_fields_as_the_header() {
    let input = lines(&[
        header(),
        user("a"),
        format!("{},extra", user("b")),
        "c,true,false".to_owned(),
        user("d"),
    ]);
    let report = check(&input);
    assert_eq!(
        found(&report),
        [
            (3, None, "the row has 22 fields; the header has 21 fields"),
            (4, None, "the row has 3 fields; the header has 21 fields"),
        ]
    );
    assert_eq!(report.rows, 4);
}

#[test]
fn a_username_is_there_without_spaces_or_tabs() {
    let input = lines(&[
        header(),
        user(""),
        user("   "),
        user("john doe"),
        user("john\tdoe"),
        user(" john "),
        user("ünïcødé-名前"),
    ]);
    let column = Some("cognito:username");
    assert_eq!(
        found(&check(&input)),
        [
            (2, column, "empty: every user needs a username"),
            (3, column, "empty: every user needs a username"),
            (4, column, "a username has no spaces or tabs"),
            (5, column, "a username has no spaces or tabs"),
        ]
    );
}

#[test]
fn a_username_is_unique_in_the_file_as_cognito_trims_it() {
    let input = lines(&[
        header(),
        user("alice"),
        user("bob"),
        user("Alice"),
        user("alice"),
        user(" bob\t"),
        user("alice"),
    ]);
    let column = Some("cognito:username");
    assert_eq!(
        found(&check(&input)),
        [
            (
                5,
                column,
                "the same username as line 2: each must be unique"
            ),
            (
                6,
                column,
                "the same username as line 3: each must be unique"
            ),
            (
                7,
                column,
                "the same username as line 2: each must be unique"
            ),
        ]
    );
}

#[test]
fn mfa_enabled_is_true_or_false_never_empty() {
    let values = [
        "true", "false", "TRUE", "False", " true ", "", "  ", "yes", "1", "truee",
    ];
    let mut input = vec![header()];
    for (i, value) in values.iter().enumerate() {
        input.push(row(&[
            ("cognito:username", &format!("u{i}")),
            ("email", "u@example.com"),
            ("email_verified", "true"),
            ("cognito:mfa_enabled", value),
        ]));
    }
    let column = Some("cognito:mfa_enabled");
    assert_eq!(
        found(&check(&lines(&input))),
        [
            (7, column, "empty: Cognito needs true or false"),
            (8, column, "empty: Cognito needs true or false"),
            (9, column, "not true or false"),
            (10, column, "not true or false"),
            (11, column, "not true or false"),
        ]
    );
}

#[test]
fn a_user_has_an_auto_verified_attribute_true_and_its_value() {
    let user = |name, email: &str, email_verified, phone: &str, phone_verified| {
        row(&[
            ("cognito:username", name),
            ("email", email),
            ("email_verified", email_verified),
            ("phone_number", phone),
            ("phone_number_verified", phone_verified),
            ("cognito:mfa_enabled", "false"),
        ])
    };
    let input = lines(&[
        header(),
        user("a", "a@example.com", "true", "", ""),
        user("b", "", "", "+12345550100", "TRUE"),
        user("c", "c@example.com", "false", "+12345550100", "false"),
        user("d", "d@example.com", "", "", ""),
        user("e", "", "true", "", "false"),
        user("f", "f@example.com", "false", " ", "true"),
        user("g", "g@example.com", "yes", "", ""),
        user("h", "h@example.com", "true", "+12345550100", "maybe"),
    ]);
    assert_eq!(
        found(&check(&input)),
        [
            (
                4,
                None,
                "neither email_verified nor phone_number_verified is true: Cognito needs one of \
                 them true for each user"
            ),
            (
                5,
                None,
                "neither email_verified nor phone_number_verified is true: Cognito needs one of \
                 them true for each user"
            ),
            (6, Some("email"), "empty where email_verified is true"),
            (
                7,
                Some("phone_number"),
                "empty where phone_number_verified is true"
            ),
            // A value neither true nor false: whether the user is verified is
            // not known.
            (8, Some("email_verified"), "not true, false or empty"),
            (9, Some("phone_number_verified"), "not true, false or empty"),
        ]
    );
}

#[test]
fn a_value_has_at_most_2048_characters_after_trimming() {
    let address = |username: &str, text: String| {
        row(&[
            ("cognito:username", username),
            ("email", "u@example.com"),
            ("email_verified", "true"),
            ("cognito:mfa_enabled", "false"),
            ("address", &text),
        ])
    };
    let input = lines(&[
        header(),
        address("a", "a".repeat(2048)),
        // Characters, not bytes: 2048 of two bytes each.
        address("b", "é".repeat(2048)),
        address("c", format!("  {}  ", "a".repeat(2048))),
        address("d", "a".repeat(2049)),
    ]);
    assert_eq!(
        found(&check(&input)),
        [(
            5,
            Some("address"),
            "the value has 2049 characters; Cognito takes at most 2048"
        )]
    );
}

/// A pool whose rows can reach 16,000 characters with no value over 2048.
fn wide_pool() -> Vec<String> {
    let mut pool = names(&[
        "cognito:username",
        "cognito:mfa_enabled",
        "email_verified",
        "email",
    ]);
    pool.extend((0..8).map(|i| format!("custom:c{i}")));
    pool
}

fn wide_row(chars: usize) -> String {
    // 16 characters before the custom values, and 8 commas between them.
    let mut free = chars - 16 - 8;
    let values: Vec<String> = (0..8)
        .map(|_| {
            let take = free.min(2000);
            free -= take;
            "a".repeat(take)
        })
        .collect();
    format!("u,false,true,e@x,{}", values.join(","))
}

#[test]
fn a_row_has_at_most_16000_characters() {
    let pool = wide_pool();
    let input = format!("{}\n{}\n", pool.join(","), wide_row(16_000));
    assert_eq!(input.lines().nth(1).unwrap().chars().count(), 16_000);
    let report = check_as(&pool, input.as_bytes(), input.len() as u64);
    assert_eq!(found(&report), []);

    let input = format!(
        "{}\n{}\n{}\n",
        pool.join(","),
        wide_row(16_001),
        wide_row(16_000).replacen('u', "v", 1)
    );
    let report = check_as(&pool, input.as_bytes(), input.len() as u64);
    assert_eq!(
        found(&report),
        [(2, None, "the row is longer than Cognito's 16000 characters")]
    );
    assert_eq!(report.rows, 2);
}

#[test]
fn a_row_of_bytes_that_are_no_characters_is_cut_where_its_bytes_fill_the_buffer() {
    // Continuation bytes alone: no characters to count, but too many bytes.
    let mut input = format!("{}\n", header()).into_bytes();
    input.extend(std::iter::repeat_n(0x80, 70_000));
    input.extend_from_slice(b"\n");
    let report = check_as(&pool(), &input, input.len() as u64);
    assert_eq!(
        found(&report),
        [
            (2, None, "not UTF-8: Cognito reads the file as UTF-8"),
            (2, None, "the row is longer than Cognito's 16000 characters"),
            (2, None, "the row has 1 field; the header has 21 fields"),
        ]
    );
}

#[test]
fn utf8_is_checked_across_chunks_and_a_problem_names_its_line() {
    // Characters of 2, 3 and 4 bytes, cut by every chunk size but the whole.
    let mut input = lines(&[header(), user("ünï"), user("名前"), user("🦀")]).into_bytes();
    let mut push_line = |start: &[u8], username: &str, end: &[u8]| {
        input.extend_from_slice(start);
        input.extend_from_slice(user(username).as_bytes());
        input.extend_from_slice(end);
        input.push(b'\n');
    };
    // A lead byte without its continuation.
    push_line(b"\xC3(", "x", b"");
    // Two bad bytes on a line: one problem.
    push_line(b"y\xFFz\xFE", "y", b"");
    // An overlong encoding, and a surrogate.
    push_line(b"", "overlong", b"\xC0\xAF");
    push_line(b"", "surrogate", b"\xED\xA0\x80");
    let report = check_as(&pool(), &input, input.len() as u64);
    assert_eq!(
        found(&report),
        [5, 6, 7, 8].map(|line| (line, None, "not UTF-8: Cognito reads the file as UTF-8"))
    );
}

#[test]
fn a_character_cut_at_the_end_of_the_file_is_not_utf8() {
    let mut input = lines(&[header(), user("a")]).into_bytes();
    input.extend_from_slice(b"\xE5\x90");
    let report = check_as(&pool(), &input, input.len() as u64);
    assert_eq!(
        found(&report),
        [
            (3, None, "not UTF-8: Cognito reads the file as UTF-8"),
            (3, None, "the row has 1 field; the header has 21 fields"),
        ]
    );
}

#[test]
fn a_cut_character_then_a_line_break_names_the_line_it_was_on() {
    let mut input = format!("{}\n", header()).into_bytes();
    input.extend_from_slice(user("a").as_bytes());
    input.extend_from_slice(b"\xE5\x90\n");
    input.extend_from_slice(user("b").as_bytes());
    input.extend_from_slice(b"\n");
    let report = check_as(&pool(), &input, input.len() as u64);
    assert_eq!(places(&report), [(2, None)]);
}

#[test]
fn lf_crlf_and_a_lone_cr_each_end_a_line() {
    let input = format!(
        "{}\r\n{}\r\n{}\r{}\n\n\r\n{}\r\n",
        header(),
        user("a"),
        user("b"),
        user(""),
        user("")
    );
    let report = check(&input);
    assert_eq!(report.rows, 4);
    // Lines: header 1, a 2, b 3, the first empty username 4, blank lines 5
    // and 6, the second 7.
    assert_eq!(
        places(&report),
        [(4, Some("cognito:username")), (7, Some("cognito:username"))]
    );
}

#[test]
fn a_quoted_value_holds_commas_quotes_and_line_breaks() {
    let address = |username, text| {
        row(&[
            ("cognito:username", username),
            ("email", "a@example.com"),
            ("email_verified", "true"),
            ("cognito:mfa_enabled", "false"),
            ("address", text),
        ])
    };
    let input = lines(&[
        header(),
        address("a", "\"1 Main Street, Springfield\""),
        address("b", "\"the \"\"old\"\" house\""),
        address("c", "\"line one\nline two\r\nline three\rline four\""),
        // After three lines in one value, this row is on line 8.
        user(""),
    ]);
    let report = check(&input);
    assert_eq!(places(&report), [(8, Some("cognito:username"))]);
    assert_eq!(report.rows, 4);
}

#[test]
fn a_problem_in_a_value_names_the_line_the_value_begins_on() {
    let mut fields = [""; 21];
    fields[0] = "\"multi\nline\""; // lines 2 and 3
    fields[10] = "\"not\ntrue\""; // email_verified, on lines 3 and 4
    fields[20] = "\"a b\n\""; // cognito:username, on lines 4 and 5
    let input = format!("{}\n{}\n", header(), fields.join(","));
    let report = check(&input);
    assert_eq!(
        places(&report),
        [
            (3, Some("email_verified")),
            (4, Some("cognito:mfa_enabled")),
            (4, Some("cognito:username")),
        ]
    );
}

#[test]
fn quoted_usernames_compare_unquoted() {
    let input = lines(&[
        header(),
        user("\"a,b\""),
        user("a\\,b"),
        user("\"a\"\"b\""),
        user("a\"b"),
    ]);
    assert_eq!(
        places(&check(&input)),
        [(3, Some("cognito:username")), (5, Some("cognito:username"))]
    );
}

#[test]
fn a_backslash_before_a_comma_keeps_it_in_the_value() {
    let input = lines(&[
        header(),
        row(&[
            ("cognito:username", "a"),
            ("email", "a@example.com"),
            ("email_verified", "true"),
            ("cognito:mfa_enabled", "false"),
            ("address", "1 Main Street\\, Springfield\\, USA"),
            ("name", "Doe\\, Jane"),
        ]),
        // The escaped comma is no delimiter: one field short.
        user("b").replacen(",,", "\\,,", 1),
    ]);
    let report = check(&input);
    assert_eq!(
        found(&report),
        [(3, None, "the row has 20 fields; the header has 21 fields")]
    );
}

#[test]
fn a_byte_order_mark_is_a_problem_and_is_skipped() {
    let input = format!("\u{FEFF}{}\n{}\n", header(), user("a"));
    let report = check(&input);
    assert_eq!(
        found(&report),
        [(
            1,
            None,
            "the file begins with a byte order mark: Cognito takes UTF-8 without one"
        )]
    );
    assert_eq!(report.rows, 1);
    assert_eq!(report.bytes, input.len() as u64);

    // A BOM alone, and a BOM cut short.
    let report = check("\u{FEFF}");
    assert_eq!(places(&report), [(1, None), (1, None)]);
    // Its first bytes alone are a header of one name, not UTF-8.
    let report = check_as(&pool(), b"\xEF\xBB", 2);
    assert_eq!(
        found(&report)[..2],
        [
            (1, None, "not UTF-8: Cognito reads the file as UTF-8"),
            (
                1,
                Some("\u{FFFD}"),
                "not a column of the user pool's CSV header"
            ),
        ]
    );
    // A BOM's first bytes, then something else: read as they are.
    let report = check_as(&pool(), b"\xEF\xBBx\n", 4);
    assert_eq!(
        report.problems[0].description,
        "not UTF-8: Cognito reads the file as UTF-8"
    );
}

#[test]
fn an_empty_file_has_no_header() {
    for input in ["", "\n", "\r\n\r\n\n"] {
        let report = check(input);
        assert_eq!(
            found(&report),
            [(
                1,
                None,
                "no header: the first line must be the user pool's CSV header"
            )],
            "{input:?}"
        );
        assert_eq!(report.rows, 0);
    }
}

#[test]
fn a_header_alone_is_a_file_of_no_users() {
    for input in [
        header(),
        format!("{}\n", header()),
        format!("{}\r\n\r\n", header()),
    ] {
        let report = check(&input);
        assert!(report.is_valid(), "{input:?}: {report:?}");
        assert_eq!(report.rows, 0);
    }
}

#[test]
fn the_last_row_needs_no_line_break() {
    let input = format!("{}\n{}\n{}", header(), user("a"), user(""));
    let report = check(&input);
    assert_eq!(places(&report), [(3, Some("cognito:username"))]);
    assert_eq!(report.rows, 2);
}

#[test]
fn a_report_lists_100_problems_and_counts_the_rest() {
    let mut input = vec![header()];
    input.extend((0..150).map(|_| user("")));
    let report = check(&lines(&input));
    assert_eq!(report.problems.len(), MAX_PROBLEMS);
    assert_eq!(report.more_problems, 50);
    assert_eq!(report.problems[99].line, 101);
    assert!(!report.is_valid());
}

#[test]
fn a_file_longer_than_declared_is_a_problem_where_it_passes_the_length() {
    let input = lines(&[header(), user("a"), user("b"), user("c")]);
    let declared = (header().len() + user("a").len() + 2) as u64;
    let report = check_as(&pool(), input.as_bytes(), declared);
    assert_eq!(
        found(&report),
        [(
            3,
            None,
            format!("the file is longer than the {declared} bytes declared").as_str()
        )]
    );
    // Reported once; the rest of the file is still checked.
    assert_eq!(report.rows, 3);
    assert_eq!(report.bytes, input.len() as u64);

    let report = check_as(&pool(), b"x", 0);
    assert_eq!(
        found(&report)[0],
        (1, None, "the file is longer than the 0 bytes declared")
    );
}

#[test]
fn a_file_shorter_than_declared_is_a_problem_at_its_end() {
    let input = lines(&[header(), user("a")]);
    let report = check_as(&pool(), input.as_bytes(), input.len() as u64 + 10);
    let ends = format!(
        "the file ends after {} of the {} bytes declared",
        input.len(),
        input.len() + 10
    );
    assert_eq!(found(&report), [(3, None, ends.as_str())]);
}

#[test]
fn a_declared_length_over_cognitos_limit_is_a_problem_at_once() {
    let check = CsvCheck::new(&pool(), MAX_FILE_BYTES + 1);
    let report = check.finish();
    assert_eq!(
        found(&report)[0],
        (
            1,
            None,
            "the declared 100000001 bytes are more than Cognito takes (100000000 bytes)"
        )
    );
}

/// Feeds a file of `len` bytes whose second line is one long value, in
/// chunks of `chunk`, with no more than a chunk of it in memory.
fn one_long_value(declared: u64, len: u64, chunk: usize) -> (Report, usize) {
    let head = format!("{}\n", header());
    let mut check = CsvCheck::new(&pool(), declared);
    check.feed(head.as_bytes());
    let fresh = check.buffer_capacity();
    let filler = vec![b'a'; chunk];
    let mut left = len - head.len() as u64;
    while left > 0 {
        let take = left.min(chunk as u64) as usize;
        check.feed(&filler[..take]);
        assert!(check.buffer_capacity() <= MAX_BUFFER_BYTES);
        left -= take as u64;
    }
    let capacity = check.buffer_capacity();
    assert_eq!(capacity, fresh, "a long value grew the buffers");
    (check.finish(), capacity)
}

#[test]
fn a_file_over_100_mb_is_a_problem_where_it_passes_the_limit() {
    let mut reports = Vec::new();
    for chunk in [1 << 20, 65_536, 4099] {
        let (report, _) = one_long_value(MAX_FILE_BYTES, MAX_FILE_BYTES + 1, chunk);
        reports.push(report);
    }
    let report = &reports[0];
    assert!(reports.iter().all(|other| other == report));
    assert_eq!(report.bytes, MAX_FILE_BYTES + 1);
    assert_eq!(
        found(report),
        [
            (
                2,
                None,
                "the file is longer than the 100000000 bytes declared"
            ),
            (
                2,
                None,
                "the file is longer than Cognito takes (100000000 bytes)"
            ),
            (2, None, "the row is longer than Cognito's 16000 characters"),
            (2, None, "the row has 1 field; the header has 21 fields"),
        ]
    );
}

#[test]
fn memory_stays_bounded_by_a_long_value_fed_byte_by_byte() {
    // Only a checker whose work is linear in the input ends this in time:
    // every byte fed alone, 3 MB of them in one value.
    let len = 3 << 20;
    let (by_byte, capacity) = one_long_value(len, len, 1);
    let (whole, _) = one_long_value(len, len, len as usize);
    assert_eq!(by_byte, whole);
    assert!(capacity <= MAX_BUFFER_BYTES);
    assert_eq!(places(&whole), [(2, None), (2, None)]);
}

#[test]
fn memory_stays_bounded_by_a_long_header_and_a_row_of_a_million_fields() {
    let mut input = format!("{},{}\n", header(), "x".repeat(2 << 20)).into_bytes();
    input.extend(std::iter::repeat_n(b',', 1_000_000));
    input.push(b'\n');
    input.extend_from_slice(user("a").as_bytes());
    input.push(b'\n');
    let mut check = CsvCheck::new(&pool(), input.len() as u64);
    for piece in input.chunks(65_536) {
        check.feed(piece);
        assert!(check.buffer_capacity() <= MAX_BUFFER_BYTES);
    }
    let report = check.finish();
    assert_eq!(
        found(&report),
        [
            // The long name is past the cut: only the row's length is a
            // problem, its other names all the pool's.
            (1, None, "the row is longer than Cognito's 16000 characters"),
            (2, None, "the row is longer than Cognito's 16000 characters"),
            (
                2,
                None,
                "the row has 1000001 fields; the header has 22 fields"
            ),
            (3, None, "the row has 21 fields; the header has 22 fields"),
        ]
    );
    assert_eq!(report, run(&pool(), &input, input.len() as u64, 1));
}

#[test]
fn usernames_take_memory_for_distinct_ones_only() {
    let mut input = vec![header()];
    input.extend((0..5000).map(|_| user("same")));
    let input = lines(&input);
    let mut check = CsvCheck::new(&pool(), input.len() as u64);
    check.feed(input.as_bytes());
    assert!(check.username_capacity() < 8);
    let report = check.finish();
    assert_eq!(report.problems.len() + report.more_problems as usize, 4999);

    let mut input = vec![header()];
    input.extend((0..5000).map(|i| user(&format!("user{i}"))));
    let input = lines(&input);
    let mut check = CsvCheck::new(&pool(), input.len() as u64);
    check.feed(input.as_bytes());
    assert!((5000..=8192).contains(&check.username_capacity()));
    assert!(check.finish().is_valid());
}

#[test]
fn at_most_500000_users_and_no_usernames_kept_past_them() {
    let pool = names(&["cognito:username", "email_verified", "cognito:mfa_enabled"]);
    let mut input = String::from("cognito:username,email_verified,cognito:mfa_enabled\n");
    for i in 0..=MAX_ROWS + 1000 {
        input.push_str(&format!("u{i},true,false\n"));
    }
    // Past the limit, a repeat is not looked for.
    input.push_str("u0,true,false\n");
    let mut check = CsvCheck::new(&pool, input.len() as u64);
    for piece in input.as_bytes().chunks(1 << 16) {
        check.feed(piece);
    }
    // 2^20 buckets, 7/8 of them usable.
    assert!(check.username_capacity() <= 917_504);
    let report = check.finish();
    assert_eq!(
        found(&report),
        [(
            500_002,
            None,
            "more than 500000 users: Cognito takes at most 500000 rows after the header"
        )]
    );
    assert_eq!(report.rows, MAX_ROWS + 1002);
    assert_eq!(report, run(&pool, input.as_bytes(), input.len() as u64, 7));
}

#[test]
fn a_problem_reads_with_its_line_and_column() {
    let report = check(&lines(&[header(), user("")]));
    assert_eq!(
        report.problems[0].to_string(),
        "line 2, cognito:username: empty: every user needs a username"
    );
    assert_eq!(
        check("").problems[0].to_string(),
        "line 1: no header: the first line must be the user pool's CSV header"
    );
}

#[test]
fn a_check_can_be_held_across_an_await() {
    fn sendable<T: Send + 'static>() {}
    sendable::<CsvCheck>();
    sendable::<Report>();
}

/// Each user's row as handed over (line, username, passed), and the report,
/// fed in chunks of `chunk`.
fn users_of(
    input: &[u8],
    declared: u64,
    chunk: usize,
) -> (Vec<(u64, Option<String>, bool)>, Report) {
    let mut users = Vec::new();
    let mut on_row = |row: UserRow<'_>| {
        users.push((row.line, row.username.map(str::to_owned), row.passed));
    };
    let mut check = CsvCheck::new(&pool(), declared);
    for piece in input.chunks(chunk.max(1)) {
        check.feed_rows(piece, &mut on_row);
    }
    let report = check.finish_rows(&mut on_row);
    (users, report)
}

#[test]
fn each_users_row_is_handed_over_with_its_username_and_whether_it_passed() {
    let input = lines(&[
        header(),
        user("a"),
        user("b").replace(",true,", ",yes,"),
        user(" c "),
        format!("{},extra", user("d")),
        user("a"),
    ]) + &user("e");
    // A username is read without the spaces around it; the last row has no
    // line break.
    let expected = vec![
        (2, Some("a".to_owned()), true),
        (3, Some("b".to_owned()), false),
        (4, Some("c".to_owned()), true),
        (5, None, false),
        (6, Some("a".to_owned()), false),
        (7, Some("e".to_owned()), true),
    ];
    for chunk in [1, 2, 7, 64, input.len()] {
        let (users, report) = users_of(input.as_bytes(), input.len() as u64, chunk);
        assert_eq!(users, expected, "fed in chunks of {chunk}");
        assert_eq!(report.rows, 6);
        assert_eq!(report.failed_rows, 3);
        assert_eq!(report.file_problems, 0);
        assert_eq!(report, check(&input));
    }
}

#[test]
fn a_row_with_several_problems_fails_once_and_the_file_keeps_its_own() {
    let bad = row(&[
        ("cognito:username", "a b"),
        ("email_verified", "true"),
        ("cognito:mfa_enabled", ""),
    ]);
    let input = lines(&[header(), bad, user("ok")]);
    let report = check(&input);
    assert_eq!(report.problems.len(), 3);
    assert_eq!((report.failed_rows, report.file_problems), (1, 0));

    // A BOM, a column missing from the header, and the file shorter than
    // declared are the file's; the rows are checked as usual.
    let columns: Vec<&str> = POOL.iter().copied().filter(|&c| c != "gender").collect();
    let mut input = format!("\u{FEFF}{}\n", columns.join(","));
    let values: Vec<&str> = columns
        .iter()
        .map(|&column| match column {
            "cognito:username" => "x",
            "email" => "x@example.com",
            "email_verified" => "true",
            "cognito:mfa_enabled" => "false",
            _ => "",
        })
        .collect();
    input.push_str(&format!("{}\n", values.join(",")));
    let (users, report) = users_of(input.as_bytes(), input.len() as u64 + 10, 5);
    assert_eq!(users, [(2, Some("x".to_owned()), true)]);
    assert_eq!(
        (report.failed_rows, report.file_problems),
        (0, 3),
        "{report:?}"
    );
}

#[test]
fn the_file_past_its_declared_length_is_the_files_problem_not_the_rows() {
    let input = lines(&[header(), user("a"), user("b")]);
    // The limit falls within the second user's row.
    let declared = input.len() as u64 - 10;
    let whole = run(&pool(), input.as_bytes(), declared, input.len());
    assert_eq!(whole.problems.len(), 1, "{whole:?}");
    assert_eq!((whole.failed_rows, whole.file_problems), (0, 1));
    let (users, by_byte) = users_of(input.as_bytes(), declared, 1);
    assert_eq!(by_byte, whole);
    assert!(users.iter().all(|(_, _, passed)| *passed));
}

#[test]
fn a_file_wrong_on_every_row_counts_every_row_with_its_problems_capped() {
    let mut input = vec![header()];
    input.extend((0..300).map(|i| user(&format!("u{i}")).replace(",true,", ",no,")));
    let report = check(&lines(&input));
    assert_eq!(report.problems.len(), MAX_PROBLEMS);
    assert_eq!(report.failed_rows, 300);
    assert_eq!(report.file_problems, 0);
}
