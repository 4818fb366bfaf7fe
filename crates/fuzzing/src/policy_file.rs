//! The `policy_file` target: the policy parser, and the decisions of every
//! policy it accepts, against a model read from the README.

use std::collections::BTreeSet;

use serde_json::Value;

use import_job_service::auth::policy::{Call, Decision, Policy};

use crate::stop_request::STOP_PATH;

/// Fuzz target `policy_file`: any bytes as a policy file. Parsing never
/// panics; a policy it accepts satisfies the README's rules for policy files,
/// survives a JSON round trip unchanged, and decides calls as the README says.
pub fn policy_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = Policy::parse(text);
    let value = serde_json::from_str::<Value>(text).ok();
    let Some(value) = value else {
        assert!(parsed.is_err(), "a policy that is not JSON parsed");
        return;
    };
    let model = PolicyModel::read(&value);
    // The same document written again (duplicate keys collapsed) is judged
    // as the README's rules judge it.
    let rewritten = Policy::parse(&value.to_string());
    assert_eq!(
        rewritten.is_ok(),
        model.is_some(),
        "{text:?}: {rewritten:?}"
    );
    let Ok(policy) = parsed else {
        return;
    };
    let model = model.expect("an accepted policy follows the README's rules");
    assert_eq!(rewritten.as_ref().ok(), Some(&policy), "JSON round trip");
    let pretty = serde_json::to_string_pretty(&value).expect("JSON");
    assert_eq!(Policy::parse(&pretty).ok().as_ref(), Some(&policy));
    assert_eq!(policy.name, model.name);
    assert_eq!(policy.restricts_reflection(), model.restricts_reflection());

    // Values to call with: every string in the file, with and without its
    // wildcards, and a few the service sees.
    let mut strings = BTreeSet::new();
    collect_strings(&value, &mut strings);
    for s in strings.clone() {
        strings.insert(s.trim_matches('*').to_owned());
        strings.insert(format!("x{}", s.trim_matches('*')));
        strings.insert(format!("{}x", s.trim_matches('*')));
        if strings.len() > 48 {
            break;
        }
    }
    for s in [
        "",
        STOP_PATH,
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "spiffe://demo.test/billing",
        "us-east-1_ImportDemo",
    ] {
        strings.insert(s.to_owned());
    }
    let values: Vec<&str> = strings.iter().map(String::as_str).collect();
    let n = values.len();
    for k in 0..n.min(64) {
        let pick = |step: usize, offset: usize| values[(k * step + offset) % n];
        let principals = [pick(1, 0), pick(7, 3)];
        let principals = &principals[..1 + k % 2];
        let pool = (k % 4 != 0).then(|| pick(5, 2));
        let header = |name: &str| {
            let h = name.len() + k;
            (!h.is_multiple_of(3)).then(|| values[h % n].to_owned())
        };
        let call = Call {
            principals,
            path: pick(3, 1),
            user_pool_id: pool,
            header: &header,
        };
        let decision = policy.decide(&call);
        assert_eq!(
            decision,
            model.decide(&call),
            "{call:?}",
            call = (principals, call.path, pool)
        );
        assert_eq!(decision, policy.decide(&call), "deterministic");
    }
}

pub(crate) fn collect_strings(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::String(s) if out.len() < 24 => {
            out.insert(s.clone());
        }
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// A policy file as the README describes it, read from JSON independently of
/// [`Policy`]. A struct may also be written as an array of its fields in
/// order, which serde accepts for every struct.
pub(crate) struct PolicyModel {
    name: String,
    deny_rules: Vec<RuleModel>,
    allow_rules: Vec<RuleModel>,
}

pub(crate) struct RuleModel {
    name: String,
    principals: Vec<String>,
    paths: Vec<String>,
    headers: Vec<(String, Vec<String>)>,
    user_pools: Vec<String>,
}

/// A struct's fields: named in an object, or positional in an array.
/// `None` when the value is neither, has unknown fields, or too many.
pub(crate) fn fields<'v>(value: &'v Value, names: &[&str]) -> Option<Vec<Option<&'v Value>>> {
    match value {
        Value::Object(map) => {
            if map.keys().any(|k| !names.contains(&k.as_str())) {
                return None;
            }
            Some(names.iter().map(|n| map.get(*n)).collect())
        }
        Value::Array(items) if items.len() <= names.len() => {
            Some((0..names.len()).map(|i| items.get(i)).collect())
        }
        _ => None,
    }
}

/// A list of strings, `[]` when absent.
pub(crate) fn string_list(value: Option<&Value>) -> Option<Vec<String>> {
    match value {
        None => Some(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(_) => None,
    }
}

/// A pattern: `exact`, `prefix*`, `*suffix` or `*`.
pub(crate) fn pattern_ok(p: &str) -> bool {
    match p.len() {
        0 => false,
        1 => true,
        _ => {
            let inner = p.strip_prefix('*').unwrap_or(p);
            let inner = inner.strip_suffix('*').unwrap_or(inner);
            !(inner.contains('*') || p.starts_with('*') && p.ends_with('*'))
        }
    }
}

pub(crate) fn patterns(value: Option<&Value>) -> Option<Vec<String>> {
    string_list(value).filter(|list| list.iter().all(|p| pattern_ok(p)))
}

pub(crate) fn pattern_matches(pattern: &str, value: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match (pattern.strip_prefix('*'), pattern.strip_suffix('*')) {
        (_, Some(prefix)) => value.starts_with(prefix),
        (Some(suffix), None) => value.ends_with(suffix),
        (None, None) => value == pattern,
    }
}

pub(crate) fn any_matches(patterns: &[String], value: &str) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| pattern_matches(p, value))
}

impl PolicyModel {
    /// `None` when the README's rules reject the file.
    fn read(value: &Value) -> Option<Self> {
        let [name, deny, allow] = fields(value, &["name", "deny_rules", "allow_rules"])?[..] else {
            return None;
        };
        let name = name?.as_str()?.to_owned();
        let rules = |value: Option<&Value>| -> Option<Vec<RuleModel>> {
            match value {
                None => Some(Vec::new()),
                Some(Value::Array(items)) => items.iter().map(RuleModel::read).collect(),
                Some(_) => None,
            }
        };
        let policy = Self {
            name,
            deny_rules: rules(deny)?,
            allow_rules: rules(Some(allow?))?,
        };
        let mut names = BTreeSet::new();
        let unique = policy
            .rules()
            .all(|r| !r.name.is_empty() && names.insert(r.name.as_str()));
        (!policy.name.is_empty() && unique).then_some(policy)
    }

    fn rules(&self) -> impl Iterator<Item = &RuleModel> {
        self.deny_rules.iter().chain(&self.allow_rules)
    }

    fn restricts_reflection(&self) -> bool {
        self.rules()
            .flat_map(|r| &r.paths)
            .any(|p| p.starts_with("/grpc.reflection."))
    }

    fn decide(&self, call: &Call<'_>) -> Decision {
        if let Some(rule) = self.deny_rules.iter().find(|r| r.matches(call)) {
            return Decision::Deny {
                rule: Some(rule.name.clone()),
            };
        }
        match self.allow_rules.iter().find(|r| r.matches(call)) {
            Some(rule) => Decision::Allow {
                rule: rule.name.clone(),
            },
            None => Decision::Deny { rule: None },
        }
    }
}

impl RuleModel {
    fn read(value: &Value) -> Option<Self> {
        let [name, source, request] = fields(value, &["name", "source", "request"])?[..] else {
            return None;
        };
        let [principals] = source.map_or(Some(vec![None]), |s| fields(s, &["principals"]))?[..]
        else {
            return None;
        };
        let [paths, headers, user_pools] = request.map_or(Some(vec![None; 3]), |r| {
            fields(r, &["paths", "headers", "user_pools"])
        })?[..] else {
            return None;
        };
        let headers = match headers {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|h| {
                    let [key, values] = fields(h, &["key", "values"])?[..] else {
                        return None;
                    };
                    let key = key?.as_str()?.to_owned();
                    let lower = key.to_ascii_lowercase();
                    let values = patterns(Some(values?))?;
                    let matchable = !lower.is_empty()
                        && !lower.starts_with(':')
                        && !lower.starts_with("grpc-")
                        && lower != "host";
                    (matchable && !values.is_empty()).then_some((lower, values))
                })
                .collect::<Option<_>>()?,
            Some(_) => return None,
        };
        Some(Self {
            name: name?.as_str()?.to_owned(),
            principals: patterns(principals)?,
            paths: patterns(paths)?,
            headers,
            user_pools: patterns(user_pools)?,
        })
    }

    fn matches(&self, call: &Call<'_>) -> bool {
        let principal = self.principals.is_empty()
            || call
                .principals
                .iter()
                .any(|p| any_matches(&self.principals, p));
        let pool = self.user_pools.is_empty()
            || call
                .user_pool_id
                .is_some_and(|pool| any_matches(&self.user_pools, pool));
        let headers = self.headers.iter().all(|(key, values)| {
            (call.header)(key).is_some_and(|value| any_matches(values, &value))
        });
        principal && any_matches(&self.paths, call.path) && pool && headers
    }
}
