//! A small JSON Schema (2020-12) validator for the schemas in `schemas/`, which
//! schemars writes from the report types. It knows the keywords those schemas
//! use and refuses any other assertion keyword, so a schema it cannot check
//! fails loudly instead of passing. It replaced the `jsonschema` crate, whose
//! compile was about 50 s of a cold `cargo test`'s CPU on two cores.

use serde_json::{Map, Value};

/// Keywords that only annotate: they never make an instance invalid.
const ANNOTATIONS: [&str; 10] = ["$schema", "$id", "$comment", "title", "description", "default", "examples", "format", "deprecated", "$defs"];

/// Every violation of `schema` by `instance`, each as "instance path: what is wrong".
pub fn violations(schema: &Value, instance: &Value) -> Vec<String> {
    let mut found = Vec::new();
    Validator { root: schema }.check(schema, instance, "", &mut found);
    found
}

struct Validator<'a> {
    root: &'a Value,
}

impl<'a> Validator<'a> {
    fn check(&self, schema: &'a Value, instance: &Value, path: &str, found: &mut Vec<String>) {
        let keywords = match schema {
            Value::Bool(true) => return,
            Value::Bool(false) => return found.push(format!("{path}: no value is allowed here")),
            Value::Object(keywords) => keywords,
            other => return found.push(format!("{path}: the schema {other} is neither an object nor a boolean")),
        };
        for (keyword, value) in keywords {
            match keyword.as_str() {
                "$ref" => self.check(self.resolve(value, path, found), instance, path, found),
                "type" => check_type(value, instance, path, found),
                "enum" | "const" => check_constant(keyword, value, instance, path, found),
                "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" => check_bound(keyword, value, instance, path, found),
                "minItems" | "maxItems" => check_length(keyword, value, instance, path, found),
                "required" => check_required(value, instance, path, found),
                "properties" | "additionalProperties" | "patternProperties" => {
                    if keyword == "properties" {
                        self.check_object(keywords, instance, path, found);
                    }
                }
                "items" | "prefixItems" => {
                    if keyword == "items" || !keywords.contains_key("items") {
                        self.check_array(keywords, instance, path, found);
                    }
                }
                "anyOf" | "oneOf" | "allOf" => self.check_combination(keyword, value, instance, path, found),
                "not" => {
                    if violations_under(self, value, instance).is_empty() {
                        found.push(format!("{path}: matches a schema under \"not\""));
                    }
                }
                k if ANNOTATIONS.contains(&k) => {}
                unknown => found.push(format!("{path}: the schema uses \"{unknown}\", which this validator does not check")),
            }
        }
        if !keywords.contains_key("properties") && (keywords.contains_key("additionalProperties") || keywords.contains_key("patternProperties")) {
            self.check_object(keywords, instance, path, found);
        }
    }

    /// A local reference: `#`, or a JSON pointer from the root (`#/$defs/Name`).
    fn resolve(&self, reference: &'a Value, path: &str, found: &mut Vec<String>) -> &'a Value {
        let target = reference.as_str().and_then(|r| r.strip_prefix('#')).and_then(|pointer| self.root.pointer(pointer));
        target.unwrap_or_else(|| {
            found.push(format!("{path}: cannot resolve $ref {reference}"));
            &Value::Bool(true)
        })
    }

    fn check_object(&self, keywords: &'a Map<String, Value>, instance: &Value, path: &str, found: &mut Vec<String>) {
        let Value::Object(members) = instance else { return };
        let properties = keywords.get("properties").and_then(Value::as_object);
        let patterns: Vec<(regex::Regex, &Value)> = keywords
            .get("patternProperties")
            .and_then(Value::as_object)
            .map(|p| p.iter().map(|(pattern, schema)| (regex::Regex::new(pattern).expect("patternProperties: a valid regex"), schema)).collect())
            .unwrap_or_default();
        for (name, value) in members {
            let member_path = format!("{path}/{name}");
            let declared = properties.and_then(|p| p.get(name));
            if let Some(schema) = declared {
                self.check(schema, value, &member_path, found);
            }
            let matching: Vec<&Value> = patterns.iter().filter(|(re, _)| re.is_match(name)).map(|(_, s)| *s).collect();
            for schema in &matching {
                self.check(schema, value, &member_path, found);
            }
            if declared.is_none() && matching.is_empty() {
                if let Some(additional) = keywords.get("additionalProperties") {
                    self.check(additional, value, &member_path, found);
                }
            }
        }
    }

    fn check_array(&self, keywords: &'a Map<String, Value>, instance: &Value, path: &str, found: &mut Vec<String>) {
        let Value::Array(elements) = instance else { return };
        let prefix = keywords.get("prefixItems").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for (index, element) in elements.iter().enumerate() {
            let schema = prefix.get(index).or_else(|| keywords.get("items"));
            if let Some(schema) = schema {
                self.check(schema, element, &format!("{path}/{index}"), found);
            }
        }
    }

    fn check_combination(&self, keyword: &str, branches: &'a Value, instance: &Value, path: &str, found: &mut Vec<String>) {
        let Some(branches) = branches.as_array() else { return found.push(format!("{path}: {keyword} is not an array")) };
        let results: Vec<Vec<String>> = branches.iter().map(|b| violations_under(self, b, instance)).collect();
        let passing = results.iter().filter(|r| r.is_empty()).count();
        let ok = match keyword {
            "anyOf" => passing >= 1,
            "oneOf" => passing == 1,
            _ => passing == branches.len(),
        };
        if !ok {
            let reasons: Vec<String> = results.into_iter().flatten().collect();
            found.push(format!("{path}: {passing} of {} {keyword} branches match ({})", branches.len(), reasons.join("; ")));
        }
    }
}

fn violations_under<'a>(validator: &Validator<'a>, schema: &'a Value, instance: &Value) -> Vec<String> {
    let mut found = Vec::new();
    validator.check(schema, instance, "", &mut found);
    found
}

fn type_matches(name: &str, instance: &Value) -> bool {
    match name {
        "null" => instance.is_null(),
        "boolean" => instance.is_boolean(),
        "object" => instance.is_object(),
        "array" => instance.is_array(),
        "string" => instance.is_string(),
        "number" => instance.is_number(),
        "integer" => instance.is_i64() || instance.is_u64() || instance.as_f64().is_some_and(|f| f.fract() == 0.0),
        _ => false,
    }
}

fn check_type(expected: &Value, instance: &Value, path: &str, found: &mut Vec<String>) {
    let names: Vec<&str> = match expected {
        Value::String(name) => vec![name.as_str()],
        Value::Array(names) => names.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !names.iter().any(|name| type_matches(name, instance)) {
        found.push(format!("{path}: {instance} is not of type {expected}"));
    }
}

fn check_constant(keyword: &str, expected: &Value, instance: &Value, path: &str, found: &mut Vec<String>) {
    let ok = match keyword {
        "const" => same_json(expected, instance),
        _ => expected.as_array().is_some_and(|allowed| allowed.iter().any(|a| same_json(a, instance))),
    };
    if !ok {
        found.push(format!("{path}: {instance} is not {keyword} {expected}"));
    }
}

/// JSON equality, where 1 and 1.0 are the same number.
fn same_json(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) if a.is_number() && b.is_number() => x == y,
        _ => a == b,
    }
}

fn check_bound(keyword: &str, bound: &Value, instance: &Value, path: &str, found: &mut Vec<String>) {
    let (Some(limit), Some(value)) = (bound.as_f64(), instance.as_f64()) else { return };
    let ok = match keyword {
        "minimum" => value >= limit,
        "maximum" => value <= limit,
        "exclusiveMinimum" => value > limit,
        _ => value < limit,
    };
    if !ok {
        found.push(format!("{path}: {instance} breaks {keyword} {bound}"));
    }
}

fn check_length(keyword: &str, bound: &Value, instance: &Value, path: &str, found: &mut Vec<String>) {
    let (Some(limit), Some(elements)) = (bound.as_u64(), instance.as_array()) else { return };
    let length = elements.len() as u64;
    if (keyword == "minItems" && length < limit) || (keyword == "maxItems" && length > limit) {
        found.push(format!("{path}: {length} items breaks {keyword} {limit}"));
    }
}

fn check_required(names: &Value, instance: &Value, path: &str, found: &mut Vec<String>) {
    let Value::Object(members) = instance else { return };
    for name in names.as_array().into_iter().flatten().filter_map(Value::as_str) {
        if !members.contains_key(name) {
            found.push(format!("{path}: required property \"{name}\" is missing"));
        }
    }
}
