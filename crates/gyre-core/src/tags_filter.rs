//! Publication tags filter (`tf` in a subscribe request): validation and a compiled matcher.
//!
//! A subscriber sends a [`FilterNode`] tree once; every publication fanned out to it is then checked
//! against the publication's tags. Validation and compilation therefore happen once per subscribe,
//! while [`CompiledFilter::matches`] runs once per publication per subscriber and must stay cheap:
//! operators are resolved to an enum, numeric bounds are parsed up front and large `in`/`nin`
//! value lists become hash sets.
//!
//! Matching mirrors Centrifugo's semantics:
//! * a missing key fails `eq`, `sw`, `ew`, `ct`, `ex` and the numeric comparisons, and satisfies
//!   `neq` and `nex`;
//! * `in`/`nin` look the value up as if a missing key held the empty string, so a missing key
//!   satisfies `nin` (and fails `in`) unless `""` is one of the listed values;
//! * numeric comparisons are exact decimal comparisons and are false when either side is not a
//!   number: optional sign, digits, optionally `.` and 1 to 19 digits, at most 200 bytes.
//!
//! Centrifugo puts no bound on a filter's size. Filters come from untrusted clients and are
//! evaluated on every publication, so Gyre bounds them: see [`MAX_DEPTH`], [`MAX_NODES`] and
//! [`MAX_VALS`]. Exceeding a bound is a validation error like any other (the session answers 107).

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::BuildHasher;

use gyre_protocol::FilterNode;

/// Deepest accepted nesting; the root counts as level 1, so `and` → `not` → leaf is depth 3.
pub const MAX_DEPTH: usize = 16;
/// Most nodes (logical and leaf) in one filter.
pub const MAX_NODES: usize = 256;
/// Most values in the `vals` list of one `in`/`nin` leaf.
pub const MAX_VALS: usize = 1024;

/// Numbers longer than this are not numeric (the limit of the decimal parser Centrifugo uses).
const MAX_NUMBER_LEN: usize = 200;
/// More fractional digits than this make a string non-numeric, trailing zeros included.
const MAX_FRACTION_DIGITS: usize = 19;
/// Below this many values a linear scan beats hashing the looked-up value.
const SET_THRESHOLD: usize = 8;
/// Client-supplied names echoed in errors are cut to this many characters to keep logs small.
const ECHO_LIMIT: usize = 32;

/// Leaf comparison operator (`cmp` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cmp {
    Eq,
    Neq,
    In,
    Nin,
    Ex,
    Nex,
    Sw,
    Ew,
    Ct,
    Lt,
    Lte,
    Gt,
    Gte,
}

impl Cmp {
    /// Every operator, in wire-documentation order.
    pub const ALL: [Cmp; 13] = [
        Cmp::Eq,
        Cmp::Neq,
        Cmp::In,
        Cmp::Nin,
        Cmp::Ex,
        Cmp::Nex,
        Cmp::Sw,
        Cmp::Ew,
        Cmp::Ct,
        Cmp::Lt,
        Cmp::Lte,
        Cmp::Gt,
        Cmp::Gte,
    ];

    /// The operator named by a wire `cmp` string, if it is one.
    pub fn from_wire(name: &str) -> Option<Cmp> {
        Cmp::ALL.into_iter().find(|cmp| cmp.as_str() == name)
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Cmp::Eq => "eq",
            Cmp::Neq => "neq",
            Cmp::In => "in",
            Cmp::Nin => "nin",
            Cmp::Ex => "ex",
            Cmp::Nex => "nex",
            Cmp::Sw => "sw",
            Cmp::Ew => "ew",
            Cmp::Ct => "ct",
            Cmp::Lt => "lt",
            Cmp::Lte => "lte",
            Cmp::Gt => "gt",
            Cmp::Gte => "gte",
        }
    }

    fn operand(self) -> Operand {
        match self {
            Cmp::In | Cmp::Nin => Operand::Vals,
            Cmp::Ex | Cmp::Nex => Operand::Nothing,
            _ => Operand::Val,
        }
    }
}

impl fmt::Display for Cmp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which of `val` / `vals` a leaf operator takes.
#[derive(Clone, Copy)]
enum Operand {
    Val,
    Vals,
    Nothing,
}

/// Why a filter was rejected. The session maps every variant to error 107 (bad request).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("unknown filter op {0:?}")]
    UnknownOp(String),
    #[error("leaf filter node has no cmp")]
    MissingCmp,
    #[error("unknown filter comparison {0:?}")]
    UnknownCmp(String),
    #[error("{0} filter node requires a key")]
    MissingKey(Cmp),
    #[error("{0} filter node requires val")]
    MissingVal(Cmp),
    #[error("{0} filter node must not set val")]
    UnexpectedVal(Cmp),
    #[error("{0} filter node requires non-empty vals")]
    MissingVals(Cmp),
    #[error("{0} filter node must not set vals")]
    UnexpectedVals(Cmp),
    #[error("{op} filter node requires at least one child")]
    NoChildren { op: &'static str },
    #[error("not filter node requires exactly one child, got {0}")]
    NotArity(usize),
    #[error("filter nested deeper than {limit} levels")]
    TooDeep { limit: usize },
    #[error("filter has more than {limit} nodes")]
    TooManyNodes { limit: usize },
    #[error("filter node lists {count} values, more than {limit}")]
    TooManyVals { count: usize, limit: usize },
}

/// Checks that a filter is well formed and within Gyre's size bounds.
///
/// Fields a node's kind does not use are ignored as Centrifugo does: children of a leaf, and
/// `key`/`cmp`/`val`/`vals` of a logical node. A non-numeric bound of `lt`/`lte`/`gt`/`gte` is
/// accepted too; such a comparison simply never matches.
pub fn validate(node: &FilterNode) -> Result<(), FilterError> {
    CompiledFilter::compile(node).map(drop)
}

/// A validated filter lowered to a form that is cheap to evaluate repeatedly.
#[derive(Debug, Clone)]
pub struct CompiledFilter {
    root: Node,
}

impl CompiledFilter {
    /// Validates `node` (see [`validate`]) and compiles it.
    pub fn compile(node: &FilterNode) -> Result<CompiledFilter, FilterError> {
        let mut nodes_left = MAX_NODES;
        let root = lower(node, 1, &mut nodes_left)?;
        Ok(CompiledFilter { root })
    }

    /// Whether a publication carrying `tags` passes the filter.
    pub fn matches<S: BuildHasher>(&self, tags: &HashMap<String, String, S>) -> bool {
        self.root.eval(tags)
    }
}

/// Shorthand for [`CompiledFilter::compile`].
pub fn compile(node: &FilterNode) -> Result<CompiledFilter, FilterError> {
    CompiledFilter::compile(node)
}

#[derive(Debug, Clone)]
enum Node {
    And(Box<[Node]>),
    Or(Box<[Node]>),
    Not(Box<Node>),
    Leaf { key: Box<str>, test: Test },
}

#[derive(Debug, Clone)]
enum Test {
    Eq(Box<str>),
    Neq(Box<str>),
    In(ValueSet),
    Nin(ValueSet),
    Ex,
    Nex,
    Sw(Box<str>),
    Ew(Box<str>),
    Ct(Box<str>),
    /// `None` when the filter's bound is not a number: the comparison can never hold.
    Num {
        accept: fn(Ordering) -> bool,
        bound: Option<OwnedDecimal>,
    },
}

fn lower(node: &FilterNode, depth: usize, nodes_left: &mut usize) -> Result<Node, FilterError> {
    // Bounds are checked before looking at children so a hostile tree is never walked in full.
    if depth > MAX_DEPTH {
        return Err(FilterError::TooDeep { limit: MAX_DEPTH });
    }
    *nodes_left = nodes_left
        .checked_sub(1)
        .ok_or(FilterError::TooManyNodes { limit: MAX_NODES })?;

    let lower_children = |op: &'static str, nodes_left: &mut usize| {
        if node.nodes.is_empty() {
            return Err(FilterError::NoChildren { op });
        }
        node.nodes
            .iter()
            .map(|child| lower(child, depth + 1, nodes_left))
            .collect::<Result<Box<[Node]>, _>>()
    };

    match node.op.as_str() {
        "" => lower_leaf(node),
        "and" => Ok(Node::And(lower_children("and", nodes_left)?)),
        "or" => Ok(Node::Or(lower_children("or", nodes_left)?)),
        "not" => match node.nodes.as_slice() {
            [only] => Ok(Node::Not(Box::new(lower(only, depth + 1, nodes_left)?))),
            children => Err(FilterError::NotArity(children.len())),
        },
        other => Err(FilterError::UnknownOp(echo(other))),
    }
}

fn lower_leaf(node: &FilterNode) -> Result<Node, FilterError> {
    if node.cmp.is_empty() {
        return Err(FilterError::MissingCmp);
    }
    let cmp = Cmp::from_wire(&node.cmp).ok_or_else(|| FilterError::UnknownCmp(echo(&node.cmp)))?;
    match cmp.operand() {
        Operand::Val => {
            if node.val.is_empty() {
                return Err(FilterError::MissingVal(cmp));
            }
            if !node.vals.is_empty() {
                return Err(FilterError::UnexpectedVals(cmp));
            }
        }
        Operand::Vals => {
            if node.vals.is_empty() {
                return Err(FilterError::MissingVals(cmp));
            }
            if !node.val.is_empty() {
                return Err(FilterError::UnexpectedVal(cmp));
            }
            if node.vals.len() > MAX_VALS {
                return Err(FilterError::TooManyVals {
                    count: node.vals.len(),
                    limit: MAX_VALS,
                });
            }
        }
        Operand::Nothing => {
            if !node.val.is_empty() {
                return Err(FilterError::UnexpectedVal(cmp));
            }
            if !node.vals.is_empty() {
                return Err(FilterError::UnexpectedVals(cmp));
            }
        }
    }
    // Existence checks may test the empty key; every other operator needs a real one.
    if node.key.is_empty() && !matches!(cmp, Cmp::Ex | Cmp::Nex) {
        return Err(FilterError::MissingKey(cmp));
    }

    let val = || Box::<str>::from(node.val.as_str());
    let numeric = |accept: fn(Ordering) -> bool| Test::Num {
        accept,
        bound: parse_decimal(&node.val).map(Decimal::into_owned),
    };
    let test = match cmp {
        Cmp::Eq => Test::Eq(val()),
        Cmp::Neq => Test::Neq(val()),
        Cmp::In => Test::In(ValueSet::new(&node.vals)),
        Cmp::Nin => Test::Nin(ValueSet::new(&node.vals)),
        Cmp::Ex => Test::Ex,
        Cmp::Nex => Test::Nex,
        Cmp::Sw => Test::Sw(val()),
        Cmp::Ew => Test::Ew(val()),
        Cmp::Ct => Test::Ct(val()),
        Cmp::Lt => numeric(Ordering::is_lt),
        Cmp::Lte => numeric(Ordering::is_le),
        Cmp::Gt => numeric(Ordering::is_gt),
        Cmp::Gte => numeric(Ordering::is_ge),
    };
    Ok(Node::Leaf {
        key: node.key.as_str().into(),
        test,
    })
}

/// Cuts a client-supplied name for an error message, on a character boundary.
fn echo(name: &str) -> String {
    match name.char_indices().nth(ECHO_LIMIT) {
        Some((end, _)) => format!("{}…", &name[..end]),
        None => name.to_owned(),
    }
}

impl Node {
    fn eval<S: BuildHasher>(&self, tags: &HashMap<String, String, S>) -> bool {
        match self {
            Node::And(children) => children.iter().all(|child| child.eval(tags)),
            Node::Or(children) => children.iter().any(|child| child.eval(tags)),
            Node::Not(child) => !child.eval(tags),
            Node::Leaf { key, test } => test.eval(tags.get(&**key).map(String::as_str)),
        }
    }
}

impl Test {
    fn eval(&self, value: Option<&str>) -> bool {
        match (self, value) {
            (Test::Ex, value) => value.is_some(),
            (Test::Nex, value) => value.is_none(),
            (Test::Neq(want), value) => value != Some(&**want),
            // Membership treats a missing key as an empty value: `""` in the list matches it.
            (Test::In(set), value) => set.contains(value.unwrap_or("")),
            (Test::Nin(set), value) => !set.contains(value.unwrap_or("")),
            (_, None) => false,
            (Test::Eq(want), Some(value)) => value == &**want,
            (Test::Sw(prefix), Some(value)) => value.starts_with(&**prefix),
            (Test::Ew(suffix), Some(value)) => value.ends_with(&**suffix),
            (Test::Ct(needle), Some(value)) => value.contains(&**needle),
            (Test::Num { accept, bound }, Some(value)) => match (parse_decimal(value), bound) {
                (Some(value), Some(bound)) => accept(value.cmp_to(&bound.view())),
                _ => false,
            },
        }
    }
}

/// Values of an `in`/`nin` leaf.
#[derive(Debug, Clone)]
enum ValueSet {
    Few(Box<[Box<str>]>),
    Many(HashSet<Box<str>>),
}

impl ValueSet {
    fn new(vals: &[String]) -> ValueSet {
        if vals.len() < SET_THRESHOLD {
            ValueSet::Few(vals.iter().map(|v| v.as_str().into()).collect())
        } else {
            ValueSet::Many(vals.iter().map(|v| v.as_str().into()).collect())
        }
    }

    fn contains(&self, value: &str) -> bool {
        match self {
            ValueSet::Few(vals) => vals.iter().any(|v| &**v == value),
            ValueSet::Many(vals) => vals.contains(value),
        }
    }
}

/// A decimal number split into normalised digit strings, borrowed from its text.
///
/// `int` has no leading zeros and `frac` no trailing zeros, so zero is two empty strings and
/// is never negative; equal numbers then have equal representations and magnitudes compare as
/// (integer digit count, integer digits, fraction digits), all lexicographically. That keeps
/// comparisons exact for any accepted length without big-number arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Decimal<'a> {
    negative: bool,
    int: &'a str,
    frac: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct OwnedDecimal {
    negative: bool,
    int: Box<str>,
    frac: Box<str>,
}

/// Parses a number in the syntax Centrifugo accepts for numeric comparisons: an optional `+` or
/// `-`, at least one ASCII digit, then optionally `.` followed by 1 to 19 digits; at most 200
/// bytes in total. No exponent, no whitespace, no leading or trailing `.`.
fn parse_decimal(text: &str) -> Option<Decimal<'_>> {
    if text.is_empty() || text.len() > MAX_NUMBER_LEN {
        return None;
    }
    let (negative, body) = match text.as_bytes()[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (int, frac) = match body.split_once('.') {
        Some((int, frac)) => (int, frac),
        None => (body, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !all_digits(int) {
        return None;
    }
    if body.len() != int.len() && (frac.is_empty() || frac.len() > MAX_FRACTION_DIGITS || !all_digits(frac)) {
        return None;
    }
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    Some(Decimal {
        negative: negative && !(int.is_empty() && frac.is_empty()),
        int,
        frac,
    })
}

impl Decimal<'_> {
    fn cmp_to(&self, other: &Decimal<'_>) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_magnitude(other),
            (true, true) => other.cmp_magnitude(self),
        }
    }

    fn cmp_magnitude(&self, other: &Decimal<'_>) -> Ordering {
        self.int
            .len()
            .cmp(&other.int.len())
            .then_with(|| self.int.cmp(other.int))
            .then_with(|| self.frac.cmp(other.frac))
    }

    fn into_owned(self) -> OwnedDecimal {
        OwnedDecimal {
            negative: self.negative,
            int: self.int.into(),
            frac: self.frac.into(),
        }
    }
}

impl OwnedDecimal {
    fn view(&self) -> Decimal<'_> {
        Decimal {
            negative: self.negative,
            int: &self.int,
            frac: &self.frac,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        parse_decimal(a).unwrap().cmp_to(&parse_decimal(b).unwrap())
    }

    #[test]
    fn decimal_syntax() {
        for ok in ["0", "-0", "+7", "007", "1.5", "-0.000", "1.0000000000000000000"] {
            assert!(parse_decimal(ok).is_some(), "{ok:?} should parse");
        }
        for bad in [
            "",
            "-",
            "+",
            ".5",
            "-.5",
            "5.",
            "1.2.3",
            "1e3",
            " 1",
            "1 ",
            "+-1",
            "--1",
            "0x1",
            "١",
            "1_000",
            "NaN",
            "inf",
            "1.00000000000000000000",
        ] {
            assert!(parse_decimal(bad).is_none(), "{bad:?} should not parse");
        }
        assert!(parse_decimal(&"9".repeat(MAX_NUMBER_LEN)).is_some());
        assert!(parse_decimal(&"9".repeat(MAX_NUMBER_LEN + 1)).is_none());
    }

    #[test]
    fn decimal_order() {
        assert_eq!(cmp("-0", "0"), Ordering::Equal);
        assert_eq!(cmp("0.50", "+0.5"), Ordering::Equal);
        assert_eq!(cmp("010", "10.000"), Ordering::Equal);
        assert_eq!(cmp("0.6", "0.51"), Ordering::Greater);
        assert_eq!(cmp("0.5", "0.51"), Ordering::Less);
        assert_eq!(cmp("-0.5", "-0.51"), Ordering::Greater);
        assert_eq!(cmp("-1", "0"), Ordering::Less);
        assert_eq!(cmp("99", "100"), Ordering::Less);
        assert_eq!(cmp("-99", "-100"), Ordering::Greater);
    }

    #[test]
    fn echo_cuts_long_names_on_char_boundary() {
        assert_eq!(echo("xor"), "xor");
        let long = "é".repeat(40);
        assert_eq!(echo(&long), format!("{}…", "é".repeat(ECHO_LIMIT)));
    }
}
