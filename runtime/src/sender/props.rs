//! Property tests: key validation and value encoding (REST wire and spill lines).

use proptest::prelude::*;

use crate::base::validate;

/// Characters MLflow allows in keys (besides `/`).
fn key_char() -> impl Strategy<Value = char> {
    prop_oneof![
        proptest::char::range('a', 'z'),
        proptest::char::range('A', 'Z'),
        proptest::char::range('0', '9'),
        Just('_'),
        Just('-'),
        Just('.'),
        Just(' '),
        Just(':'),
        Just('é'),
        Just('ж'),
    ]
}

/// A path segment that normalizes to itself: not empty, not `.` or `..`.
fn segment() -> impl Strategy<Value = String> {
    proptest::collection::vec(key_char(), 1..12)
        .prop_map(|cs| cs.into_iter().collect::<String>())
        .prop_filter("not . or ..", |s| s != "." && s != "..")
}

proptest! {
    #[test]
    fn never_panics_on_any_key(k in any::<String>()) {
        let _ = validate::key("metric", &k);
    }

    #[test]
    fn well_formed_keys_are_accepted(segs in proptest::collection::vec(segment(), 1..6)) {
        let k = segs.join("/");
        prop_assume!(k.chars().count() <= 250);
        prop_assert!(validate::key("param", &k).is_ok(), "{k:?}");
    }

    #[test]
    fn a_forbidden_character_is_refused(
        a in segment(),
        bad in any::<char>().prop_filter("forbidden", |c| !(c.is_alphanumeric() || "_-. :/".contains(*c))),
        b in segment(),
    ) {
        let k = format!("{a}{bad}{b}");
        prop_assert!(validate::key("tag", &k).is_err(), "{k:?}");
    }

    #[test]
    fn a_key_that_is_not_its_own_normal_path_is_refused(
        a in segment(),
        b in segment(),
        shape in 0..5usize,
    ) {
        let k = match shape {
            0 => format!("/{a}"),
            1 => format!("{a}//{b}"),
            2 => format!("{a}/./{b}"),
            3 => format!("{a}/../{b}"),
            _ => format!("{a}/"),
        };
        prop_assert!(validate::key("metric", &k).is_err(), "{k:?}");
    }

    #[test]
    fn long_keys_are_refused(k in proptest::collection::vec(key_char(), 251..300)) {
        let k: String = k.into_iter().collect();
        prop_assume!(!k.contains('/'));
        prop_assert!(validate::key("metric", &k).is_err());
    }

    #[test]
    fn truncation_keeps_a_prefix_within_the_limit(v in any::<String>(), limit in 0..40usize) {
        let out = validate::truncate_value("param", "k", v.clone(), limit);
        prop_assert!(out.chars().count() <= limit);
        prop_assert!(v.starts_with(&out));
        if v.chars().count() <= limit {
            prop_assert_eq!(out, v);
        }
    }

    #[test]
    fn spill_lines_keep_every_metric_value(
        values in proptest::collection::vec(
            prop_oneof![any::<f64>(), Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY)],
            1..20,
        ),
        step in any::<i64>(),
        timestamp in any::<i64>(),
    ) {
        let batch = crate::base::model::Batch {
            metrics: values
                .iter()
                .map(|&value| crate::base::model::Metric::new("m", value, timestamp, step))
                .collect(),
            ..Default::default()
        };
        let op = crate::sender::spill::SpillOp::log_batch(&crate::sender::identity::RunRef::Id("r".into()), "n", &batch);
        let line = serde_json::to_string(&op).unwrap();
        let back: crate::sender::spill::SpillOp = serde_json::from_str(&line).unwrap();
        let crate::sender::spill::SpillOp::LogBatch { metrics, .. } = back else {
            panic!("{line}")
        };
        for (m, v) in metrics.iter().zip(&values) {
            prop_assert!(m.value.to_bits() == v.to_bits() || (m.value.is_nan() && v.is_nan()));
            prop_assert_eq!((m.step, m.timestamp), (step, timestamp));
        }
    }
}
