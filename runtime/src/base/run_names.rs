//! Names for runs that were given none, made as MLflow makes them (`_generate_random_name`
//! in `mlflow/utils/name_utils.py`): an adjective, an animal and a number from 0 to 1000,
//! joined by `-` (`adaptable-owl-412`), drawn again when longer than 20 characters, up to
//! ten times, then cut to 20.

/// The longest name MLflow generates.
const MAX_LENGTH: usize = 20;

/// A run name as MLflow's stores generate one for a run created without a name.
pub(crate) fn random_run_name() -> String {
    let mut name = String::new();
    for _ in 0..10 {
        name = draw();
        if name.len() <= MAX_LENGTH {
            return name;
        }
    }
    // The words are ASCII: any cut is on a character boundary.
    name.truncate(MAX_LENGTH);
    name
}

/// One name: each part uniform, as Python's `random.choice` and `random.randint(0, 1000)`.
fn draw() -> String {
    // The low 62 bits of a version 4 UUID are random; the three draws use 25 of them, and
    // the bias of the remainders, below 2^-37, does not matter.
    let mut bits = uuid::Uuid::new_v4().as_u128() & ((1 << 62) - 1);
    let mut below = |n: usize| {
        let pick = (bits % n as u128) as usize;
        bits /= n as u128;
        pick
    };
    let predicate = PREDICATES[below(PREDICATES.len())];
    let noun = NOUNS[below(NOUNS.len())];
    let number = below(1001);
    format!("{predicate}-{noun}-{number}")
}

// The word lists are MLflow's (`_GENERATOR_PREDICATES` and `_GENERATOR_NOUNS` in
// `mlflow/utils/name_utils.py`, MLflow 3.17.2, https://github.com/mlflow/mlflow),
// Copyright 2018 Databricks, Inc., under the Apache License, Version 2.0
// (http://www.apache.org/licenses/LICENSE-2.0), copied unchanged and in order (the
// predicates' one duplicate, "resilient", included, so that the draws are MLflow's).
const PREDICATES: [&str; 159] = [
    "abundant",
    "able",
    "abrasive",
    "adorable",
    "adaptable",
    "adventurous",
    "aged",
    "agreeable",
    "ambitious",
    "amazing",
    "amusing",
    "angry",
    "auspicious",
    "awesome",
    "bald",
    "beautiful",
    "bemused",
    "bedecked",
    "big",
    "bittersweet",
    "blushing",
    "bold",
    "bouncy",
    "brawny",
    "bright",
    "burly",
    "bustling",
    "calm",
    "capable",
    "carefree",
    "capricious",
    "caring",
    "casual",
    "charming",
    "chill",
    "classy",
    "clean",
    "clumsy",
    "colorful",
    "crawling",
    "dapper",
    "debonair",
    "dashing",
    "defiant",
    "delicate",
    "delightful",
    "dazzling",
    "efficient",
    "enchanting",
    "entertaining",
    "enthused",
    "exultant",
    "fearless",
    "flawless",
    "fortunate",
    "fun",
    "funny",
    "gaudy",
    "gentle",
    "gifted",
    "glamorous",
    "grandiose",
    "gregarious",
    "handsome",
    "hilarious",
    "honorable",
    "illustrious",
    "incongruous",
    "indecisive",
    "industrious",
    "intelligent",
    "inquisitive",
    "intrigued",
    "invincible",
    "judicious",
    "kindly",
    "languid",
    "learned",
    "legendary",
    "likeable",
    "loud",
    "luminous",
    "luxuriant",
    "lyrical",
    "magnificent",
    "marvelous",
    "masked",
    "melodic",
    "merciful",
    "mercurial",
    "monumental",
    "mysterious",
    "nebulous",
    "nervous",
    "nimble",
    "nosy",
    "omniscient",
    "orderly",
    "overjoyed",
    "peaceful",
    "painted",
    "persistent",
    "placid",
    "polite",
    "popular",
    "powerful",
    "puzzled",
    "rambunctious",
    "rare",
    "rebellious",
    "respected",
    "resilient",
    "righteous",
    "receptive",
    "redolent",
    "resilient",
    "rogue",
    "rumbling",
    "salty",
    "sassy",
    "secretive",
    "selective",
    "sedate",
    "serious",
    "shivering",
    "skillful",
    "sincere",
    "skittish",
    "silent",
    "smiling",
    "sneaky",
    "sophisticated",
    "spiffy",
    "stately",
    "suave",
    "stylish",
    "tasteful",
    "thoughtful",
    "thundering",
    "traveling",
    "treasured",
    "trusting",
    "unequaled",
    "upset",
    "unique",
    "unleashed",
    "useful",
    "upbeat",
    "unruly",
    "valuable",
    "vaunted",
    "victorious",
    "welcoming",
    "whimsical",
    "wistful",
    "wise",
    "worried",
    "youthful",
    "zealous",
];
const NOUNS: [&str; 123] = [
    "ant", "ape", "asp", "auk", "bass", "bat", "bear", "bee", "bird", "boar", "bug", "calf",
    "carp", "cat", "chimp", "cod", "colt", "conch", "cow", "crab", "crane", "croc", "crow", "cub",
    "deer", "doe", "dog", "dolphin", "donkey", "dove", "duck", "eel", "elk", "fawn", "finch",
    "fish", "flea", "fly", "foal", "fowl", "fox", "frog", "gnat", "gnu", "goat", "goose", "grouse",
    "grub", "gull", "hare", "hawk", "hen", "hog", "horse", "hound", "jay", "kit", "kite", "koi",
    "lamb", "lark", "loon", "lynx", "mare", "midge", "mink", "mole", "moose", "moth", "mouse",
    "mule", "newt", "owl", "ox", "panda", "penguin", "perch", "pig", "pug", "quail", "ram", "rat",
    "ray", "robin", "roo", "rook", "seal", "shad", "shark", "sheep", "shoat", "shrew", "shrike",
    "shrimp", "skink", "skunk", "sloth", "slug", "smelt", "snail", "snake", "snipe", "sow",
    "sponge", "squid", "squirrel", "stag", "steed", "stoat", "stork", "swan", "tern", "toad",
    "trout", "turtle", "vole", "wasp", "whale", "wolf", "worm", "wren", "yak", "zebra",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_have_mlflows_shape() {
        for _ in 0..2000 {
            let name = random_run_name();
            assert!(name.len() <= MAX_LENGTH, "{name}");
            let parts: Vec<&str> = name.split('-').collect();
            assert!(PREDICATES.contains(&parts[0]), "{name}");
            if let [_, noun, number] = parts[..]
                && name.len() < MAX_LENGTH
            {
                assert!(NOUNS.contains(&noun), "{name}");
                assert!(number.parse::<u16>().is_ok_and(|n| n <= 1000), "{name}");
            }
        }
    }

    /// The lists are MLflow's, in its order: read from the venv's `name_utils.py` without
    /// importing MLflow.
    #[test]
    fn the_words_are_mlflows() {
        mlflow_test_support::require_python!();
        let json = mlflow_test_support::run_python(
            r#"
import ast, importlib.util, json, os
root = os.path.dirname(importlib.util.find_spec("mlflow").origin)
tree = ast.parse(open(os.path.join(root, "utils", "name_utils.py")).read())
lists = {t.id: ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
         for t in n.targets if isinstance(t, ast.Name) and t.id.startswith("_GENERATOR_")}
print(json.dumps(lists))
"#,
            &[],
        );
        let words = |key: &str| -> Vec<String> {
            serde_json::from_value(json[key].clone()).expect("a list of words")
        };
        assert_eq!(words("_GENERATOR_PREDICATES"), PREDICATES);
        assert_eq!(words("_GENERATOR_NOUNS"), NOUNS);
    }
}
