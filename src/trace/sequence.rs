//! A trace as a sequence diagram, independent of the drawing: the participants (meta, each
//! chunk session, operator, client) and, per step, the arrow (a message delivered, or a timer
//! firing on its actor) and the log lines as notes over whoever logged them. `mermaid.rs`
//! and `svg.rs` draw it.

use super::{Step, ZbsAction, msg_text, timer_text};
use crate::actors::model::{ZbsModel, ZbsState};
use crate::engine::Trace;
use stateright::actor::ActorModelAction;

/// One thing on the diagram, top to bottom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// `from` → `to` (the same participant for a timer).
    Arrow {
        from: usize,
        to: usize,
        label: String,
        highlight: bool,
    },
    /// Lines in a box over one participant.
    Note {
        over: usize,
        lines: Vec<String>,
        highlight: bool,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagram {
    /// Participant names, in actor-id order.
    pub participants: Vec<String>,
    pub items: Vec<Item>,
}

/// The diagram of `trace` (described as `steps`). The last step is highlighted when
/// `end_note` (e.g. `✗ no_leaked_owner is violated here`) is given; the note follows it.
pub fn diagram(
    model: &ZbsModel,
    trace: &Trace<ZbsState, ZbsAction>,
    steps: &[Step],
    end_note: Option<&str>,
) -> Diagram {
    let cfg = &model.cfg;
    let participants: Vec<String> = (0..=usize::from(cfg.client_id()))
        .map(|i| cfg.actor_name(i.into()))
        .collect();
    let index_of = |name: &str| participants.iter().position(|p| p == name);
    let mut items = Vec::new();
    let last = steps.len();
    for ((action, _), step) in trace.steps.iter().zip(steps) {
        let highlight = end_note.is_some() && step.index == last;
        let (from, to, label) = match action {
            ActorModelAction::Timeout(id, t) => (
                usize::from(*id),
                usize::from(*id),
                format!("{}. timer: {}", step.index, timer_text(t)),
            ),
            ActorModelAction::Deliver { src, dst, msg } => (
                usize::from(*src),
                usize::from(*dst),
                format!("{}. {}", step.index, msg_text(msg)),
            ),
            other => (0, 0, format!("{}. {other:?}", step.index)),
        };
        items.push(Item::Arrow {
            from,
            to,
            label,
            highlight,
        });
        // The step's log lines (real log lines and `# model:` remarks), as one note over the
        // actor that logged them: the one that acted.
        let mut notes: Vec<(usize, Vec<String>)> = Vec::new();
        if !step.log.is_empty() {
            let over = index_of(&step.actor).unwrap_or(to);
            notes.push((over, step.log.clone()));
        }
        items.extend(notes.into_iter().map(|(over, lines)| Item::Note {
            over,
            lines,
            highlight,
        }));
    }
    if let Some(note) = end_note {
        items.push(Item::Note {
            over: 0,
            lines: vec![note.to_string()],
            highlight: true,
        });
    }
    Diagram {
        participants,
        items,
    }
}

/// The diagram of a counterexample, ending with the property's verdict.
pub fn of_counterexample(cx: &super::Counterexample) -> Diagram {
    let note = format!("✗ {} is {} here", cx.property.name, cx.verdict_word());
    diagram(cx.model, &cx.trace, &cx.steps, Some(&note))
}
