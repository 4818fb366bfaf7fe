//! The authorization policy: gRPC's authorization policy format (gRFC A43),
//! extended with the user pools a rule covers.
//!
//! ```json
//! {
//!   "name": "import-jobs",
//!   "deny_rules": [
//!     { "name": "no-legacy", "source": { "principals": ["spiffe://corp/legacy/*"] } }
//!   ],
//!   "allow_rules": [
//!     {
//!       "name": "billing-stops-its-pools",
//!       "source": { "principals": ["spiffe://corp/billing/*", "billing-batch"] },
//!       "request": {
//!         "paths": ["/importjob.v1.ImportJobService/StopUserImportJob"],
//!         "user_pools": ["us-east-1_Billing*"]
//!       }
//!     }
//!   ]
//! }
//! ```
//!
//! A call is denied if any deny rule matches, else allowed if any allow rule
//! matches, else denied. A rule matches when every part it gives matches:
//! one of its principals, one of its paths, one of its user pools, and each
//! of its headers; a part it leaves out or leaves empty matches anything.
//! Strings match exactly, as `prefix*`, as `*suffix`, or as `*` (anything).
//! Unknown fields make the policy invalid, so a typo cannot widen access.

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::proto::REFLECTION_PREFIX;

/// A parsed, checked policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub name: String,
    deny_rules: Vec<Rule>,
    allow_rules: Vec<Rule>,
    restricts_reflection: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    name: String,
    #[serde(default)]
    deny_rules: Vec<Rule>,
    allow_rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    name: String,
    #[serde(default)]
    source: Source,
    #[serde(default)]
    request: RequestMatch,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Source {
    #[serde(default)]
    principals: Vec<Pattern>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestMatch {
    #[serde(default)]
    paths: Vec<Pattern>,
    #[serde(default)]
    headers: Vec<HeaderMatch>,
    #[serde(default)]
    user_pools: Vec<Pattern>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderMatch {
    key: String,
    values: Vec<Pattern>,
}

/// `exact`, `prefix*`, `*suffix` or `*`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
struct Pattern(String);

impl TryFrom<String> for Pattern {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        if value.is_empty() {
            return Err("a pattern must not be empty".to_owned());
        }
        // One '*' at one end at most: `ci-**` would match only a literal
        // `ci-*...`, which is never what its author meant.
        let inner = value.strip_prefix('*').unwrap_or(&value);
        let inner = inner.strip_suffix('*').unwrap_or(inner);
        if value != "*" && (inner.contains('*') || (value.starts_with('*') && value.ends_with('*')))
        {
            return Err(format!(
                "{value:?}: '*' may only stand alone, at the start or at the end"
            ));
        }
        Ok(Self(value))
    }
}

impl Pattern {
    fn matches(&self, value: &str) -> bool {
        let pattern = self.0.as_str();
        if pattern == "*" {
            true
        } else if let Some(prefix) = pattern.strip_suffix('*') {
            value.starts_with(prefix)
        } else if let Some(suffix) = pattern.strip_prefix('*') {
            value.ends_with(suffix)
        } else {
            value == pattern
        }
    }
}

/// What a call asks, as the policy sees it.
#[derive(Clone, Copy)]
pub struct Call<'a> {
    /// The principals the caller proved (its SPIFFE ID, DNS name or CN, its
    /// token's identity claim). A rule's principals match if any of them does.
    pub principals: &'a [&'a str],
    /// `/package.Service/Method`.
    pub path: &'a str,
    /// The request's user pool, for methods that name one.
    pub user_pool_id: Option<&'a str>,
    /// A request header by lowercase name, its values joined with `,` as
    /// gRFC A43 asks, so no single value can stand for the whole header.
    pub header: &'a dyn Fn(&str) -> Option<String>,
}

/// The outcome, with the rule that decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow { rule: String },
    Deny { rule: Option<String> },
}

impl Decision {
    /// The deciding rule's name, or "default deny".
    pub fn rule(&self) -> &str {
        match self {
            Decision::Allow { rule } | Decision::Deny { rule: Some(rule) } => rule,
            Decision::Deny { rule: None } => "default deny",
        }
    }
}

impl Policy {
    /// Parses and checks a policy file's JSON.
    pub fn parse(json: &str) -> Result<Self, String> {
        let file: PolicyFile = serde_json::from_str(json).map_err(|e| e.to_string())?;
        if file.name.is_empty() {
            return Err("the policy needs a name".to_owned());
        }
        let mut names = BTreeSet::new();
        for rule in file.deny_rules.iter().chain(&file.allow_rules) {
            if rule.name.is_empty() {
                return Err("every rule needs a name".to_owned());
            }
            if !names.insert(rule.name.as_str()) {
                return Err(format!("two rules are named {:?}", rule.name));
            }
            for header in &rule.request.headers {
                let key = header.key.to_ascii_lowercase();
                if key.starts_with(':')
                    || key.starts_with("grpc-")
                    || key == "host"
                    || key.is_empty()
                {
                    return Err(format!(
                        "rule {:?}: header {:?} cannot be matched (pseudo-headers, grpc-* and host are not allowed)",
                        rule.name, header.key
                    ));
                }
                if header.values.is_empty() {
                    return Err(format!(
                        "rule {:?}: header {:?} needs values",
                        rule.name, header.key
                    ));
                }
            }
        }
        let restricts_reflection = file
            .deny_rules
            .iter()
            .chain(&file.allow_rules)
            .flat_map(|rule| &rule.request.paths)
            .any(|path| path.0.starts_with(REFLECTION_PREFIX));
        Ok(Self {
            name: file.name,
            deny_rules: file.deny_rules,
            allow_rules: file.allow_rules,
            restricts_reflection,
        })
    }

    /// Whether reflection calls are subject to this policy: only when one of
    /// its rules names a reflection path. Otherwise reflection is open to all,
    /// since it only describes the API.
    pub fn restricts_reflection(&self) -> bool {
        self.restricts_reflection
    }

    /// Deny rules first, then allow rules, otherwise deny.
    pub fn decide(&self, call: &Call<'_>) -> Decision {
        if let Some(rule) = self.deny_rules.iter().find(|rule| rule.matches(call)) {
            return Decision::Deny {
                rule: Some(rule.name.clone()),
            };
        }
        match self.allow_rules.iter().find(|rule| rule.matches(call)) {
            Some(rule) => Decision::Allow {
                rule: rule.name.clone(),
            },
            None => Decision::Deny { rule: None },
        }
    }
}

impl Rule {
    fn matches(&self, call: &Call<'_>) -> bool {
        let any = |patterns: &[Pattern], value: &str| {
            patterns.is_empty() || patterns.iter().any(|p| p.matches(value))
        };
        let principals = &self.source.principals;
        let request = &self.request;
        (principals.is_empty()
            || call
                .principals
                .iter()
                .any(|principal| any(principals, principal)))
            && any(&request.paths, call.path)
            && (request.user_pools.is_empty()
                || call
                    .user_pool_id
                    .is_some_and(|pool| any(&request.user_pools, pool)))
            && request.headers.iter().all(|header| {
                (call.header)(&header.key.to_ascii_lowercase())
                    .is_some_and(|value| any(&header.values, &value))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STOP: &str = "/importjob.v1.ImportJobService/StopUserImportJob";

    fn policy() -> Policy {
        Policy::parse(
            r#"{
              "name": "test",
              "deny_rules": [
                { "name": "deny-legacy", "source": { "principals": ["spiffe://corp/legacy/*"] } },
                { "name": "deny-prod-for-ci", "source": { "principals": ["ci-*"] }, "request": { "user_pools": ["*_Prod"] } }
              ],
              "allow_rules": [
                {
                  "name": "billing",
                  "source": { "principals": ["spiffe://corp/billing", "billing-batch"] },
                  "request": { "paths": ["/importjob.v1.ImportJobService/*"], "user_pools": ["us-east-1_Billing*"] }
                },
                { "name": "ci", "source": { "principals": ["ci-*"] }, "request": { "paths": ["*StopUserImportJob"] } },
                {
                  "name": "canary",
                  "source": { "principals": ["canary"] },
                  "request": { "headers": [{ "key": "X-Canary", "values": ["yes"] }] }
                }
              ]
            }"#,
        )
        .unwrap()
    }

    fn decide(policy: &Policy, principals: &[&str], path: &str, pool: Option<&str>) -> Decision {
        let no_headers = |_: &str| None::<String>;
        policy.decide(&Call {
            principals,
            path,
            user_pool_id: pool,
            header: &no_headers,
        })
    }

    #[test]
    fn allow_rules_grant_only_what_they_name() {
        let policy = policy();
        let allowed = decide(
            &policy,
            &["spiffe://corp/billing"],
            STOP,
            Some("us-east-1_Billing1"),
        );
        assert_eq!(
            allowed,
            Decision::Allow {
                rule: "billing".to_owned()
            }
        );
        assert_eq!(
            decide(&policy, &["billing-batch"], STOP, Some("us-east-1_Other")),
            Decision::Deny { rule: None }
        );
        assert_eq!(
            decide(
                &policy,
                &["spiffe://corp/billing/x"],
                STOP,
                Some("us-east-1_Billing1")
            ),
            Decision::Deny { rule: None }
        );
        assert_eq!(
            decide(&policy, &["billing-batch"], STOP, None),
            Decision::Deny { rule: None },
            "no pool, no pool rule"
        );
        assert_eq!(
            decide(&policy, &["ci-7"], STOP, Some("eu-west-1_Test")).rule(),
            "ci"
        );
    }

    #[test]
    fn deny_rules_win() {
        let policy = policy();
        assert_eq!(
            decide(&policy, &["ci-7"], STOP, Some("us-east-1_Prod")).rule(),
            "deny-prod-for-ci"
        );
        let both = decide(
            &policy,
            &["spiffe://corp/legacy/app", "billing-batch"],
            STOP,
            Some("us-east-1_Billing1"),
        );
        assert_eq!(
            both,
            Decision::Deny {
                rule: Some("deny-legacy".to_owned())
            }
        );
    }

    #[test]
    fn headers_must_all_match() {
        let policy = policy();
        let canary = |name: &str| (name == "x-canary").then(|| "yes".to_owned());
        let call = Call {
            principals: &["canary"],
            path: STOP,
            user_pool_id: None,
            header: &canary,
        };
        assert_eq!(policy.decide(&call).rule(), "canary");
        assert_eq!(
            decide(&policy, &["canary"], STOP, None).rule(),
            "default deny"
        );
    }

    #[test]
    fn patterns_match_exactly_by_prefix_by_suffix_or_all() {
        let p = |s: &str| Pattern::try_from(s.to_owned()).unwrap();
        assert!(p("abc").matches("abc") && !p("abc").matches("abcd"));
        assert!(p("ab*").matches("abcd") && !p("ab*").matches("xab"));
        assert!(p("*cd").matches("abcd") && !p("*cd").matches("cdx"));
        assert!(p("*").matches("") && p("*").matches("anything"));
        for bad in ["", "a*b", "*a*", "**", "a**", "**a", "***"] {
            assert!(Pattern::try_from(bad.to_owned()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn invalid_policies_are_rejected() {
        for (json, why) in [
            (
                r#"{"name": "p", "allow_rules": [], "extra": 1}"#,
                "unknown field",
            ),
            (
                r#"{"name": "p", "allow_rules": [{"name": "r", "source": {"principal": ["a"]}}]}"#,
                "unknown field",
            ),
            (
                r#"{"name": "p", "allow_rules": [{"name": "r", "request": {"pools": ["a"]}}]}"#,
                "unknown field",
            ),
            (r#"{"name": "p"}"#, "missing field"),
            (r#"{"name": "", "allow_rules": []}"#, "needs a name"),
            (
                r#"{"name": "p", "allow_rules": [{"name": "r"}, {"name": "r"}]}"#,
                "two rules",
            ),
            (
                r#"{"name": "p", "allow_rules": [{"name": "r", "request": {"paths": ["a*b"]}}]}"#,
                "'*' may only",
            ),
            (
                r#"{"name": "p", "allow_rules": [{"name": "r", "request": {"headers": [{"key": ":path", "values": ["x"]}]}}]}"#,
                "cannot be matched",
            ),
            ("not json", "expected"),
        ] {
            let err = Policy::parse(json).unwrap_err();
            assert!(err.contains(why), "{json}: {err}");
        }
    }

    #[test]
    fn reflection_is_restricted_only_when_a_rule_names_it() {
        assert!(!policy().restricts_reflection());
        let restricting = Policy::parse(
            r#"{"name": "p", "allow_rules": [{"name": "r", "request": {"paths": ["/grpc.reflection.v1.ServerReflection/*"]}}]}"#,
        )
        .unwrap();
        assert!(restricting.restricts_reflection());
    }
}
