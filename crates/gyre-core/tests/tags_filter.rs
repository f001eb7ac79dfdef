//! Publication tags filter: operator semantics, validation errors, size bounds, and a property
//! test comparing the compiled matcher with a direct tree interpreter.

use std::collections::HashMap;

use gyre_core::tags_filter::{
    compile, validate, Cmp, CompiledFilter, FilterError, MAX_DEPTH, MAX_NODES, MAX_VALS,
};
use gyre_protocol::FilterNode;
use proptest::prelude::*;

fn leaf(key: &str, cmp: &str, val: &str) -> FilterNode {
    FilterNode {
        key: key.into(),
        cmp: cmp.into(),
        val: val.into(),
        ..FilterNode::default()
    }
}

fn leaf_vals(key: &str, cmp: &str, vals: &[&str]) -> FilterNode {
    FilterNode {
        key: key.into(),
        cmp: cmp.into(),
        vals: vals.iter().map(|v| v.to_string()).collect(),
        ..FilterNode::default()
    }
}

fn logical(op: &str, nodes: Vec<FilterNode>) -> FilterNode {
    FilterNode {
        op: op.into(),
        nodes,
        ..FilterNode::default()
    }
}

fn and(nodes: Vec<FilterNode>) -> FilterNode {
    logical("and", nodes)
}

fn or(nodes: Vec<FilterNode>) -> FilterNode {
    logical("or", nodes)
}

fn not(node: FilterNode) -> FilterNode {
    logical("not", vec![node])
}

fn tags(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn compiled(filter: &FilterNode) -> CompiledFilter {
    compile(filter).unwrap_or_else(|err| panic!("filter should compile: {err}"))
}

fn matches(filter: &FilterNode, pairs: &[(&str, &str)]) -> bool {
    compiled(filter).matches(&tags(pairs))
}

fn rejected(filter: &FilterNode) -> FilterError {
    let err = compile(filter).expect_err("filter should be rejected");
    assert_eq!(
        validate(filter),
        Err(err.clone()),
        "validate and compile disagree"
    );
    err
}

#[test]
fn eq_needs_the_key_with_the_exact_value() {
    let f = leaf("color", "eq", "red");
    assert!(matches(&f, &[("color", "red")]));
    assert!(!matches(&f, &[("color", "Red")]));
    assert!(!matches(&f, &[("color", "red ")]));
    assert!(!matches(&f, &[("shade", "red")]));
    assert!(!matches(&f, &[]));
}

#[test]
fn neq_holds_for_other_values_and_missing_keys() {
    let f = leaf("color", "neq", "red");
    assert!(matches(&f, &[("color", "blue")]));
    assert!(matches(&f, &[("color", "")]));
    assert!(!matches(&f, &[("color", "red")]));
    assert!(matches(&f, &[]));
    assert!(matches(&f, &[("shade", "red")]));
}

#[test]
fn in_and_nin_membership() {
    let f = leaf_vals("zone", "in", &["north", "south"]);
    assert!(matches(&f, &[("zone", "north")]));
    assert!(matches(&f, &[("zone", "south")]));
    assert!(!matches(&f, &[("zone", "east")]));
    assert!(!matches(&f, &[]));

    let f = leaf_vals("zone", "nin", &["north", "south"]);
    assert!(!matches(&f, &[("zone", "north")]));
    assert!(matches(&f, &[("zone", "east")]));
    assert!(matches(&f, &[]));
}

#[test]
fn membership_treats_a_missing_key_as_an_empty_value() {
    let with_empty = ["", "north"];
    let f = leaf_vals("zone", "in", &with_empty);
    assert!(matches(&f, &[]));
    assert!(matches(&f, &[("zone", "")]));
    assert!(!matches(&f, &[("zone", "east")]));

    let f = leaf_vals("zone", "nin", &with_empty);
    assert!(!matches(&f, &[]));
    assert!(!matches(&f, &[("zone", "")]));
    assert!(matches(&f, &[("zone", "east")]));
}

#[test]
fn large_value_lists_behave_like_small_ones() {
    let many: Vec<String> = (0..500).map(|i| format!("v{i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let f_in = leaf_vals("k", "in", &refs);
    let f_nin = leaf_vals("k", "nin", &refs);
    for probe in ["v0", "v250", "v499"] {
        assert!(matches(&f_in, &[("k", probe)]));
        assert!(!matches(&f_nin, &[("k", probe)]));
    }
    for probe in ["v500", "v", "", "V1"] {
        assert!(!matches(&f_in, &[("k", probe)]));
        assert!(matches(&f_nin, &[("k", probe)]));
    }
    assert!(!matches(&f_in, &[]));
    assert!(matches(&f_nin, &[]));

    let mut with_empty = refs.clone();
    with_empty.push("");
    assert!(matches(&leaf_vals("k", "in", &with_empty), &[]));
    assert!(!matches(&leaf_vals("k", "nin", &with_empty), &[]));
}

#[test]
fn ex_and_nex_test_presence_only() {
    let ex = leaf("debug", "ex", "");
    let nex = leaf("debug", "nex", "");
    for present in [&[("debug", "1")][..], &[("debug", "")][..]] {
        assert!(matches(&ex, present));
        assert!(!matches(&nex, present));
    }
    assert!(!matches(&ex, &[("other", "1")]));
    assert!(matches(&nex, &[("other", "1")]));

    // Existence checks are the only ones allowed on the empty key.
    let ex_empty = leaf("", "ex", "");
    assert!(matches(&ex_empty, &[("", "x")]));
    assert!(!matches(&ex_empty, &[("a", "x")]));
    assert!(matches(&leaf("", "nex", ""), &[("a", "x")]));
}

#[test]
fn string_prefix_suffix_and_substring() {
    let sw = leaf("path", "sw", "/api");
    assert!(matches(&sw, &[("path", "/api/v1")]));
    assert!(matches(&sw, &[("path", "/api")]));
    assert!(!matches(&sw, &[("path", "/v1/api")]));
    assert!(!matches(&sw, &[]));

    let ew = leaf("file", "ew", ".rs");
    assert!(matches(&ew, &[("file", "lib.rs")]));
    assert!(!matches(&ew, &[("file", "lib.rs.bak")]));
    assert!(!matches(&ew, &[]));

    let ct = leaf("title", "ct", "ös");
    assert!(matches(&ct, &[("title", "Rösti")]));
    assert!(!matches(&ct, &[("title", "Rosti")]));
    assert!(!matches(&ct, &[("title", "")]));
    assert!(!matches(&ct, &[]));
}

/// `(tag value, bound, expected lt, lte, gt, gte)`.
const NUMERIC_CASES: &[(&str, &str, [bool; 4])] = &[
    ("5", "10", [true, true, false, false]),
    ("10", "10", [false, true, false, true]),
    ("11", "10", [false, false, true, true]),
    ("-3", "2", [true, true, false, false]),
    ("-3", "-2", [true, true, false, false]),
    ("-1", "-10", [false, false, true, true]),
    ("2.5", "2.49", [false, false, true, true]),
    ("2.50", "2.5", [false, true, false, true]),
    ("0.1", "0.09999999999999999999", [false, false, false, false]), // 20 fraction digits
    ("0.1", "0.0999999999999999999", [false, false, true, true]),    // 19 fraction digits
    ("-0", "0", [false, true, false, true]),
    ("+4", "4.0", [false, true, false, true]),
    ("007", "7", [false, true, false, true]),
    ("42.00000001", "42", [false, false, true, true]),
    ("41.99999999", "42", [true, true, false, false]),
    // Larger than any machine integer: still compared exactly.
    (
        "123456789012345678901234567890123456789012345",
        "123456789012345678901234567890123456789012344.9999",
        [false, false, true, true],
    ),
    (
        "-99999999999999999999999999999999999999999",
        "-100000000000000000000000000000000000000000",
        [false, false, true, true],
    ),
    // Not numeric on the tag side, the bound side, or both: every comparison is false.
    ("abc", "10", [false; 4]),
    ("10", "abc", [false; 4]),
    ("abc", "abc", [false; 4]),
    ("1e3", "10", [false; 4]),
    (" 5", "10", [false; 4]),
    ("5", ".5", [false; 4]),
    ("5.", "10", [false; 4]),
    ("", "10", [false; 4]),
    ("--5", "10", [false; 4]),
    ("0x10", "1", [false; 4]),
    ("NaN", "1", [false; 4]),
];

#[test]
fn numeric_comparisons() {
    for &(value, bound, expected) in NUMERIC_CASES {
        for (cmp, want) in ["lt", "lte", "gt", "gte"].into_iter().zip(expected) {
            let f = leaf("n", cmp, bound);
            assert_eq!(matches(&f, &[("n", value)]), want, "{value:?} {cmp} {bound:?}");
            assert!(!matches(&f, &[]), "missing key must fail {cmp}");
        }
    }
}

#[test]
fn numeric_length_limit_is_200_bytes() {
    let longest = "9".repeat(200);
    let too_long = "9".repeat(201);
    assert!(matches(&leaf("n", "gt", "1"), &[("n", &longest)]));
    assert!(!matches(&leaf("n", "gt", "1"), &[("n", &too_long)]));
    assert!(!matches(&leaf("n", "lt", &too_long), &[("n", "1")]));
}

#[test]
fn not_of_a_false_numeric_comparison_is_true() {
    // A non-numeric value fails both `lt` and `gte`, so `not lt` is not the same as `gte`.
    let f = not(leaf("n", "lt", "5"));
    assert!(matches(&f, &[("n", "five")]));
    assert!(!matches(&leaf("n", "gte", "5"), &[("n", "five")]));
}

#[test]
fn logical_nodes_combine_children() {
    let a = || leaf("a", "eq", "1");
    let b = || leaf("b", "eq", "1");
    type Pairs = &'static [(&'static str, &'static str)];
    let cases: [(Pairs, bool, bool); 4] = [
        (&[], false, false),
        (&[("a", "1")], false, true),
        (&[("b", "1")], false, true),
        (&[("a", "1"), ("b", "1")], true, true),
    ];
    for (pairs, want_and, want_or) in cases {
        assert_eq!(matches(&and(vec![a(), b()]), pairs), want_and, "and {pairs:?}");
        assert_eq!(matches(&or(vec![a(), b()]), pairs), want_or, "or {pairs:?}");
        assert_eq!(matches(&not(and(vec![a(), b()])), pairs), !want_and);
        assert_eq!(matches(&not(or(vec![a(), b()])), pairs), !want_or);
    }
    assert!(matches(&and(vec![a()]), &[("a", "1")]));
    assert!(!matches(&or(vec![a()]), &[]));
    assert!(matches(&not(not(a())), &[("a", "1")]));
}

#[test]
fn nested_filter() {
    // (kind = trade and venue in {x, y}) or (size >= 100 and not ex test)
    let f = or(vec![
        and(vec![
            leaf("kind", "eq", "trade"),
            leaf_vals("venue", "in", &["x", "y"]),
        ]),
        and(vec![leaf("size", "gte", "100"), not(leaf("test", "ex", ""))]),
    ]);
    assert!(matches(&f, &[("kind", "trade"), ("venue", "y")]));
    assert!(!matches(&f, &[("kind", "trade"), ("venue", "z")]));
    assert!(matches(&f, &[("size", "100.0")]));
    assert!(!matches(&f, &[("size", "100"), ("test", "")]));
    assert!(matches(&f, &[("kind", "quote"), ("size", "250"), ("venue", "z")]));
    assert!(!matches(&f, &[("kind", "quote"), ("size", "99.99")]));
    assert!(!matches(&f, &[]));
}

#[test]
fn matches_accepts_any_hasher() {
    let f = compiled(&leaf("a", "eq", "1"));
    let mut map: HashMap<String, String, std::hash::BuildHasherDefault<DummyHasher>> = HashMap::default();
    map.insert("a".into(), "1".into());
    assert!(f.matches(&map));
}

#[derive(Default)]
struct DummyHasher(u64);

impl std::hash::Hasher for DummyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.wrapping_mul(31).wrapping_add(u64::from(b));
        }
    }
}

#[test]
fn every_validation_error() {
    let cases: Vec<(FilterNode, FilterError)> = vec![
        (logical("xor", vec![]), FilterError::UnknownOp("xor".into())),
        (
            logical("AND", vec![leaf("a", "ex", "")]),
            FilterError::UnknownOp("AND".into()),
        ),
        (leaf("a", "", "1"), FilterError::MissingCmp),
        (leaf("a", "like", "1"), FilterError::UnknownCmp("like".into())),
        (leaf("a", "EQ", "1"), FilterError::UnknownCmp("EQ".into())),
        (leaf("", "eq", "1"), FilterError::MissingKey(Cmp::Eq)),
        (leaf_vals("", "in", &["1"]), FilterError::MissingKey(Cmp::In)),
        (leaf("", "gt", "1"), FilterError::MissingKey(Cmp::Gt)),
        (
            FilterNode {
                vals: vec!["1".into()],
                ..leaf("a", "eq", "1")
            },
            FilterError::UnexpectedVals(Cmp::Eq),
        ),
        (
            FilterNode {
                val: "1".into(),
                ..leaf_vals("a", "in", &["1"])
            },
            FilterError::UnexpectedVal(Cmp::In),
        ),
        (leaf_vals("a", "in", &[]), FilterError::MissingVals(Cmp::In)),
        (leaf_vals("a", "nin", &[]), FilterError::MissingVals(Cmp::Nin)),
        (leaf("a", "ex", "1"), FilterError::UnexpectedVal(Cmp::Ex)),
        (
            leaf_vals("a", "nex", &["1"]),
            FilterError::UnexpectedVals(Cmp::Nex),
        ),
        (logical("and", vec![]), FilterError::NoChildren { op: "and" }),
        (logical("or", vec![]), FilterError::NoChildren { op: "or" }),
        (logical("not", vec![]), FilterError::NotArity(0)),
        (
            logical("not", vec![leaf("a", "ex", ""), leaf("b", "ex", "")]),
            FilterError::NotArity(2),
        ),
        // Errors deep inside a tree surface too.
        (
            and(vec![leaf("a", "ex", ""), or(vec![not(leaf("b", "gt", ""))])]),
            FilterError::MissingVal(Cmp::Gt),
        ),
    ];
    for (filter, want) in cases {
        assert_eq!(rejected(&filter), want, "{filter:?}");
    }
    for cmp in ["eq", "neq", "sw", "ew", "ct", "lt", "lte", "gt", "gte"] {
        let want = FilterError::MissingVal(Cmp::from_wire(cmp).unwrap());
        assert_eq!(rejected(&leaf("a", cmp, "")), want);
    }
}

#[test]
fn echoed_names_are_truncated() {
    let long = "x".repeat(10_000);
    match rejected(&logical(&long, vec![])) {
        FilterError::UnknownOp(name) => assert!(name.chars().count() <= 33, "{name}"),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn fields_a_node_does_not_use_are_ignored() {
    // Children of a leaf: neither validated nor evaluated.
    let leaf_with_children = FilterNode {
        nodes: vec![logical("bogus", vec![])],
        ..leaf("a", "eq", "1")
    };
    assert!(matches(&leaf_with_children, &[("a", "1")]));

    // Leaf fields on a logical node.
    let and_with_leaf_fields = FilterNode {
        key: "zzz".into(),
        cmp: "bogus".into(),
        val: "v".into(),
        vals: vec!["w".into()],
        ..and(vec![leaf("a", "ex", "")])
    };
    assert!(matches(&and_with_leaf_fields, &[("a", "")]));

    // A non-numeric bound is valid; the comparison never holds.
    let f = leaf("n", "gt", "ten");
    assert_eq!(validate(&f), Ok(()));
    assert!(!matches(&f, &[("n", "11")]));
    assert!(!matches(&f, &[("n", "ten")]));
}

#[test]
fn display_messages_name_the_operator() {
    assert_eq!(
        FilterError::MissingVals(Cmp::Nin).to_string(),
        "nin filter node requires non-empty vals"
    );
    for cmp in Cmp::ALL {
        assert_eq!(Cmp::from_wire(cmp.as_str()), Some(cmp));
        assert_eq!(cmp.to_string(), cmp.as_str());
    }
    assert_eq!(Cmp::from_wire(""), None);
}

fn chain(depth: usize) -> FilterNode {
    let mut node = leaf("a", "ex", "");
    for _ in 1..depth {
        node = not(node);
    }
    node
}

#[test]
fn depth_limit() {
    assert_eq!(MAX_DEPTH, 16);
    assert!(matches(&chain(MAX_DEPTH), &[]));
    assert_eq!(
        rejected(&chain(MAX_DEPTH + 1)),
        FilterError::TooDeep { limit: MAX_DEPTH }
    );
    // A very deep tree is rejected without being walked to the bottom.
    assert_eq!(rejected(&chain(5_000)), FilterError::TooDeep { limit: MAX_DEPTH });
}

#[test]
fn node_count_limit() {
    assert_eq!(MAX_NODES, 256);
    let leaves = |n: usize| (0..n).map(|i| leaf(&format!("k{i}"), "nex", "")).collect();
    // The root plus 255 leaves is exactly the limit.
    assert!(matches(&and(leaves(MAX_NODES - 1)), &[]));
    assert_eq!(
        rejected(&and(leaves(MAX_NODES))),
        FilterError::TooManyNodes { limit: MAX_NODES }
    );
    // Counted across levels, not per parent: 1 + 15 × (1 + 16) = 256, 1 + 16 × (1 + 15) = 257.
    let exact = or((0..15).map(|_| and(leaves(16))).collect());
    assert!(matches(&exact, &[]));
    let over = or((0..16).map(|_| and(leaves(15))).collect());
    assert_eq!(rejected(&over), FilterError::TooManyNodes { limit: MAX_NODES });
}

#[test]
fn vals_limit() {
    assert_eq!(MAX_VALS, 1024);
    let vals = |n: usize| (0..n).map(|i| i.to_string()).collect::<Vec<_>>();
    let at_limit = FilterNode {
        vals: vals(MAX_VALS),
        ..leaf("k", "in", "")
    };
    assert!(matches(&at_limit, &[("k", "1023")]));
    for cmp in ["in", "nin"] {
        let over = FilterNode {
            vals: vals(MAX_VALS + 1),
            ..leaf("k", cmp, "")
        };
        assert_eq!(
            rejected(&over),
            FilterError::TooManyVals {
                count: MAX_VALS + 1,
                limit: MAX_VALS
            }
        );
    }
}

// ---- Property tests -------------------------------------------------------------------------

/// Direct interpretation of the tree, written independently of the compiled form.
fn interpret(node: &FilterNode, tags: &HashMap<String, String>) -> bool {
    match node.op.as_str() {
        "and" => node.nodes.iter().all(|n| interpret(n, tags)),
        "or" => node.nodes.iter().any(|n| interpret(n, tags)),
        "not" => !interpret(&node.nodes[0], tags),
        "" => {
            let got = tags.get(&node.key);
            let text = got.map(String::as_str).unwrap_or("");
            let numeric = |accept: fn(i128, i128) -> bool| match (got, scaled(&node.val)) {
                (Some(v), Some(bound)) => scaled(v).is_some_and(|v| accept(v, bound)),
                _ => false,
            };
            match node.cmp.as_str() {
                "eq" => got == Some(&node.val),
                "neq" => got != Some(&node.val),
                "in" => node.vals.iter().any(|v| v == text),
                "nin" => !node.vals.iter().any(|v| v == text),
                "ex" => got.is_some(),
                "nex" => got.is_none(),
                "sw" => got.is_some() && text.starts_with(&node.val),
                "ew" => got.is_some() && text.ends_with(&node.val),
                "ct" => got.is_some() && text.contains(&node.val),
                "lt" => numeric(|a, b| a < b),
                "lte" => numeric(|a, b| a <= b),
                "gt" => numeric(|a, b| a > b),
                "gte" => numeric(|a, b| a >= b),
                other => panic!("interpreting unvalidated cmp {other:?}"),
            }
        }
        other => panic!("interpreting unvalidated op {other:?}"),
    }
}

/// A short decimal as an integer count of 10^-19 units (inputs here are at most 12 bytes).
fn scaled(text: &str) -> Option<i128> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = rest.split_once('.').unwrap_or((rest, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || (rest.contains('.') && (!digits(frac) || frac.len() > 19)) {
        return None;
    }
    let mut value: i128 = int.parse().expect("short integer part");
    for i in 0..19 {
        let digit = frac.as_bytes().get(i).map_or(0, |b| i128::from(b - b'0'));
        value = value * 10 + digit;
    }
    Some(if negative { -value } else { value })
}

fn count_nodes(node: &FilterNode) -> usize {
    1 + if node.op.is_empty() {
        0
    } else {
        node.nodes.iter().map(count_nodes).sum()
    }
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[abc]"]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[xy]{1,3}",
        "[-+]?[0-9]{1,3}(\\.[0-9]{1,3})?",
        "[-+.0-9e ]{1,6}",
        Just("0.0000000000000000001".to_owned()),
        Just("0.00000000000000000001".to_owned()),
    ]
}

fn any_cmp() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(Cmp::ALL.map(Cmp::as_str).to_vec()).prop_map(String::from),
        1 => Just(String::new()),
        1 => ".{0,4}",
    ]
}

fn any_op() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just("and".to_owned()),
        3 => Just("or".to_owned()),
        2 => Just("not".to_owned()),
        1 => Just(String::new()),
        1 => ".{0,4}",
    ]
}

/// Trees with arbitrary field values anywhere: mostly invalid.
fn any_tree() -> impl Strategy<Value = FilterNode> {
    let any_leaf = (key(), any_cmp(), value(), prop::collection::vec(value(), 0..3)).prop_map(
        |(key, cmp, val, vals)| FilterNode {
            key,
            cmp,
            val,
            vals,
            ..FilterNode::default()
        },
    );
    any_leaf.prop_recursive(20, 300, 5, |inner| {
        (
            any_op(),
            prop::collection::vec(inner, 0..5),
            key(),
            any_cmp(),
            value(),
        )
            .prop_map(|(op, nodes, key, cmp, val)| FilterNode {
                op,
                key,
                cmp,
                val,
                nodes,
                ..FilterNode::default()
            })
    })
}

/// Trees that satisfy every structural rule (size bounds aside).
fn valid_tree() -> impl Strategy<Value = FilterNode> {
    let nonempty = value().prop_filter("val required", |v| !v.is_empty());
    let valued = (
        "[abc]",
        proptest::sample::select(vec!["eq", "neq", "sw", "ew", "ct", "lt", "lte", "gt", "gte"]),
        nonempty,
    )
        .prop_map(|(key, cmp, val)| leaf(&key, cmp, &val));
    let listed = (
        "[abc]",
        proptest::sample::select(vec!["in", "nin"]),
        prop::collection::vec(value(), 1..12),
    )
        .prop_map(|(key, cmp, vals)| FilterNode {
            vals,
            ..leaf(&key, cmp, "")
        });
    let presence =
        (key(), proptest::sample::select(vec!["ex", "nex"])).prop_map(|(key, cmp)| leaf(&key, cmp, ""));
    let valid_leaf = prop_oneof![3 => valued, 2 => listed, 1 => presence];
    valid_leaf.prop_recursive(6, 120, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..5).prop_map(and),
            prop::collection::vec(inner.clone(), 1..5).prop_map(or),
            inner.prop_map(not),
        ]
    })
}

fn any_tags() -> impl Strategy<Value = HashMap<String, String>> {
    prop::collection::hash_map(key(), value(), 0..4)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn compile_and_match_never_panic(
        filter in any_tree(),
        tag_sets in prop::collection::vec(any_tags(), 1..4),
    ) {
        let compiled = compile(&filter);
        prop_assert_eq!(validate(&filter), compiled.as_ref().map(drop).map_err(Clone::clone));
        if let Ok(compiled) = compiled {
            for tags in &tag_sets {
                prop_assert_eq!(compiled.matches(tags), interpret(&filter, tags));
            }
        }
    }

    #[test]
    fn compiled_filter_agrees_with_interpreter(
        filter in valid_tree(),
        tag_sets in prop::collection::vec(any_tags(), 1..8),
    ) {
        match compile(&filter) {
            Ok(compiled) => {
                for tags in &tag_sets {
                    prop_assert_eq!(compiled.matches(tags), interpret(&filter, tags), "{:?}", tags);
                }
            }
            Err(err) => {
                prop_assert!(count_nodes(&filter) > MAX_NODES, "{err}");
                prop_assert_eq!(err, FilterError::TooManyNodes { limit: MAX_NODES });
            }
        }
    }
}
