//! Symmetry reduction hooks.
//!
//! The engine is generic over a [`Canon`] so that the non-symmetric path compiles to the
//! identity with no cost, and the symmetric path calls [`SymmetricModel::canonical`].

use stateright::Model;

/// A model whose state space is invariant under a group of permutations (e.g. of process ids).
///
/// Contract (what makes the reduction sound): for every state `s` and group element `π`,
/// `canonical(π·s) == canonical(s)`, `canonical(s)` is in the orbit of `s`, and the transition
/// relation commutes with `π` (`π·s → π·t` whenever `s → t`). Checked properties must be
/// invariant too (`P(π·s) == P(s)`).
pub trait SymmetricModel: Model {
    /// The orbit representative of `s`.
    fn canonical(&self, s: &Self::State) -> Self::State;
}

/// How states are mapped before they are fingerprinted and stored.
pub(crate) trait Canon<M: Model>: Sync {
    /// Whether `canon` returns its argument unchanged (no reduction).
    const IDENTITY: bool;
    fn canon(&self, model: &M, s: M::State) -> M::State;
}

/// No reduction.
pub(crate) struct Identity;

impl<M: Model> Canon<M> for Identity {
    const IDENTITY: bool = true;
    #[inline(always)]
    fn canon(&self, _model: &M, s: M::State) -> M::State {
        s
    }
}

/// Reduction by [`SymmetricModel::canonical`].
pub(crate) struct Canonical;

impl<M: SymmetricModel> Canon<M> for Canonical {
    const IDENTITY: bool = false;
    #[inline(always)]
    fn canon(&self, model: &M, s: M::State) -> M::State {
        model.canonical(&s)
    }
}

/// A [`SymmetricModel`] that can list its group, so the contract can be checked
/// ([`audit`]) instead of trusted.
pub trait SymmetryGroup: SymmetricModel {
    /// `π·s` for every group element `π` but the identity.
    fn images(&self, s: &Self::State) -> Vec<Self::State>;
}

/// Where a model breaks the [`SymmetricModel`] contract: a state whose image under a group
/// element behaves differently from it.
#[derive(Clone, Debug)]
pub struct SymmetryBreak<S> {
    /// An orbit representative reached by the reduced search.
    pub state: S,
    /// An image of it under a group element.
    pub image: S,
    /// Breadth-first depth of `state` in the reduced search.
    pub depth: usize,
    /// What differs: a property's value, or the orbits of the successors.
    pub what: String,
}

/// How far [`audit`] got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Audited {
    /// Orbits whose representatives were checked.
    pub orbits: usize,
    /// Every orbit the reduced search reaches (within `max_depth`) was checked; `false` when
    /// `max_states`, `timeout` or `max_memory_bytes` stopped the audit first.
    pub complete: bool,
}

/// Checks the [`SymmetricModel`] contract on every orbit the reduced search reaches, within
/// the limits of `opts` (`max_states`, `max_depth`, `timeout`, `max_memory_bytes`).
///
/// For each representative `r` and each image `π·r`: every property has the same value on
/// both, and their successors fall in the same orbits. By induction on the length of a path,
/// every reachable state is then an image of an explored representative, so the reduced
/// exploration visits exactly one state per reachable orbit and its verdicts are those of the
/// full space. A model that iterates ids in order, or breaks ties by id, fails here on the
/// first state where that matters. The check is sufficient, not necessary: an image that is
/// not reachable may fail it although the reduction would have been sound. Costs one successor
/// computation per group element and orbit, single threaded — the price of knowing rather
/// than assuming.
pub fn audit<M>(model: &M, opts: &super::Options) -> Result<Audited, Box<SymmetryBreak<M::State>>>
where
    M: SymmetryGroup,
    M::State: Clone + std::hash::Hash,
{
    use super::fingerprint::fingerprint;
    use std::collections::{BTreeSet, HashSet, VecDeque};
    let started = std::time::Instant::now();
    let timed_out = || opts.timeout.is_some_and(|t| started.elapsed() >= t);
    let out_of_budget = |orbits: usize| {
        opts.max_states.is_some_and(|m| orbits as u64 >= m)
            || timed_out()
            || opts.max_memory_bytes.is_some_and(|m| {
                orbits.is_multiple_of(1024) && super::current_rss_bytes().is_some_and(|r| r >= m)
            })
    };
    let incomplete = |orbits: usize| Audited {
        orbits,
        complete: false,
    };
    let successors = |s: &M::State| -> Vec<M::State> {
        let mut actions = Vec::new();
        model.actions(s, &mut actions);
        actions
            .into_iter()
            .filter_map(|a| model.next_state(s, a))
            .map(|t| model.canonical(&t))
            .collect()
    };
    let orbits = |v: &[M::State]| v.iter().map(fingerprint).collect::<BTreeSet<_>>();
    let properties = model.properties();
    let mut seen = HashSet::new();
    let mut queue: VecDeque<(M::State, u32)> = model
        .init_states()
        .into_iter()
        .map(|s| (model.canonical(&s), 0))
        .collect();
    while let Some((r, depth)) = queue.pop_front() {
        if !seen.insert(fingerprint(&r)) {
            continue;
        }
        let next = successors(&r);
        let expected = orbits(&next);
        for image in model.images(&r) {
            // One orbit of a large group takes long (|G| images, each of whose successors
            // is canonicalised over |G| renamings): the clock is read per image.
            if timed_out() {
                return Ok(incomplete(seen.len()));
            }
            let what = if let Some(p) = properties
                .iter()
                .find(|p| (p.condition)(model, &r) != (p.condition)(model, &image))
            {
                format!("property `{}` differs", p.name)
            } else if orbits(&successors(&image)) != expected {
                "their successors fall in different orbits".to_string()
            } else {
                continue;
            };
            return Err(Box::new(SymmetryBreak {
                state: r,
                image,
                depth: depth as usize,
                what,
            }));
        }
        if out_of_budget(seen.len()) {
            return Ok(incomplete(seen.len()));
        }
        if opts.max_depth.is_none_or(|m| depth < m) {
            queue.extend(next.into_iter().map(|t| (t, depth + 1)));
        }
    }
    Ok(Audited {
        orbits: seen.len(),
        complete: true,
    })
}
