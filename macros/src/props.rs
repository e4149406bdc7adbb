//! Property tests: the attribute never panics, whatever tokens it is given; errors are
//! compile errors next to the unchanged function.

use proc_macro2::TokenStream;
use proptest::prelude::*;

use crate::expand::run_attribute;
use crate::kind::Kind;

/// Pieces of argument lists, right and wrong: keys, values, punctuation, delimiters.
const VOCABULARY: &[&str] = &[
    "name",
    "crate",
    "skip",
    "tags",
    "=",
    "==",
    ",",
    ";",
    ":",
    "::",
    "\"run_{i}\"",
    "\"{\"",
    "\"}\"",
    "\"{{\"",
    "\"{i\"",
    "\"{nope}\"",
    "\"{x.y}\"",
    "\"\"",
    "\"plain\"",
    "r\"raw{i}\"",
    "b\"bytes\"",
    "'c'",
    "42",
    "1.5",
    "-",
    "my::path",
    "self",
    "super",
    "crate::x",
    "mlflow",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "#",
    "!",
    "&",
    "'a",
    "_",
    "i",
    "x",
];

/// Functions the attributes are put on.
const ITEMS: &[&str] = &[
    "fn f(i: u32, x: u32) {}",
    "fn f(i: u32) -> Result<(), String> { Ok(()) }",
    "async fn f(i: u32) -> u32 { i }",
    "fn f() {}",
    "fn f<T: Clone>(i: T) -> T { i }",
];

fn tokens() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(VOCABULARY), 0..12)
        .prop_map(|words| words.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_attribute_never_panics(args in tokens(), item in proptest::sample::select(ITEMS), child in any::<bool>()) {
        // Unbalanced delimiters never reach a macro: the compiler refuses them first.
        let Ok(args) = args.parse::<TokenStream>() else { return Ok(()) };
        let item: TokenStream = item.parse().unwrap();
        let kind = if child { Kind::Child } else { Kind::Parent };
        let out = std::panic::catch_unwind(|| run_attribute(kind, args.clone(), item.clone()));
        prop_assert!(out.is_ok(), "panicked on `{}`", args);
        // The function always comes out, expanded or unchanged next to an error.
        prop_assert!(out.unwrap().to_string().contains("fn f"));
    }

    #[test]
    fn name_templates_never_panic(template in "[{}a-z_0-9:.?]{0,16}") {
        let _ = crate::template::parse(&template);
    }
}
