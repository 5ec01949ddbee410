//! A sequence diagram as standalone SVG (no script, no fonts to fetch), for the HTML report
//! and the explorer: participants as columns, arrows for messages and timers, log lines as
//! notes, the violating step shaded.

use super::sequence::{Diagram, Item};
use std::fmt::Write;

const COL: usize = 170;
const LEFT: usize = 20;
const CHAR_W: f64 = 6.7;
const LINE_H: usize = 15;

/// Escapes text for XML / HTML.
pub fn esc(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&#39;"),
            c => s.push(c),
        }
    }
    s
}

fn x(i: usize) -> usize {
    LEFT + COL / 2 + i * COL
}

fn text_width(t: &str) -> usize {
    (t.chars().count() as f64 * CHAR_W) as usize
}

/// Draws `d` as an `<svg>` element.
pub fn render(d: &Diagram) -> String {
    let mut body = String::new();
    let mut y = 60;
    let mut width = LEFT * 2 + COL * d.participants.len();
    let font = r#"font-family="monospace" font-size="11""#;
    for item in &d.items {
        match item {
            Item::Arrow {
                from,
                to,
                label,
                highlight,
            } => {
                let h = if from == to { 34 } else { 30 };
                if *highlight {
                    let _ = write!(
                        body,
                        r##"<rect x="0" y="{}" width="100%" height="{h}" fill="#ffe1e1"/>"##,
                        y - 18
                    );
                }
                let (a, b) = (x(*from), x(*to));
                if from == to {
                    let _ = write!(
                        body,
                        r##"<g class="arrow"><path d="M{a},{y0} h30 v14 h-26" fill="none" stroke="#333" marker-end="url(#head)"/><text x="{tx}" y="{ty}" {font}>{l}</text></g>"##,
                        y0 = y - 6,
                        tx = a + 36,
                        ty = y + 4,
                        l = esc(label)
                    );
                    width = width.max(a + 40 + text_width(label));
                } else {
                    let mid = (a + b) / 2;
                    let _ = write!(
                        body,
                        r##"<g class="arrow"><line x1="{a}" y1="{y}" x2="{b}" y2="{y}" stroke="#333" marker-end="url(#head)"/><text x="{mid}" y="{ty}" text-anchor="middle" {font}>{l}</text></g>"##,
                        ty = y - 5,
                        l = esc(label)
                    );
                    width = width.max(mid + text_width(label) / 2 + LEFT);
                }
                y += h;
            }
            Item::Note {
                over,
                lines,
                highlight,
            } => {
                let w = lines.iter().map(|l| text_width(l)).max().unwrap_or(0) + 14;
                let h = LINE_H * lines.len() + 8;
                if *highlight {
                    let _ = write!(
                        body,
                        r##"<rect x="0" y="{}" width="100%" height="{}" fill="#ffe1e1"/>"##,
                        y - 14,
                        h + 8
                    );
                }
                let left = x(*over).saturating_sub(12);
                let _ = write!(
                    body,
                    r##"<g class="note"><rect x="{left}" y="{}" width="{w}" height="{h}" fill="{}" stroke="#b59f3b"/>"##,
                    y - 10,
                    if *highlight { "#ffd0d0" } else { "#fff8c4" }
                );
                for (k, line) in lines.iter().enumerate() {
                    let _ = write!(
                        body,
                        r#"<text x="{}" y="{}" {font}>{}</text>"#,
                        left + 7,
                        y + 5 + k * LINE_H,
                        esc(line)
                    );
                }
                body.push_str("</g>");
                width = width.max(left + w + LEFT);
                y += h + 8;
            }
        }
    }
    let height = y + 10;
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="seq" width="{width}" height="{height}" viewBox="0 0 {width} {height}"><defs><marker id="head" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#333"/></marker></defs>"##
    );
    for (i, p) in d.participants.iter().enumerate() {
        let _ = write!(
            s,
            r##"<line x1="{cx}" y1="38" x2="{cx}" y2="{height}" stroke="#bbb" stroke-dasharray="4 3"/><rect x="{bx}" y="10" width="{bw}" height="28" rx="4" fill="#e8eefc" stroke="#5470c6"/><text x="{cx}" y="29" text-anchor="middle" font-family="sans-serif" font-size="13">{}</text>"##,
            esc(p),
            cx = x(i),
            bx = x(i) - COL / 2 + 10,
            bw = COL - 20,
        );
    }
    s.push_str(&body);
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn draws_every_participant_arrow_and_note() {
        let d = Diagram {
            participants: vec!["meta".into(), "chunk-5".into()],
            items: vec![
                Item::Arrow {
                    from: 0,
                    to: 1,
                    label: "HeartbeatReply[pid 3134]".into(),
                    highlight: false,
                },
                Item::Note {
                    over: 1,
                    lines: vec!["Get recover notification: pid: 3134".into()],
                    highlight: true,
                },
            ],
        };
        let svg = render(&d);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches(r#"class="arrow""#).count(), 1);
        assert_eq!(svg.matches(r#"class="note""#).count(), 1);
        assert!(svg.contains(">chunk-5</text>"));
        assert!(svg.contains("#ffd0d0"), "the highlighted note is shaded");
    }
}
