//! A rule's condition as a tree for `tierd explain`: the record keeps the `when` as written and
//! its tests in a flat list (in the order written); parsing the `when` again gives back the
//! `and`/`or`/`not` around them, so each group can say whether it held, indented by its nesting.
//!
//! ```text
//!   [yes] tier == 'onprem'                                   value 'onprem'
//!   [yes] any of:
//!     [ no] days_since_last_access > 20d                     value 1.0d
//!     [yes] size >= 100KiB                                   value 150.3KiB
//! ```

use policies::expr::{Atom, Expr};

use crate::decision::Condition;

/// One line of the outline.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// How many groups it is inside (the top `and` of a rule counts for none).
    pub depth: usize,
    pub holds: bool,
    /// A test as recorded, or a group's heading (`any of:`).
    pub text: String,
    /// The signal's value, for a test.
    pub value: Option<String>,
}

/// The outline of `when` over its recorded tests, or `None` when the two do not fit together
/// (a record from another version of the rule, a `when` that no longer parses): the caller then
/// shows the flat list.
pub fn outline(when: &str, tests: &[Condition]) -> Option<Vec<Line>> {
    let expr = policies::expr::parse(when).ok()?;
    let mut walk = Walk {
        tests,
        next: 0,
        lines: Vec::new(),
    };
    match &expr {
        // The common `a and b and c`: the tests themselves, as the flat list shows them.
        Expr::And(items) => {
            for item in items {
                walk.node(item, 0)?;
            }
        }
        other => {
            walk.node(other, 0)?;
        }
    }
    (walk.next == tests.len()).then_some(walk.lines)
}

struct Walk<'a> {
    tests: &'a [Condition],
    next: usize,
    lines: Vec<Line>,
}

impl Walk<'_> {
    /// Writes `e` at `depth` and returns whether it held.
    fn node(&mut self, e: &Expr, depth: usize) -> Option<bool> {
        match e {
            Expr::Atom(Atom::Ident(word, _)) if word == "true" || word == "false" => {
                let holds = word == "true";
                self.push(depth, holds, word.clone(), None);
                Some(holds)
            }
            Expr::And(items) => self.group(items, depth, "all of:", |h| h.iter().all(|&x| x)),
            Expr::Or(items) => self.group(items, depth, "any of:", |h| h.iter().any(|&x| x)),
            // `not incident_open` is one recorded test, written with its `not`.
            Expr::Not(inner) if is_test(inner) => self.test(depth),
            Expr::Not(inner) => {
                let heading = match inner.as_ref() {
                    Expr::Or(_) => "none of:",
                    Expr::And(_) => "not all of:",
                    _ => "not:",
                };
                let at = self.push(depth, false, heading.into(), None);
                let inner_holds = match inner.as_ref() {
                    Expr::Or(items) | Expr::And(items) => self.children(items, depth + 1)?,
                    other => vec![self.node(other, depth + 1)?],
                };
                let any = inner_holds.iter().any(|&x| x);
                let all = inner_holds.iter().all(|&x| x);
                let holds = match inner.as_ref() {
                    Expr::Or(_) => !any,
                    _ => !all,
                };
                self.lines[at].holds = holds;
                Some(holds)
            }
            _ => self.test(depth),
        }
    }

    fn group(
        &mut self,
        items: &[Expr],
        depth: usize,
        heading: &str,
        combine: fn(&[bool]) -> bool,
    ) -> Option<bool> {
        let at = self.push(depth, false, heading.into(), None);
        let holds = combine(&self.children(items, depth + 1)?);
        self.lines[at].holds = holds;
        Some(holds)
    }

    fn children(&mut self, items: &[Expr], depth: usize) -> Option<Vec<bool>> {
        items.iter().map(|i| self.node(i, depth)).collect()
    }

    /// The next recorded test, at `depth`.
    fn test(&mut self, depth: usize) -> Option<bool> {
        let t = self.tests.get(self.next)?;
        self.next += 1;
        self.push(depth, t.holds, t.test.clone(), Some(t.value.clone()));
        Some(t.holds)
    }

    fn push(&mut self, depth: usize, holds: bool, text: String, value: Option<String>) -> usize {
        self.lines.push(Line {
            depth,
            holds,
            text,
            value,
        });
        self.lines.len() - 1
    }
}

/// Whether `e` is one comparison (one recorded test) rather than a group or a constant.
fn is_test(e: &Expr) -> bool {
    match e {
        Expr::Cmp { .. } | Expr::In { .. } | Expr::Matches { .. } => true,
        Expr::Atom(Atom::Ident(word, _)) => word != "true" && word != "false",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::{Line, outline};
    use crate::decision::Condition;

    fn test(t: &str, holds: bool) -> Condition {
        Condition {
            test: t.into(),
            value: "v".into(),
            holds,
        }
    }

    fn shape(lines: &[Line]) -> Vec<(usize, bool, &str)> {
        lines
            .iter()
            .map(|l| (l.depth, l.holds, l.text.as_str()))
            .collect()
    }

    #[test]
    fn groups_are_indented_and_say_whether_they_held() {
        let when = "tier == 'onprem' and (days_since_last_access > 20d or not (reads_30d > 0) and size >= 100KiB)";
        let tests = [
            test("tier == 'onprem'", true),
            test("days_since_last_access > 20d", false),
            test("not (reads_30d > 0)", true),
            test("size >= 100KiB", true),
        ];
        let lines = outline(when, &tests).unwrap();
        assert_eq!(
            shape(&lines),
            vec![
                (0, true, "tier == 'onprem'"),
                (0, true, "any of:"),
                (1, false, "days_since_last_access > 20d"),
                (1, true, "all of:"),
                (2, true, "not (reads_30d > 0)"),
                (2, true, "size >= 100KiB"),
            ]
        );
        assert_eq!(lines[0].value.as_deref(), Some("v"));
        assert_eq!(lines[1].value, None);
    }

    #[test]
    fn a_not_over_a_group_is_named_by_what_it_denies() {
        let tests = [test("a_flag", false), test("size > 1MiB", true)];
        let lines = outline("not (a_flag or size > 1MiB)", &tests).unwrap();
        assert_eq!(
            shape(&lines),
            vec![
                (0, false, "none of:"),
                (1, false, "a_flag"),
                (1, true, "size > 1MiB")
            ]
        );
        let lines = outline("not (a_flag and size > 1MiB) or true", &tests).unwrap();
        assert_eq!(
            shape(&lines),
            vec![
                (0, true, "any of:"),
                (1, true, "not all of:"),
                (2, false, "a_flag"),
                (2, true, "size > 1MiB"),
                (1, true, "true"),
            ]
        );
    }

    #[test]
    fn a_record_that_does_not_fit_its_when_gives_no_outline() {
        let tests = [test("a > 1", true)];
        assert_eq!(outline("a > 1 and b > 2", &tests), None);
        assert_eq!(outline("a > 1 and (", &tests), None);
        assert_eq!(
            outline("a > 1", &[test("a > 1", true), test("b", true)]),
            None
        );
    }
}
