//! `--trace-format mermaid`: a Mermaid `sequenceDiagram` (renders in GitHub / GitLab
//! Markdown and the Mermaid live editor), fenced as a Markdown code block.

use super::Counterexample;
use super::sequence::{Diagram, Item, of_counterexample};
use std::fmt::Write;

/// Mermaid ids must not contain `-` (it is arrow syntax): `meta`, `c5`, `operator`, `client`.
fn id(name: &str) -> String {
    match name.strip_prefix("chunk-") {
        Some(cid) => format!("c{cid}"),
        None => name.to_string(),
    }
}

/// Escapes what Mermaid's sequence-diagram grammar reads as syntax (`;` ends a statement,
/// `#` starts an entity, braces and angle brackets are HTML-ish), as `#<code>;` entities.
pub fn escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '#' | ';' | '{' | '}' | '<' | '>' | '"' | '%' => {
                let _ = write!(s, "#{};", c as u32);
            }
            '\n' => s.push(' '),
            c => s.push(c),
        }
    }
    s
}

/// The diagram in Mermaid syntax (without a Markdown fence).
pub fn diagram_source(d: &Diagram) -> String {
    let mut s = String::from("sequenceDiagram\n");
    for p in &d.participants {
        let _ = writeln!(s, "    participant {} as {}", id(p), escape(p));
    }
    let mut in_rect = false;
    for item in &d.items {
        let highlight = match item {
            Item::Arrow { highlight, .. } | Item::Note { highlight, .. } => *highlight,
        };
        if highlight && !in_rect {
            s.push_str("    rect rgb(255, 225, 225)\n");
            in_rect = true;
        }
        match item {
            Item::Arrow {
                from, to, label, ..
            } => {
                let _ = writeln!(
                    s,
                    "    {}->>{}: {}",
                    id(&d.participants[*from]),
                    id(&d.participants[*to]),
                    escape(label)
                );
            }
            Item::Note { over, lines, .. } => {
                let text: Vec<String> = lines.iter().map(|l| escape(l)).collect();
                let _ = writeln!(
                    s,
                    "    Note over {}: {}",
                    id(&d.participants[*over]),
                    text.join("<br/>")
                );
            }
        }
    }
    if in_rect {
        s.push_str("    end\n");
    }
    s
}

/// `--trace-format mermaid`: a Markdown document with a heading and the fenced diagram.
pub fn render(cx: &Counterexample) -> String {
    format!(
        "# {} {} — {} ({})\n\n```mermaid\n{}```\n",
        cx.property.name,
        cx.verdict_word().replace('_', " "),
        cx.source.name,
        cx.variant,
        diagram_source(&of_counterexample(cx))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_characters_become_entities() {
        assert_eq!(escape("a; b #0 {x}"), "a#59; b #35;0 #123;x#125;");
        assert_eq!(id("chunk-5"), "c5");
        assert_eq!(id("meta"), "meta");
    }
}
