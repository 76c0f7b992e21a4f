//! The `when` language: a hand-written lexer and recursive-descent parser that keep the byte span
//! of every token, so a mistake is reported at its exact column inside the TOML string.
//!
//! ```text
//! expr    := and ("or" and)*
//! and     := unary ("and" unary)*
//! unary   := "not" unary | primary
//! primary := "(" expr ")" | atom [cmp-op atom | ["not"] "in" set | "matches" string]
//! set     := "[" atom ("," atom)* [","] "]" | atom ".." atom
//! atom    := signal | number[unit] | 'string' | "string" | true | false | weekday
//! cmp-op  := == | != | < | <= | > | >=
//! ```
//!
//! `and` and `or` chains are read in loops into flat lists, so a long chain costs no stack; the
//! only recursive constructs are `(` and `not`, and they nest at most [`MAX_NESTING`] deep, which
//! also bounds the depth of every tree built from an accepted condition.

use std::ops::Range;

/// How deeply `(` and `not` may nest in one condition, counted together: `not (a or not b)` is
/// three deep. Deeper conditions are refused with a located error, so that neither the parser
/// nor the passes that walk the tree it builds (checking, evaluation, the columnar filters) can
/// run out of stack, even on a small thread.
pub const MAX_NESTING: usize = 64;

/// A byte range inside the expression text.
pub type Span = Range<usize>;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// The operator with its operands swapped: `a < b` is `b > a`.
    pub fn flip(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            other => other,
        }
    }

    #[inline(always)]
    pub fn apply(self, a: f64, b: f64) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
        }
    }
}

/// A leaf value in an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Atom {
    /// A bare word: a signal name, `true`/`false`, or a weekday.
    Ident(String, Span),
    /// A number with an optional unit suffix (`90d`, `1MiB`, `0.8`).
    Num {
        value: f64,
        unit: Option<String>,
        text: String,
        span: Span,
    },
    /// A quoted string.
    Str(String, Span),
}

impl Atom {
    pub fn span(&self) -> Span {
        match self {
            Atom::Ident(_, s) | Atom::Str(_, s) => s.clone(),
            Atom::Num { span, .. } => span.clone(),
        }
    }
}

/// A set on the right of `in`.
#[derive(Debug, Clone, PartialEq)]
pub enum SetLit {
    /// `lo..hi`, half-open.
    Range(Atom, Atom, Span),
    /// `[a, b, c]`.
    List(Vec<Atom>, Span),
}

/// A parsed, not yet type-checked, condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Cmp {
        lhs: Atom,
        op: CmpOp,
        op_span: Span,
        rhs: Atom,
    },
    In {
        lhs: Atom,
        negated: bool,
        set: SetLit,
    },
    Matches {
        lhs: Atom,
        pattern: Atom,
    },
    /// A bare atom used as a condition: a boolean signal or `true`/`false`.
    Atom(Atom),
}

/// A syntax error at a span of the expression.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub span: Span,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Num { value: f64, unit: Option<String> },
    Str(String),
    Op(CmpOp),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    DotDot,
    End,
}

fn describe(t: &Tok, text: &str) -> String {
    match t {
        Tok::End => "the end of the condition".to_string(),
        _ => format!("`{text}`"),
    }
}

fn lex(src: &str) -> Result<Vec<(Tok, Span)>, ParseError> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let err = |len: usize, message: String| ParseError {
            span: start..start + len,
            message,
        };
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'(' => (out.push((Tok::LParen, i..i + 1)), i += 1).1,
            b')' => (out.push((Tok::RParen, i..i + 1)), i += 1).1,
            b'[' => (out.push((Tok::LBracket, i..i + 1)), i += 1).1,
            b']' => (out.push((Tok::RBracket, i..i + 1)), i += 1).1,
            b',' => (out.push((Tok::Comma, i..i + 1)), i += 1).1,
            b'.' if b.get(i + 1) == Some(&b'.') => {
                out.push((Tok::DotDot, i..i + 2));
                i += 2;
            }
            b'=' | b'!' | b'<' | b'>' => {
                let two = b.get(i + 1) == Some(&b'=');
                let op = match (c, two) {
                    (b'=', true) => CmpOp::Eq,
                    (b'!', true) => CmpOp::Ne,
                    (b'<', true) => CmpOp::Le,
                    (b'>', true) => CmpOp::Ge,
                    (b'<', false) => CmpOp::Lt,
                    (b'>', false) => CmpOp::Gt,
                    (b'=', false) => {
                        return Err(err(1, "`=` is not a comparison; write `==`".into()));
                    }
                    _ => return Err(err(1, "`!` is not an operator; write `not` or `!=`".into())),
                };
                let len = if two { 2 } else { 1 };
                out.push((Tok::Op(op), i..i + len));
                i += len;
            }
            b'&' => {
                return Err(err(
                    if b.get(i + 1) == Some(&b'&') { 2 } else { 1 },
                    "write `and` instead of `&&`".into(),
                ));
            }
            b'|' => {
                return Err(err(
                    if b.get(i + 1) == Some(&b'|') { 2 } else { 1 },
                    "write `or` instead of `||`".into(),
                ));
            }
            b'\'' | b'"' => {
                let close = src[i + 1..].find(c as char);
                match close {
                    Some(n) => {
                        out.push((Tok::Str(src[i + 1..i + 1 + n].to_string()), i..i + n + 2));
                        i += n + 2;
                    }
                    None => {
                        return Err(err(
                            1,
                            format!("unclosed string; add the closing {}", c as char),
                        ));
                    }
                }
            }
            b'0'..=b'9' | b'-' | b'.' => {
                let mut j = i;
                if b[j] == b'-' {
                    j += 1;
                }
                let digits_start = j;
                while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'_') {
                    j += 1;
                }
                if j < b.len() && b[j] == b'.' && b.get(j + 1) != Some(&b'.') {
                    j += 1;
                    while j < b.len() && b[j].is_ascii_digit() {
                        j += 1;
                    }
                }
                let num_text: String = src[i..j].chars().filter(|&c| c != '_').collect();
                if j == digits_start || num_text == "-" || num_text == "." || num_text == "-." {
                    return Err(err(
                        1,
                        format!("unexpected `{}`; expected a number such as 0.5", c as char),
                    ));
                }
                let value: f64 = match num_text.parse() {
                    Ok(v) => v,
                    Err(_) => return Err(err(j - i, format!("`{}` is not a number", &src[i..j]))),
                };
                let unit_start = j;
                while j < b.len() && b[j].is_ascii_alphabetic() {
                    j += 1;
                }
                let unit = (j > unit_start).then(|| src[unit_start..j].to_string());
                out.push((Tok::Num { value, unit }, i..j));
                i = j;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let mut j = i;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                out.push((Tok::Ident(src[i..j].to_string()), i..j));
                i = j;
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return Err(err(ch.len_utf8(), format!("unexpected character `{ch}`")));
            }
        }
    }
    out.push((Tok::End, src.len()..src.len()));
    Ok(out)
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<(Tok, Span)>,
    pos: usize,
    /// How many `(` and `not` enclose the token being read.
    depth: usize,
}

const KEYWORDS: [&str; 5] = ["and", "or", "not", "in", "matches"];

impl Parser<'_> {
    fn peek(&self) -> &(Tok, Span) {
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }
    fn bump(&mut self) -> (Tok, Span) {
        let t = self.peek().clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }
    fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.peek().0, Tok::Ident(s) if s == kw)
    }
    fn unexpected(&self, expected: &str) -> ParseError {
        let (t, span) = self.peek();
        ParseError {
            span: span.clone(),
            message: format!(
                "expected {expected} but found {}",
                describe(t, &self.src[span.clone()])
            ),
        }
    }

    /// Enters one more level of nesting at the `(` or `not` spanning `at`, refusing to go beyond
    /// [`MAX_NESTING`]; [`Parser::leave`] undoes it once the nested part is read.
    fn enter(&mut self, at: &Span) -> Result<(), ParseError> {
        if self.depth >= MAX_NESTING {
            return Err(ParseError {
                span: at.clone(),
                message: format!(
                    "expression nested more than {MAX_NESTING} deep; remove some of the parentheses or `not`s"
                ),
            });
        }
        self.depth += 1;
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        let mut items = vec![self.and()?];
        while self.is_kw("or") {
            self.bump();
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut items = vec![self.unary()?];
        while self.is_kw("and") {
            self.bump();
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.is_kw("not") {
            let (_, at) = self.bump();
            self.enter(&at)?;
            let inner = self.unary()?;
            self.leave();
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn atom(&mut self, expected: &str) -> Result<Atom, ParseError> {
        let (t, span) = self.peek().clone();
        let atom = match t {
            Tok::Ident(s) if !KEYWORDS.contains(&s.as_str()) => Atom::Ident(s, span),
            Tok::Num { value, unit } => Atom::Num {
                value,
                unit,
                text: self.src[span.clone()].to_string(),
                span,
            },
            Tok::Str(s) => Atom::Str(s, span),
            _ => return Err(self.unexpected(expected)),
        };
        self.bump();
        Ok(atom)
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        if self.peek().0 == Tok::LParen {
            let (_, open) = self.bump();
            self.enter(&open)?;
            let inner = self.expr()?;
            self.leave();
            if self.peek().0 != Tok::RParen {
                let mut e = self.unexpected("`)`");
                if self.peek().0 == Tok::End {
                    e = ParseError {
                        span: open,
                        message: "unclosed `(`; add `)`".into(),
                    };
                }
                return Err(e);
            }
            self.bump();
            return Ok(inner);
        }
        let lhs = self.atom("a signal, a value, `not` or `(`")?;
        let (t, span) = self.peek().clone();
        match t {
            Tok::Op(op) => {
                self.bump();
                let rhs = self.atom("a value after the comparison")?;
                Ok(Expr::Cmp {
                    lhs,
                    op,
                    op_span: span,
                    rhs,
                })
            }
            Tok::Ident(ref k) if k == "in" => {
                self.bump();
                Ok(Expr::In {
                    lhs,
                    negated: false,
                    set: self.set()?,
                })
            }
            Tok::Ident(ref k)
                if k == "not"
                    && matches!(&self.toks.get(self.pos + 1), Some((Tok::Ident(n), _)) if n == "in") =>
            {
                self.bump();
                self.bump();
                Ok(Expr::In {
                    lhs,
                    negated: true,
                    set: self.set()?,
                })
            }
            Tok::Ident(ref k) if k == "matches" => {
                self.bump();
                let pattern = self.atom("a quoted glob pattern after `matches`")?;
                Ok(Expr::Matches { lhs, pattern })
            }
            _ => Ok(Expr::Atom(lhs)),
        }
    }

    fn set(&mut self) -> Result<SetLit, ParseError> {
        if self.peek().0 == Tok::LBracket {
            let (_, open) = self.bump();
            let mut items = Vec::new();
            loop {
                if self.peek().0 == Tok::RBracket {
                    break;
                }
                items.push(self.atom("a value or `]`")?);
                match self.peek().0 {
                    Tok::Comma => {
                        self.bump();
                    }
                    Tok::RBracket => break,
                    _ => return Err(self.unexpected("`,` or `]`")),
                }
            }
            let (_, close) = self.bump();
            return Ok(SetLit::List(items, open.start..close.end));
        }
        let lo = self.atom("`[` or a range such as 9..17 after `in`")?;
        if self.peek().0 != Tok::DotDot {
            return Err(self.unexpected("`..` (a range is written lo..hi)"));
        }
        self.bump();
        let hi = self.atom("the end of the range")?;
        let span = lo.span().start..hi.span().end;
        Ok(SetLit::Range(lo, hi, span))
    }
}

/// Parses a `when` expression.
///
/// # Errors
/// The first syntax error, located by byte span within `src`.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    let toks = lex(src)?;
    let mut p = Parser {
        src,
        toks,
        pos: 0,
        depth: 0,
    };
    if p.peek().0 == Tok::End {
        return Err(ParseError { span: 0..0, message: "empty condition; write a condition such as `age > 30d`, or remove `when` to match always".into() });
    }
    let e = p.expr()?;
    if p.peek().0 != Tok::End {
        return Err(p.unexpected("`and`, `or` or the end of the condition"));
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn and_binds_tighter_than_or() {
        let e = parse("a or b and c")
            .map_err(|e| e.message)
            .unwrap_or(Expr::Or(vec![]));
        match e {
            Expr::Or(items) => {
                assert_eq!(items.len(), 2);
                assert!(matches!(items[1], Expr::And(_)));
            }
            other => panic!("expected or, got {other:?}"),
        }
    }

    #[test]
    fn numbers_carry_their_unit_and_span() {
        let e = parse("age > 30d").map_err(|e| e.message);
        assert_eq!(
            e,
            Ok(Expr::Cmp {
                lhs: Atom::Ident("age".into(), 0..3),
                op: CmpOp::Gt,
                op_span: 4..5,
                rhs: Atom::Num {
                    value: 30.0,
                    unit: Some("d".into()),
                    text: "30d".into(),
                    span: 6..9
                },
            })
        );
    }

    #[test]
    fn ranges_are_not_read_as_decimals() {
        let e = parse("hour_of_day in 9..17");
        assert!(
            matches!(
                e,
                Ok(Expr::In {
                    set: SetLit::Range(..),
                    ..
                })
            ),
            "{e:?}"
        );
    }

    /// The error for a nesting one level too deep, at `span`.
    fn too_deep(span: Span) -> Option<ParseError> {
        Some(ParseError {
            span,
            message: format!(
                "expression nested more than {MAX_NESTING} deep; remove some of the parentheses or `not`s"
            ),
        })
    }

    #[test]
    fn ten_thousand_parentheses_are_refused_at_the_first_one_too_deep() {
        let n = 10_000;
        let src = format!("{}size > 1B{}", "(".repeat(n), ")".repeat(n));
        // The parenthesis at byte MAX_NESTING is the first beyond the limit.
        assert_eq!(parse(&src).err(), too_deep(MAX_NESTING..MAX_NESTING + 1));
    }

    #[test]
    fn two_hundred_thousand_nots_are_refused_at_the_first_one_too_deep() {
        let src = format!("{}size > 1B", "not ".repeat(200_000));
        let at = MAX_NESTING * "not ".len();
        assert_eq!(parse(&src).err(), too_deep(at..at + 3));
    }

    #[test]
    fn parentheses_and_nots_count_together_up_to_the_limit() {
        // Alternating `not (`: MAX_NESTING levels in all are accepted, one more is refused.
        let half = MAX_NESTING / 2;
        let ok = format!("{}a{}", "not (".repeat(half), ")".repeat(half));
        let e = parse(&ok);
        let mut depth = 0;
        let mut cur = e.as_ref().ok();
        while let Some(Expr::Not(inner)) = cur {
            depth += 1;
            cur = Some(inner.as_ref());
        }
        assert_eq!(depth, half, "{e:?}");
        assert!(matches!(cur, Some(Expr::Atom(_))), "{e:?}");
        let deeper = format!("({ok})");
        let at = 1 + (half - 1) * "not (".len() + "not ".len();
        assert_eq!(parse(&deeper).err(), too_deep(at..at + 1));
    }

    #[test]
    fn nesting_is_counted_per_group_not_per_condition() {
        // Many shallow groups side by side never add up to a deep one.
        let term = "not (not (size > 1B or age > 1d))";
        let src = vec![term; 2 * MAX_NESTING].join(" and ");
        match parse(&src) {
            Ok(Expr::And(items)) => assert_eq!(items.len(), 2 * MAX_NESTING),
            other => panic!("expected a conjunction, got {other:?}"),
        }
    }

    #[test]
    fn a_long_and_chain_is_one_flat_list_not_a_deep_tree() {
        let n = 50_000;
        let src = vec!["size > 1B"; n].join(" and ");
        match parse(&src) {
            Ok(Expr::And(items)) => {
                assert_eq!(items.len(), n);
                assert!(items.iter().all(|i| matches!(i, Expr::Cmp { .. })));
            }
            other => panic!("expected a flat conjunction, got {:?}", other.err()),
        }
    }

    #[test]
    fn c_style_operators_are_rejected_with_the_fix() {
        let e = parse("a && b").err();
        assert_eq!(
            e,
            Some(ParseError {
                span: 2..4,
                message: "write `and` instead of `&&`".into()
            })
        );
    }
}
