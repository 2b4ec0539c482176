//! `/api/v1/docs`: the OpenAPI document as one plain page, drawn on the server from the
//! document itself. No script and nothing fetched: it works where the controller runs.

use serde_json::Value;

/// Escapes text for HTML.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A schema's name from `#/components/schemas/X`, or its type.
fn type_of(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return format!("<a href=\"#schema-{0}\">{0}</a>", esc(name));
    }
    if let Some(items) = schema.get("items") {
        return format!("array of {}", type_of(items));
    }
    if let Some(one_of) = schema.get("oneOf").and_then(Value::as_array) {
        let kinds: Vec<String> = one_of.iter().map(type_of).filter(|k| k != "null").collect();
        return format!("{} or null", kinds.join(" or "));
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let values: Vec<String> = values.iter().filter_map(Value::as_str).map(esc).collect();
        return format!("one of {}", values.join(", "));
    }
    match schema.get("type") {
        Some(Value::String(t)) => esc(t),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).map(esc).collect::<Vec<_>>().join(" or "),
        _ => "any".into(),
    }
}

fn text(value: Option<&Value>) -> String {
    value.and_then(Value::as_str).map(esc).unwrap_or_default()
}

fn operation(out: &mut String, method: &str, path: &str, op: &Value) {
    let role = op["security"][0]["token"][0].as_str().unwrap_or("none");
    out.push_str(&format!(
        "<section class=\"op\"><h3><code>{} {}</code></h3><p>{}</p><p class=\"muted\">Least role: <b>{}</b></p>",
        method.to_uppercase(),
        esc(path),
        text(op.get("description").or(op.get("summary"))),
        esc(role)
    ));
    if let Some(params) = op.get("parameters").and_then(Value::as_array) {
        out.push_str("<table><tr><th>Parameter</th><th>In</th><th>Type</th><th>About</th></tr>");
        for p in params {
            out.push_str(&format!(
                "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                text(p.get("name")),
                if p["required"].as_bool() == Some(true) { " (required)" } else { "" },
                text(p.get("in")),
                type_of(&p["schema"]),
                text(p.get("description"))
            ));
        }
        out.push_str("</table>");
    }
    if let Some(body) = op["requestBody"]["content"]["application/json"].get("schema") {
        out.push_str(&format!("<p>Body: {}</p>", type_of(body)));
    }
    if let Some(responses) = op.get("responses").and_then(Value::as_object) {
        out.push_str("<table><tr><th>Status</th><th>Body</th><th>When</th></tr>");
        for (status, response) in responses {
            let content = response.get("content").and_then(Value::as_object);
            let schema = content.and_then(|c| c.values().next()).and_then(|m| m.get("schema"));
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(status),
                schema.map(type_of).unwrap_or_default(),
                text(response.get("description"))
            ));
        }
        out.push_str("</table>");
    }
    out.push_str("</section>");
}

/// The page for `document`.
pub fn page(document: &utoipa::openapi::OpenApi) -> String {
    let doc = serde_json::to_value(document).unwrap_or_default();
    let mut out = String::from(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Palomar API</title>\
         <link rel=\"stylesheet\" href=\"/pkg/palomar.css\"></head><body><main class=\"api-docs\">",
    );
    out.push_str(&format!(
        "<h1>{} (version {})</h1><p>{}</p><p>The same document as JSON: \
         <a href=\"{}\"><code>{}</code></a> (OpenAPI {}).</p>",
        text(doc["info"].get("title")),
        text(doc["info"].get("version")),
        text(doc["info"].get("description")),
        super::OPENAPI_PATH,
        super::OPENAPI_PATH,
        text(doc.get("openapi"))
    ));
    let tags: Vec<(String, String)> = doc["tags"]
        .as_array()
        .map(|tags| tags.iter().map(|t| (text(t.get("name")), text(t.get("description")))).collect())
        .unwrap_or_default();
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    for (tag, about) in &tags {
        out.push_str(&format!("<h2 id=\"tag-{tag}\">{tag}</h2><p>{about}</p>"));
        for (path, item) in &paths {
            for (method, op) in item.as_object().into_iter().flatten() {
                let tagged = op["tags"].as_array().is_some_and(|ts| ts.iter().any(|t| t.as_str() == Some(tag)));
                if tagged {
                    operation(&mut out, method, path, op);
                }
            }
        }
    }
    out.push_str("<h2>Schemas</h2>");
    for (name, schema) in doc["components"]["schemas"].as_object().into_iter().flatten() {
        out.push_str(&format!(
            "<section class=\"schema\" id=\"schema-{0}\"><h3>{0}</h3><p>{1}</p>",
            esc(name),
            text(schema.get("description"))
        ));
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            let required: Vec<&str> =
                schema["required"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            out.push_str("<table><tr><th>Field</th><th>Type</th><th>About</th></tr>");
            for (field, property) in properties {
                out.push_str(&format!(
                    "<tr><td><code>{}</code>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(field),
                    if required.contains(&field.as_str()) { "" } else { " (optional)" },
                    type_of(property),
                    text(property.get("description"))
                ));
            }
            out.push_str("</table>");
        } else {
            out.push_str(&format!("<p>{}</p>", type_of(schema)));
        }
        out.push_str("</section>");
    }
    out.push_str("</main></body></html>");
    out
}
