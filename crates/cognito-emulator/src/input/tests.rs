use serde_json::json;

use super::*;

fn input(value: Value) -> Input {
    match value {
        Value::Object(input) => input,
        _ => unreachable!(),
    }
}

fn refusal<T: std::fmt::Debug>(result: Result<T, Rejection>) -> (String, String) {
    let rejection = result.unwrap_err();
    (rejection.error_type.to_owned(), rejection.message)
}

fn invalid(message: &str) -> (String, String) {
    ("InvalidParameterException".to_owned(), message.to_owned())
}

#[test]
fn invalid_ids_get_cognitos_wording() {
    let request = input(json!({"UserPoolId": "us-east-1_X", "JobId": "import_bad"}));
    assert_eq!(
        refusal(job_request(&request)),
        invalid(
            "1 validation error detected: Value 'import_bad' at 'jobId' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: import-[0-9a-zA-Z-]+"
        )
    );
}

#[test]
fn absent_and_null_members_are_named_null_with_the_others() {
    assert_eq!(
        refusal(job_request(&input(json!({"JobId": null})))),
        invalid(
            "2 validation errors detected: \
             Value null at 'userPoolId' failed to satisfy constraint: Member must not be null; \
             Value null at 'jobId' failed to satisfy constraint: Member must not be null"
        )
    );
    assert_eq!(
        refusal(job_request(&input(json!({"JobId": "import-"})))),
        invalid(
            "2 validation errors detected: \
             Value null at 'userPoolId' failed to satisfy constraint: Member must not be null; \
             Value 'import-' at 'jobId' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: import-[0-9a-zA-Z-]+"
        )
    );
    assert_eq!(
        refusal(pool_request(&input(json!({})))),
        invalid(
            "1 validation error detected: \
             Value null at 'userPoolId' failed to satisfy constraint: Member must not be null"
        )
    );
}

#[test]
fn members_of_the_wrong_type_are_not_read() {
    for (request, message) in [
        (
            json!({"UserPoolId": 7, "JobId": "import-a"}),
            "NUMBER_VALUE can not be converted to a String",
        ),
        (
            json!({"UserPoolId": {}, "JobId": "import-a"}),
            "Start of structure or map found where not expected.",
        ),
    ] {
        assert_eq!(
            refusal(job_request(&input(request))),
            ("SerializationException".to_owned(), message.to_owned())
        );
    }
    assert_eq!(
        refusal(list_request(&input(
            json!({"UserPoolId": "us-east-1_X", "MaxResults": "5"})
        ))),
        (
            "SerializationException".to_owned(),
            "STRING_VALUE can not be converted to an Integer".to_owned()
        )
    );
}

#[test]
fn create_checks_every_member_and_the_algorithm_enum() {
    let valid = json!({
        "UserPoolId": "us-east-1_X",
        "JobName": "nightly users",
        "CloudWatchLogsRoleArn": "arn:aws:iam::123456789012:role/Logs",
    });
    let request = create_request(&input(valid.clone())).unwrap();
    assert_eq!(request.password_hashing_algorithm, None);
    for algorithm in PASSWORD_HASHING_ALGORITHMS {
        let mut with = valid.clone();
        with["PasswordHashingAlgorithm"] = json!(algorithm);
        let request = create_request(&input(with)).unwrap();
        assert_eq!(
            request.password_hashing_algorithm.as_deref(),
            Some(algorithm)
        );
    }
    let mut md5 = valid.clone();
    md5["PasswordHashingAlgorithm"] = json!("MD5");
    assert_eq!(
        refusal(create_request(&input(md5))),
        invalid(
            "1 validation error detected: Value 'MD5' at 'passwordHashingAlgorithm' failed to \
             satisfy constraint: Member must satisfy enum value set: \
             [BCRYPT, SCRYPT, ARGON2ID, PBKDF2_SHA256]"
        )
    );
    let all_bad = json!({
        "UserPoolId": "us-east-1_X",
        "JobName": "no/slashes",
        "CloudWatchLogsRoleArn": "arn:short",
        "PasswordHashingAlgorithm": "bcrypt",
    });
    let (kind, message) = refusal(create_request(&input(all_bad)));
    assert_eq!(kind, "InvalidParameterException");
    assert!(
        message.starts_with("4 validation errors detected: "),
        "{message}"
    );
    let members: Vec<_> = [
        "'jobName'",
        "'cloudWatchLogsRoleArn'",
        "'passwordHashingAlgorithm'",
    ]
    .iter()
    .map(|m| message.find(m).unwrap())
    .collect();
    assert!(members.is_sorted(), "{message}");
    assert_eq!(
        refusal(create_request(&input(json!({"UserPoolId": "us-east-1_X"})))),
        invalid(
            "2 validation errors detected: \
             Value null at 'jobName' failed to satisfy constraint: Member must not be null; \
             Value null at 'cloudWatchLogsRoleArn' failed to satisfy constraint: Member must not be null"
        )
    );
}

#[test]
fn max_results_is_required_from_1_to_60() {
    let list = |max: Value| {
        list_request(&input(
            json!({"UserPoolId": "us-east-1_X", "MaxResults": max}),
        ))
    };
    assert_eq!(list(json!(60)).unwrap().max_results.get(), 60);
    assert_eq!(list(json!(1)).unwrap().max_results.get(), 1);
    assert_eq!(
        refusal(list(json!(61))),
        invalid(
            "1 validation error detected: Value '61' at 'maxResults' failed to satisfy constraint: \
             Member must have value less than or equal to 60"
        )
    );
    assert_eq!(
        refusal(list(json!(0))),
        invalid(
            "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: \
             Member must have value greater than or equal to 1"
        )
    );
    assert_eq!(
        refusal(list(Value::Null)),
        invalid(
            "1 validation error detected: \
             Value null at 'maxResults' failed to satisfy constraint: Member must not be null"
        )
    );
}

#[test]
fn a_pagination_token_given_must_be_one() {
    let list = |token: &str| {
        list_request(&input(json!({
            "UserPoolId": "us-east-1_X", "MaxResults": 5, "PaginationToken": token
        })))
    };
    let (_, empty) = refusal(list(""));
    assert!(
        empty.contains("Value '' at 'paginationToken' failed to satisfy constraint: Member must have length greater than or equal to 1"),
        "{empty}"
    );
    let (_, spaced) = refusal(list("a b"));
    assert!(
        spaced.ends_with("Value 'a b' at 'paginationToken' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\S]+"),
        "{spaced}"
    );
    let request = list("abc").unwrap();
    assert_eq!(request.pagination_token.unwrap().as_str(), "abc");
}
