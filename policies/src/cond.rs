//! Type-checking a parsed `when` into a [`Cond`]: every signal resolved, every literal converted to
//! the signal's canonical unit, every mistake collected with its span.

use crate::expr::{Atom, CmpOp, Expr, SetLit, Span};
use crate::facts::{
    BehaviourFacts, ObjectFacts, TimeCtx, elapsed, extension_of, parse_utc, prefix_of,
};
use crate::glob::Glob;
use crate::signals::{self, Kind, SIGNALS, SignalId, WEEKDAYS};

/// A checked condition: a boolean tree over leaves.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    Const(bool),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    /// An index into the rule's [`Leaf`] list.
    Leaf(usize),
}

impl Cond {
    /// Whether the condition has a `not` as written (beyond the negation inside a comparison
    /// such as `!=`): then a leaf that holds can make the whole condition false, and an
    /// explanation must show the condition beside its leaves.
    pub fn has_written_not(&self, leaves: &[Leaf]) -> bool {
        match self {
            Cond::Const(_) | Cond::Leaf(_) => false,
            Cond::And(cs) | Cond::Or(cs) => cs.iter().any(|c| c.has_written_not(leaves)),
            Cond::Not(inner) => match inner.as_ref() {
                Cond::Leaf(i) => !leaves.get(*i).is_some_and(|l| l.negated),
                _ => true,
            },
        }
    }

    /// Whether each leaf stands alone under a written `not` (`not incident_open`): an
    /// explanation shows that leaf as the test written, `not incident_open`, holding when the
    /// leaf does not. A `not` over more than one leaf is left to [`Cond::has_written_not`].
    pub fn leaves_under_written_not(&self, leaves: &[Leaf]) -> Vec<bool> {
        fn walk(c: &Cond, leaves: &[Leaf], marks: &mut [bool]) {
            match c {
                Cond::Const(_) | Cond::Leaf(_) => {}
                Cond::And(cs) | Cond::Or(cs) => cs.iter().for_each(|c| walk(c, leaves, marks)),
                Cond::Not(inner) => match inner.as_ref() {
                    Cond::Leaf(i) if !leaves.get(*i).is_some_and(|l| l.negated) => {
                        if let Some(m) = marks.get_mut(*i) {
                            *m = true;
                        }
                    }
                    other => walk(other, leaves, marks),
                },
            }
        }
        let mut marks = vec![false; leaves.len()];
        walk(self, leaves, &mut marks);
        marks
    }
}

/// One test on one signal, with its source text for explanations.
#[derive(Debug, Clone, PartialEq)]
pub struct Leaf {
    pub test: Test,
    /// The source text of the comparison (`size >= 1MiB`).
    pub text: String,
    /// The comparison as written is the negation of `test` (`tier != 'vault'`, `x not in [..]`,
    /// `flag == false`): explanations show `!test` so that "yes" means the text holds.
    pub negated: bool,
}

/// A typed test. Numeric values are in canonical units (bytes, seconds, epoch seconds, USD).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Test {
    Num {
        sig: SignalId,
        op: CmpOp,
        value: f64,
    },
    NumSig {
        a: SignalId,
        op: CmpOp,
        b: SignalId,
    },
    Bool {
        sig: SignalId,
    },
    /// Membership of a small-integer signal (tier index, weekday, hour) in a bit set.
    Set {
        sig: SignalId,
        bits: u64,
    },
    TextEq {
        sig: SignalId,
        value: String,
    },
    TextIn {
        sig: SignalId,
        values: Vec<String>,
    },
    Glob {
        sig: SignalId,
        glob: Glob,
    },
}

impl Test {
    pub fn signals(&self) -> Vec<SignalId> {
        match self {
            Test::NumSig { a, b, .. } => vec![*a, *b],
            Test::Num { sig, .. }
            | Test::Bool { sig }
            | Test::Set { sig, .. }
            | Test::TextEq { sig, .. }
            | Test::TextIn { sig, .. }
            | Test::Glob { sig, .. } => vec![*sig],
        }
    }
}

/// What the checker needs to know and how to name its subject in messages.
#[derive(Debug)]
pub struct CheckCtx<'a> {
    /// `rule "cold-to-cloud"`.
    pub subject: &'a str,
    /// The TOML field holding the expression, e.g. `when`.
    pub field: &'a str,
    pub tiers: &'a [String],
    /// Only these signals may be used (blackout windows allow only time signals); `None` = all.
    pub allowed: Option<&'a [SignalId]>,
}

/// A problem found while checking, located within the expression.
pub type ExprError = (Span, String);

pub const DURATION_UNITS: &[(&str, f64)] = &[
    ("s", 1.0),
    ("m", 60.0),
    ("h", 3600.0),
    ("d", 86_400.0),
    ("w", 604_800.0),
];
pub const SIZE_UNITS: &[(&str, f64)] = &[
    ("B", 1.0),
    ("KB", 1e3),
    ("MB", 1e6),
    ("GB", 1e9),
    ("TB", 1e12),
    ("PB", 1e15),
    ("KiB", 1024.0),
    ("MiB", 1_048_576.0),
    ("GiB", 1_073_741_824.0),
    ("TiB", 1_099_511_627_776.0),
    ("PiB", 1_125_899_906_842_624.0),
];

fn example(kind: Kind) -> &'static str {
    match kind {
        Kind::Size => "1MiB",
        Kind::Duration => "30d",
        Kind::Count => "10",
        Kind::Score => "0.8",
        Kind::Probability => "0.5",
        Kind::Money => "2.5",
        Kind::Bool => "true",
        Kind::Tier => "'cloud'",
        Kind::Text => "'logs/'",
        Kind::Hour => "9",
        Kind::Weekday => "sat",
        Kind::Timestamp => "'2026-01-31'",
    }
}

fn plural(kind: Kind) -> &'static str {
    match kind {
        Kind::Score => "scores",
        Kind::Probability => "probabilities",
        Kind::Hour => "hours",
        Kind::Count => "counts",
        Kind::Size => "sizes",
        Kind::Duration => "durations",
        _ => "values",
    }
}

/// Where a literal out of `kind`'s range lies: `outside [0, 1]`, or `below 0` for a range with
/// no upper end.
fn out_of_range(kind: Kind) -> String {
    let (lo, hi) = kind.range();
    if hi.is_finite() {
        format!("outside [{lo}, {hi}]")
    } else {
        format!("below {lo}")
    }
}

/// What values a signal of `kind` takes, as a sentence about `name`: `reads_7d is never below
/// 0`, `hour_of_day is between 0 and 23`.
fn range_sentence(name: &str, kind: Kind) -> String {
    let (lo, hi) = kind.range();
    if hi.is_finite() {
        format!("{name} is between {lo} and {hi}")
    } else {
        format!("{name} is never below {lo}")
    }
}

/// The message for a unit that is neither a duration's nor a size's, for a signal of `kind`: a
/// duration suggests only duration units and a size only size units (`100y` is not near "B").
/// `None` for other kinds, whose own message says they take no unit.
fn unknown_unit(kind: Kind, value: f64, unit: &str, text: &str) -> Option<String> {
    let (units, what) = match kind {
        Kind::Duration => (DURATION_UNITS, "durations"),
        Kind::Size => (SIZE_UNITS, "sizes"),
        _ => return None,
    };
    let names: Vec<&str> = units.iter().map(|(n, _)| *n).collect();
    // Years have no unit of their own (a year is not a whole number of weeks): say it in days.
    let years = ["y", "yr", "yrs", "year", "years"];
    let fix = if kind == Kind::Duration && years.contains(&unit.to_ascii_lowercase().as_str()) {
        Some(format!("; write {}d", value * 365.0))
    } else {
        // The same letters in another case, then a unit it begins (`Gi`: `GiB`), then a typo.
        let near = signals::near(unit, names.iter().copied());
        names
            .iter()
            .find(|n| n.eq_ignore_ascii_case(unit))
            .or_else(|| names.iter().find(|n| n.starts_with(unit)))
            .or(near.first())
            .map(|n| format!("; did you mean \"{n}\"?"))
    };
    Some(format!(
        "unknown unit \"{unit}\" in {text}; {what} take {}{}",
        names.join(", "),
        fix.unwrap_or_default()
    ))
}

/// Converts a number with a unit into a canonical value for `kind`; `Err` is the message tail.
pub fn literal_value(
    kind: Kind,
    value: f64,
    unit: Option<&str>,
    text: &str,
    sig: &str,
) -> Result<f64, String> {
    let dur = |u: &str| {
        DURATION_UNITS
            .iter()
            .find(|(n, _)| *n == u)
            .map(|(_, f)| *f)
    };
    let size = |u: &str| SIZE_UNITS.iter().find(|(n, _)| *n == u).map(|(_, f)| *f);
    if let Some(u) = unit
        && dur(u).is_none()
        && size(u).is_none()
        && let Some(why) = unknown_unit(kind, value, u, text)
    {
        return Err(why);
    }
    let out = match kind {
        Kind::Duration => match unit {
            Some(u) => match dur(u) {
                Some(f) => value * f,
                None => {
                    return Err(format!(
                        "{sig} is a duration but {text} is a size; write a duration such as 90d (units: s, m, h, d, w)"
                    ));
                }
            },
            None if value == 0.0 => 0.0,
            None => {
                return Err(format!(
                    "{sig} is a duration but {text} has no unit; write {text}d (units: s, m, h, d, w)"
                ));
            }
        },
        Kind::Size => match unit {
            Some(u) => match size(u) {
                Some(f) => value * f,
                None => {
                    return Err(format!(
                        "{sig} is a size but {text} is a duration; write a size such as 1MiB (units: B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB)"
                    ));
                }
            },
            None if value == 0.0 => 0.0,
            None => {
                return Err(format!(
                    "{sig} is a size but {text} has no unit; write {text}B for bytes, or a size such as 1MiB (units: B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB)"
                ));
            }
        },
        Kind::Count | Kind::Score | Kind::Probability | Kind::Money | Kind::Hour => match unit {
            Some(_) => {
                let bare = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
                return Err(format!(
                    "{sig} is {} and takes no unit, but {text} has one; write {bare}",
                    kind.noun()
                ));
            }
            None => value,
        },
        other => {
            let written = match unit {
                Some(u) if dur(u).is_some() => "a duration",
                Some(u) if size(u).is_some() => "a size",
                _ => "a number",
            };
            return Err(format!(
                "{sig} is {} but {text} is {written}; write {}",
                other.noun(),
                example(other)
            ));
        }
    };
    let (lo, hi) = kind.range();
    if out < lo || out > hi {
        let fix = match kind {
            Kind::Score | Kind::Probability => format!(
                "{} are in [0, 1], write a threshold such as {}",
                plural(kind),
                example(kind)
            ),
            Kind::Hour => "hours are 0 to 23 (UTC)".to_string(),
            _ => format!("{} are never negative", plural(kind)),
        };
        return Err(format!(
            "{sig} is {} but {text} is {}; {fix}",
            kind.noun(),
            out_of_range(kind)
        ));
    }
    Ok(out)
}

/// [`literal_value`] for a literal in a condition: also held to the bounds of durations and
/// sizes written anywhere else in a policy (fields say so in their own words).
fn condition_literal(
    kind: Kind,
    value: f64,
    unit: Option<&str>,
    text: &str,
    sig: &str,
) -> Result<f64, String> {
    let out = literal_value(kind, value, unit, text, sig)?;
    let most = match kind {
        Kind::Duration => Some((crate::load::MAX_DURATION_SECS as f64, "36525d (100 years)")),
        Kind::Size => Some((crate::load::MAX_SIZE_BYTES as f64, "1024PiB")),
        _ => None,
    };
    if let Some((max, said)) = most
        && out > max
    {
        return Err(format!(
            "{sig} is {} but {text} is more than {said}, the most a policy may write",
            kind.noun()
        ));
    }
    Ok(out)
}

struct Checker<'a, 'b> {
    ctx: &'a CheckCtx<'b>,
    src: &'a str,
    leaves: Vec<Leaf>,
    errors: Vec<ExprError>,
    /// Problems that leave the expression valid but a part of it useless (a literal that can
    /// never match).
    warnings: Vec<ExprError>,
}

impl Checker<'_, '_> {
    fn err(&mut self, span: Span, msg: String) {
        self.errors
            .push((span, format!("{}: {msg}", self.ctx.subject)));
    }

    fn warn(&mut self, span: Span, msg: String) {
        self.warnings
            .push((span, format!("{}: {msg}", self.ctx.subject)));
    }

    fn leaf(&mut self, test: Test, span: Span) -> Cond {
        let text = self.src.get(span).unwrap_or("").trim().to_string();
        self.leaves.push(Leaf {
            test,
            text,
            negated: false,
        });
        Cond::Leaf(self.leaves.len() - 1)
    }

    /// Resolves an identifier to a signal, reporting unknown ones.
    fn signal(&mut self, atom: &Atom) -> Option<SignalId> {
        let Atom::Ident(name, span) = atom else {
            return None;
        };
        match signals::lookup(name) {
            Some(s) => {
                if let Some(allowed) = self.ctx.allowed
                    && !allowed.contains(&s.id)
                {
                    let names: Vec<&str> = allowed.iter().map(|a| a.name()).collect();
                    self.err(
                        span.clone(),
                        format!(
                            "{} cannot be used in {}; only {} can",
                            s.name,
                            self.ctx.field,
                            names.join(", ")
                        ),
                    );
                    return None;
                }
                Some(s.id)
            }
            None => {
                let near = signals::near(name, SIGNALS.iter().map(|s| s.name));
                let hint = match near.as_slice() {
                    [] => "; the signals are listed in docs/policy-reference.md".to_string(),
                    [one] => format!("; did you mean \"{one}\"?"),
                    many => format!("; did you mean one of: {}?", many.join(", ")),
                };
                self.err(
                    span.clone(),
                    format!("unknown signal \"{name}\" in {}{hint}", self.ctx.field),
                );
                None
            }
        }
    }

    fn is_signal_ident(atom: &Atom) -> bool {
        matches!(atom, Atom::Ident(n, _) if signals::lookup(n).is_some() || !(n == "true" || n == "false" || WEEKDAYS.contains(&n.as_str())))
    }

    fn describe_atom(atom: &Atom) -> String {
        match atom {
            Atom::Ident(n, _) => n.clone(),
            Atom::Num { text, .. } => text.clone(),
            Atom::Str(s, _) => format!("'{s}'"),
        }
    }

    fn tier_index(&mut self, atom: &Atom) -> Option<u32> {
        let Atom::Str(name, span) = atom else {
            let what = Self::describe_atom(atom);
            let fix = if matches!(atom, Atom::Ident(..)) {
                format!("'{what}'")
            } else {
                "'cloud'".to_string()
            };
            let mut known = self.ctx.tiers.to_vec();
            known.sort_unstable();
            self.err(atom.span(), format!("tier is a tier but {what} is not a quoted tier name; write {fix} (known tiers: {})", known.join(", ")));
            return None;
        };
        match self.ctx.tiers.iter().position(|t| t == name) {
            Some(i) => Some(i as u32),
            None => {
                let msg = unknown_tier(name, self.ctx.field, self.ctx.tiers);
                self.err(span.clone(), msg);
                None
            }
        }
    }

    fn weekday(&mut self, atom: &Atom) -> Option<u32> {
        let name = match atom {
            Atom::Ident(n, _) | Atom::Str(n, _) => n.to_ascii_lowercase(),
            Atom::Num { text, .. } => text.clone(),
        };
        let short: String = name.chars().take(3).collect();
        let full = [
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
        ];
        match WEEKDAYS
            .iter()
            .position(|d| *d == name)
            .or_else(|| full.iter().position(|d| *d == name))
        {
            Some(i) => Some(i as u32),
            None => {
                let hint = WEEKDAYS
                    .iter()
                    .find(|d| **d == short)
                    .map(|d| format!("; did you mean {d}?"))
                    .unwrap_or_default();
                self.err(
                    atom.span(),
                    format!(
                        "unknown day {}; days are mon, tue, wed, thu, fri, sat, sun{hint}",
                        Self::describe_atom(atom)
                    ),
                );
                None
            }
        }
    }

    fn hour(&mut self, atom: &Atom, sig: SignalId) -> Option<u32> {
        match atom {
            Atom::Num {
                value,
                unit,
                text,
                span,
            } => match literal_value(Kind::Hour, *value, unit.as_deref(), text, sig.name()) {
                Ok(v) if v.fract() == 0.0 => Some(v as u32),
                Ok(_) => {
                    self.err(
                        span.clone(),
                        format!(
                            "{} is a whole hour but {text} is not; write {}",
                            sig.name(),
                            value.floor()
                        ),
                    );
                    None
                }
                Err(m) => {
                    self.err(span.clone(), m);
                    None
                }
            },
            other => {
                self.err(
                    other.span(),
                    format!(
                        "{} is an hour of the day but {} is not a number; write 9",
                        sig.name(),
                        Self::describe_atom(other)
                    ),
                );
                None
            }
        }
    }

    /// A literal for a numeric signal, in canonical units.
    fn number(&mut self, sig: SignalId, atom: &Atom) -> Option<f64> {
        let kind = sig.kind();
        match atom {
            Atom::Num {
                value,
                unit,
                text,
                span,
            } => match condition_literal(kind, *value, unit.as_deref(), text, sig.name()) {
                Ok(v) => {
                    if kind == Kind::Count && v.fract() != 0.0 {
                        self.warn(
                            span.clone(),
                            format!(
                                "{} is a count, always a whole number, but {text} is not; write {} or {}",
                                sig.name(),
                                v.floor(),
                                v.ceil()
                            ),
                        );
                    }
                    Some(v)
                }
                Err(m) => {
                    self.err(span.clone(), m);
                    None
                }
            },
            Atom::Str(s, span) if kind == Kind::Timestamp => {
                match parse_utc(s) {
                    Some(t) => Some(t as f64),
                    None => {
                        self.err(span.clone(), format!("'{s}' is not a UTC date; write '2026-01-31' or '2026-01-31T12:00:00Z'"));
                        None
                    }
                }
            }
            other => {
                self.err(
                    other.span(),
                    format!(
                        "{} is {} but {} is not a number; write {}",
                        sig.name(),
                        kind.noun(),
                        Self::describe_atom(other),
                        example(kind)
                    ),
                );
                None
            }
        }
    }

    fn text(&mut self, sig: SignalId, atom: &Atom) -> Option<String> {
        match atom {
            Atom::Str(s, span) => {
                // The extension is lower-cased from the key: an upper-case letter never matches.
                if sig == SignalId::Extension && s.chars().any(char::is_uppercase) {
                    self.warn(
                        span.clone(),
                        format!(
                            "extension is always lower case, so '{s}' can never match it; write '{}'",
                            s.to_lowercase()
                        ),
                    );
                }
                Some(s.clone())
            }
            other => {
                self.err(
                    other.span(),
                    format!(
                        "{} is text but {} is not quoted; write '{}'",
                        sig.name(),
                        Self::describe_atom(other),
                        Self::describe_atom(other)
                    ),
                );
                None
            }
        }
    }

    fn cmp(&mut self, lhs: &Atom, op: CmpOp, op_span: &Span, rhs: &Atom, whole: Span) -> Cond {
        // Put the signal on the left.
        let (lhs, op, rhs) = if !Self::is_signal_ident(lhs) && Self::is_signal_ident(rhs) {
            (rhs, op.flip(), lhs)
        } else {
            (lhs, op, rhs)
        };
        if !Self::is_signal_ident(lhs) {
            self.err(
                whole,
                format!(
                    "{} compares two values; one side must be a signal such as size or age",
                    self.src.get(whole_span(lhs, rhs)).unwrap_or("")
                ),
            );
            return Cond::Const(false);
        }
        let Some(sig) = self.signal(lhs) else {
            return Cond::Const(false);
        };
        let kind = sig.kind();
        // A bare word on the right of a tier, day, text or boolean signal is a value, not a signal.
        let word = matches!(rhs, Atom::Ident(n, _) if signals::lookup(n).is_none())
            && matches!(kind, Kind::Tier | Kind::Weekday | Kind::Text | Kind::Bool);
        // Signal against signal.
        if Self::is_signal_ident(rhs) && !word {
            let Some(b) = self.signal(rhs) else {
                return Cond::Const(false);
            };
            if b.kind() != kind || !kind.is_numeric() {
                self.err(whole, format!("cannot compare {} ({}) with {} ({}); compare a signal with a value or with a signal of the same kind", sig.name(), kind.noun(), b.name(), b.kind().noun()));
                return Cond::Const(false);
            }
            return self.leaf(Test::NumSig { a: sig, op, b }, whole);
        }
        let eq_only = |op: CmpOp| matches!(op, CmpOp::Eq | CmpOp::Ne);
        let wrap = |this: &mut Self, c: Cond, op: CmpOp| {
            if op == CmpOp::Ne { this.negate(c) } else { c }
        };
        match kind {
            Kind::Bool => {
                let v = match rhs {
                    Atom::Ident(n, _) if n == "true" => true,
                    Atom::Ident(n, _) if n == "false" => false,
                    other => {
                        self.err(
                            other.span(),
                            format!(
                                "{} is a boolean but {} is not; write {} or not {}",
                                sig.name(),
                                Self::describe_atom(other),
                                sig.name(),
                                sig.name()
                            ),
                        );
                        return Cond::Const(false);
                    }
                };
                if !eq_only(op) {
                    self.err(
                        op_span.clone(),
                        format!(
                            "{} is a boolean and cannot be compared with {}; write {} or not {}",
                            sig.name(),
                            op.as_str(),
                            sig.name(),
                            sig.name()
                        ),
                    );
                    return Cond::Const(false);
                }
                let c = self.leaf(Test::Bool { sig }, whole);
                if (op == CmpOp::Eq) == v {
                    c
                } else {
                    self.negate(c)
                }
            }
            Kind::Tier | Kind::Weekday => {
                if !eq_only(op) {
                    let ex = if kind == Kind::Tier {
                        "tier == 'cloud' or tier in ['cloud', 'vault']"
                    } else {
                        "weekday in mon..fri or weekday in [sat, sun]"
                    };
                    self.err(
                        op_span.clone(),
                        format!(
                            "{} is {} and cannot be compared with {}; write {ex}",
                            sig.name(),
                            kind.noun(),
                            op.as_str()
                        ),
                    );
                    return Cond::Const(false);
                }
                let v = if kind == Kind::Tier {
                    self.tier_index(rhs)
                } else {
                    self.weekday(rhs)
                };
                match v {
                    Some(i) => {
                        let c = self.leaf(Test::Set { sig, bits: 1 << i }, whole);
                        wrap(self, c, op)
                    }
                    None => Cond::Const(false),
                }
            }
            Kind::Text => {
                if !eq_only(op) {
                    self.err(op_span.clone(), format!("{} is text and cannot be compared with {}; write ==, !=, in [...] or matches 'glob'", sig.name(), op.as_str()));
                    return Cond::Const(false);
                }
                match self.text(sig, rhs) {
                    Some(value) => {
                        let c = self.leaf(Test::TextEq { sig, value }, whole);
                        wrap(self, c, op)
                    }
                    None => Cond::Const(false),
                }
            }
            _ => {
                let Some(value) = self.number(sig, rhs) else {
                    return Cond::Const(false);
                };
                let (lo, hi) = kind.range();
                let never = match op {
                    CmpOp::Gt => value >= hi,
                    CmpOp::Lt => value <= lo,
                    CmpOp::Ge => value > hi,
                    CmpOp::Le => value < lo,
                    _ => false,
                };
                if never {
                    self.err(
                        whole.clone(),
                        format!(
                            "{} can never be true: {}; change the threshold",
                            self.src.get(whole.clone()).unwrap_or("").trim(),
                            range_sentence(sig.name(), kind)
                        ),
                    );
                    return Cond::Const(false);
                }
                if kind == Kind::Hour && value.fract() != 0.0 {
                    self.err(
                        rhs.span(),
                        format!(
                            "{} is a whole hour but {} is not; write {}",
                            sig.name(),
                            Self::describe_atom(rhs),
                            value.floor()
                        ),
                    );
                    return Cond::Const(false);
                }
                self.leaf(Test::Num { sig, op, value }, whole)
            }
        }
    }

    fn set(&mut self, lhs: &Atom, negated: bool, set: &SetLit, whole: Span) -> Cond {
        if !Self::is_signal_ident(lhs) {
            self.err(
                lhs.span(),
                format!(
                    "{} is not a signal; `in` needs a signal on its left, such as tier or weekday",
                    Self::describe_atom(lhs)
                ),
            );
            return Cond::Const(false);
        }
        let Some(sig) = self.signal(lhs) else {
            return Cond::Const(false);
        };
        let kind = sig.kind();
        let c = match (kind, set) {
            (Kind::Hour, SetLit::Range(lo, hi, span)) => {
                let (Some(a), Some(b)) = (self.hour(lo, sig), self.hour(hi, sig)) else {
                    return Cond::Const(false);
                };
                if a == b {
                    self.err(
                        span.clone(),
                        format!(
                            "{}..{} is an empty window; the end is excluded, write {}..{}",
                            a,
                            b,
                            a,
                            (a + 1) % 24
                        ),
                    );
                    return Cond::Const(false);
                }
                let mut bits = 0u64;
                let mut h = a;
                while h != b {
                    bits |= 1 << h;
                    h = (h + 1) % 24;
                }
                self.leaf(Test::Set { sig, bits }, whole)
            }
            (Kind::Weekday, SetLit::Range(lo, hi, _)) => {
                let (Some(a), Some(b)) = (self.weekday(lo), self.weekday(hi)) else {
                    return Cond::Const(false);
                };
                // Day ranges include both ends: mon..fri is five days; fri..mon wraps.
                let mut bits = 1u64 << b;
                let mut d = a;
                while d != b {
                    bits |= 1 << d;
                    d = (d + 1) % 7;
                }
                self.leaf(Test::Set { sig, bits }, whole)
            }
            (Kind::Hour | Kind::Weekday | Kind::Tier, SetLit::List(items, _)) => {
                let mut bits = 0u64;
                for it in items {
                    let v = match kind {
                        Kind::Hour => self.hour(it, sig),
                        Kind::Weekday => self.weekday(it),
                        _ => self.tier_index(it),
                    };
                    if let Some(v) = v {
                        bits |= 1 << v;
                    }
                }
                self.leaf(Test::Set { sig, bits }, whole)
            }
            (Kind::Text, SetLit::List(items, _)) => {
                let values: Vec<String> =
                    items.iter().filter_map(|it| self.text(sig, it)).collect();
                self.leaf(Test::TextIn { sig, values }, whole)
            }
            (_, SetLit::Range(_, _, span)) => {
                self.err(span.clone(), format!("{} is {}; only hour_of_day and weekday take a range after `in`, write comparisons such as {} >= {} and {} < {}", sig.name(), kind.noun(), sig.name(), example(kind), sig.name(), example(kind)));
                return Cond::Const(false);
            }
            (_, SetLit::List(_, span)) => {
                self.err(span.clone(), format!("{} is {}; only tier, weekday, hour_of_day and text signals take a list after `in`", sig.name(), kind.noun()));
                return Cond::Const(false);
            }
        };
        if negated { self.negate(c) } else { c }
    }

    /// `Not(c)`, marking a leaf whose written comparison is the negation of its test.
    fn negate(&mut self, c: Cond) -> Cond {
        if let Cond::Leaf(i) = c
            && let Some(l) = self.leaves.get_mut(i)
        {
            l.negated = true;
        }
        Cond::Not(Box::new(c))
    }

    fn check(&mut self, e: &Expr) -> Cond {
        match e {
            Expr::Or(items) => Cond::Or(items.iter().map(|i| self.check(i)).collect()),
            Expr::And(items) => Cond::And(items.iter().map(|i| self.check(i)).collect()),
            Expr::Not(inner) => Cond::Not(Box::new(self.check(inner))),
            Expr::Cmp {
                lhs,
                op,
                op_span,
                rhs,
            } => {
                let whole = whole_span(lhs, rhs);
                self.cmp(lhs, *op, op_span, rhs, whole)
            }
            Expr::In { lhs, negated, set } => {
                let end = match set {
                    SetLit::Range(_, _, s) | SetLit::List(_, s) => s.end,
                };
                self.set(lhs, *negated, set, lhs.span().start..end)
            }
            Expr::Matches { lhs, pattern } => {
                let whole = whole_span(lhs, pattern);
                let Some(sig) = self.signal(lhs) else {
                    return Cond::Const(false);
                };
                if sig.kind() != Kind::Text {
                    self.err(lhs.span(), format!("{} is {}; only text signals (bucket, key, prefix, extension) take `matches`", sig.name(), sig.kind().noun()));
                    return Cond::Const(false);
                }
                match self.text(sig, pattern) {
                    Some(p) => self.leaf(
                        Test::Glob {
                            sig,
                            glob: Glob::new(&p),
                        },
                        whole,
                    ),
                    None => Cond::Const(false),
                }
            }
            Expr::Atom(atom) => match atom {
                Atom::Ident(n, _) if n == "true" => Cond::Const(true),
                Atom::Ident(n, _) if n == "false" => Cond::Const(false),
                Atom::Ident(..) => {
                    let Some(sig) = self.signal(atom) else {
                        return Cond::Const(false);
                    };
                    if sig.kind() != Kind::Bool {
                        self.err(
                            atom.span(),
                            format!(
                                "{} is {}, not a condition; compare it, e.g. {} > {}",
                                sig.name(),
                                sig.kind().noun(),
                                sig.name(),
                                example(sig.kind())
                            ),
                        );
                        return Cond::Const(false);
                    }
                    self.leaf(Test::Bool { sig }, atom.span())
                }
                other => {
                    self.err(other.span(), format!("{} is a value, not a condition; compare a signal with it, e.g. size > 1MiB", Self::describe_atom(other)));
                    Cond::Const(false)
                }
            },
        }
    }
}

fn whole_span(a: &Atom, b: &Atom) -> Span {
    let (x, y) = (a.span(), b.span());
    x.start.min(y.start)..x.end.max(y.end)
}

/// The message for a tier name that is not configured.
pub fn unknown_tier(name: &str, field: &str, tiers: &[String]) -> String {
    let near = signals::near(name, tiers.iter().map(String::as_str));
    let hint = near
        .first()
        .map(|n| format!("; did you mean \"{n}\"?"))
        .unwrap_or_default();
    let mut sorted: Vec<&str> = tiers.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    format!(
        "unknown tier \"{name}\" in {field}; known tiers: {}{hint}",
        sorted.join(", ")
    )
}

/// A checked `when` expression: its condition, its leaves, and the warnings about it.
pub type Compiled = (Cond, Vec<Leaf>, Vec<ExprError>);

/// Parses and checks a `when` expression; the warnings (located like errors) are about parts
/// that are valid but can never match, such as `extension == 'GZ'`.
///
/// # Errors
/// Every problem found, each with its span inside `src` and a message starting with `ctx.subject`.
pub fn compile(src: &str, ctx: &CheckCtx<'_>) -> Result<Compiled, Vec<ExprError>> {
    if src.trim().is_empty() {
        let remove = if ctx.field == "when" {
            "remove `when` to match always"
        } else {
            "remove the empty entry"
        };
        return Err(vec![(
            0..0,
            format!(
                "{}: {} is an empty condition; write a condition such as `age > 30d`, or {remove}",
                ctx.subject, ctx.field
            ),
        )]);
    }
    let expr = crate::expr::parse(src).map_err(|e| {
        vec![(
            e.span,
            format!("{}: {} in {}", ctx.subject, e.message, ctx.field),
        )]
    })?;
    let mut c = Checker {
        ctx,
        src,
        leaves: Vec::new(),
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let cond = c.check(&expr);
    if c.errors.is_empty() {
        Ok((cond, c.leaves, c.warnings))
    } else {
        Err(c.errors)
    }
}

/// One object's facts, resolved against a policy set's tier list.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    pub obj: &'a ObjectFacts,
    pub beh: &'a BehaviourFacts,
    pub time: &'a TimeCtx,
    /// Index of `obj.tier` in the policy's tier list; `u32::MAX` if unknown.
    pub tier: u32,
}

/// The canonical numeric value of a numeric signal for one row.
#[inline]
pub fn num_value(sig: SignalId, r: &Row<'_>) -> f64 {
    let o = r.obj;
    let now = r.time.now;
    match sig {
        SignalId::Size => o.size as f64,
        SignalId::Age => elapsed(now, o.created),
        SignalId::DaysSinceLastAccess => elapsed(now, o.last_access),
        SignalId::DaysOnTier => elapsed(now, o.tier_since),
        SignalId::Reads1d => f64::from(o.reads[0]),
        SignalId::Reads7d => f64::from(o.reads[1]),
        SignalId::Reads30d => f64::from(o.reads[2]),
        SignalId::Reads90d => f64::from(o.reads[3]),
        SignalId::Writes1d => f64::from(o.writes[0]),
        SignalId::Writes7d => f64::from(o.writes[1]),
        SignalId::Writes30d => f64::from(o.writes[2]),
        SignalId::Writes90d => f64::from(o.writes[3]),
        SignalId::ReadBackProbability => f64::from(o.read_back_probability),
        SignalId::SavingsPerMonth => o.savings_per_month,
        SignalId::ReadBackCostPerMonth => o.read_back_cost_per_month,
        SignalId::PrincipalAnomaly => f64::from(r.beh.principal_anomaly),
        SignalId::BucketAnomaly => f64::from(r.beh.bucket_anomaly),
        SignalId::HourOfDay => f64::from(r.time.hour),
        SignalId::Now => now as f64,
        _ => f64::NAN,
    }
}

/// The small-integer value of a set signal (tier index, weekday, hour) for one row.
#[inline]
pub fn small_value(sig: SignalId, r: &Row<'_>) -> u32 {
    match sig {
        SignalId::Tier => r.tier,
        SignalId::Weekday => r.time.weekday,
        SignalId::HourOfDay => r.time.hour,
        _ => u32::MAX,
    }
}

/// The value of a text signal for one row.
pub fn text_value<'a>(sig: SignalId, r: &Row<'a>) -> std::borrow::Cow<'a, str> {
    match sig {
        SignalId::Bucket => r.obj.bucket.as_str().into(),
        SignalId::Key => r.obj.key.as_str().into(),
        SignalId::Prefix => prefix_of(&r.obj.key).into(),
        SignalId::Extension => extension_of(&r.obj.key).into(),
        _ => "".into(),
    }
}

/// Whether a bit-set test holds for a small value (values of 64 and more are never members).
#[inline(always)]
pub fn in_bits(bits: u64, v: u32) -> bool {
    v < 64 && bits & (1u64 << v) != 0
}

impl Leaf {
    /// Evaluates this leaf on one row.
    pub fn eval(&self, r: &Row<'_>) -> bool {
        match &self.test {
            Test::Num { sig, op, value } => op.apply(num_value(*sig, r), *value),
            Test::NumSig { a, op, b } => op.apply(num_value(*a, r), num_value(*b, r)),
            Test::Bool { sig } => r.beh.flag(*sig),
            Test::Set { sig, bits } => in_bits(*bits, small_value(*sig, r)),
            Test::TextEq { sig, value } => text_value(*sig, r) == value.as_str(),
            Test::TextIn { sig, values } => {
                let v = text_value(*sig, r);
                values.iter().any(|x| x == v.as_ref())
            }
            Test::Glob { sig, glob } => glob.is_match(&text_value(*sig, r)),
        }
    }
}

impl Cond {
    /// Evaluates the tree given each leaf's result.
    pub fn eval_with(&self, leaf: &mut impl FnMut(usize) -> bool) -> bool {
        match self {
            Cond::Const(b) => *b,
            Cond::And(items) => items.iter().all(|c| c.eval_with(leaf)),
            Cond::Or(items) => items.iter().any(|c| c.eval_with(leaf)),
            Cond::Not(c) => !c.eval_with(leaf),
            Cond::Leaf(i) => leaf(*i),
        }
    }

    /// The conjuncts of this condition (itself if it is not an `and`).
    pub fn conjuncts(&self) -> Vec<&Cond> {
        match self {
            Cond::And(items) => items.iter().flat_map(Cond::conjuncts).collect(),
            Cond::Const(true) => Vec::new(),
            other => vec![other],
        }
    }
}
