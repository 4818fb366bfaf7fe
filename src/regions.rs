//! The AWS regions a user pool id may begin with: a closed set, so that a
//! caller cannot make the service build a client, a rate-limit bucket or a
//! metric series for a name of its choosing. Apart from `cognito`, so that
//! the configuration can check region flags without the AWS SDK.

/// The AWS regions, as the SDK's endpoint rules name them
/// (aws-sdk-cognitoidentityprovider 1.144.0, every partition; checked by
/// `scripts/aws-regions.py`, which CI runs). A user pool id's prefix is taken
/// as its region only if it is one of these or of `--aws-extra-regions`: a
/// caller cannot make the service build a client, a rate-limit bucket or a
/// metric series for a name of its choosing.
pub const AWS_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-isoe-west-1",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eusc-de-east-1",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-iso-east-1",
    "us-iso-west-1",
    "us-isob-east-1",
    "us-isob-west-1",
    "us-isof-east-1",
    "us-isof-south-1",
    "us-west-1",
    "us-west-2",
];

/// Checks a region name given in configuration.
pub(crate) fn parse_region(name: &str) -> Result<String, String> {
    if is_region_name(name) {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "{name:?} is not an AWS region name such as us-east-1"
        ))
    }
}

/// AWS region names: lowercase words joined by hyphens, ending in a number
/// (`us-east-1`, `us-gov-west-1`, `eusc-de-east-1`).
pub(crate) fn is_region_name(name: &str) -> bool {
    let mut parts = name.split('-');
    let number = parts.next_back().unwrap_or_default();
    let words: Vec<_> = parts.collect();
    words.len() >= 2
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::is_region_name;

    #[test]
    fn region_names_are_recognised_by_shape() {
        for region in [
            "us-east-1",
            "ap-southeast-2",
            "us-gov-west-1",
            "eusc-de-east-1",
            "cn-north-1",
        ] {
            assert!(is_region_name(region), "{region}");
        }
        for not_region in [
            "",
            "us",
            "us-1",
            "US-EAST-1",
            "us-east-",
            "us-east-1a",
            "local_x",
            "a-b-c",
        ] {
            assert!(!is_region_name(not_region), "{not_region}");
        }
    }
}
