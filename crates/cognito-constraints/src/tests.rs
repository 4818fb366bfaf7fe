use crate::*;

fn pool_ok(s: &str) -> bool {
    UserPoolId::parse(s).is_ok()
}

fn job_ok(s: &str) -> bool {
    JobId::parse(s).is_ok()
}

#[test]
fn user_pool_ids_follow_cognitos_pattern() {
    for valid in [
        "us-east-1_AbC123",
        "a_b",
        "eu-west-1_x",
        "a_b_c",
        "__a",
        "-_0",
        "us_east_1_x9",
    ] {
        assert!(pool_ok(valid), "{valid} should be valid");
    }
    for invalid in [
        "",
        "us-east-1",
        "_abc",
        "us-east-1_",
        "us-east-1_ab-c",
        "us-east-1_AbC123 ",
        "us-east-1_AbC123\n",
        "us-east-1_AbÇ123",
        "üs-east-1_AbC123",
        "us east-1_AbC123",
        "us-east-1_AbC12.3",
    ] {
        assert!(!pool_ok(invalid), "{invalid:?} should be invalid");
    }
}

#[test]
fn job_ids_follow_cognitos_pattern() {
    for valid in [
        "import-a",
        "import--",
        "import-Zw9Ai2e2Xy",
        "import-a-b-C-9",
    ] {
        assert!(job_ok(valid), "{valid} should be valid");
    }
    for invalid in [
        "",
        "import-",
        "import_abc",
        "import-ab_c",
        "Import-abc",
        "xximport-abc",
        "import-abc ",
        "import-abç",
    ] {
        assert!(!job_ok(invalid), "{invalid:?} should be invalid");
    }
}

#[test]
fn lengths_are_counted_in_characters_up_to_55() {
    let pool_55 = format!("us-east-1_{}", "a".repeat(MAX_ID_LEN - 10));
    assert_eq!(pool_55.len(), 55);
    assert!(pool_ok(&pool_55));
    assert!(!pool_ok(&format!("{pool_55}a")));

    let job_55 = format!("import-{}", "a".repeat(MAX_ID_LEN - 7));
    assert!(job_ok(&job_55));
    let err = JobId::parse(&format!("{job_55}a")).unwrap_err();
    assert_eq!(err.field, "job_id");
    assert!(
        err.description.contains("at most 55"),
        "{}",
        err.description
    );
}

#[test]
fn every_failing_field_is_reported() {
    let violations = JobRequest::parse("", "import_x").unwrap_err();
    let fields: Vec<_> = violations.iter().map(|v| v.field).collect();
    assert_eq!(fields, ["user_pool_id", "job_id"]);
    assert_eq!(violations[0].description, "is required");

    let only_job = JobRequest::parse("us-east-1_A", "").unwrap_err();
    assert_eq!(only_job.len(), 1);
    assert_eq!(only_job[0].field, "job_id");
}

#[test]
fn cognito_words_every_broken_constraint() {
    let violations = JobRequest::parse("us-east-1_ab-c", "import-ab_c").unwrap_err();
    assert_eq!(
        cognito_message(&violations),
        "2 validation errors detected: \
         Value 'us-east-1_ab-c' at 'userPoolId' failed to satisfy constraint: \
         Member must satisfy regular expression pattern: [\\w-]+_[0-9a-zA-Z]+; \
         Value 'import-ab_c' at 'jobId' failed to satisfy constraint: \
         Member must satisfy regular expression pattern: import-[0-9a-zA-Z-]+"
    );
    let empty = JobId::parse("").unwrap_err();
    assert_eq!(
        cognito_message(&[empty]),
        "2 validation errors detected: \
         Value '' at 'jobId' failed to satisfy constraint: \
         Member must have length greater than or equal to 1; \
         Value '' at 'jobId' failed to satisfy constraint: \
         Member must satisfy regular expression pattern: import-[0-9a-zA-Z-]+"
    );
    let long = JobId::parse(&format!("import-{}", "a".repeat(MAX_ID_LEN))).unwrap_err();
    assert_eq!(long.cognito.len(), 1);
    assert!(long.cognito[0].ends_with("Member must have length less than or equal to 55"));
}

#[test]
fn the_region_is_the_part_before_the_first_underscore() {
    let pool = UserPoolId::parse("eu-central-1_AbC").unwrap();
    assert_eq!(pool.region_prefix(), "eu-central-1");
    assert_eq!(UserPoolId::parse("a_b_c").unwrap().region_prefix(), "a");
}

#[test]
fn job_names_follow_cognitos_pattern() {
    for valid in [
        "a",
        "nightly import",
        "users+admins=all,2026.11@eu-west-1_x",
        "tab\tand\nnewline\x0Bvt\x0Cff\r",
        &"n".repeat(128),
    ] {
        assert!(JobName::parse(valid).is_ok(), "{valid:?} should be valid");
    }
    for invalid in ["", "a/b", "a:b", "naïve", "a#", &"n".repeat(129), "\u{a0}"] {
        assert!(
            JobName::parse(invalid).is_err(),
            "{invalid:?} should be invalid"
        );
    }
    let long = JobName::parse(&"n".repeat(129)).unwrap_err();
    assert_eq!(long.field, "job_name");
    assert_eq!(
        long.description,
        "must be at most 128 characters long, got 129"
    );
}

#[test]
fn role_arns_follow_cognitos_pattern() {
    for valid in [
        "arn:aws:iam::123456789012:role/CognitoImportLogs",
        "arn:aws-cn:iam::123456789012:role/path/to/Role",
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/cognito",
        "arn:aws:x:y:1:aa:bb:cc",
        "arn:a:b::0:cccccccccccc",
    ] {
        assert!(RoleArn::parse(valid).is_ok(), "{valid:?} should be valid");
    }
    for invalid in [
        "",
        "arn:aws:iam::1:r",
        "arn:aws:iam::notdigits:role/Logs",
        "arn:aws:iam:::role/CognitoImportLogs",
        "arn::iam::123456789012:role/CognitoImportLogs",
        "arn:aws:iam::123456789012:",
        "arn:aws:iam::123456789012:role/Logs:a:b:c",
        "ARN:aws:iam::123456789012:role/CognitoImportLogs",
        "arn:aws:iam::123456789012:role/Cognito Logs",
    ] {
        assert!(
            RoleArn::parse(invalid).is_err(),
            "{invalid:?} should be invalid"
        );
    }
    let short = RoleArn::parse("arn:aws:iam::1:r").unwrap_err();
    assert_eq!(short.field, "cloud_watch_logs_role_arn");
    assert_eq!(
        short.description,
        "must be at least 20 characters long, got 16"
    );
    assert_eq!(
        short.cognito,
        [
            "Value 'arn:aws:iam::1:r' at 'cloudWatchLogsRoleArn' failed to satisfy constraint: \
          Member must have length greater than or equal to 20"
        ]
    );
    let long = format!("arn:aws:iam::123456789012:role/{}", "r".repeat(2048));
    assert!(
        RoleArn::parse(&long)
            .unwrap_err()
            .description
            .contains("at most 2048")
    );
}

#[test]
fn max_results_is_required_and_at_most_60() {
    assert_eq!(MaxResults::parse(1).unwrap().get(), 1);
    assert_eq!(MaxResults::parse(60).unwrap().get(), 60);
    let zero = MaxResults::parse(0).unwrap_err();
    assert_eq!(zero.field, "max_results");
    assert_eq!(zero.description, "is required: from 1 to 60");
    assert_eq!(
        cognito_message(&[zero]),
        "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: \
         Member must have value greater than or equal to 1"
    );
    let many = MaxResults::parse(61).unwrap_err();
    assert!(many.cognito[0].ends_with("Member must have value less than or equal to 60"));
    assert!(MaxResults::parse(i64::from(i32::MIN)).is_err());
}

#[test]
fn pagination_tokens_hold_no_whitespace() {
    assert!(PaginationToken::parse("eyJvZmZzZXQiOjJ9").is_ok());
    assert!(PaginationToken::parse("ünïcode/+=").is_ok());
    for invalid in ["", "a b", "a\tb", "a\x0Bb", "\n"] {
        assert!(
            PaginationToken::parse(invalid).is_err(),
            "{invalid:?} should be invalid"
        );
    }
    let request = ListRequest::parse("us-east-1_A", 10, "").unwrap();
    assert_eq!(request.pagination_token, None);
}

#[test]
fn each_request_reports_every_failing_field_in_the_protos_order() {
    let create = CreateRequest::parse("", "a/b", "arn", None).unwrap_err();
    let fields: Vec<_> = create.iter().map(|v| v.field).collect();
    assert_eq!(
        fields,
        ["user_pool_id", "job_name", "cloud_watch_logs_role_arn"]
    );

    let list = ListRequest::parse("us-east-1_A", 0, "a b").unwrap_err();
    let fields: Vec<_> = list.iter().map(|v| v.field).collect();
    assert_eq!(fields, ["max_results", "pagination_token"]);

    assert_eq!(
        PoolRequest::parse("x").unwrap_err()[0].field,
        "user_pool_id"
    );

    let valid = CreateRequest::parse(
        "us-east-1_A",
        "nightly",
        "arn:aws:iam::123456789012:role/CognitoImportLogs",
        Some("BCRYPT"),
    )
    .unwrap();
    assert_eq!(valid.password_hashing_algorithm.as_deref(), Some("BCRYPT"));
}

#[test]
fn a_long_value_is_echoed_cut_to_256_characters() {
    let name = format!("{}/", "n".repeat(300));
    let violation = JobName::parse(&name).unwrap_err();
    let cut = format!("{}...", "n".repeat(256));
    assert_eq!(violation.cognito.len(), 2, "too long, and off the pattern");
    for phrase in &violation.cognito {
        assert!(
            phrase.starts_with(&format!("Value '{cut}' at 'jobName'")),
            "{phrase}"
        );
    }
    let arn = format!("arn:aws:iam::123456789012:role/{} x", "r".repeat(300));
    let violation = RoleArn::parse(&arn).unwrap_err();
    assert!(
        violation
            .description
            .ends_with(&format!("{:?}", format!("{}...", &arn[..256])))
    );
}
