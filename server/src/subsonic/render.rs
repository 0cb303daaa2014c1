//! The `subsonic-response` envelope in JSON and XML from one JSON value.
//!
//! Subsonic's XML and JSON carry the same tree: in XML an object's scalar fields are
//! attributes, its object fields and lists of objects are child elements (a list repeats
//! the element, named by the field), a list of scalars repeats an element holding the
//! text, and a field named `value` is the element's text (`<genre songCount="3">Rock</genre>`
//! is `{"songCount": 3, "value": "Rock"}`).

use serde_json::{Map, Value};

/// The Subsonic API version Refrain speaks.
pub const API_VERSION: &str = "1.16.1";
pub const SERVER_TYPE: &str = "refrain";
const XMLNS: &str = "http://subsonic.org/restapi";

/// The envelope's own fields, then the payload's.
fn envelope(ok: bool, payload: Map<String, Value>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "status".into(),
        Value::from(if ok { "ok" } else { "failed" }),
    );
    m.insert("version".into(), Value::from(API_VERSION));
    m.insert("type".into(), Value::from(SERVER_TYPE));
    m.insert(
        "serverVersion".into(),
        Value::from(env!("CARGO_PKG_VERSION")),
    );
    m.insert("openSubsonic".into(), Value::Bool(true));
    m.extend(payload);
    m
}

pub fn json(ok: bool, payload: Map<String, Value>) -> String {
    let mut outer = Map::new();
    outer.insert(
        "subsonic-response".into(),
        Value::Object(envelope(ok, payload)),
    );
    Value::Object(outer).to_string()
}

pub fn xml(ok: bool, payload: Map<String, Value>) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    let mut body = envelope(ok, payload);
    body.insert("xmlns".into(), Value::from(XMLNS));
    element(&mut out, "subsonic-response", &Value::Object(body));
    out
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn element(out: &mut String, name: &str, v: &Value) {
    out.push('<');
    out.push_str(name);
    let Value::Object(m) = v else {
        out.push('>');
        if let Some(t) = scalar_text(v) {
            escape(out, &t);
        }
        out.push_str("</");
        out.push_str(name);
        out.push('>');
        return;
    };
    let mut text = None;
    let mut children: Vec<(&str, &Value)> = Vec::new();
    for (k, field) in m {
        if k == "value" {
            text = scalar_text(field);
            continue;
        }
        match field {
            Value::Null => {}
            Value::Object(_) => children.push((k, field)),
            Value::Array(items) => children.extend(items.iter().map(|i| (k.as_str(), i))),
            other => {
                if let Some(t) = scalar_text(other) {
                    out.push(' ');
                    out.push_str(k);
                    out.push_str("=\"");
                    escape(out, &t);
                    out.push('"');
                }
            }
        }
    }
    if children.is_empty() && text.is_none() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    if let Some(t) = text {
        escape(out, &t);
    }
    for (k, c) in children {
        element(out, k, c);
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Escapes text for an attribute or element; characters XML 1.0 cannot hold at all are
/// dropped (a tag may contain control characters).
fn escape(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push_str(&format!("&#{};", c as u32)),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn payload(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn json_wraps_the_payload_in_the_envelope() {
        let s = json(true, payload(json!({"license": {"valid": true}})));
        let v: Value = serde_json::from_str(&s).unwrap();
        let r = &v["subsonic-response"];
        assert_eq!(r["status"], "ok");
        assert_eq!(r["version"], API_VERSION);
        assert_eq!(r["openSubsonic"], true);
        assert_eq!(r["license"]["valid"], true);
    }

    #[test]
    fn xml_has_attributes_children_lists_and_text() {
        let s = xml(
            true,
            payload(json!({
                "genres": {"genre": [{"songCount": 2, "value": "Rock & <Roll>"}, {"songCount": 1, "value": "Jazz"}]},
                "openSubsonicExtensions": [{"name": "apiKeyAuthentication", "versions": [1]}],
                "album": {"id": "a\"1", "name": "x\u{1}y", "song": []}
            })),
        );
        assert!(s.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><subsonic-response "));
        assert!(s.contains("xmlns=\"http://subsonic.org/restapi\""));
        assert!(s.contains("status=\"ok\""));
        assert!(s.contains(
            "<genres><genre songCount=\"2\">Rock &amp; &lt;Roll&gt;</genre><genre songCount=\"1\">Jazz</genre></genres>"
        ));
        assert!(s.contains(
            "<openSubsonicExtensions name=\"apiKeyAuthentication\"><versions>1</versions></openSubsonicExtensions>"
        ));
        assert!(s.contains("<album id=\"a&quot;1\" name=\"xy\"/>"));
        assert!(s.ends_with("</subsonic-response>"));
    }
}
