//! `--query`: a JMESPath expression over the response, with the keys of
//! the objects it gives back in the order the AWS CLI prints them.

use serde_json::Value;

use crate::input::InvalidInput;

/// A compiled `--query`, and the order to print the keys of the objects it
/// builds in.
pub struct Query {
    expression: jmespath::Expression<'static>,
    /// Keys of multi-select hashes (`{Id: JobId}`), in the order written.
    written_keys: Vec<String>,
}

impl Query {
    pub fn compile(text: &str) -> Result<Self, InvalidInput> {
        let bad = |why: String| InvalidInput(format!("Bad value for --query {text}: {why}"));
        // The parser recurses once per level: a deep enough expression would
        // overflow the stack instead of failing.
        if nesting(text) > MAX_QUERY_NESTING {
            return Err(bad(format!(
                "nested deeper than {MAX_QUERY_NESTING} levels"
            )));
        }
        let expression = jmespath::compile(text).map_err(|error| bad(error.to_string()))?;
        let mut written_keys = Vec::new();
        multi_hash_keys(expression.as_ast(), &mut written_keys);
        Ok(Self {
            expression,
            written_keys,
        })
    }

    /// The query's result. The JMESPath crate sorts object keys; they are
    /// put back in the order the AWS CLI keeps where it can be known: keys
    /// the query wrote in the order written, the model's members in the
    /// model's order. (What `*`, `keys()` and `values()` list, and literal
    /// objects, stay in alphabetical order.)
    ///
    /// `members` are the output's member names in the model's order.
    pub fn search(&self, value: &Value, members: &[&str]) -> Result<Value, String> {
        let result = self.expression.search(value).map_err(|e| e.to_string())?;
        let mut result = serde_json::to_value(&*result).map_err(|e| e.to_string())?;
        self.reorder(&mut result, members);
        Ok(result)
    }

    fn reorder(&self, value: &mut Value, members: &[&str]) {
        match value {
            Value::Object(object) => {
                // Keys the query wrote first, in its order; then the
                // model's members in the model's order.
                let rank = |key: &str| {
                    self.written_keys
                        .iter()
                        .position(|k| k == key)
                        .or_else(|| {
                            let member = members.iter().position(|member| *member == key)?;
                            Some(self.written_keys.len() + member)
                        })
                        .unwrap_or(usize::MAX)
                };
                let mut entries: Vec<(String, Value)> =
                    std::mem::take(object).into_iter().collect();
                entries.sort_by_key(|(key, _)| rank(key));
                for (key, mut value) in entries {
                    self.reorder(&mut value, members);
                    object.insert(key, value);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.reorder(v, members)),
            _ => {}
        }
    }
}

/// How deep a `--query` may nest, far beyond any real query.
const MAX_QUERY_NESTING: usize = 64;

/// An upper bound on how deep the parser recurses for `text`: brackets,
/// parentheses and braces open, plus the `!`, `&` and `|` that prefix or
/// chain what follows (literals and quoted names aside).
fn nesting(text: &str) -> usize {
    let (mut depth, mut deepest, mut quote) = (0usize, 0usize, None);
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, '[' | '(' | '{' | '!' | '&' | '|') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (None, ']' | ')' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

fn multi_hash_keys(ast: &jmespath::ast::Ast, keys: &mut Vec<String>) {
    use jmespath::ast::Ast;
    match ast {
        Ast::MultiHash { elements, .. } => {
            for pair in elements {
                keys.push(pair.key.clone());
                multi_hash_keys(&pair.value, keys);
            }
        }
        Ast::Comparison { lhs, rhs, .. }
        | Ast::And { lhs, rhs, .. }
        | Ast::Or { lhs, rhs, .. }
        | Ast::Projection { lhs, rhs, .. }
        | Ast::Subexpr { lhs, rhs, .. } => {
            multi_hash_keys(lhs, keys);
            multi_hash_keys(rhs, keys);
        }
        Ast::Condition {
            predicate, then, ..
        } => {
            multi_hash_keys(predicate, keys);
            multi_hash_keys(then, keys);
        }
        Ast::Expref { ast: node, .. }
        | Ast::Flatten { node, .. }
        | Ast::Not { node, .. }
        | Ast::ObjectValues { node, .. } => multi_hash_keys(node, keys),
        Ast::Function { args, .. } => args.iter().for_each(|a| multi_hash_keys(a, keys)),
        Ast::MultiList { elements, .. } => elements.iter().for_each(|a| multi_hash_keys(a, keys)),
        Ast::Identity { .. }
        | Ast::Field { .. }
        | Ast::Index { .. }
        | Ast::Literal { .. }
        | Ast::Slice { .. } => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const MEMBERS: &[&str] = &["UserImportJob", "JobName", "JobId", "UserPoolId", "Status"];

    #[test]
    fn queries_keep_the_model_order_and_the_written_order() {
        let value = json!({"UserImportJob": {
            "JobName": "nightly", "JobId": "import-a", "UserPoolId": "us-east-1_A",
            "Status": "InProgress"
        }});
        let query = Query::compile("UserImportJob.{Z: Status, A: JobId}").unwrap();
        let result = query.search(&value, MEMBERS).unwrap();
        assert_eq!(result.to_string(), r#"{"Z":"InProgress","A":"import-a"}"#);
        let job = Query::compile("UserImportJob")
            .unwrap()
            .search(&value, MEMBERS)
            .unwrap();
        let keys: Vec<_> = job.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["JobName", "JobId", "UserPoolId", "Status"]);
    }

    #[test]
    fn bad_and_deep_queries_are_refused() {
        assert!(Query::compile("UserImportJob.[").is_err());
        let deep = format!("{}a{}", "[".repeat(5000), "]".repeat(5000));
        assert!(Query::compile(&deep).is_err());
        assert!(Query::compile(&format!("{}a", "!".repeat(20000))).is_err());
        assert!(
            Query::compile("'[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[['")
                .is_ok()
        );
    }
}
